"""Two headless players of one anchored show, leader and follower: how far apart their show times are.

    python benchmarks/wall_sync.py [--model digiface-dcgan64] [--audio TRACK] [--json PATH]

The leader gets ``--followers`` to the follower's OSC port. Both play the same show anchored to
the wall clock. Their show times are read together: a ``/vernissage/status`` query goes to both
from one socket at once, and the two replies' times are compared (the query's own round trip,
well under a millisecond on loopback, bounds the error). Read idle, after commands sent to the
leader (fades, next faces, a pause and a resume: each relayed time-tagged to the follower), and
after the follower is killed and started again (it joins where the clock says). With
``--audio`` the leader hears a track and sends each frame's music on, so both screens are pushed
by the same kicks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.inputs.osc_client import datagram, free_udp_port, send, wait_for_show  # noqa: E402
from engine.inputs.wire import parse  # noqa: E402

SHOW = """[show]
title = "wall sync"
model = "{model}"
fps = 20
size = "320x180"
seed = 7
anchor = "{anchor}"

[[cue]]
kind = "portraits"
count = 100000
hold = 2
dissolve = 1
"""


def player(show: Path, port: int, scratch: Path, name: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--osc", str(port),
                             "--duration", "600", "--keyframes", "20", "--performance-log", str(scratch / f"{name}.jsonl"),
                             *extra], stderr=subprocess.DEVNULL)


def gaps(ports: tuple[int, int], samples: int) -> list[float]:
    """Show-time differences (leader - follower, seconds) read together ``samples`` times."""
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(1.0)
        for _ in range(samples):
            sock.setblocking(False)  # a query subscribes the asker: drain the changes pushed since
            try:
                while True:
                    sock.recvfrom(65536)
            except BlockingIOError:
                pass
            sock.settimeout(1.0)
            query = datagram("/vernissage/status", [])
            for port in ports:
                sock.sendto(query, ("127.0.0.1", port))
            times: dict[int, float] = {}
            deadline = time.monotonic() + 1.0
            while len(times) < 2 and time.monotonic() < deadline:
                try:
                    data, sender = sock.recvfrom(65536)
                except socket.timeout:
                    break
                for message in parse(data):
                    if message.address == "/vernissage/status/time" and sender[1] in ports:
                        times[sender[1]] = float(message.args[0])
            if len(times) == 2:
                out.append(times[ports[0]] - times[ports[1]])
            time.sleep(0.2)
    return out


def summary(values: list[float]) -> dict[str, float]:
    ms = [abs(v) * 1000 for v in values]
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1), "max_ms": round(max(ms), 1)} if ms else {"n": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="digiface-dcgan64")
    parser.add_argument("--audio", type=Path, default=None, help="a track the leader hears (and relays)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        show = scratch / "wall.toml"
        # anchored a minute ago: /vernissage/status sends show time as an OSC float32, which an
        # anchor months back would round to whole seconds
        anchor = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
        show.write_text(SHOW.format(model=args.model, anchor=anchor.isoformat(timespec="seconds")), encoding="utf-8")
        lead_port, follow_port = free_udp_port(), free_udp_port()
        follower = player(show, follow_port, scratch, "follower")
        heard = ("--audio", str(args.audio)) if args.audio else ()
        leader = player(show, lead_port, scratch, "leader", "--followers", f"127.0.0.1:{follow_port}", *heard)
        results: dict[str, dict] = {}
        try:
            for process, port in ((leader, lead_port), (follower, follow_port)):
                if not wait_for_show(port, lambda p=process: p.poll() is None):
                    raise RuntimeError("a player did not start")
            time.sleep(3)
            results["idle"] = summary(gaps((lead_port, follow_port), 20))
            for address, values in (("/vernissage/render/fade", [0.5]), ("/vernissage/portrait/next", []),
                                    ("/vernissage/render/fade", [0.0]), ("/vernissage/show/pause", [1]),
                                    ("/vernissage/show/pause", [0]), ("/vernissage/portrait/next", [])):
                send(address, values, port=lead_port)
                time.sleep(0.7)
            results["after commands"] = summary(gaps((lead_port, follow_port), 20))
            follower.terminate()
            follower.wait(30)
            time.sleep(2)
            follower = player(show, follow_port, scratch, "follower2")
            if not wait_for_show(follow_port, lambda: follower.poll() is None):
                raise RuntimeError("the follower did not start again")
            time.sleep(3)
            results["after a follower restart"] = summary(gaps((lead_port, follow_port), 20))
        finally:
            for process in (leader, follower):
                process.terminate()
                process.wait(30)
    print("| read | samples | show-time gap, median | max |")
    print("| --- | --- | --- | --- |")
    for name, row in results.items():
        print(f"| {name} | {row.get('n', 0)} | {row.get('median_ms', '-')} ms | {row.get('max_ms', '-')} ms |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
