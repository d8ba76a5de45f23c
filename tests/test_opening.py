"""The installation opens and closes with the gallery, and never shows a desktop."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from PIL import Image

from engine.inputs.osc_client import free_udp_port, send
from engine.loop.program import ProgramSpec, resolve
from engine.loop.run import ControlOptions, LiveRun, PlayOptions
from engine.outputs.display import HeadlessDisplay

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
SHOW = '''[show]
fps = 20
[schedule]
timezone = "Europe/Berlin"
hours = ["Tue-Sun 10:00-18:00"]
fade = 0.5
on_close = ["{python}", "-c", "open('{marker}', 'w').write('closed')"]
[[cue]]
kind = "wander"
speed = 1
'''


def _health(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def test_the_show_closes_to_black_idles_and_opens_where_it_left_off(tmp_path):
    show = tmp_path / "gallery.toml"
    show.write_text(SHOW.format(python=sys.executable, marker=tmp_path / "hook"))
    wall = [dt.datetime(2026, 12, 1, 17, 59, 57, tzinfo=BERLIN)]  # a Tuesday, three seconds before closing
    program = resolve(ProgramSpec(show=str(show), size=(96, 96)))
    frames = tmp_path / "frames"
    port = free_udp_port()
    options = PlayOptions(fps=Fraction(20), record=frames, snapshots=tmp_path / "s", recordings=tmp_path / "r",
                          health=("127.0.0.1", port))
    made: list[LiveRun] = []
    ready = threading.Event()

    def play() -> None:
        display = HeadlessDisplay((96, 96))
        try:
            made.append(LiveRun(program, options, ControlOptions(), display, wall=lambda: wall[0]))
            ready.set()
            made[0].run()
        finally:
            ready.set()
            display.close()

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    assert ready.wait(60)
    live = made[0]
    try:
        time.sleep(2.0)
        assert _health(port)["open"]
        wall[0] = dt.datetime(2026, 12, 1, 18, 0, 1, tzinfo=BERLIN)  # six o'clock
        deadline = time.monotonic() + 10
        while not live.loop._closed and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)
        closed = _health(port)
        frames_closed, tick_closed = live.loop.parts.stats.frames, live.loop.parts.pacer.tick
        time_closed = live.state.clock.time_at(tick_closed)
        time.sleep(2.0)
        frames_still = live.loop.parts.stats.frames
        wall[0] = dt.datetime(2026, 12, 2, 10, 0, 1, tzinfo=BERLIN)  # Wednesday, ten o'clock
        time.sleep(3.0)
        reopened = _health(port)
        time_open = live.state.clock.time_at(live.loop.parts.pacer.tick)
    finally:
        live.loop.quit()
        thread.join(30)
    assert closed["open"] is False and closed["healthy"] and closed["next_open"] == "2026-12-02T10:00:00+01:00"
    assert frames_still == frames_closed  # closed: nothing drawn, nothing generated
    assert (tmp_path / "hook").read_text() == "closed"  # on_close ran (on a thread of its own)
    assert reopened["open"] is True and reopened["next_close"] == "2026-12-02T18:00:00+01:00"
    assert 0.0 < time_open - time_closed < 4.0  # it took up where it left off (no anchor)
    images = [np.asarray(Image.open(p)).astype(float) for p in sorted(frames.glob("*.png"))]
    brightness = [image.mean() for image in images]
    last_before = frames_closed - 1
    assert brightness[5] > 20 and brightness[last_before] < 2  # faces, then black at closing
    assert max(brightness[last_before + 30:]) > 20  # and faces again after opening


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_show_closed_now_idles_and_the_same_show_open_plays(tmp_path):
    today = dt.date.today().isoformat()
    closed = tmp_path / "closed.toml"
    closed.write_text(f'[schedule]\nhours = ["daily 00:00-24:00"]\nclosed = ["{today}"]\nfade = 0\n'
                      '[[cue]]\nkind = "wander"\n')
    opened = tmp_path / "open.toml"
    opened.write_text('[schedule]\nhours = ["daily 00:00-24:00"]\nfade = 0\n[[cue]]\nkind = "wander"\n')
    players = {}
    try:  # side by side: the closed one idles, so the open one has the machine to itself
        for show in (closed, opened):
            port = free_udp_port()
            players[show.stem] = (port, subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--size", "1280x720", "--fps", "60",
                 "--duration", "60", "--health", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        for port, _ in players.values():
            while time.monotonic() < deadline:
                try:
                    if _health(port)["uptime"] > 4:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
        before, began = {name: _cpu_seconds(player.pid) for name, (_, player) in players.items()}, time.monotonic()
        time.sleep(5.0)
        results = {name: (_health(port), (_cpu_seconds(player.pid) - before[name]) / (time.monotonic() - began))
                   for name, (port, player) in players.items()}
    finally:
        for _, player in players.values():
            player.terminate()
            player.wait(30)
    health, cpu = results["closed"]
    assert health["open"] is False and cpu < 0.10  # black, idle: a few percent of one core
    health, cpu = results["open"]
    assert health["open"] is True and health["fps"] > 30 and cpu > 0.3  # the same show, open: faces, working


def test_a_missing_model_keeps_the_screen_black_then_plays_once_it_appears(tmp_path):
    models = tmp_path / "models"
    show = tmp_path / "show.toml"
    show.write_text('[show]\nmodel = "models/faces"\n[[cue]]\nkind = "wander"\n')
    port = free_udp_port()
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--size", "96x96",
                               "--fps", "20", "--duration", "120", "--health", str(port)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        waiting = None
        while time.monotonic() < deadline and waiting is None:
            try:
                waiting = _health(port)
            except OSError:
                time.sleep(0.2)
        assert waiting is not None and not waiting["healthy"] and "models/faces" in waiting["reason"]
        time.sleep(2.0)
        assert player.poll() is None  # still up: black, not a desktop
        shutil.copytree(ROOT / "models" / "digiface-dcgan64", models / "faces")
        deadline = time.monotonic() + 30
        playing = waiting
        while time.monotonic() < deadline and not playing.get("healthy"):
            time.sleep(0.5)
            try:
                playing = _health(port)
            except OSError:
                continue
        assert playing["healthy"] and playing["model"] == "digiface-dcgan64"
        player.terminate()
        _, errors = player.communicate(timeout=30)
    finally:
        if player.poll() is None:
            player.kill()
    assert player.returncode == 0
    assert sum("no such model file or folder" in line for line in errors.splitlines()) == 1  # said once, not each retry


def test_staff_open_early_and_go_back_to_the_hours_over_osc(tmp_path):
    today = dt.date.today().isoformat()
    show = tmp_path / "closed.toml"
    show.write_text(f'[schedule]\nhours = ["daily 00:00-24:00"]\nclosed = ["{today}"]\nfade = 0\n'
                    '[[cue]]\nkind = "wander"\n')
    health_port, osc_port = free_udp_port(), free_udp_port()
    log = tmp_path / "performance.jsonl"
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--size", "96x96",
                               "--fps", "20", "--duration", "90", "--health", str(health_port), "--osc", str(osc_port),
                               "--performance-log", str(log)], cwd=ROOT, stderr=subprocess.PIPE, text=True)

    def wait_for(open_: bool) -> dict:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = _health(health_port)
                if health["open"] is open_:
                    return health
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"never {'open' if open_ else 'closed'}")

    try:
        closed = wait_for(False)
        send("/vernissage/schedule/override", ["sideways"], port=osc_port)  # refused: one line, still closed
        send("/vernissage/schedule/override", ["open"], port=osc_port)
        opened = wait_for(True)
        frames_open = opened["frames"]
        time.sleep(2.0)
        playing = _health(health_port)
        send("/vernissage/schedule/override", ["auto"], port=osc_port)
        back = wait_for(False)
        player.terminate()
        _, errors = player.communicate(timeout=30)
    finally:
        if player.poll() is None:
            player.kill()
    assert closed["next_open"] is not None and opened["next_close"] is None  # staff decide until "auto"
    assert playing["frames"] > frames_open + 10  # open: frames come
    assert back["open"] is False and back["next_open"] is not None
    assert sum("must be open, closed or auto, got 'sideways'" in line for line in errors.splitlines()) == 1
    modes = [json.loads(line).get("args") for line in log.read_text().splitlines()
             if "schedule/override" in line]
    assert modes == [["open"], ["auto"]]  # logged like every command


def test_display_power_commands_that_fail_or_hang_are_one_line_each(caplog):
    from engine.outputs.power_hooks import PowerHooks

    hooks = PowerHooks(timeout=0.5)
    with caplog.at_level("ERROR", logger="engine.outputs.power_hooks"):
        for argv in (("no-such-cec-client", "-s"),
                     (sys.executable, "-c", "import sys; print('projector says no', file=sys.stderr); sys.exit(3)"),
                     (sys.executable, "-c", "import time; time.sleep(10)")):
            hooks.request(argv)
            assert hooks.wait_idle(10)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    assert "no-such-cec-client failed" in lines[0]
    assert "exited with 3 (projector says no)" in lines[1]
    assert "did not finish in 0.5 s" in lines[2]


def test_power_commands_run_in_order_and_the_newest_wins(tmp_path):
    """A slow on_close once finished after the next on_open: the screen went dark while the show
    was open. They run one at a time; requests that pile up meanwhile keep only the newest."""
    from engine.outputs.power_hooks import PowerHooks

    log_file = tmp_path / "display.log"

    def command(state: str, delay: float = 0.0) -> tuple[str, ...]:
        return ("sh", "-c", f"sleep {delay}; echo {state} >> {log_file}")

    hooks = PowerHooks()
    hooks.request(command("off", delay=1.0))  # slow: the projector takes its time
    time.sleep(0.2)
    hooks.request(command("on"))
    hooks.request(command("off"))
    hooks.request(command("on"))  # a flapping schedule: only this one of the three runs
    assert hooks.wait_idle(20)
    assert log_file.read_text().split() == ["off", "on"]


def test_a_hook_that_floods_binary_output_keeps_a_few_kilobytes_and_the_worker_lives(tmp_path, caplog):
    """300 MB printed were once kept whole (861 MB of memory); binary output killed the thread."""
    import resource

    from engine.outputs.power_hooks import KEPT_OUTPUT, PowerHooks

    hooks = PowerHooks()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with caplog.at_level("ERROR", logger="engine.outputs.power_hooks"):
        hooks.request(("sh", "-c", "head -c 200000000 /dev/urandom; exit 4"))
        assert hooks.wait_idle(60)
        hooks.request(("sh", "-c", "exit 5"))  # the worker still runs commands
        assert hooks.wait_idle(10)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50, f"peak memory grew {grown_mb:.0f} MB for 200 MB of output"
    (flood, code, tail), (_, last_code, _) = hooks.finished[-2:]
    assert code == 4 and last_code == 5 and len(tail.encode("utf-8", "replace")) <= 3 * KEPT_OUTPUT
    messages = [r.getMessage() for r in caplog.records]
    assert any("exited with 4" in m for m in messages) and any("exited with 5" in m for m in messages)


def test_the_override_wins_over_the_hours_until_auto():
    from engine.loop.opening import OpeningHours
    from engine.show.schedule import Schedule, parse_hours

    hours = OpeningHours(Schedule((parse_hours("Tue-Sun 10:00-18:00"),), timezone="Europe/Berlin"))
    monday = dt.datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)
    assert not hours.decide(monday).open
    hours.override = "open"
    assert hours.decide(monday).open
    hours.override = "closed"
    assert not hours.decide(dt.datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)).open
    hours.override = "auto"
    assert hours.decide(dt.datetime(2026, 12, 1, 12, 0, tzinfo=BERLIN)).open
    always = OpeningHours(None)
    assert always.decide(monday).open
    always.override = "closed"
    assert not always.decide(monday).open


def test_duration_is_wall_time_even_for_a_closed_show_and_a_stop_while_starting_is_clean(tmp_path):
    """A closed show with --duration 22 once ran six minutes (its ticks stand still while closed);
    SIGTERM while the model loaded killed the process without its stats."""
    today = dt.date.today().isoformat()
    closed = tmp_path / "closed.toml"
    closed.write_text(f'[schedule]\nhours = ["daily 00:00-24:00"]\nclosed = ["{today}"]\nfade = 0\n'
                      '[[cue]]\nkind = "wander"\n')
    stats = tmp_path / "closed.json"
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "engine.cli", "play", str(closed), "--headless", "--size", "320x180",
                           "--duration", "4", "--stats-json", str(stats)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert took < 60 and json.loads(stats.read_text())["frames"] >= 0  # it ended, and said how it went

    early = tmp_path / "early.json"
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander", "--size",
                               "320x180", "--stats-json", str(early)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # importing torch, loading the model: the loop does not exist yet
    player.send_signal(signal.SIGTERM)
    _, errors = player.communicate(timeout=120)
    assert player.returncode == 0, errors
    assert json.loads(early.read_text())["frames"] < 30  # it stopped at once, and wrote its stats
