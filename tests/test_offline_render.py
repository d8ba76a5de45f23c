"""Offline render end to end: frame-exact, deterministic, loops that close, real video out."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from engine.frames import Look, WalkSource, make_walk
from engine.loop import run
from engine.loop.clock import ShowClock
from engine.loop.compositor import TextStyle
from engine.loop.program import Program, ProgramSpec
from engine.render.settings import RenderSettings
from helpers import cli_in_process, decode


def render_offline(source, generator, settings, output, frames, fps=30, start=0.0):
    """Render ``source`` through the engine's one frame loop, exactly as ``vernissage render`` does."""
    program = Program(ProgramSpec(walk="wander"), source, generator, Fraction(fps).limit_denominator(1001), settings,
                      TextStyle(), None)
    return run.render(program, output, frames, start=start, progress=False)


def _pngs(directory) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(directory.glob("*.png"))]


def test_frame_times_are_exact_multiples():
    clock = ShowClock(Fraction(30), 0.0, Fraction(30))
    assert clock.time_at(300) == 10.0 and clock.time_at(1) == 1 / 30
    ntsc = ShowClock(Fraction(30000, 1001), 5.0, Fraction(30000, 1001))
    assert ntsc.time_at(0) == 5.0 and ntsc.time_at(30000) == 5.0 + 1001.0


def test_loop_of_p_seconds_at_f_fps_ends_on_its_first_frame(tmp_path, generator):
    period, fps = 2.0, 12
    source = WalkSource(make_walk("loop", 4, generator.z_dim, period=period), Look(grain=0.03))
    render_offline(source, generator, RenderSettings(160, 120), tmp_path / "loop",
                   frames=int(period * fps) + 1, fps=fps)
    frames = _pngs(tmp_path / "loop")
    assert len(frames) == 25
    # Grain is seeded by frame index, so compare the face, rendered without grain too:
    plain = WalkSource(source.path)
    render_offline(plain, generator, RenderSettings(160, 120), tmp_path / "plain",
                   frames=25, fps=fps)
    plain_frames = _pngs(tmp_path / "plain")
    assert np.array_equal(plain_frames[-1], plain_frames[0])
    assert not np.array_equal(plain_frames[12], plain_frames[0])
    assert not np.array_equal(frames[0], plain_frames[0])  # the grain is there


def test_same_seed_same_frames_different_seed_different(tmp_path, generator):
    def run(seed: int, name: str) -> list[np.ndarray]:
        source = WalkSource(make_walk("wander", seed, generator.z_dim, speed=1.0), Look(grain=0.02))
        render_offline(source, generator, RenderSettings(128, 128), tmp_path / name, frames=10,
                       fps=10)
        return _pngs(tmp_path / name)

    a, b, c = run(3, "a"), run(3, "b"), run(4, "c")
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[5], c[5])


def test_start_offset_renders_the_same_frames_later_in_the_show(tmp_path, generator):
    source = WalkSource(make_walk("noise", 2, generator.z_dim, period=4.0))
    settings = RenderSettings(96, 96)
    render_offline(source, generator, settings, tmp_path / "all", frames=8, fps=4)
    render_offline(source, generator, settings, tmp_path / "late", frames=4, fps=4, start=1.0)
    assert all(np.array_equal(x, y) for x, y in zip(_pngs(tmp_path / "all")[4:], _pngs(tmp_path / "late")))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return cli_in_process(*args)


def _process(*args: str) -> subprocess.CompletedProcess:
    """The command line in a process of its own (argparse writes its refusals to stderr itself)."""
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_cli_renders_a_1080p_mp4_with_the_asked_frames(tmp_path):
    out = tmp_path / "faces.mp4"
    result = _cli("render", "--walk", "wander", "-o", str(out), "--frames", "24", "--fps", "24", "--size", "1920x1080",
                  "--no-progress")
    assert result.returncode == 0, result.stderr
    frames, info = decode(out)
    assert len(frames) == 24
    assert (info["width"], info["height"], info["fps"]) == (1920, 1080, 24)
    assert frames[0][:, 500:1400].mean() > 30  # a face, not black
    assert np.abs(frames[0].astype(int) - frames[23]).mean() > 1  # and it moves


def test_cli_reports_a_bad_model_in_one_line(tmp_path):
    result = _cli("render", "-o", str(tmp_path / "x.mp4"), "--frames", "2", "--model", "nope")
    assert result.returncode == 1
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert lines == [lines[0]] and "nope: no such model" in lines[0]


def test_cli_rejects_a_bad_size():
    result = _process("render", "-o", "x.mp4", "--size", "big")
    assert result.returncode == 2 and "is not WIDTHxHEIGHT" in result.stderr


SHOWS = __import__("pathlib").Path(__file__).resolve().parents[1] / "shows"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["never_existed", "morph_gallery", "seamless_loop", "vj_wander"])
def test_every_example_show_renders_to_a_video(tmp_path, name):
    out = tmp_path / f"{name}.mp4"
    result = _cli("render", str(SHOWS / f"{name}.toml"), "-o", str(out), "--seconds", "2", "--fps", "12",
                  "--size", "320x180", "--no-progress")
    assert result.returncode == 0, result.stderr
    frames, info = decode(out)
    assert len(frames) == 24 and (info["width"], info["height"]) == (320, 180)


def test_seamless_loop_show_closes_exactly_with_its_grain(tmp_path):
    """With no duration the show renders one period; frame P*F (one more) equals frame 0."""
    result = _cli("render", str(SHOWS / "seamless_loop.toml"), "-o", str(tmp_path / "one"), "--fps", "6",
                  "--size", "128x72", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "one").glob("*.png"))) == 8 * 6  # exactly one period
    result = _cli("render", str(SHOWS / "seamless_loop.toml"), "-o", str(tmp_path / "closed"), "--fps", "6",
                  "--frames", str(8 * 6 + 1), "--size", "128x72", "--no-progress")
    assert result.returncode == 0, result.stderr
    frames = _pngs(tmp_path / "closed")
    assert np.array_equal(frames[-1], frames[0])
    assert not np.array_equal(frames[24], frames[0])


def test_look_flags_override_the_show(tmp_path):
    def frame(name: str, *flags: str) -> np.ndarray:
        result = _cli("render", str(SHOWS / "seamless_loop.toml"), "-o", str(tmp_path / name), "--frames", "1",
                      "--size", "128x72", "--no-progress", *flags)
        assert result.returncode == 0, result.stderr
        return _pngs(tmp_path / name)[0]

    show_grain, no_grain, no_grain_again = frame("show"), frame("flat", "--grain", "0"), frame("flat2", "--grain", "0")
    assert np.array_equal(no_grain, no_grain_again) and not np.array_equal(show_grain, no_grain)


def test_a_replay_at_another_size_makes_its_faces_at_the_exit_that_covers_it():
    """A 720p set played at the 64-px exit, mastered at 4K, was made at 64 px and blown up 34
    times (seen: a blurred grid of a face). At the live size the live exit keeps frames
    bit-identical; at another size the exit is chosen for it."""
    header = {"exit": 64, "size": [1280, 720]}
    exits = (64, 128, 256, 512, 1024)
    assert run.replay_exit(header, None, exits) == 64
    assert run.replay_exit(header, (1280, 720), exits) == 64
    assert run.replay_exit(header, (3840, 2160), exits) is None  # chosen by the render: the covering exit
    assert run.replay_exit({"exit": 48, "size": [1280, 720]}, None, exits) is None  # not this model's
    assert run.replay_exit({"size": [1280, 720]}, None, exits) is None  # an older log
