"""StyleGAN2 port exactness against the original projects' own outputs, and safe loading.

Reference fixtures live in ../shared/fixtures/stylegan2 (see its README): a rosinality
checkpoint with non-standard widths and an NVIDIA network pickle whose embedded source raises.
"""

from __future__ import annotations

import io
import pickletools
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generators.errors import ModelError
from engine.generators.loading import load_generator
from engine.generators.importer import import_model

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "stylegan2"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"fixtures not found at {FIXTURES}")
TOLERANCE = 1e-3


def _ws(generator, z: np.ndarray, psi: float = 1.0) -> torch.Tensor:
    return generator.mapping(generator.to_tensor(z), psi)


def _max_diff(image: torch.Tensor, expected: np.ndarray) -> float:
    return float((image.cpu().float() - torch.from_numpy(expected)).abs().max())


@pytest.fixture(scope="module", params=["rosinality_64.pt", "nvidia_64.pkl"])
def case(request):
    generator = load_generator(FIXTURES / request.param, device="cpu")
    stem = request.param.split(".")[0]
    return generator, dict(np.load(FIXTURES / f"{stem}_cases.npz"))


def test_architecture_is_read_from_the_file(case):
    generator, data = case
    assert generator.z_dim == data["z"].shape[1]
    assert generator.resolution == 64 and generator.num_ws == 10
    assert generator.config.channels == (128, 128, 128, 128, 128, 64, 64, 32, 32)


def test_mapping_matches(case):
    generator, data = case
    w = _ws(generator, data["z"])
    assert w.shape == (4, 10, data["z"].shape[1])
    assert _max_diff(w[:, 0], data["w"]) <= TOLERANCE
    assert _max_diff(w[:, 9], data["w"]) <= TOLERANCE


def test_no_truncation_matches(case):
    generator, data = case
    assert _max_diff(generator.synthesis(_ws(generator, data["z"])), data["img_trunc1"]) <= TOLERANCE


def test_truncation_half_toward_stored_average_matches(case):
    generator, data = case
    image = generator.synthesis(_ws(generator, data["z"], 0.5))
    assert _max_diff(image, data["img_trunc05"]) <= TOLERANCE
    assert _max_diff(image, data["img_trunc1"]) > 0.1  # truncation really changed it


def test_style_mixing_at_index_3_matches(case):
    generator, data = case
    w = torch.cat([_ws(generator, data["z"])[:, :3], _ws(generator, data["z2"])[:, 3:]], dim=1)
    assert _max_diff(generator.synthesis(w), data["img_mix_inject3"]) <= TOLERANCE


def test_w_input_matches(case):
    generator, data = case
    if "img_from_w" not in data:
        pytest.skip("this fixture has no W-input case")
    w = torch.from_numpy(data["w"])[:, None, :].repeat(1, generator.num_ws, 1)
    assert _max_diff(generator.synthesis(w), data["img_from_w"]) <= TOLERANCE


def test_imported_model_loads_by_name_and_matches(tmp_path, monkeypatch, case):
    generator, data = case
    source = FIXTURES / ("rosinality_64.pt" if generator.z_dim == 128 else "nvidia_64.pkl")
    folder = import_model(source, "imported", tmp_path)
    assert (folder / "generator.safetensors").exists() and (folder / "model.toml").exists()
    monkeypatch.setenv("VERNISSAGE_MODELS", str(tmp_path))
    again = load_generator("imported", device="cpu")
    assert again.card.architecture == "stylegan2"
    assert _max_diff(again.synthesis(_ws(again, data["z"], 0.5)), data["img_trunc05"]) <= TOLERANCE


def _pickle_calling(module: str, name: str) -> bytes:
    """A protocol-2 pickle that calls module.name('touch /tmp/...') when loaded."""
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b"X\x1c\x00\x00\x00touch /tmp/vernissage-pwned2q\x00\x85q\x01Rq\x02.")


@pytest.mark.parametrize("module,name", [("os", "system"), ("builtins", "eval"), ("subprocess", "getoutput")])
def test_pickle_with_a_forbidden_global_is_refused_and_nothing_runs(tmp_path, module, name):
    marker = Path("/tmp/vernissage-pwned2")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "network.pkl"
    evil.write_bytes(_pickle_calling(module, name))
    pickletools.dis(io.BytesIO(evil.read_bytes()), out=io.StringIO())  # well-formed
    with pytest.raises(ModelError) as exc:
        load_generator(evil, device="cpu")
    message = str(exc.value)
    assert f"refuses global {module}.{name}" in message and "nothing in it was run" in message
    assert "\n" not in message
    assert not marker.exists()


def test_forbidden_global_deep_inside_a_real_network_pickle_is_refused(tmp_path):
    data = (FIXTURES / "nvidia_64.pkl").read_bytes()
    tampered = data.replace(b"dnnlib.util", b"os\x00\x00\x00\x00\x00\x00\x00\x00\x00", 1)
    assert tampered != data
    evil = tmp_path / "tampered.pkl"
    evil.write_bytes(tampered)
    with pytest.raises(ModelError):
        load_generator(evil, device="cpu")


def test_embedded_source_never_runs():
    """The fixture's module_src raises if executed; loading it must not."""
    data = (FIXTURES / "nvidia_64.pkl").read_bytes()
    assert b"must never run" in data
    load_generator(FIXTURES / "nvidia_64.pkl", device="cpu")


@pytest.mark.parametrize("name", ["nvidia_64.pkl", "rosinality_64.pt"])
def test_truncated_checkpoint_gives_one_clear_line(tmp_path, name):
    cut = tmp_path / name
    cut.write_bytes((FIXTURES / name).read_bytes()[:300_000])
    with pytest.raises(ModelError) as exc:
        load_generator(cut, device="cpu")
    message = str(exc.value)
    assert message.startswith(str(cut)) and "\n" not in message
    assert "truncated" in message or "cannot load PyTorch checkpoint" in message


def _random_rosinality(resolution: int, style_dim: int, n_mlp: int, widths: dict[int, int]) -> dict:
    """A rosinality-layout state dict for any architecture (random weights)."""
    g = torch.Generator().manual_seed(resolution + style_dim)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    state = {f"style.{i}.weight": r(style_dim, style_dim) for i in range(1, n_mlp + 1)}
    state |= {f"style.{i}.bias": r(style_dim) * 0.1 for i in range(1, n_mlp + 1)}
    c4 = widths[4]
    state |= {"input.input": r(1, c4, 4, 4), "conv1.conv.weight": r(1, c4, c4, 3, 3),
              "conv1.conv.modulation.weight": r(c4, style_dim), "conv1.conv.modulation.bias": torch.ones(c4),
              "conv1.noise.weight": r(1), "conv1.activate.bias": r(c4) * 0.1,
              "to_rgb1.conv.weight": r(1, 3, c4, 1, 1), "to_rgb1.conv.modulation.weight": r(c4, style_dim),
              "to_rgb1.conv.modulation.bias": torch.ones(c4), "to_rgb1.bias": r(1, 3, 1, 1) * 0.1}
    previous, layer, res = c4, 0, 8
    while res <= resolution:
        out = widths[res]
        for j, cin in enumerate((previous, out)):
            name = f"convs.{layer + j}"
            state |= {f"{name}.conv.weight": r(1, out, cin, 3, 3), f"{name}.conv.modulation.weight": r(cin, style_dim),
                      f"{name}.conv.modulation.bias": torch.ones(cin), f"{name}.noise.weight": r(1),
                      f"{name}.activate.bias": r(out) * 0.1}
        k = layer // 2
        state |= {f"to_rgbs.{k}.conv.weight": r(1, 3, out, 1, 1), f"to_rgbs.{k}.conv.modulation.weight": r(out, style_dim),
                  f"to_rgbs.{k}.conv.modulation.bias": torch.ones(out), f"to_rgbs.{k}.bias": r(1, 3, 1, 1) * 0.1}
        previous, layer, res = out, layer + 2, res * 2
    sizes = [4] + [s for s in (8, 16, 32, 64, 128, 256, 512, 1024) if s <= resolution for _ in range(2)]
    state |= {f"noises.noise_{i}": r(1, 1, s, s) for i, s in enumerate(sizes)}
    return state


def test_other_sizes_depths_and_widths_load_from_shapes(tmp_path):
    state = _random_rosinality(32, 48, 3, {4: 40, 8: 40, 16: 24, 32: 12})
    path = tmp_path / "small.pt"
    torch.save({"g_ema": state}, path)  # no latent_avg: estimated on load
    generator = load_generator(path, device="cpu")
    assert (generator.z_dim, generator.resolution, generator.num_ws) == (48, 32, 8)
    assert generator.config.mapping_layers == 3
    frames = generator.frames(np.random.default_rng(0).standard_normal((2, 48)))
    assert frames.shape == (2, 32, 32, 3)
