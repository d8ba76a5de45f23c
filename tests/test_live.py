"""The live player: show clock, pacing, stats, and real runs (headless EGL and a pygame window)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import av
import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.live.clock import ShowClock
from engine.live.pacing import FramePacer, FrameStats
from engine.frames import Face, FrameSpec
from engine.live.runahead import RunAhead, bracket, keyframe_rate


def test_clock_pause_speed_and_seek_are_scheduled_segments():
    clock = ShowClock(fps=50.0, start=10.0)
    assert clock.time_at(50) == pytest.approx(11.0)
    clock.set_paused(100, True)
    assert clock.time_at(150) == pytest.approx(12.0)  # frozen at tick 100
    clock.set_paused(200, False)
    assert clock.time_at(250) == pytest.approx(13.0)
    clock.scale_speed(250, 2.0)
    assert clock.time_at(275) == pytest.approx(14.0)  # twice as fast: 25 ticks = 1 s of show
    clock.seek(300, 100.0)
    assert clock.time_at(299) == pytest.approx(14.96) and clock.time_at(325) == pytest.approx(101.0)


def test_speed_is_right_at_any_refresh_rate():
    for fps in (50, 60, 120, 144):
        assert ShowClock(fps).time_at(fps * 7) == pytest.approx(7.0)


def test_pacer_counts_skipped_refreshes_from_the_clock():
    now = [0.0]
    pacer = FramePacer(60.0, vsync=False, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    pacer.start()
    assert pacer.presented()[1] == 0 and pacer.tick == 1  # on time: sleeps to the deadline
    now[0] += 1 / 60 + 0.040  # a frame 40 ms late: two refreshes passed without it
    interval, skipped = pacer.presented()
    assert skipped == 2 and pacer.tick == 4


def test_pacer_with_vsync_counts_refreshes_between_swaps():
    now = [0.0]
    pacer = FramePacer(50.0, vsync=True, now=lambda: now[0])
    pacer.start()
    now[0] += 0.02
    assert pacer.presented() == (pytest.approx(0.02), 0)
    now[0] += 0.06
    assert pacer.presented()[1] == 2


def test_stats_percentiles_in_constant_memory():
    stats = FrameStats(60.0)
    for i in range(1001):
        stats.add(0.010 if i % 100 else 0.050, 0, i == 3)
    s = stats.summary()
    assert s["frames"] == 1001 and s["missed"] == 1
    assert s["p50_ms"] == pytest.approx(10.05) and s["p99_ms"] == pytest.approx(10.05)
    assert s["fps"] == pytest.approx(1000 / (990 * 0.010 + 10 * 0.050), rel=1e-3)


def test_keyframes_bracket_show_time_and_slow_generators_get_a_lower_rate():
    assert bracket(1.0, 60.0) == (60, 0.0)
    j, mix = bracket(1.0 + 0.5 / 30, 30.0)
    assert j == 30 and mix == pytest.approx(0.5)
    assert keyframe_rate(1000.0, 60.0) == 60.0
    assert keyframe_rate(60.0, 60.0) == 20.0  # needs 2.5x headroom: every third frame
    assert keyframe_rate(2.0, 60.0) == pytest.approx(0.8)


def _decoded_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_run_ahead_generates_whole_batches_and_never_chases_the_display(generator):
    made = []

    def walk(epoch):
        def spec(t):
            made.append(t)
            return FrameSpec(faces=((Face(np.full(generator.z_dim, t, np.float32)), 1.0),))
        return spec

    ahead = RunAhead(generator, walk, ShowClock(fps=60.0), rate=60.0, lookahead=0.5, batch=8)
    batches = []

    def fill():
        made.clear()
        ahead._fill_once()
        batches.append(len(made))

    fill(), fill()
    assert batches == [2, 8]  # the first keyframes alone, then a whole batch, not another two
    while ahead._next_batch(ahead.needed(0)):
        fill()
    assert len(ahead._cache) >= 30 - 7 and ahead.wait_ready(0, timeout=1.0)
    ahead.advance(1)
    assert ahead._next_batch(ahead.needed(1)) == []  # no top-up of one keyframe per frame
    batches.clear()
    for tick in range(100, 148, 12):  # the display outruns the generator, as in a stall:
        ahead.advance(tick)           # small and whole batches alternate, so it catches up
        fill()
    assert batches == [2, 8, 2, 8]


def test_headless_play_records_exactly_the_frames_shown(tmp_path):
    video, report = tmp_path / "live.mp4", tmp_path / "stats.json"
    code = main(["play", "--headless", "--walk", "wander", "--size", "320x180", "--fps", "30",
                 "--duration", "2", "--record", str(video), "--stats", "--stats-json", str(report)])
    assert code == 0
    stats = json.loads(report.read_text())
    assert {"frames", "seconds", "fps", "p50_ms", "p99_ms", "missed"} <= stats.keys()
    assert 50 <= stats["frames"] <= 60 and stats["seconds"] == pytest.approx(2.0, abs=0.2)
    assert stats["recordings"][0]["frames"] == stats["frames"]
    assert _decoded_frames(video) == stats["frames"]


def test_keyframe_blending_keeps_moving_every_frame(tmp_path):
    frames = tmp_path / "frames"
    main(["play", "--headless", "--walk", "wander", "--speed", "2", "--size", "96x96", "--fps", "20",
          "--keyframes", "5", "--duration", "1", "--record", str(frames)])
    images = [np.asarray(Image.open(p)).astype(int) for p in sorted(frames.glob("*.png"))]
    changes = [np.abs(a - b).mean() for a, b in zip(images, images[1:])]
    assert len(images) >= 18 and min(changes) > 0.01  # no frame repeats between keyframes


@pytest.fixture
def offscreen_window(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    yield
    import pygame

    pygame.quit()


def test_window_plays_handles_keys_and_quits_cleanly(tmp_path, offscreen_window, monkeypatch):
    import pygame

    playing = threading.Event()  # keys pressed during start-up would all land on the first frame
    start = FramePacer.start
    monkeypatch.setattr(FramePacer, "start", lambda self: (start(self), playing.set())[0])

    def press_later():
        import time

        assert playing.wait(120)
        for key, wait in ((pygame.K_SPACE, 0.6), (pygame.K_SPACE, 0.2), (pygame.K_RIGHT, 0.1), (pygame.K_n, 0.1),
                          (pygame.K_s, 0.1), (pygame.K_r, 0.3), (pygame.K_r, 0.3), (pygame.K_q, 0.2)):
            time.sleep(wait)
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))

    report = tmp_path / "stats.json"
    snapshots = tmp_path / "snaps"
    presser = threading.Thread(target=press_later)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # R without --record writes vernissage-<time>.mp4 here
    try:
        presser.start()
        code = main(["play", "--walk", "loop", "--size", "320x240", "--fps", "30", "--duration", "20",
                     "--snapshots", str(snapshots), "--stats", "--stats-json", str(report)])
        presser.join()
    finally:
        os.chdir(cwd)
    stats = json.loads(report.read_text())
    assert code == 0 and stats["seconds"] < 10  # Q quit long before --duration
    assert stats["size"] == [320, 240] and stats["frames"] > 20
    snaps = list(snapshots.glob("*.png"))
    assert len(snaps) == 1
    recorded = stats["recordings"]
    assert len(recorded) == 1 and recorded[0]["frames"] > 3
    assert _decoded_frames(recorded[0]["path"]) == recorded[0]["frames"]


def test_no_display_is_one_clear_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["SDL_VIDEODRIVER"] = "x11"
    result = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--walk", "loop", "--duration", "1"],
                            capture_output=True, text=True, env=env, timeout=120)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode == 1 and len(errors) == 1 and "--headless" in errors[0]


def test_pacer_falls_back_to_the_clock_when_vsync_is_ignored():
    now = [0.0]
    pacer = FramePacer(60.0, vsync=True, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    pacer.start()
    for _ in range(30):
        now[0] += 0.001  # swaps return at once: no vsync
        pacer.presented()
    assert not pacer.vsync
    assert now[0] == pytest.approx(30 / 60, abs=0.2)  # paced: about real time, not 30 ms
