"""Steering: directions found in the models (SeFa, PCA), orthonormal and strong; their files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.generators.loading import load_generator
from engine.latent.steering import Axis, Steering, steer_on_shell
from engine.latent.directions import DirectionsError, load_directions
from engine.steer.directions import _reading_weights, find_directions
from helpers import cli_in_process, perform_and_replay

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "stylegan2"


def _images(generator, found, z: np.ndarray, amounts: list[float]) -> np.ndarray:
    """The generator's float output (before it is clipped to 8 bits: the random-weight fixtures
    saturate there) for the face of ``z`` moved along direction 0."""
    vector = found.directions[0]
    with torch.inference_mode():
        if found.space == "z":
            return generator(np.stack([steer_on_shell(z, a * vector) for a in amounts])).cpu().numpy()
        w = generator.mapping(generator.to_tensor(np.repeat(z[None], len(amounts), axis=0)))
        w[:, found.slots[0]:found.slots[1]] += torch.as_tensor(np.outer(amounts, vector), dtype=w.dtype)[:, None]
        return generator.synthesis(w).cpu().numpy()


def _change_ratio(generator, found, samples: int = 6) -> float:
    """Mean pixel change of faces moved +-3 along the top direction, over that along random unit
    directions in the same space and slots."""
    rng = np.random.default_rng(11)
    faces = [rng.standard_normal(generator.z_dim) for _ in range(samples)]

    def change(directions) -> float:
        moved = []
        for z in faces:
            images = _images(generator, directions, z, [-3.0, 0.0, 3.0])
            moved.append((np.abs(images[0] - images[1]).mean() + np.abs(images[2] - images[1]).mean()) / 2)
        return float(np.mean(moved))

    randoms = []
    for _ in range(4):
        vector = rng.standard_normal(found.directions.shape[1])
        randoms.append(change(type(found)((vector / np.linalg.norm(vector))[None], found.space, found.slots,
                                          "random", found.model)))
    return change(found) / float(np.mean(randoms))


@pytest.mark.parametrize("method", ["sefa", "pca"])
def test_directions_of_the_bundled_model_are_orthonormal_and_move_faces_more_than_chance(generator, method, tmp_path):
    found = find_directions(generator, method, 8, samples=4000)
    assert found.space == "z" and found.directions.shape == (8, generator.z_dim)
    assert np.abs(found.directions @ found.directions.T - np.eye(8)).max() < 1e-9
    assert _change_ratio(generator, found) > 1.8  # measured: 2.5x for both methods
    found.save(tmp_path / "d.npz")
    again = load_directions(tmp_path / "d.npz")
    assert np.array_equal(again.directions, found.directions) and again.method == method


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"StyleGAN2 fixtures not found at {FIXTURES}")
@pytest.mark.parametrize("method", ["sefa", "pca"])
def test_directions_of_a_stylegan2_in_w(method):
    sg2 = load_generator(FIXTURES / "rosinality_64.pt", device="cpu")
    found = find_directions(sg2, method, 6, samples=4000)
    assert found.space == "w" and found.slots == (0, sg2.num_ws) and found.directions.shape == (6, sg2.w_dim)
    assert np.abs(found.directions @ found.directions.T - np.eye(6)).max() < 1e-9
    # The fixtures' weights are random: no face to change, and their pixels move about as much
    # along any direction (measured 1.0-1.3x). What each method promises holds whatever the
    # weights: SeFa's direction moves the styles the affines read the most, PCA's is the one
    # W varies along the most.
    rng = np.random.default_rng(5)
    randoms = rng.standard_normal((32, sg2.w_dim))
    randoms /= np.linalg.norm(randoms, axis=1, keepdims=True)
    if method == "sefa":
        affines = _reading_weights(sg2, found.slots)
        affines = affines / np.linalg.norm(affines, axis=1, keepdims=True)
        moved, by_chance = np.linalg.norm(affines @ found.directions[0]), np.linalg.norm(affines @ randoms.T, axis=0)
        assert moved > by_chance.max()  # the top eigenvector beats every random direction
        ratio = (moved / by_chance.mean()) ** 2  # energy of the style change
    else:
        with torch.inference_mode():
            w = sg2.mapping(sg2.to_tensor(rng.standard_normal((4000, sg2.z_dim))))[:, 0].double().numpy()
        ratio = np.var(w @ found.directions[0]) / np.var(w @ randoms.T, axis=0).mean()
    assert ratio > 1.4, ratio
    coarse = find_directions(sg2, "sefa", 4, slots=(0, 4))
    assert coarse.slots == (0, 4) and not np.allclose(np.abs(coarse.directions[0]), np.abs(found.directions[0]))


def test_steering_in_z_stays_on_the_shell_and_in_w_only_on_its_slots():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(64)
    axis = rng.standard_normal(64)
    steering = Steering({"a": Axis(axis, "z"), "b": Axis(np.ones(8), "w", (2, 4))}, num_ws=6)
    z_offset, w_offset = steering.offsets({"a": 2.0, "b": -1.5, "unknown": 3.0})
    assert np.allclose(z_offset, 2.0 * axis)
    assert np.isclose(np.linalg.norm(steer_on_shell(z, 50 * axis)), np.linalg.norm(z))
    assert w_offset.shape == (6, 8) and np.all(w_offset[2:4] == -1.5) and not w_offset[:2].any() and not w_offset[4:].any()
    assert steering.offsets({"a": float("nan")}) == (None, None)  # hostile values steer nowhere
    big, _ = steering.offsets({"a": 1e300})
    assert np.allclose(big, 10.0 * axis)


@pytest.mark.parametrize("content,message", [
    (None, "not a directions file"),
    ({"directions": np.ones((2, 4))}, "not a directions file"),
    ({"directions": np.ones((2, 4)), "space": "z", "slots": [0, 1], "method": "x", "model": "m"}, "not unit and orthonormal"),
    ({"directions": np.full((1, 4), np.nan), "space": "z", "slots": [0, 1], "method": "x", "model": "m"}, "NaN or inf"),
    ({"directions": np.eye(4)[:2], "space": "q", "slots": [0, 1], "method": "x", "model": "m"}, "space must be z or w"),
    ({"directions": np.eye(4)[:2], "space": "w", "slots": [3, 1], "method": "x", "model": "m"}, "space must be z or w"),
    ({"directions": np.zeros((0, 4)), "space": "z", "slots": [0, 1], "method": "x", "model": "m"}, "must be K x D"),
    ({"directions": np.array([object()], dtype=object), "space": "z", "slots": [0, 1], "method": "x", "model": "m"},
     "not a directions file"),
])
def test_bad_directions_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "d.npz"
    if content is None:
        path.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        np.savez(path, **content)
    with pytest.raises(DirectionsError, match=message) as caught:
        load_directions(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("args,message", [
    (["--count", "0"], "--count"), (["--count", "101"], "count must be 1 to 100"), (["--layers", "0-3"], "no layers"),
    (["--method", "magic"], "--method"), (["-o", "d.txt"], "ends in .npz"),
])
def test_bad_directions_requests_are_one_line(tmp_path, args, message):
    if message == "no layers":
        message = "layers"  # a DCGAN has no W slots to choose
    command = [sys.executable, "-m", "engine.cli", "directions", "digiface-dcgan64", "-o", str(tmp_path / "d.npz"), *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert result.returncode in (1, 2) and len(errors) == 1 and message in errors[0], result.stderr


# --- face arithmetic and steering in shows ------------------------------------------------------

STEERED_SHOW = """
[show]
seed = 3
fps = 8
size = "96x96"
directions = "dirs.npz"

[[vector]]
name = "smile"
plus = [1, 2, 3]
minus = [4, 5]

[[cue]]
kind = "hold"
duration = 2
steer = {{ {steer} }}

[[cue]]
kind = "wander"
speed = 0.3
"""


def _steered_show(folder: Path, generator, steer: str) -> Path:
    find_directions(generator, "sefa", 4).save(folder / "dirs.npz")
    path = folder / "show.toml"
    path.write_text(STEERED_SHOW.format(steer=steer))
    return path


def test_a_vector_is_the_difference_of_its_examples_means_as_by_hand(tmp_path, generator):
    from engine.latent import latent_from_seed
    from engine.show import load_show
    from engine.steer.vectors import steering_for

    show = load_show(_steered_show(tmp_path, generator, ""))
    axis = steering_for(show, generator).axes["smile"]
    by_hand = (sum(latent_from_seed(s, 100) for s in (1, 2, 3)) / 3 - sum(latent_from_seed(s, 100) for s in (4, 5)) / 2)
    assert axis.space == "z" and np.abs(axis.vector - by_hand).max() < 1e-6


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"StyleGAN2 fixtures not found at {FIXTURES}")
def test_a_stylegan2_vector_is_made_in_w(tmp_path):
    from engine.show.schema import Vector
    from engine.steer.vectors import vector_axis

    sg2 = load_generator(FIXTURES / "rosinality_64.pt", device="cpu")
    rng = np.random.default_rng(2)
    plus, minus = rng.standard_normal((3, sg2.z_dim)), rng.standard_normal((2, sg2.z_dim))
    axis = vector_axis(Vector("v", tuple(plus), tuple(minus)), sg2)
    with torch.inference_mode():
        w = lambda z: sg2.mapping(sg2.to_tensor(z))[:, 0].double().numpy()  # noqa: E731
        by_hand = w(plus).mean(axis=0) - w(minus).mean(axis=0)
    assert axis.space == "w" and axis.slots == (0, sg2.num_ws) and np.abs(axis.vector - by_hand).max() < 1e-6


def test_a_show_with_steer_renders_steered_faces(tmp_path, generator):
    from PIL import Image

    path = _steered_show(tmp_path, generator, 'smile = [0, 4], "dirs.npz#0" = 0')
    (tmp_path / "plain").mkdir()
    plain = _steered_show(tmp_path / "plain", generator, "")
    frames = {}
    for name, show in (("steered", path), ("plain", plain)):
        result = cli_in_process("render", str(show), "--frames", "16", "-o", str(tmp_path / name), cwd=ROOT)
        assert result.returncode == 0, result.stderr
        frames[name] = [np.asarray(Image.open(tmp_path / name / f"{i:06d}.png")).astype(int) for i in range(16)]
    difference = [np.abs(a - b).mean() for a, b in zip(frames["steered"], frames["plain"])]
    assert difference[0] == 0.0  # smile 0 at the cue's start: the show's own face
    assert difference[15] > 10 and difference[15] > difference[8] > difference[1]  # more and more, as keyframed


def test_live_steering_over_osc_replays_bit_identically(tmp_path, generator):
    show = _steered_show(tmp_path, generator, "smile = 1")
    performance, errors = perform_and_replay(
        tmp_path, [str(show), "--fps", "20", "--duration", "6"],
        [("/vernissage/steer/smile", [2.5]), ("/vernissage/steer/0", [-3.0]), ("/vernissage/steer/nosuchaxis", [1.0]),
         ("/vernissage/steer/1", [float("nan")]), ("/vernissage/steer/2", [1e9]), ("/vernissage/steer/../../x", [1.0]),
         ("/vernissage/steer/smile", [0.0])], 0.4)
    assert "no steering axis 'nosuchaxis'" in errors and "Traceback" not in errors
    assert [c.command.fader for c in performance.commands] == ["/vernissage/steer/smile", "/vernissage/steer/0",
                                                               "/vernissage/steer/smile"]


# --- morphs in W ----------------------------------------------------------------------------------

def _w(generator, face) -> np.ndarray:
    """The untruncated W a "mapped" face stands for: its weights times its keys' W."""
    assert face.space == "mapped"
    with torch.inference_mode():  # one z at a time, as the generator's owner maps them
        return face.weights @ np.stack([generator.mapping(generator.to_tensor(z))[0, 0].double().numpy()
                                        for z in face.latent])


def _w_timeline(tmp_path: Path, fixture: str, show_lines: str, cue: str) -> tuple:
    """A StyleGAN2 fixture and the timeline of a one-cue show on it (``show_lines`` under [show])."""
    from engine.loop.program import show_timeline
    from engine.show import load_show

    sg2 = load_generator(FIXTURES / fixture, device="cpu")
    path = tmp_path / "w.toml"
    path.write_text(f'[show]\nmodel = "{FIXTURES / fixture}"\n{show_lines}[[cue]]\n{cue}space = "w"\n')
    return sg2, show_timeline(load_show(path), sg2)


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"StyleGAN2 fixtures not found at {FIXTURES}")
def test_a_stylegan2_morph_in_w_passes_through_each_face_and_loops_exactly(tmp_path):
    from engine.latent import latent_from_seed
    from engine.loop.generation import generate_images

    sg2, timeline = _w_timeline(tmp_path, "rosinality_64.pt", "", 'kind = "morph"\nfaces = [1, 2, 3]\nhold = 0.5\nmorph = 1.0\n')
    z = [latent_from_seed(seed, sg2.z_dim) for seed in (1, 2, 3)]
    for k, t in enumerate((0.0, 1.5, 3.0)):  # each face held at its slot's start
        face = timeline(t).faces[0][0]
        with torch.inference_mode():
            assert np.abs(_w(sg2, face) - sg2.mapping(sg2.to_tensor(z[k]))[0, 0].double().numpy()).max() < 1e-6
        image, _ = generate_images(sg2, [timeline(t)])
        assert np.array_equal(image[0], sg2.frames(z[k][None]).cpu().numpy()[0])  # the face itself, bit for bit
    assert timeline(0.2).faces[0][0].key() == timeline(0.2 + timeline.period).faces[0][0].key()
    midway = _w(sg2, timeline(0.5 + 0.5).faces[0][0])  # half way from face 1 to face 2, in W
    with torch.inference_mode():
        w1, w2 = (sg2.mapping(sg2.to_tensor(v))[0, 0].double().numpy() for v in z[:2])
    assert np.linalg.norm(midway - (w1 + w2) / 2) < 0.5 * np.linalg.norm(w1 - w2)  # between them, in W


def test_a_morph_in_w_is_refused_for_a_dcgan_by_check_and_render(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text('[show]\n[[cue]]\nkind = "morph"\nfaces = [1, 2]\nspace = "w"\n')
    for command in (["check", str(path)], ["render", str(path), "--frames", "1", "-o", str(tmp_path / "o")]):
        result = subprocess.run([sys.executable, "-m", "engine.cli", *command], capture_output=True, text=True,
                                cwd=ROOT, timeout=120)
        assert result.returncode == 1 and "w.toml:2: space = 'w' needs a model with a W space" in result.stderr, result.stderr
    path.write_text('[show]\n[[cue]]\nkind = "morph"\nfaces = [1, 2]\nspace = "x"\n')
    result = subprocess.run([sys.executable, "-m", "engine.cli", "check", str(path)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 1 and "w.toml:5: 'space' must be 'z' or 'w'" in result.stderr


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"StyleGAN2 fixtures not found at {FIXTURES}")
def test_a_stylegan2_wander_in_w_blends_the_control_faces_w_smoothly(tmp_path):
    from engine.latent import Wander

    sg2, timeline = _w_timeline(tmp_path, "nvidia_64.pkl", "seed = 4\n", 'kind = "wander"\nspeed = 0.5\n')
    walk = Wander(4, sg2.z_dim, 0.5)
    with torch.inference_mode():
        controls = {k: sg2.mapping(sg2.to_tensor(walk.control(k)))[0, 0].double().numpy() for k in range(-1, 4)}
    t = 1.3
    expected = sum(weight * controls[knot] for knot, weight in walk.weights(t))
    assert np.abs(_w(sg2, timeline(t).faces[0][0]) - expected).max() < 1e-9
    path_w = np.stack([_w(sg2, timeline(i / 60).faces[0][0]) for i in range(240)])
    second = np.diff(path_w, 2, axis=0)
    assert np.abs(second).max() < 0.05 * np.abs(np.diff(path_w, axis=0)).max()  # no kinks: C2 in W


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"StyleGAN2 fixtures not found at {FIXTURES}")
def test_a_stylegan2_loop_in_w_is_exact(tmp_path):
    sg2, timeline = _w_timeline(tmp_path, "rosinality_64.pt", "", 'kind = "loop"\nperiod = 6\n')
    first, again = timeline(0.0).faces[0][0], timeline(6.0).faces[0][0]
    assert first.key() == again.key()  # the period closes exactly
    ends = np.stack([_w(sg2, timeline(t).faces[0][0]) for t in (5.98, 5.99, 6.0, 6.01, 6.02)])
    steps = np.diff(ends, axis=0)
    assert np.abs(np.diff(steps, axis=0)).max() < 0.05 * np.abs(steps).max()  # no kink at the seam


@pytest.mark.parametrize("body,message", [
    ('[[vector]]\nname = "a b"\nplus = [1]\nminus = [2]\n', "a vector's 'name' is a word"),
    ('[[vector]]\nname = "a"\nplus = [1]\nminus = [2]\n[[vector]]\nname = "a"\nplus = [1]\nminus = [2]\n',
     "two vectors are called 'a'"),
    ('[[vector]]\nname = "a"\nplus = []\nminus = [2]\n', "'plus' must list 1 to 256 seeds"),
    ('[[vector]]\nname = "a"\nplus = [[1]]\nminus = [2]\n', "each face is a seed"),
    ('[[vector]]\nname = "a"\nplus = [-1]\nminus = [2]\n', "each face is a seed"),
    ('[[vector]]\nname = "a"\nplus = ["../x.npy"]\nminus = [2]\n', "must be a file inside the show's folder"),
    ('[[vector]]\nname = "a"\nplus = [1]\nminus = [2]\nhue = 3\n', "unknown key 'hue'"),
    ("[[vector]]\nname = \"a\"\nplus = [1]\nminus = [2]\n[[cue]]\nkind = \"hold\"\nduration = 1\nsteer = { a = nan }\n",
     "steer 'a' must be a number from -10 to 10"),
    ("[[cue]]\nkind = \"hold\"\nduration = 1\nsteer = { a = 1e9 }\n", "steer 'a' must be a number"),
    ("[[cue]]\nkind = \"wander\"\nsteer = { a = [0, 1] }\n", "keyframes need a cue with a duration"),
    ("[[cue]]\nkind = \"hold\"\nduration = 1\nsteer = { a = { b = 1 } }\n", "steer 'a' must be a number"),
    ("[[cue]]\nkind = \"hold\"\nduration = 1\nsteer = { \"../d.npz#0\" = 1 }\n", "must be a file inside the show's folder"),
])
def test_bad_vectors_and_steering_are_one_line(tmp_path, body, message):
    from engine.show import ShowError, load_show

    path = tmp_path / "show.toml"
    path.write_text(body if "[[cue]]" in body else body + '[[cue]]\nkind = "hold"\nduration = 1\n')
    with pytest.raises(ShowError, match=re.escape(message)) as caught:
        load_show(path)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"{path}:")


def test_a_path_in_w_is_planned_without_the_model_and_each_z_is_mapped_once(tmp_path, generator):
    """The timeline is a pure function of time again: it names the z a path in W passes through
    and how much of each; the generator's owner maps each z once and keeps its W."""
    from engine.loop.generation import MappedW
    from engine.show import Timeline, load_show

    path = tmp_path / "w.toml"
    path.write_text('[show]\n[[cue]]\nkind = "morph"\nfaces = [1, 2, 3]\nhold = 0.5\nmorph = 1.0\nspace = "w"\n')
    timeline = Timeline(load_show(path), generator.z_dim)  # no model anywhere
    faces = [timeline(i / 30).faces[0][0] for i in range(150)]
    assert all(f.space == "mapped" and abs(float(f.weights.sum()) - 1.0) < 1e-9 for f in faces)

    calls = []

    class Counting:
        def __getattr__(self, name):
            return getattr(generator, name)

        def mapping(self, z, truncation_psi=1.0):
            calls.append(z.shape[0])
            return generator.mapping(z, truncation_psi)

    memory, counting = MappedW(), Counting()
    blends = [f.weights @ memory.of(counting, f.latent) for f in faces]
    assert len(calls) == 3 and set(calls) == {1}  # three faces, each mapped once, alone
    assert np.abs(blends[0] - generator.mapping(generator.to_tensor(faces[0].latent[0]))[0, 0].double().numpy()).max() < 1e-12
