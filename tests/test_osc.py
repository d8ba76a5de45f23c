"""OSC control with real UDP packets on loopback: the address map, bundles, feedback, safety."""

from __future__ import annotations

import random
import re
import socket
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from engine.commands import NextCue
from engine.frames import WalkSource, make_walk
from engine.inputs.addresses import ADDRESSES, ControlError, check
from engine.inputs.bindings import BindingError, load_bindings
from engine.inputs.wire import WireError, parse
from engine.loop.clock import ShowClock
from engine.loop.show_loader import ShowLoader
from engine.loop.show_state import CommandRefused, ShowState
from engine.loop.tempo import Tempo
from engine.show import Timeline, load_show
from helpers import perform_and_replay
from tests.osc_harness import LivePlayer, bundle, message

ROOT = Path(__file__).resolve().parents[1]


def _walk(generator, seed=1):
    return WalkSource(make_walk("wander", seed, generator.z_dim, speed=0.5))


class FixedLeads:
    """Every change gets the same lead (the live engine measures it)."""

    def __init__(self, lead: int) -> None:
        self.lead = lead

    def for_keys(self, keys) -> int:
        return self.lead

    def measured(self) -> int:
        return self.lead


# --- parsing and checking, no sockets ----------------------------------------------------------------

def test_malformed_datagrams_are_one_clear_error_each():
    fade = message("/vernissage/render/fade", 0.5)
    assert parse(fade)[0].args == (0.5,)
    for bad in (fade[:-4], fade[:-1], fade + b"\0\0\0\0", b"\xff\xfe\xfd\0", b"", b"#bundle\0" + b"\0" * 4,
                b"/a\0\0,x\0\0", message("/x", "y").replace(b"y\0", b"\xff\0")):
        with pytest.raises(WireError):
            parse(bad)


def test_the_problem_log_stays_bounded_whatever_the_senders_send():
    import logging

    from engine.ratelimit import RateLimitedLog

    problems = RateLimitedLog(logging.getLogger("test"), now=lambda: 0.0)
    for n in range(5000):  # each key logged once, then suppressed once
        problems.warning(f"learn /x{n}", "first")
        problems.warning(f"learn /x{n}", "again")
    assert len(problems._last) <= 1025 and len(problems._suppressed) <= 1025


def test_arguments_are_checked_for_type_count_range_and_nan():
    assert check("/vernissage/show/pause", [True]).args == (1,)
    assert check("/vernissage/show/pause", [0.0]).args == (0,)
    assert check("/vernissage/show/cue", ["finale"]).args == ("finale",)
    assert check("/vernissage/walk/seed", [12.0]).args == (12,)
    assert check("/vernissage/show/next", [1.0]) == check("/vernissage/show/next", []) == NextCue()
    assert check("/vernissage/show/next", [0]) is None  # a button's release
    for address, args in [("/vernissage/render/fade", [float("nan")]), ("/vernissage/render/fade", [1.5]),
                          ("/vernissage/render/fade", []), ("/vernissage/render/fade", ["loud"]),
                          ("/vernissage/walk/seed", [1.5]), ("/vernissage/morph/to", [3]),
                          ("/vernissage/show/pause", [2]), ("/vernissage/nope", []),
                          ("/vernissage/show/next", ["now"])]:
        with pytest.raises(ControlError, match=re.escape(address)):
            check(address, args)


def test_the_readme_documents_every_address():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(/vernissage/[a-z/]+)`", readme, re.MULTILINE))
    assert documented == set(ADDRESSES)


def test_show_load_cannot_leave_the_shows_folder(tmp_path):
    (tmp_path / "inside.toml").write_text("x")
    loader = ShowLoader(tmp_path, lambda path, name: path, lambda command: None)
    assert loader.resolve("inside.toml") == (tmp_path / "inside.toml").resolve()
    for name in ("../outside.toml", "/etc/passwd", "inside.txt", "missing.toml", "sub/../../x.toml", "x" * 251 + ".toml",
                 "a\0b.toml"):
        with pytest.raises(CommandRefused):
            loader.resolve(name)


def test_bindings_scale_smooth_and_name_file_and_line(tmp_path, generator):
    path = tmp_path / "bindings.toml"
    path.write_text('[[binding]]\naddress = "/1/fader3"\ntarget = "/vernissage/render/grain"\n'
                    'input = [0, 127]\noutput = [0.0, 0.5]\nsmoothing = 0.1\n')
    (binding,) = load_bindings(path)
    command = binding.command((127,))
    assert command.args == (0.5,) and command.smoothing == 0.1
    assert binding.command((-40,)).args == (0.0,)  # clamped to the input range
    state = ShowState(_walk(generator), generator.z_dim, ShowClock(Fraction(30), 0.0, Fraction(30)), FixedLeads(3))
    state.apply(0, command)
    values = []
    for tick in range(12):
        state.step(tick)
        values.append(state.faders["/vernissage/render/grain"])
    assert 0.0 < values[0] < values[2] < values[-1] <= 0.5 and values[-1] > 0.49  # 0.1 s = 3 frames
    path.write_text('[[binding]]\naddress = "/1/fader3"\n\ntarget = "/vernissage/render/nothing"\n')
    with pytest.raises(BindingError, match=r"bindings\.toml:4: 'target' must be one of"):
        load_bindings(path)


def test_tap_tempo_and_the_beat_grid():
    tempo = Tempo(60.0)
    for tick in (100, 130, 160):
        tempo.tap(tick)
    assert tempo.bpm == pytest.approx(120.0) and tempo.next_beat(161) == 190 and tempo.next_beat(190) == 190
    tempo.tap(1000)  # after a long pause a new sequence starts; the tempo stays
    assert tempo.bpm == pytest.approx(120.0) and tempo.next_beat(1001) == 1030


# --- a playing show under real OSC --------------------------------------------------------------------

def test_every_address_changes_what_it_should(tmp_path, generator):
    live = LivePlayer(tmp_path, generator, _walk(generator))
    clock, state = live.state.clock, live.state
    applied = 0

    def do(address, *args, settle=6):
        nonlocal applied
        live.send(address, *args)
        applied += 1
        live.wait_applied(applied)
        live.settle(settle)

    try:
        do("/vernissage/render/fade", 1.0)
        do("/vernissage/render/fade", 0.0)
        do("/vernissage/render/brightness", 0.5)
        do("/vernissage/render/brightness", 1.0)
        do("/vernissage/render/vignette", 1.0)
        do("/vernissage/render/vignette", 0.0)
        do("/vernissage/render/grain", 1.0)
        do("/vernissage/render/grain", 0.0)
        do("/vernissage/show/pause", 1)
        assert clock.paused
        do("/vernissage/show/pause")  # no argument: toggle
        assert not clock.paused
        do("/vernissage/walk/speed", 1.0)
        assert clock.latest.speed == pytest.approx(4.0)
        do("/vernissage/walk/rate", 1.0)
        do("/vernissage/show/seek", 100.0)
        assert live.show_time == pytest.approx(100.0, abs=0.5)
        do("/vernissage/portrait/next")
        assert live.show_time == pytest.approx(102.0, abs=0.5)  # speed 0.5: a face each 2 s
        do("/vernissage/walk/seed", 5)
        assert state.latest.walk.seed == 5
        do("/vernissage/morph/to", 9, 0.5)
        assert state.latest.walk.seed == 9 and state.latest.morph_seconds == 0.5
        do("/vernissage/latent/truncation", 0.0)
        do("/vernissage/latent/truncation", 1.0)
        do("/vernissage/tempo/bpm", 120.0)
        do("/vernissage/tempo/beats", 2)
        do("/vernissage/tempo/lock", 1)  # one face per 2 beats at 120 bpm = 1 face/s; the walk makes 0.5
        assert clock.latest.speed == pytest.approx(2.0)
        do("/vernissage/tempo/lock", 0)
        for _ in range(3):
            do("/vernissage/tempo/tap", settle=15)  # about 16 frames at 30 fps apart: ~110 bpm
        assert 95.0 <= state.tempo.bpm <= 125.0
        do("/vernissage/snapshot", settle=3)
    finally:
        performance = live.stop()
    frames = live.frames(performance)
    by_address: dict[str, list[int]] = {}
    leads: dict[str, list[int]] = {}
    for logged in performance.commands:
        by_address.setdefault(logged.command.address, []).append(logged.tick)
        leads.setdefault(logged.command.address, []).append(logged.lead)

    def at(address, index=0, lead=0):
        return frames[by_address[address][index] + lead]

    def before(address, index=0):
        return frames[by_address[address][index] - 1]

    assert at("/vernissage/render/fade").max() <= 1 and before("/vernissage/render/fade").mean() > 20
    assert at("/vernissage/render/brightness").mean() / before("/vernissage/render/brightness").mean() == \
        pytest.approx(0.5, abs=0.05)
    corner = (slice(0, 12), slice(0, 12))
    assert at("/vernissage/render/vignette")[corner].mean() < 0.7 * before("/vernissage/render/vignette")[corner].mean()
    noise = np.abs(np.diff(at("/vernissage/render/grain").astype(float), axis=1)).mean()
    assert noise > 3 * np.abs(np.diff(before("/vernissage/render/grain").astype(float), axis=1)).mean()
    paused = by_address["/vernissage/show/pause"][0]
    assert np.array_equal(frames[paused + 1], frames[paused + 4])
    truncated = by_address["/vernissage/latent/truncation"][0] + leads["/vernissage/latent/truncation"][0]
    assert np.array_equal(frames[truncated + 1], frames[truncated + 2]) and not np.array_equal(
        frames[truncated - 3], frames[truncated - 2])  # psi 0: the average face, standing still
    cut = by_address["/vernissage/walk/seed"][0] + leads["/vernissage/walk/seed"][0]
    assert np.abs(frames[cut] - frames[cut - 1]).mean() > 3 * np.abs(frames[cut - 1] - frames[cut - 2]).mean()
    assert list((tmp_path / "snapshots").glob("*.png"))


def test_recording_starts_and_stops_over_osc_inside_its_folder(tmp_path, generator):
    live = LivePlayer(tmp_path, generator, _walk(generator), record=False)
    try:
        live.send("/vernissage/record/start", "../escape.mp4")
        live.send("/vernissage/record/start", "clip.mp4")
        live.wait_applied(2)
        live.settle(20)
        live.send("/vernissage/record/stop")
        live.wait_applied(3)
        live.settle(2)
        recordings = live.run.recorder.recordings
    finally:
        live.stop()
    assert len(recordings) == 1 and recordings[0]["path"] == str((tmp_path / "recordings" / "clip.mp4").resolve())
    with av.open(str(tmp_path / "recordings" / "clip.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == recordings[0]["frames"] >= 20
    assert not (tmp_path / "escape.mp4").exists()


def test_takes_never_share_a_name_and_a_take_with_no_frame_leaves_no_file(tmp_path, generator):
    """Two takes named alike (two R presses in one second got one timestamp) are two files; a
    start and a stop applied on the same frame (a storm of them, in one bundle) keep nothing."""
    live = LivePlayer(tmp_path, generator, _walk(generator), record=False)
    try:
        for take in range(2):
            live.send("/vernissage/record/start", "take.mp4")
            live.wait_applied(2 * take + 1)
            live.settle(12)
            live.send("/vernissage/record/stop")
            live.wait_applied(2 * take + 2)
            live.settle(2)
        storm = [message("/vernissage/record/start", "storm.mp4"), message("/vernissage/record/stop")] * 3
        live.send_raw(bundle(0, *storm))  # time tag 0: apply at once, all on one frame
        live.wait_applied(10)
        live.settle(4)
        recordings = live.run.recorder.recordings
    finally:
        live.stop()
    folder = tmp_path / "recordings"
    assert sorted(p.name for p in folder.iterdir()) == ["take-2.mp4", "take.mp4"]
    kept = [r for r in recordings if r["frames"] > 0]
    assert [Path(r["path"]).name for r in kept] == ["take.mp4", "take-2.mp4"]
    for r in kept:
        with av.open(r["path"]) as container:
            assert sum(1 for _ in container.decode(video=0)) == r["frames"] >= 10
    assert len(recordings) == 5 and all("no file kept" in r["stopped_because"] for r in recordings[2:])


def test_cues_and_show_loading(tmp_path, generator):
    shows = tmp_path / "shows"
    shows.mkdir()
    for name, cues in (("main.toml", ("intro", "finale")), ("other.toml", ("elsewhere",))):
        body = "".join(f'[[cue]]\nname = "{cue}"\nkind = "wander"\nduration = 30\n\n' for cue in cues)
        (shows / name).write_text('[show]\ntitle = "t"\n\n' + body)
    timeline = Timeline(load_show(shows / "main.toml"), generator.z_dim)
    live = LivePlayer(tmp_path, generator, timeline, shows=shows, record=False)
    try:
        status = lambda: live.state.status(live.tick)[0]  # noqa: E731
        assert status() == "intro"
        live.send("/vernissage/show/cue", "finale")
        live.wait_applied(1)
        live.settle()
        assert status() == "finale" and live.show_time == pytest.approx(30.0, abs=0.5)
        live.send("/vernissage/show/cue", 0)
        live.wait_applied(2)
        live.settle()
        assert status() == "intro"
        live.send("/vernissage/show/next")
        live.wait_applied(3)
        live.settle()
        assert status() == "finale"
        live.send("/vernissage/show/load", "../../escape.toml")
        live.send("/vernissage/show/cue", "nowhere")
        live.send("/vernissage/show/load", "other.toml")
        live.wait_applied(4)
        live.settle()
        assert status() == "elsewhere"
        assert live.run.intake.counters()["rejected"] == 2
    finally:
        live.stop()


def test_timed_bundles_apply_at_the_frame_they_name(tmp_path, generator):
    live = LivePlayer(tmp_path, generator, _walk(generator), record=False)
    try:
        wall, perf = time.time(), time.perf_counter()
        due_perf = perf + 0.5
        live.send_raw(bundle(wall + 0.5, message("/vernissage/render/fade", 1.0)))
        sent_tick = live.tick
        live.wait_applied(1, timeout=3.0)
        origin = live.run.loop.parts.pacer.deadline(0)
    finally:
        performance = live.stop()
    (logged,) = performance.commands
    tick, command = logged.tick, logged.command
    expected = int(np.ceil((due_perf - origin) * live.fps))  # the first frame shown at or after the time tag
    assert command.address == "/vernissage/render/fade"
    assert abs(tick - expected) <= 1 and tick - sent_tick >= 12  # 0.5 s = 15 frames later, not now


def test_a_time_tag_years_away_is_one_line_and_the_show_goes_on(tmp_path, generator, caplog):
    """A leader whose clock is years out (or a hostile sender) cannot park commands for ever."""
    import logging

    live = LivePlayer(tmp_path, generator, _walk(generator), record=False)
    try:
        with caplog.at_level(logging.WARNING):
            live.send_raw(bundle(time.time() + 5 * 365 * 86400, message("/vernissage/render/fade", 1.0)))
            deadline = time.monotonic() + 3
            while live.server.counters.rejected == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            before = live.tick
            live.settle(5)
    finally:
        live.stop()
    assert live.server.counters.rejected == 1 and live.tick >= before + 5
    assert "is timed 157680000 s ahead; ignored (clock error?)" in caplog.text


def test_status_is_answered_to_the_sender_and_sent_on_change(tmp_path, generator):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2.0)
    live = LivePlayer(tmp_path, generator, _walk(generator), record=False, feedback=[listener.getsockname()])
    try:
        live.send("/vernissage/status")
        replies = dict(live.replies())
        assert replies["/vernissage/status/cue"] == ("walk",)
        assert len(replies["/vernissage/status"]) == 11 and replies["/vernissage/status/fps"][0] > 0
        live.send("/vernissage/show/pause", 1)
        deadline = time.monotonic() + 3
        paused = None
        while paused != (1,) and time.monotonic() < deadline:
            paused = dict((m.address, m.args) for m in parse(listener.recv(65536))).get("/vernissage/status/paused")
        assert paused == (1,)
    finally:
        live.stop()
        listener.close()


def test_senders_outside_the_allow_list_are_dropped(tmp_path, generator):
    live = LivePlayer(tmp_path, generator, _walk(generator), record=False, allow=["10.0.0.0/8"])
    try:
        live.send("/vernissage/render/fade", 1.0)
        deadline = time.monotonic() + 2
        while live.server.counters.refused == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        live.settle()
        assert live.server.counters.refused == 1 and live.run.intake.applied == 0
    finally:
        live.stop()


def test_learn_mode_offers_unknown_addresses_for_binding(tmp_path, generator, caplog):
    live = LivePlayer(tmp_path, generator, _walk(generator), record=False, learn=True)
    try:
        with caplog.at_level("WARNING"):
            live.send("/1/fader3", 0.25)
            deadline = time.monotonic() + 2
            while "OSC learn" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.01)
        assert '[[binding]] address = "/1/fader3"' in caplog.text
    finally:
        live.stop()


def test_fuzzed_packets_never_stop_the_show(tmp_path, generator):
    """Thousands of random and mutated packets while playing: the frame rate holds, /status answers."""
    live = LivePlayer(tmp_path, generator, _walk(generator), fps=30.0, size=(64, 64), record=False)
    rng = random.Random(7)
    valid = [message(a, *args) for a, args in [
        ("/vernissage/render/fade", (0.2,)), ("/vernissage/walk/seed", (3,)), ("/vernissage/morph/to", (4, 1.0)),
        ("/vernissage/show/cue", ("x",)), ("/vernissage/show/pause", (1,)), ("/vernissage/tempo/bpm", (90.0,))]]
    try:
        start_frames = live.run.loop.parts.stats.frames
        began = time.perf_counter()
        for i in range(3000):
            kind = i % 3
            if kind == 0:
                data = bytes(rng.getrandbits(8) for _ in range(rng.choice((4, 8, 16, 32, 64))))
            else:
                data = bytearray(rng.choice(valid))
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(len(data))] = rng.getrandbits(8)
                data = bytes(data[: rng.randrange(4, len(data) + 1)]) if kind == 2 else bytes(data)
            live.send_raw(data)
            if i % 100 == 99:
                time.sleep(0.05)  # ~2000 packets a second, as a misbehaving controller might
        seconds = time.perf_counter() - began
        shown = live.run.loop.parts.stats.frames - start_frames
        live.send("/vernissage/show/pause", 0)
        live.send("/vernissage/status")
        replies = dict(live.replies())
        counters = live.run.intake.counters()
    finally:
        live.stop()
    assert shown >= 0.9 * seconds * 30.0
    assert "/vernissage/status" in replies
    assert counters["malformed"] + counters["rejected"] > 1000


def test_a_live_performance_replays_to_identical_frames(tmp_path):
    """play --headless under OSC, then render --replay: every frame shown as planned is identical."""
    performance, _ = perform_and_replay(
        tmp_path, ["--walk", "wander", "--size", "96x96", "--fps", "20", "--duration", "6"],
        [("/vernissage/render/fade", [0.5]), ("/vernissage/walk/seed", [3]), ("/vernissage/render/grain", [0.4]),
         ("/vernissage/morph/to", [7, 0.5]), ("/vernissage/latent/truncation", [0.6]), ("/vernissage/show/pause", [1]),
         ("/vernissage/show/pause", [0]), ("/vernissage/walk/rate", [2.0]), ("/vernissage/render/fade", [0.0])], 0.25)
    assert len(performance.commands) == 9


def test_hundreds_of_senders_subscribe_while_feedback_broadcasts(tmp_path, generator):
    """The subscriber table has one owner (the socket thread): a storm of askers while every change
    is broadcast cannot break it (it once could: 'OrderedDict mutated during iteration')."""
    import threading

    live = LivePlayer(tmp_path, generator, _walk(generator), record=False)
    senders = []
    for _ in range(300):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3.0)
        senders.append(sock)
    stop = threading.Event()

    def toggle_pause() -> None:  # every toggle is a change: a broadcast to every subscriber
        paused = 1
        while not stop.is_set():
            live.send("/vernissage/show/pause", paused)
            paused = 1 - paused
            time.sleep(0.005)

    toggler = threading.Thread(target=toggle_pause)
    try:
        first_frame = live.tick
        toggler.start()
        for _ in range(3):  # 900 requests in about a second, with the pause toggling all along
            for sock in senders:
                sock.sendto(message("/vernissage/status"), (live.server.host, live.server.port))
                time.sleep(0.001)
        answered = 0
        for sock in senders:
            replies = [m.address for m in parse(sock.recv(65536))]
            answered += "/vernissage/status" in replies
        stop.set()
        toggler.join()
        live.settle(10)
        frames = live.tick - first_frame
        problems = dict(live.server.problems._last)
    finally:
        stop.set()
        live.stop()
        for sock in senders:
            sock.close()
    assert answered == len(senders)  # every asker got its answer
    assert "internal" not in problems  # no exception on the socket thread
    assert frames > 10 and live.summary is not None  # the show went on and ended cleanly
