"""A video wall played in step: a leader relays what it is told, time-tagged; followers keep to its clock."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
from pathlib import Path


from engine.commands import NextFace, SetFader
from engine.inputs.osc_client import free_udp_port, send, wait_for_show
from engine.inputs.wire import parse
from engine.loop.anchor_lock import FOLLOWER_JUMP, LeaderLock
from engine.outputs.followers import FollowerRelay

ROOT = Path(__file__).resolve().parents[1]


def test_the_relay_sends_one_bundle_tagged_at_the_margin_to_every_follower_in_doubles():
    listeners = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for listener in listeners:
            listener.bind(("127.0.0.1", 0))
            listener.settimeout(2.0)
        relay = FollowerRelay(tuple(("127.0.0.1", s.getsockname()[1]) for s in listeners) + (("no-such-host.invalid", 9),))
        assert relay.followers == 2  # the name that does not resolve is one line, and left out
        tag = time.time() + 0.25
        relay.send([NextFace(), SetFader("/vernissage/show/seek", 29_092_510.125)], tag)
        for listener in listeners:
            messages = parse(listener.recvfrom(65536)[0])
            assert [m.address for m in messages] == ["/vernissage/portrait/next", "/vernissage/show/seek"]
            assert all(abs(m.when - tag) < 1e-3 for m in messages)
            assert messages[1].args == (29_092_510.125,)  # a float32 would have made it 29092510.0
        relay.close()
    finally:
        for listener in listeners:
            listener.close()


def test_a_follower_slews_small_drift_and_seeks_a_step_around_the_shows_own_speed():
    lock = LeaderLock(fps=30.0)
    assert lock.update(100.0, 100.01, 1.0) is None  # within a frame
    kind, speed = lock.update(100.0, 100.2, 1.0)  # 0.2 s behind: run a little fast
    assert kind == "speed" and 1.0 < speed <= 1.02
    assert lock.update(100.0, 100.2, speed) is None  # already slewing: nothing new
    kind, speed = lock.update(100.0, 99.8, 2.0 * speed)  # now ahead, at twice the speed: a little slower than 2x
    assert kind == "speed" and 2.0 * 0.98 <= speed < 2.0
    assert lock.update(100.0, 90.0, 1.0, paused=True) is None
    assert lock.update(100.0, 100.0 + FOLLOWER_JUMP + 1.0, 2.0) == ("seek", 100.0 + FOLLOWER_JUMP + 1.0)
    assert lock.update(100.0, 90.0, 0.0) is None  # paused: nothing drifts


def _status_time(sock: socket.socket, port: int) -> float:
    """The show time ``port``'s player answers now. A query subscribes the asker, and changes are
    pushed to subscribers: those are drained first, or an old push would be read as the answer."""
    sock.setblocking(False)
    try:
        while True:
            sock.recvfrom(65536)
    except BlockingIOError:
        pass
    sock.settimeout(2.0)
    sock.sendto(b"/vernissage/status\0\0,\0\0\0", ("127.0.0.1", port))
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        data, sender = sock.recvfrom(65536)
        for message in parse(data):
            if message.address == "/vernissage/status/time" and sender[1] == port:
                return float(message.args[0])
    raise AssertionError("no status")


def test_a_leader_and_a_follower_land_commands_together_and_a_restarted_follower_rejoins(tmp_path):
    """Two headless players of an anchored show, the leader hearing a track: /show/pause,
    /portrait/next and the music's frames reach the follower time-tagged and land in both; after
    the follower is restarted it meets the leader again. Outcomes, not timings: the show times
    agree within a second (the music pushes both)."""
    anchor = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    show = tmp_path / "wall.toml"
    show.write_text(f'[show]\nmodel = "digiface-dcgan64"\nfps = 15\nsize = "96x54"\nanchor = "{anchor}"\n'
                    '[[cue]]\nkind = "portraits"\ncount = 100000\nhold = 2\ndissolve = 1\n', encoding="utf-8")
    lead, follow = free_udp_port(), free_udp_port()

    def player(port: int, name: str, *extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--osc",
                                 str(port), "--duration", "120", "--keyframes", "15", "--performance-log",
                                 str(tmp_path / f"{name}.jsonl"), "--stats-json", str(tmp_path / f"{name}.json"),
                                 *extra], stderr=subprocess.DEVNULL, cwd=ROOT)

    from engine.bench.music import master, mix, write_wav

    track = write_wav(tmp_path / "track.wav", master(mix(20.0)[0], -14.0))
    follower = player(follow, "follower")
    leader = player(lead, "leader", "--followers", f"127.0.0.1:{follow},dead.invalid:9", "--follower-margin", "0.2",
                    "--audio", str(track))
    try:
        for process, port in ((leader, lead), (follower, follow)):
            assert wait_for_show(port, lambda p=process: p.poll() is None)
        send("/vernissage/portrait/next", [], port=lead)
        send("/vernissage/show/pause", [1], port=lead)
        time.sleep(1.5)
        send("/vernissage/show/pause", [0], port=lead)
        time.sleep(1.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(2.0)
            assert abs(_status_time(sock, lead) - _status_time(sock, follow)) < 1.0  # the music's pushes ride on both
            follower.terminate()
            follower.wait(30)
            follower = player(follow, "again")
            assert wait_for_show(follow, lambda: follower.poll() is None)
            time.sleep(3.0)  # a sync a second: the restarted follower seeks to the leader
            assert abs(_status_time(sock, lead) - _status_time(sock, follow)) < 1.0
    finally:
        for process in (leader, follower):
            process.terminate()
            process.wait(30)
    logged = [json.loads(line) for line in (tmp_path / "follower.jsonl").read_text().splitlines()[1:]]
    addresses = [entry.get("address") for entry in logged]
    assert "/vernissage/portrait/next" in addresses and addresses.count("/vernissage/show/pause") == 2
    heard = [entry for entry in logged if "audio" in entry]
    assert len(heard) > 30 and max(entry["drive"] for entry in heard) > 1.2  # the leader's music, frame by frame
    assert json.loads((tmp_path / "leader.json").read_text())["frames"] > 30


def _answering(delay: float) -> tuple[int, socket.socket]:
    """A stand-in follower on loopback: answers every datagram with a status message after ``delay``."""
    import threading

    from engine.inputs.osc_client import datagram

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                data, sender = sock.recvfrom(65536)
            except OSError:
                return
            assert parse(data)[0].address == "/vernissage/status"
            time.sleep(delay)
            sock.sendto(datagram("/vernissage/status", ["cue", 1.0]), sender)

    threading.Thread(target=answer, daemon=True).start()
    return sock.getsockname()[1], sock


def test_a_measured_margin_is_the_slowest_followers_answer_plus_two_frames(monkeypatch, caplog):
    import engine.outputs.followers as followers

    monkeypatch.setattr(followers, "PROBE_SPACING", 0.1)  # the suite's time: a stand-in answers every query
    monkeypatch.setattr(followers, "PROBE_PATIENCE", 0.25)
    monkeypatch.setattr(followers, "PROBES", 3)
    quick, quick_socket = _answering(0.02)
    slow, slow_socket = _answering(0.09)
    dead = free_udp_port()
    try:
        relay = FollowerRelay((("127.0.0.1", quick), ("127.0.0.1", slow), ("127.0.0.1", dead)), margin=0.1)
        relay.measure_margin(fps=50.0).join(30)
        assert 0.09 + 0.04 <= relay.margin < 0.09 + 0.04 + 0.06  # the slow one's answer, two 20-ms frames
        assert f"127.0.0.1:{dead} never answered /vernissage/status" in caplog.text
        nobody = FollowerRelay((("127.0.0.1", dead),), margin=0.1)
        nobody.measure_margin(fps=50.0).join(30)
        assert nobody.margin == 0.1 and "no follower answered; commands go 100 ms ahead" in caplog.text
    finally:
        quick_socket.close()
        slow_socket.close()
