"""The live loop's parts: show clock, pacing, stats, run-ahead, keyframe rate; real headless and window runs."""

from __future__ import annotations

import math

import json
import os
import subprocess
import sys
import threading
from fractions import Fraction
from types import MappingProxyType

import av
import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.frames import Face, FrameSpec
from engine.loop.clock import Grid, ShowClock
from engine.loop.keyframes import KeyframeRatePolicy, starting_rate, stride_for
from engine.loop.live_source import LiveSource
from engine.loop.pacing import DisplayPacer, cadence_for
from engine.loop.runahead import BatchSizer, RunAhead
from engine.loop.show_state import Plan
from engine.loop.stats import FrameStats


def _schedule(clock: ShowClock, segment) -> None:
    assert segment is not None
    clock.schedule(segment)


def test_clock_pause_speed_and_seek_are_scheduled_segments():
    clock = ShowClock(Fraction(50), 10.0, Fraction(50))
    assert clock.time_at(50) == pytest.approx(11.0)
    _schedule(clock, clock.pause_plan(100, True))
    assert clock.time_at(150) == pytest.approx(12.0)  # frozen at tick 100
    _schedule(clock, clock.pause_plan(200, False))
    assert clock.time_at(250) == pytest.approx(13.0)
    _schedule(clock, clock.speed_plan(250, 2.0))
    assert clock.time_at(275) == pytest.approx(14.0)  # twice as fast: 25 ticks = 1 s of show
    _schedule(clock, clock.seek_plan(300, 100.0))
    assert clock.time_at(299) == pytest.approx(14.96) and clock.time_at(325) == pytest.approx(101.0)
    assert clock.segment_at(300).grid == Grid(100.0, Fraction(50))  # a jump starts a keyframe grid there
    assert clock.segment_at(250).grid == Grid(10.0, Fraction(50))  # pause and speed keep the grid going


def test_speed_is_right_at_any_refresh_rate():
    for fps in (50, 60, 120, 144):
        assert ShowClock(Fraction(fps), 0.0, Fraction(fps)).time_at(fps * 7) == pytest.approx(7.0)


def test_pacer_counts_skipped_refreshes_from_the_clock():
    now = [0.0]
    pacer = DisplayPacer(60.0, vsync=False, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                         late_latch=False)
    pacer.start()
    assert pacer.presented().skipped == 0 and pacer.tick == 1  # on time: sleeps to the deadline
    now[0] += 1 / 60 + 0.040  # a frame 40 ms late: two refreshes passed without it
    assert pacer.presented().skipped == 2 and pacer.tick == 4


def test_pacer_with_vsync_counts_refreshes_between_swaps():
    now = [0.0]
    pacer = DisplayPacer(50.0, vsync=True, now=lambda: now[0])
    pacer.start()
    now[0] += 0.02
    shown = pacer.presented()
    assert (shown.interval, shown.skipped) == (pytest.approx(0.02), 0)
    now[0] += 0.06
    assert pacer.presented().skipped == 2 and pacer.vsync


def _fake_display(swap_seconds: float, frames: int, fps: float = 60.0) -> tuple[DisplayPacer, float]:
    """A display whose swaps return after ``swap_seconds`` (a real vsync would wait for the refresh)."""
    now = [0.0]
    pacer = DisplayPacer(fps, vsync=True, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + max(0.0, s)))
    pacer.start()
    for _ in range(frames):
        pacer.wait_to_draw()
        now[0] += swap_seconds
        pacer.presented()
    return pacer, now[0]


def test_pacer_falls_back_to_the_clock_when_vsync_is_ignored():
    pacer, wall = _fake_display(0.001, 30)  # swaps return at once
    assert not pacer.vsync
    assert wall == pytest.approx(30 / 60, abs=1 / 60)  # paced in real time from the first frame, not 30 ms


def test_swaps_just_under_a_refresh_cannot_run_the_show_fast():
    """Xvfb drawing a big frame: each swap returns after 0.9 of a refresh, no vsync at all."""
    pacer, wall = _fake_display(0.9 / 60, 600)
    assert not pacer.vsync
    assert pacer.tick / 60 == pytest.approx(wall, rel=0.01)  # show seconds = wall seconds


def test_a_real_vsync_is_kept():
    pacer, wall = _fake_display(1 / 60, 600)
    assert pacer.vsync and pacer.tick == 600


def test_cadence_is_the_smallest_the_work_fits_in():
    period = 1 / 60
    assert cadence_for(0.010, period, 1) == 1
    assert cadence_for(0.032, period, 1) == 2  # llvmpipe at 1080p60: every other refresh, evenly
    assert cadence_for(0.045, period, 1) == 3
    assert cadence_for(0.5, period, 1) == 4  # never slower than 15 fps at 60 Hz
    assert cadence_for(0.014, period, 2) == 2  # fits one refresh, but not with room: stays
    assert cadence_for(0.010, period, 2) == 1


def _clock_paced(work: list[float], fps: float = 60.0) -> tuple[DisplayPacer, list, float]:
    """A clock-paced display (headless, or no vsync) whose frames take ``work[i]`` seconds."""
    now = [0.0]
    pacer = DisplayPacer(fps, vsync=False, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + max(0.0, s)))
    pacer.start()
    shown = []
    for seconds in work:
        pacer.wait_to_draw()
        now[0] += seconds
        pacer.drawn()
        shown.append((pacer.presented(), pacer.tick))
    return pacer, shown, now[0]


def test_a_draw_slower_than_the_refresh_is_shown_evenly_not_judder(caplog):
    """32 ms of work at 60 Hz landed on one refresh, then two, then one; now every frame is
    shown for two refreshes, none counted late, and show time still runs at wall speed."""
    with caplog.at_level("INFO", logger="engine.loop.pacing"):
        pacer, shown, wall = _clock_paced([0.032] * 400)
    assert pacer.cadence == 2
    steady = shown[200:]
    steps = {b[1] - a[1] for a, b in zip(steady, steady[1:])}
    assert steps == {2} and all(p.skipped == 0 for p, _ in steady)
    assert pacer.tick / 60 == pytest.approx(wall, abs=2 / 60)
    assert any("each frame shown for 2 refreshes, 30 fps evenly" in r.getMessage() for r in caplog.records)


def test_the_cadence_comes_back_down_when_the_work_shrinks():
    pacer, shown, _ = _clock_paced([0.032] * 200 + [0.006] * 400)
    assert pacer.cadence == 1
    assert {b[1] - a[1] for a, b in zip(shown[-100:], shown[-99:])} == {1}


def test_with_vsync_a_frame_just_over_a_refresh_lands_on_every_other_one():
    """Work of 15-18 ms on a 60 Hz vsync alternated one and two refreshes; at cadence 2 the pacer
    starts drawing late enough that every swap makes the second refresh."""
    now = [0.0]
    period = 1 / 60
    pacer = DisplayPacer(60.0, vsync=True, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + max(0.0, s)))
    pacer.start()
    steps = []
    for i in range(400):
        pacer.wait_to_draw()
        now[0] += 0.015 if i % 2 else 0.0175
        pacer.drawn()
        now[0] = math.ceil(now[0] / period - 1e-9) * period  # the swap returns at the next refresh
        before = pacer.tick
        pacer.presented()
        steps.append(pacer.tick - before)
    assert pacer.vsync and pacer.cadence == 2
    assert set(steps[200:]) == {2}


def test_stats_percentiles_in_constant_memory():
    stats = FrameStats(60.0)
    for i in range(1001):
        stats.add(0.010 if i % 100 else 0.050, 0, i == 3)
    s = stats.summary()
    assert s["frames"] == 1001 and s["missed"] == 1
    assert s["p50_ms"] == pytest.approx(10.05) and s["p99_ms"] == pytest.approx(10.05)
    assert s["fps"] == pytest.approx(1000 / (990 * 0.010 + 10 * 0.050), rel=1e-3)


def test_keyframes_bracket_show_time_and_slow_generators_get_a_lower_rate():
    assert Grid(0.0, Fraction(60)).bracket(1.0) == (60, 0.0)
    j, mix = Grid(0.0, Fraction(30)).bracket(1.0 + 0.5 / 30)
    assert j == 30 and mix == pytest.approx(0.5)
    assert Grid(5.3, Fraction(30)).bracket(5.3 + 7 / 30) == (7, 0.0)  # a grid starts where the show jumped to
    assert Grid(5.3, Fraction(30)).time_of(7) == 5.3 + float(Fraction(7, 30))
    assert starting_rate(Fraction(60), 1000.0) == 60
    assert starting_rate(Fraction(60), 60.0) == 15  # needs 2.5x headroom: every 4th frame (a power of two)
    assert starting_rate(Fraction(60), 2.0) == Fraction(60, 128)
    assert stride_for(Fraction(60), 1000.0, speed=16.0, headroom=2.5) == 4  # 16x speed: 960 a second, 2.5x over


def test_batch_size_is_chosen_by_measurement():
    small_model = BatchSizer()
    while not small_model.settled:  # a frame costs 10 ms alone, 1.5 ms in batches of 8 or more
        small_model.record(small_model.size, small_model.size * (0.010 if small_model.size == 1 else
                                                                 max(0.0015, 0.010 / small_model.size)))
    assert small_model.size == 8
    heavy = BatchSizer()
    while not heavy.settled:  # a heavy model on a CPU: batching only adds cost
        heavy.record(heavy.size, heavy.size * (0.6 + 0.02 * heavy.size))
    assert heavy.size == 1


def test_keyframe_rate_drops_when_the_generator_falls_behind_and_recovers():
    policy = KeyframeRatePolicy(Fraction(60), Fraction(60))
    assert policy.update(capacity=400.0, speed=1.0, stand_ins=0) is None  # plenty of room
    lowered = policy.update(capacity=10.0, speed=1.0, stand_ins=3)  # a codec took the CPU
    assert lowered == Fraction(60, 16)  # at once to what it makes 1.5x over, a power-of-two stride
    assert [policy.update(capacity=10.0, speed=1.0, stand_ins=5) for _ in range(3)] == [None] * 3  # it settles
    rates = [policy.update(capacity=400.0, speed=1.0, stand_ins=0) for _ in range(40)]
    assert [r for r in rates if r is not None] == [7.5, 15, 30, 60]  # back up, a halving each 5 s of room
    assert all(r is None for r in rates[:4])  # not at once: no oscillation


def _decoded_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _walk_plan(generator, made: list[float]) -> Plan:
    class Walk:
        period = None

        def __call__(self, t: float) -> FrameSpec:
            made.append(t)
            return FrameSpec(faces=((Face(np.full(generator.z_dim, t, np.float32)), 1.0),))

        def next_face(self, t: float) -> float:
            return t + 1.0

    clock = ShowClock(Fraction(60), 0.0, Fraction(60))
    return Plan(clock.segments, MappingProxyType({0: LiveSource(Walk())}), clock.fps)


def test_run_ahead_generates_whole_batches_and_never_chases_the_display(generator):
    made: list[float] = []
    plan = _walk_plan(generator, made)
    ahead = RunAhead(generator, lambda: plan, lookahead=30, exact=False, sizer=BatchSizer(size=8))
    batches = []

    def fill():
        made.clear()
        ahead._fill_once()
        batches.append(len(made))

    fill(), fill()
    assert batches == [2, 8]  # the first keyframes alone, then a whole batch, not another two
    while ahead._next_batch(ahead._needed(0), [k for k in ahead._needed(0) if k not in ahead._cache]):
        fill()
    assert len(ahead._cache) >= 30 - 7 and ahead.wait_ready(0, timeout=1.0)
    ahead.advance(1)
    needed = ahead._needed(1)
    assert ahead._next_batch(needed, [k for k in needed if k not in ahead._cache]) == []  # no top-up of one
    batches.clear()
    for tick in range(100, 148, 12):  # the display outruns the generator, as in a stall:
        ahead.advance(tick)           # small and whole batches alternate, so it catches up
        fill()
    assert batches == [2, 8, 2, 8]


def test_run_ahead_makes_what_is_asked_next_before_it_is_asked(generator):
    made: list[float] = []
    plan = _walk_plan(generator, made)
    ahead = RunAhead(generator, lambda: plan, lookahead=4, exact=False, sizer=BatchSizer(size=4))
    wanted = (0, Grid(50.0, Fraction(60)), 0)  # where a jump to the next face would land
    ahead.advance(0, [wanted])
    while ahead._fill_once():
        pass
    assert ahead.get(wanted) is not None and ahead.for_keys([wanted]) == 0
    assert ahead.for_keys([(0, Grid(70.0, Fraction(60)), 0)]) >= 1  # anything else waits for the generator


def test_what_is_asked_next_is_made_even_while_the_generator_is_behind(generator):
    """With the display always ahead (every fill finds its first keyframes missing), the next
    face once waited for ever, and a press of N on a slow model took seconds. It gets its turn
    after SPECULATIVE_PATIENCE."""
    from engine.loop.runahead import SPECULATIVE_PATIENCE

    made: list[float] = []
    plan = _walk_plan(generator, made)
    clock = [0.0]
    ahead = RunAhead(generator, lambda: plan, lookahead=4, exact=False, sizer=BatchSizer(size=4),
                     now=lambda: clock[0])
    wanted = (0, Grid(500.0, Fraction(60)), 0)  # the next face: far from anything the display needs
    turns = []
    for step in range(8):
        ahead.advance(100 * step, [wanted])  # the display has run on: what it needs is missing again
        ahead._fill_once()
        turns.append(ahead.get(wanted) is not None)
        clock[0] += 0.3  # each batch takes 0.3 s
    first = turns.index(True)
    assert 0 < first and 0.3 * first >= SPECULATIVE_PATIENCE - 1e-9 and 0.3 * (first - 1) < SPECULATIVE_PATIENCE


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
    start = DisplayPacer.start
    monkeypatch.setattr(DisplayPacer, "start", lambda self: (start(self), playing.set())[0])

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
    snap = np.asarray(Image.open(snaps[0]))
    assert snap.shape == (240, 320, 3) and snap[:12, :12].mean() < snap[100:140, 140:180].mean()  # no panel in it
    recorded = stats["recordings"]
    assert len(recorded) == 1 and recorded[0]["frames"] > 3
    assert _decoded_frames(recorded[0]["path"]) == recorded[0]["frames"]


def test_no_display_is_one_clear_line_and_duration_counts_the_waiting():
    """No X at all: one line saying what to do, retried (a service started before X gets its
    screen when X comes); --duration is wall time, so it ends the waiting too, in failure."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["SDL_VIDEODRIVER"] = "x11"
    result = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--walk", "loop", "--duration", "7"],
                            capture_output=True, text=True, env=env, timeout=120)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert result.returncode == 1 and len(errors) == 2, result.stderr
    assert "--headless" in errors[0] and "trying again" in errors[0]
    assert "--duration 7 s passed with no screen" in errors[1]


@pytest.fixture
def xvfb():
    """A real X server with no screen: its swaps return at once, as on VNC and remote desktops."""
    import shutil
    import time
    from pathlib import Path

    assert shutil.which("Xvfb"), "Xvfb is missing (install/setup.sh installs it)"
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(10)


def test_a_window_without_vsync_plays_in_real_time(tmp_path, xvfb):
    """Under Xvfb every swap returns at once; counted as refreshes they played 10 s of show in 3.4 s."""
    report = tmp_path / "stats.json"
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=xvfb, SDL_AUDIODRIVER="dummy")
    result = subprocess.run([sys.executable, "-m", "engine.cli", "play", "--walk", "loop", "--size", "640x360",
                             "--fps", "60", "--duration", "10", "--stats-json", str(report)],
                            capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    stats = json.loads(report.read_text())
    assert stats["ticks"] >= 590  # 10 s of show at 60 ticks a second (shown, late, or held by the cadence)
    assert stats["seconds"] == pytest.approx(10.0, rel=0.05)  # ... in 10 s of wall time
    assert result.stderr.count("does not wait for vsync") == 1


def test_play_render_and_replay_run_the_same_loop(tmp_path, monkeypatch):
    """engine.loop.frame_loop.FrameLoop is the loop of all three: only the pacer and the inputs differ."""
    from engine.loop.frame_loop import FrameLoop

    runs = []
    original = FrameLoop.run

    def spy(self):
        runs.append((type(self.parts.pacer).__name__, self.exact))
        return original(self)

    monkeypatch.setattr(FrameLoop, "run", spy)
    log = tmp_path / "performance.jsonl"
    assert main(["render", "--walk", "wander", "-o", str(tmp_path / "offline"), "--frames", "3", "--size", "64x64",
                 "--no-progress"]) == 0
    assert main(["play", "--headless", "--walk", "wander", "--size", "64x64", "--fps", "30", "--duration", "0.3",
                 "--performance-log", str(log)]) == 0
    assert main(["render", "--replay", str(log), "-o", str(tmp_path / "replay"), "--no-progress"]) == 0
    assert runs == [("ExactPacer", True), ("DisplayPacer", False), ("ExactPacer", True)]
    assert len(list((tmp_path / "replay").glob("*.png"))) == 9


def test_the_worker_owns_the_generator_and_runs_other_threads_errands(generator):
    """A reloaded show's steering needs the model: the worker makes it between batches, the
    asker waits for the answer (or the error); before the worker starts and after it stops, the
    asker runs it itself."""
    import concurrent.futures

    plan = _walk_plan(generator, [])
    ahead = RunAhead(generator, lambda: plan, lookahead=30, exact=False, sizer=BatchSizer(size=8))
    where = lambda g: (threading.current_thread().name, g is generator)  # noqa: E731
    assert ahead.errand(where) == (threading.current_thread().name, True)  # not started: here
    ahead.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as askers:
            answers = list(askers.map(lambda _: ahead.errand(where), range(8)))
        assert answers == [("generate-ahead", True)] * 8

        def broken(g):
            raise ValueError("a vector of the wrong size")

        with pytest.raises(ValueError, match="wrong size"):
            ahead.errand(broken)
        assert ahead.errand(lambda g: 7) == 7 and ahead.error is None  # the worker goes on
    finally:
        ahead.close()
    assert ahead.errand(where)[0] == threading.current_thread().name  # stopped: here again
