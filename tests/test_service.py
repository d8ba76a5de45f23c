"""The gallery service: systemd's notify protocol, signals, /health and /metrics, the unit itself."""

from __future__ import annotations

import json
import os
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

import numpy as np
import pytest

from engine.frames import WalkSource, make_walk
from engine.loop.compositor import TextStyle
from engine.loop.program import Program, ProgramSpec
from engine.loop.run import ControlOptions, LiveRun, PlayOptions
from engine.outputs.display import HeadlessDisplay
from engine.render.settings import RenderSettings
from helpers import decode

ROOT = Path(__file__).resolve().parents[1]


class Stuck:
    """The real generator, which blocks in the network when :attr:`blocked` is set (a hung GPU)."""

    def __init__(self, generator) -> None:
        self._generator = generator
        self.blocked = threading.Event()
        self.released = threading.Event()

    def frames_from_w(self, w):
        if self.blocked.is_set():
            self.released.wait(60)
        return self._generator.frames_from_w(w)

    def __getattr__(self, name):
        return getattr(self._generator, name)


def _play(tmp_path, generator, options: PlayOptions) -> tuple[LiveRun, threading.Thread]:
    source = WalkSource(make_walk("wander", 1, generator.z_dim, speed=0.5))
    program = Program(ProgramSpec(walk="wander"), source, generator, Fraction(20), RenderSettings(96, 96), TextStyle(),
                      None)
    made: list[LiveRun] = []
    ready = threading.Event()

    def run() -> None:
        display = HeadlessDisplay((96, 96))
        try:
            made.append(LiveRun(program, options, ControlOptions(), display))
            ready.set()
            made[0].run()
        finally:
            ready.set()
            display.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60) and made
    return made[0], thread


def test_systemd_hears_ready_then_pings_only_while_healthy_then_stopping(tmp_path, generator, monkeypatch):
    address = tmp_path / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(address))
    listener.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(address))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # a watchdog of 1 s: pings every half second
    heard: list[tuple[float, str]] = []

    def listen() -> None:
        while not done.is_set():
            try:
                heard.append((time.monotonic(), listener.recv(4096).decode()))
            except (TimeoutError, socket.timeout):
                continue

    done = threading.Event()
    listening = threading.Thread(target=listen)
    listening.start()
    stuck = Stuck(generator)
    live, thread = _play(tmp_path, stuck, PlayOptions(fps=Fraction(20), snapshots=tmp_path / "s",
                                                     recordings=tmp_path / "r"))
    try:
        time.sleep(4.0)
        stuck.blocked.set()  # the generator hangs: stand-ins only from now on
        blocked_at = time.monotonic()
        time.sleep(9.0)
    finally:
        live.loop.quit()
        stuck.released.set()
        thread.join(30)
        time.sleep(0.3)
        done.set()
        listening.join()
        listener.close()
    messages = [m for _, m in heard]
    assert messages[0] == "READY=1" and messages[-1] == "STOPPING=1"
    pings = [t for t, m in heard if m == "WATCHDOG=1"]
    healthy = [t for t in pings if t < blocked_at]
    gaps = np.diff(healthy)
    assert len(healthy) >= 5 and 0.4 <= float(np.median(gaps)) <= 0.7  # every half watchdog period
    assert not [t for t in pings if t > blocked_at + 6.5]  # stuck for 5 s: pings stop, systemd restarts it
    assert any("UNHEALTHY" in m for m in messages if m.startswith("STATUS="))


def test_health_and_metrics_over_http(tmp_path, generator):
    live, thread = _play(tmp_path, generator, PlayOptions(fps=Fraction(20), snapshots=tmp_path / "s",
                                                         recordings=tmp_path / "r", health=("127.0.0.1", 0)))
    try:
        time.sleep(2.5)
        port = live.health_server.port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            assert reply.status == 200
            health = json.loads(reply.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            metrics = reply.read().decode()
        status = subprocess.run([sys.executable, "-m", "engine.cli", "status", "--health", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=5)
    finally:
        live.loop.quit()
        thread.join(30)
    assert health["healthy"] and health["open"] and health["frames"] > 20 and health["fps"] > 10
    assert {"fps", "missed", "cue", "recording", "uptime", "model", "device"} <= health.keys()
    assert health["model"] == "digiface-dcgan64" and health["cue"] == "walk"
    for name in ("vernissage_frames_total", "vernissage_missed_frames_total", "vernissage_frame_seconds_bucket",
                 "vernissage_keyframe_rate", "vernissage_osc_messages_total", "vernissage_osc_errors_total",
                 "vernissage_recording_bytes", "process_resident_memory_bytes", "process_open_fds"):
        assert name in metrics, name
    frames = float(next(line.split()[-1] for line in metrics.splitlines() if line.startswith("vernissage_frames_total")))
    assert frames > 20
    assert status.returncode == 0 and status.stdout.startswith("healthy; open;"), status.stdout + status.stderr


def test_idle_connections_cannot_exhaust_the_show(tmp_path, generator):
    """120 connections that send nothing once held 120 threads and descriptors for ever: /health,
    recording and snapshots failed. Past the cap they are closed at once; within it, dropped when
    idle; /health answers throughout, its own connection being the newest."""
    from engine.outputs.health_server import IDLE_SECONDS, MAX_CONNECTIONS

    live, thread = _play(tmp_path, generator, PlayOptions(fps=Fraction(20), snapshots=tmp_path / "s",
                                                         recordings=tmp_path / "r", health=("127.0.0.1", 0)))
    idle: list[socket.socket] = []
    try:
        time.sleep(2.0)
        port = live.health_server.port
        threads_before = threading.active_count()
        for _ in range(120):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        idle[0].sendall(b"GET /health")  # a request line that never ends (slowloris)
        time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            assert reply.status == 200  # answered while 120 sit idle
        assert threading.active_count() <= threads_before + MAX_CONNECTIONS + 1
        assert live.health_server._server.evicted >= 120 - MAX_CONNECTIONS
        time.sleep(IDLE_SECONDS + 1.5)
        for sock in idle:  # every one closed by the server by now: reads see the end
            sock.settimeout(2)
            assert sock.recv(1024) == b""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as reply:
            assert reply.status == 200
    finally:
        for sock in idle:
            sock.close()
        live.loop.quit()
        thread.join(30)


def test_sigterm_while_recording_fades_out_and_keeps_every_frame(tmp_path):
    video, stats = tmp_path / "live.mp4", tmp_path / "stats.json"
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander",
                               "--size", "160x120", "--fps", "30", "--duration", "120", "--record", str(video),
                               "--stats-json", str(stats)], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while (not video.exists() or video.stat().st_size < 30_000) and time.monotonic() < deadline:
            assert player.poll() is None
            time.sleep(0.1)
        player.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        player.wait(30)
        took = time.monotonic() - asked
    finally:
        if player.poll() is None:
            player.kill()
    assert player.returncode == 0 and took < 5.0, player.stderr.read()
    summary = json.loads(stats.read_text())
    (recording,) = summary["recordings"]
    frames, _ = decode(video)
    assert len(frames) == recording["frames"] == summary["frames"]  # every frame shown is in the file
    assert frames[-1].mean() < 10 < frames[0].mean()  # and it ends on black


def test_the_unit_passes_systemd_analyze(tmp_path):
    show = tmp_path / "gallery.toml"
    show.write_text((ROOT / "shows" / "never_existed.toml").read_text())
    for flags in (["--as", "daemon"], ["--user"]):
        result = subprocess.run([sys.executable, "-m", "engine.cli", "service", "unit", str(show), *flags,
                                 "--fullscreen", "--osc", "9000", "--health", "8080"],
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert result.returncode == 0, result.stderr
        unit = tmp_path / ("user" if "--user" in flags else "system") / "vernissage-gallery.service"
        unit.parent.mkdir()
        unit.write_text(result.stdout)
        for line in ("Type=notify", "WatchdogSec=10", "Restart=always", "RestartSec=2", "--fullscreen --osc 9000"):
            assert line in result.stdout
        assert ("StartLimitAction=reboot" in result.stdout) != ("--user" in flags)
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    bad = subprocess.run([sys.executable, "-m", "engine.cli", "service", "unit", str(show), "--osc", "70000"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "70000" in bad.stderr  # refused now, not at boot


def test_a_system_unit_runs_as_the_installing_user_never_root_by_default(tmp_path):
    """`sudo vernissage service install` once wrote User=root with root's XAUTHORITY: the show
    then runs as the account that ran sudo, with that account's XAUTHORITY; root needs --as root."""
    show = tmp_path / "gallery.toml"
    show.write_text('[[cue]]\nkind = "hold"\nduration = 1\n')

    def unit(*flags: str, **env: str) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if k not in ("SUDO_USER", "USER", "LOGNAME")}
        return subprocess.run([sys.executable, "-m", "engine.cli", "service", "unit", str(show), "--fullscreen", *flags],
                              capture_output=True, text=True, cwd=ROOT, timeout=60, env={**environment, **env})

    import pwd

    nobody_home = pwd.getpwnam("nobody").pw_dir
    by_sudo = unit(SUDO_USER="nobody")
    assert by_sudo.returncode == 0 and "User=nobody" in by_sudo.stdout
    assert f"XAUTHORITY={nobody_home}/.Xauthority" in by_sudo.stdout
    if os.geteuid() == 0:
        as_root = unit()
        errors = [line for line in as_root.stderr.splitlines() if line.startswith("ERROR")]
        assert as_root.returncode != 0 and len(errors) == 1 and "--as ACCOUNT" in errors[0]
        assert "User=root" in unit("--as", "root").stdout
    missing = unit("--as", "no-such-account-here")
    assert missing.returncode != 0 and "no such account" in missing.stderr


def test_sighup_reloads_the_show(tmp_path):
    show = tmp_path / "s.toml"
    show.write_text('[[cue]]\nkind = "hold"\nseed = 1\nduration = 600\n')
    player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--size", "64x36",
                               "--fps", "20", "--duration", "60"], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        time.sleep(8)
        player.send_signal(signal.SIGHUP)
        time.sleep(3)
        player.send_signal(signal.SIGTERM)
        _, errors = player.communicate(timeout=30)
    finally:
        if player.poll() is None:
            player.kill()
    assert player.returncode == 0 and f"{show}: reloaded" in errors


def test_the_recordings_folder_stays_under_its_cap(tmp_path, gl):
    from engine.outputs.recorder import RecorderOutput
    from engine.outputs.storage import make_room, recordings_in

    folder = tmp_path / "recordings"
    folder.mkdir()
    for age, name in enumerate(("a.mp4", "b.mkv", "c.mp4")):
        (folder / name).write_bytes(b"\0" * 400_000)
        os.utime(folder / name, (1_000_000 + age, 1_000_000 + age))
    (folder / "notes.txt").write_text("not a recording: never removed")
    assert make_room(folder, 900_000) and [p.name for p in recordings_in(folder)] == ["b.mkv", "c.mp4"]
    assert not make_room(folder, 100_000, keep=folder / "c.mp4")  # the one being recorded is kept
    assert [p.name for p in recordings_in(folder)] == ["c.mp4"] and (folder / "notes.txt").exists()
    output = RecorderOutput(gl, 30, (32, 32), False, folder=folder, max_bytes=200_000)
    output.start(folder / "d.mp4")  # c.mp4 alone is over the cap: it goes, d.mp4 starts
    assert output.recorder is not None and not (folder / "c.mp4").exists()
    output.close()


def test_performance_logs_are_capped_and_pruned(tmp_path):
    from engine.commands import NextFace
    from engine.inputs.performance_log import PerformanceLog, prune_logs, read_performance

    log = PerformanceLog(tmp_path / "p.jsonl", {"program": {}, "fps": "30", "keyframe_rate": "30", "start": 0.0,
                                                "size": [32, 32]}, max_bytes=2_000)
    for tick in range(1000):
        log.command(tick, NextFace())
    log.close(1000)
    capped = read_performance(tmp_path / "p.jsonl")  # replays to where the log stopped, not beyond what it knows
    assert (tmp_path / "p.jsonl").stat().st_size <= 2_000 and capped.end == capped.commands[-1].tick + 1 < 1000
    for n in range(10):
        (tmp_path / f"old{n}.jsonl").write_text("{}")
        os.utime(tmp_path / f"old{n}.jsonl", (1_000_000 + n, 1_000_000 + n))
    prune_logs(tmp_path, keep=3)
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["old8.jsonl", "old9.jsonl", "p.jsonl"]
