"""The original NVlabs/stylegan2 TensorFlow pickles, read as data, against NVIDIA's legacy.py.

Fixtures in tests/fixtures/tensorflow: a (G, D, Gs) pickle of a small config-f generator with
random variables, and the outputs of NVIDIA's own conversion of it (see make_fixtures.py there).
No TensorFlow is needed to read them, and their TensorFlow source (a stub that raises) never runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generators.errors import ModelError
from engine.generators.importer import import_model
from engine.generators.loading import load_generator

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tensorflow"
TOLERANCE = 2e-3


@pytest.fixture(scope="module")
def case():
    return load_generator(FIXTURES / "stylegan2_tf_32.pkl", device="cpu"), dict(np.load(FIXTURES / "stylegan2_tf_32_cases.npz"))


def _diff(image: torch.Tensor, expected: np.ndarray) -> float:
    return float((image.float() - torch.from_numpy(expected)).abs().max())


def test_gs_equals_nvidias_legacy_conversion(case):
    generator, data = case
    assert generator.card.architecture == "stylegan2" and generator.resolution == 32 and generator.z_dim == 48
    with torch.inference_mode():
        ws = generator.mapping(generator.to_tensor(data["z"]))
        assert _diff(ws[:, 0], data["w"]) <= 1e-5
        assert _diff(generator.synthesis(ws), data["img"]) <= 1e-4 and data["img"].std() > 0.5
        assert _diff(generator.synthesis(generator.mapping(generator.to_tensor(data["z"]), 0.5)), data["img_trunc05"]) <= 1e-4
        mixed = torch.cat([ws[:, :3], generator.mapping(generator.to_tensor(data["z2"]))[:, 3:]], dim=1)
        assert _diff(generator.synthesis(mixed), data["img_mix3"]) <= TOLERANCE


def test_models_import_recognises_it_by_content_and_keeps_it_exact(tmp_path, monkeypatch):
    data = dict(np.load(FIXTURES / "stylegan2_tf_32_cases.npz"))
    renamed = tmp_path / "network-snapshot-000123.data"  # the extension says nothing
    renamed.write_bytes((FIXTURES / "stylegan2_tf_32.pkl").read_bytes())
    folder = import_model(renamed, "old-faces", tmp_path)
    assert 'format = "NVIDIA network pickle"' in (folder / "model.toml").read_text()
    monkeypatch.setenv("VERNISSAGE_MODELS", str(tmp_path))
    generator = load_generator("old-faces", device="cpu")
    with torch.inference_mode():
        assert _diff(generator.synthesis(generator.mapping(generator.to_tensor(data["z"]))), data["img"]) <= TOLERANCE


@pytest.mark.parametrize("name,message", [
    ("hostile_kwargs.pkl", "unknown static kwarg 'fused_modconv_v3'"),
    ("hostile_version.pkl", "network version 2"),
    ("hostile_shape.pkl", "cannot make a frame"),
])
def test_a_network_that_would_fail_is_one_line_and_never_imported(tmp_path, name, message):
    with pytest.raises(ModelError) as exc:
        import_model(FIXTURES / name, "broken", tmp_path)  # it makes a frame before keeping anything
    assert message in str(exc.value) and "\n" not in str(exc.value), str(exc.value)
    assert not (tmp_path / "broken").exists()
    result = subprocess.run([sys.executable, "-m", "engine.cli", "render", "--model", str(FIXTURES / name), "--walk",
                             "wander", "--frames", "2", "--size", "32x32", "-o", str(tmp_path / "f"), "--no-progress"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_truncated_tampered_and_sourced_pickles_never_run_anything(tmp_path):
    data = (FIXTURES / "stylegan2_tf_32.pkl").read_bytes()
    assert b"must never run" in data  # the TensorFlow source stub raises if executed
    for cut in (50, len(data) // 3, len(data) - 2):
        path = tmp_path / f"cut{cut}.pkl"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelError) as exc:
            load_generator(path, device="cpu")
        assert "truncated or corrupt network pickle" in str(exc.value)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(data.replace(b"dnnlib.tflib.network", b"os\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 1))
    with pytest.raises(ModelError) as exc:
        load_generator(evil, device="cpu")
    assert "nothing in it was run" in str(exc.value)
    missing = tmp_path / "missing.pkl"
    missing.write_bytes(data.replace(b"4x4/ToRGB/mod_bias", b"4x4/ToRGB/mod_bia_", 1))
    with pytest.raises(ModelError) as exc:
        load_generator(missing, device="cpu")
    assert "variable synthesis/4x4/ToRGB/mod_bias missing" in str(exc.value)


# --- the original ProGAN (tkarras/progressive_growing_of_gans) --------------------------------------

def test_a_progan_tensorflow_pickle_equals_g_paper_as_written():
    """No TensorFlow runs here: the reference is make_progan_fixture.py's line-by-line transcription
    of networks.G_paper (the fused upsampling convolution as a transposed convolution), which the
    engine's conversion (nearest doubling, then the kernel flipped) must equal."""
    generator = load_generator(FIXTURES / "progan_tf_32.pkl", device="cpu")
    data = dict(np.load(FIXTURES / "progan_tf_32_cases.npz"))
    assert generator.card.architecture == "progan" and generator.resolution == 32 and generator.z_dim == 40
    with torch.inference_mode():
        image = generator.synthesis(generator.mapping(generator.to_tensor(data["z"])))
    assert _diff(image, data["img"]) <= 1e-4 and data["img"].std() > 0.5


def test_a_progan_caught_growing_or_with_code_is_one_line(tmp_path):
    with pytest.raises(ModelError) as exc:
        import_model(FIXTURES / "hostile_progan_lod.pkl", "growing", tmp_path)
    assert "lod 0.5: a network caught growing" in str(exc.value) and not (tmp_path / "growing").exists()
    data = (FIXTURES / "progan_tf_32.pkl").read_bytes()
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(data.replace(b"tfutil\nNetwork", b"posix\nsystem\x00", 1) if b"tfutil\nNetwork" in data
                     else data.replace(b"tfutil", b"posix\x00", 1))
    with pytest.raises(ModelError) as exc:
        load_generator(evil, device="cpu")
    assert "nothing in it was run" in str(exc.value)
