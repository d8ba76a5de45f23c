"""StyleGAN3 (T and R) against NVIDIA's own code, the input transform, and safe loading.

Fixtures in tests/fixtures/stylegan3 were made by NVIDIA's networks_stylegan3.py with random
weights (see make_fixtures.py there); their pickles carry no NVIDIA source (a stub that raises).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generators.errors import ModelError
from engine.generators.importer import import_model
from engine.generators.loading import load_generator

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stylegan3"
TOLERANCE = 2e-3  # the bound; the port is within 1e-6 (see test_the_port_is_exact_to_rounding)
TRANSFORMS = {"img_rot30": (30.0, (0.1, -0.05)), "img_rot90": (90.0, (0.25, 0.0)), "img_rot-45": (-45.0, (0.0, 0.3))}
NAMES = ["stylegan3t_64", "stylegan3t_32_deep", "stylegan3r_32"]


@pytest.fixture(scope="module", params=NAMES)
def case(request):
    generator = load_generator(FIXTURES / f"{request.param}.pkl", device="cpu")
    return generator, dict(np.load(FIXTURES / f"{request.param}_cases.npz"))


def _ws(generator, z: np.ndarray, psi: float = 1.0) -> torch.Tensor:
    return generator.mapping(generator.to_tensor(z), psi)


def _diff(image: torch.Tensor, expected: np.ndarray) -> float:
    return float((image.float() - torch.from_numpy(expected)).abs().max())


def test_architecture_is_read_from_the_pickle(case):
    generator, data = case
    assert generator.card.architecture == "stylegan3" and generator.has_input_transform
    assert generator.z_dim == data["z"].shape[1] and generator.resolution == data["img"].shape[-1]
    assert generator.num_ws == len(generator.config.layers) + 1
    assert np.abs(generator.net.p("w_avg").numpy() - data["w_avg"]).max() == 0


def test_mapping_truncation_and_style_mixing_match_nvidia(case):
    generator, data = case
    with torch.inference_mode():
        assert _diff(_ws(generator, data["z"])[:, 0], data["w"]) <= 1e-5
        image = generator.synthesis(_ws(generator, data["z"]))
        assert _diff(image, data["img"]) <= TOLERANCE and float(image.std()) > 0.02  # a picture, not a flat field
        truncated = generator.synthesis(_ws(generator, data["z"], 0.5))
        assert _diff(truncated, data["img_trunc05"]) <= TOLERANCE and _diff(truncated, data["img"]) > 0.01
        mixed = torch.cat([_ws(generator, data["z"])[:, :5], _ws(generator, data["z2"])[:, 5:]], dim=1)
        assert _diff(generator.synthesis(mixed), data["img_mix5"]) <= TOLERANCE


def test_rotate_and_translate_match_gen_images_transforms(case):
    generator, data = case
    ws = _ws(generator, data["z"])
    with torch.inference_mode():
        for key, (degrees, shift) in TRANSFORMS.items():
            turned = generator.synthesis(ws, rotate=degrees, translate=shift)
            assert _diff(turned, data[key]) <= TOLERANCE, key
            assert _diff(turned, data["img"]) > 0.01, key  # the transform really changed the picture
        per_image = torch.tensor([[30.0, 0.1, -0.05], [90.0, 0.25, 0.0], [-45.0, 0.0, 0.3]])
        frames = generator.frames_from_w(ws, per_image)  # one transform per image, in one batch
    for i, key in enumerate(TRANSFORMS):
        alone = generator.frames_from_w(ws[i:i + 1], per_image[i:i + 1])
        assert torch.equal(frames[i], alone[0]), key  # batch-invariant: bit-identical alone or together


def test_the_port_is_exact_to_rounding(case):
    """Recorded for the note: the largest difference from NVIDIA's output over every case."""
    generator, data = case
    ws = _ws(generator, data["z"])
    with torch.inference_mode():
        worst = max([_diff(generator.synthesis(ws), data["img"])]
                    + [_diff(generator.synthesis(ws, rotate=d, translate=s), data[k]) for k, (d, s) in TRANSFORMS.items()])
    assert worst < 1e-5


def test_a_full_turn_is_the_same_picture(case):
    """Loops stay exact: rotate 360 draws what rotate 0 draws (to float rounding of cos/sin)."""
    generator, data = case
    ws = _ws(generator, data["z"])
    with torch.inference_mode():
        assert float((generator.synthesis(ws, rotate=360.0) - generator.synthesis(ws)).abs().max()) < 1e-4


def test_import_keeps_it_exact_and_loads_by_name(tmp_path, monkeypatch):
    data = dict(np.load(FIXTURES / "stylegan3r_32_cases.npz"))
    folder = import_model(FIXTURES / "stylegan3r_32.pkl", "turning", tmp_path)
    assert 'architecture = "stylegan3"' in (folder / "model.toml").read_text()
    monkeypatch.setenv("VERNISSAGE_MODELS", str(tmp_path))
    generator = load_generator("turning", device="cpu")
    with torch.inference_mode():
        assert _diff(generator.synthesis(_ws(generator, data["z"]), rotate=90.0, translate=(0.25, 0.0)),
                     data["img_rot90"]) <= TOLERANCE


def test_the_embedded_source_never_runs():
    data = (FIXTURES / "stylegan3t_64.pkl").read_bytes()
    assert b"must never run" in data  # executing the pickle's source would raise
    load_generator(FIXTURES / "stylegan3t_64.pkl", device="cpu")


@pytest.mark.parametrize("name,message", [
    ("hostile_nan.pkl", "tensor layer.1.weight holds NaN or infinite values"),
    ("hostile_padding.pkl", "layer.1 padding is [1, 2], not four numbers"),
    ("hostile_layer_names.pkl", "network has no L9_99_9 module"),
    ("hostile_huge.pkl", "layer.3 output size width is 1000000000, not in 1..4096"),
])
def test_a_broken_network_is_one_line_and_models_import_refuses_it(tmp_path, name, message):
    for attempt in (lambda: load_generator(FIXTURES / name, device="cpu"),
                    lambda: import_model(FIXTURES / name, "broken", tmp_path)):
        with pytest.raises(ModelError) as exc:
            attempt()
        assert message in str(exc.value) and "\n" not in str(exc.value)
    assert not (tmp_path / "broken").exists()


def test_truncated_and_tampered_pickles_are_one_line_and_nothing_runs(tmp_path):
    data = (FIXTURES / "stylegan3t_32_deep.pkl").read_bytes()
    for cut in (100, 5_000, len(data) // 2, len(data) - 3):
        path = tmp_path / f"cut{cut}.pkl"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelError) as exc:
            load_generator(path, device="cpu")
        assert "truncated or corrupt network pickle" in str(exc.value) and "\n" not in str(exc.value)
    marker = Path("/tmp/vernissage-pwned3")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(data.replace(b"dnnlib.util", b"posix\x00\x00\x00\x00\x00\x00", 1))
    with pytest.raises(ModelError) as exc:
        load_generator(evil, device="cpu")
    assert "nothing in it was run" in str(exc.value) and not marker.exists()


def test_a_shape_that_does_not_fit_is_refused_at_import(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = import_model(FIXTURES / "stylegan3t_64.pkl", "fine", tmp_path)
    tensors = load_file(str(folder / "generator.safetensors"))
    tensors["layer.4.weight"] = tensors["layer.4.weight"][:, :-1].contiguous()  # one input channel short
    save_file(tensors, str(tmp_path / "misfit.safetensors"))
    with pytest.raises(ModelError) as exc:
        import_model(tmp_path / "misfit.safetensors", "misfit", tmp_path)
    assert "\n" not in str(exc.value) and not (tmp_path / "misfit").exists()


def test_sefa_factorises_the_style_affines_and_leaves_the_input_transform_out(case):
    from engine.steer.directions import find_directions

    generator, _ = case
    found = find_directions(generator, "sefa", 3)
    rows = generator.reading_weights((0, generator.num_ws))
    assert rows.shape == (sum(int(generator.net.p(f"layer.{i}.affine.weight").shape[0])
                              for i in range(len(generator.config.layers))), generator.w_dim)
    assert found.directions.shape == (3, generator.w_dim) and found.space == "w"
    a = rows.double().numpy()
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    top = np.linalg.eigh(a.T @ a)[1][:, -1]  # by hand: the strongest eigenvector of the normalised AᵀA
    assert abs(float(found.directions[0] @ top)) > 0.999
    with torch.inference_mode():
        w = _ws(generator, np.random.default_rng(0).standard_normal((1, generator.z_dim)))
        moved = w + 3.0 * torch.from_numpy(found.directions[0]).float()
        assert float((generator.synthesis(moved) - generator.synthesis(w)).abs().mean()) > 1e-3
    with pytest.raises(ValueError):
        generator.reading_weights((0, 1))  # slot 0 alone is the geometry, no styles


# --- the input transform in shows and live --------------------------------------------------------

def _show(folder: Path, cue: str, model: str = "turning.pkl") -> Path:
    import shutil

    shutil.copy(FIXTURES / "stylegan3t_32_deep.pkl", folder / "turning.pkl")
    path = folder / "turn.toml"
    path.write_text(f'[show]\nmodel = "{model}"\nfps = 8\nsize = "32x32"\nseed = 5\n\n[[cue]]\n{cue}\n', encoding="utf-8")
    return path


def _cli(*args: str):
    from helpers import cli_in_process

    return cli_in_process(*args, cwd=Path(__file__).resolve().parents[1])


def test_a_turning_loop_cue_renders_and_ends_where_it_began(tmp_path):
    from PIL import Image

    show = _show(tmp_path, 'kind = "loop"\nperiod = 4\nrotate = [0, 360]\ntranslate = [[0, 0], [0.2, 0.1], [0, 0]]')
    result = _cli("render", str(show), "-o", str(tmp_path / "frames"), "--frames", "33", "--no-progress")
    assert result.returncode == 0, result.stderr
    frames = [np.asarray(Image.open(tmp_path / "frames" / f"{i:06d}.png")).astype(int) for i in range(33)]
    assert np.abs(frames[32] - frames[0]).max() <= 1  # 4 s at 8 fps: a full turn and the loop closed
    assert np.abs(frames[16] - frames[0]).mean() > 3  # half way round it is another picture
    still = _show(tmp_path, 'kind = "loop"\nperiod = 4')
    _cli("render", str(still), "-o", str(tmp_path / "still"), "--frames", "17", "--no-progress")
    unturned = np.asarray(Image.open(tmp_path / "still" / "000016.png")).astype(int)
    assert np.abs(frames[16] - unturned).mean() > 3  # the turn is the difference


def test_spin_keeps_turning_an_endless_cue(tmp_path):
    show = _show(tmp_path, 'kind = "wander"\nseed = 3\nspin = 45')
    from engine.loop.program import show_timeline
    from engine.show.schema import load_show

    timeline = show_timeline(load_show(show), load_generator(tmp_path / "turning.pkl", device="cpu"))
    assert [timeline(t).faces[0][0].rotate for t in (0.0, 2.0, 8.0)] == [0.0, 90.0, 360.0]


@pytest.mark.parametrize("line,message", [
    ('rotate = "left"', "'rotate' must be a number"),
    ("rotate = nan", "'rotate' must be a finite number"),
    ("rotate = 1e9", "'rotate' must be degrees from -36000 to 36000"),
    ("translate = [1]", "'translate' must be [x, y]"),
    ("translate = [[0, 0], [1]]", "'translate' must be [x, y]"),
    ("translate = [[[0, 0]]]", "'translate' must be [x, y]"),
    ("translate = [1e300, 0]", "'translate' must be [x, y]"),
    ("translate = []", "'translate' must be [x, y]"),
    ("spin = inf", "'spin' must be a finite number"),
    ("spin = true", "'spin' must be a number"),
])
def test_bad_motion_is_one_line_at_the_cue(tmp_path, line, message):
    show = _show(tmp_path, f'kind = "loop"\nperiod = 4\n{line}')
    result = _cli("check", str(show))
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert f"{show}:" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_keyframed_motion_needs_a_duration_and_a_model_that_turns(tmp_path):
    endless = _show(tmp_path, 'kind = "wander"\nrotate = [0, 90]')
    result = _cli("check", str(endless))
    assert result.returncode == 1 and "'rotate': keyframes need a cue with a duration (or use 'spin')" in result.stderr
    dcgan = _show(tmp_path, 'kind = "loop"\nperiod = 4\nspin = 10', model="digiface-dcgan64")
    for command in ("check", "render"):
        args = ("-o", str(tmp_path / "x"), "--frames", "2") if command == "render" else ()
        result = _cli(command, str(dcgan), *args)
        assert result.returncode == 1 and "need a model with an input transform" in result.stderr, result.stderr
        assert f"{dcgan}:7:" in result.stderr  # the cue's line


def test_the_motion_faders_turn_a_live_stylegan3_and_are_refused_by_a_dcgan(tmp_path, generator):
    from engine.frames import WalkSource, make_walk
    from tests.osc_harness import LivePlayer

    turning = load_generator(FIXTURES / "stylegan3t_32_deep.pkl", device="cpu")
    live = LivePlayer(tmp_path, turning, WalkSource(make_walk("wander", 1, turning.z_dim, speed=0.0)), size=(32, 32))
    try:
        live.send("/vernissage/model/rotate", 90.0)
        live.wait_applied(1)
        live.send("/vernissage/model/translate", 0.25, -0.1)
        live.wait_applied(2)
        live.settle(8)
        assert live.state.latest.rotate == 90.0 and live.state.latest.translate == pytest.approx((0.25, -0.1))
    finally:
        performance = live.stop()
    frames = live.frames(performance)
    turned = [c.tick + c.lead for c in performance.commands if c.command.address == "/vernissage/model/rotate"][0]
    assert np.array_equal(frames[turned - 1], frames[turned - 2])  # a still walk (speed 0)...
    assert np.abs(frames[turned] - frames[turned - 1]).mean() > 3  # ...that only the turn moves

    (tmp_path / "dcgan").mkdir()
    plain = LivePlayer(tmp_path / "dcgan", generator, WalkSource(make_walk("wander", 1, generator.z_dim)), record=False)
    try:
        before = plain.tick
        plain.send("/vernissage/model/rotate", 90.0)
        plain.send("/vernissage/model/translate", 0.1, 0.1)
        plain.settle(10)
    finally:
        plain.stop()
    assert plain.run.intake.counters()["rejected"] == 2 and plain.tick > before + 5


def test_a_vector_steers_a_turning_stylegan3_in_w(tmp_path):
    """[[vector]] face arithmetic is made in StyleGAN3's W like StyleGAN2's, and steers a cue
    that also turns: the steered frames differ from the plain ones, the unsteered start does not."""
    from PIL import Image

    show = _show(tmp_path, 'kind = "hold"\nseed = 3\nduration = 2\nrotate = [0, 30]\nsteer = { older = [0, 3] }')
    text = show.read_text().replace("[[cue]]", '[[vector]]\nname = "older"\nplus = [11, 12]\nminus = [13]\n\n[[cue]]')
    show.write_text(text)
    plain = tmp_path / "plain.toml"
    plain.write_text(text.replace("steer = { older = [0, 3] }", ""))
    frames = {}
    for name, path in (("steered", show), ("plain", plain)):
        result = _cli("render", str(path), "-o", str(tmp_path / name), "--frames", "9", "--no-progress")
        assert result.returncode == 0, result.stderr
        frames[name] = [np.asarray(Image.open(tmp_path / name / f"{i:06d}.png")).astype(int) for i in (0, 8)]
    assert np.array_equal(frames["steered"][0], frames["plain"][0])  # steer 0 at the start
    assert np.abs(frames["steered"][1] - frames["plain"][1]).mean() > 1.0  # steered by 3 at 1 s
