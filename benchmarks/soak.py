"""Soak: a headless show for an hour under OSC traffic, hot reloads and recordings, sampled every minute.

    python benchmarks/soak.py [--minutes 60] [--size 1280x720] [--json PATH]

Runs ``vernissage play --headless`` in its own process with OSC and /health, and meanwhile:
OSC faders and triggers several times a second, the show file edited every two minutes (a hot
reload), a recording started and stopped over OSC every five minutes (kept under a size cap).
Every minute it reads the player's resident memory, open file descriptors and threads from
/proc, and at the end prints the growth of each from the first full minute, and from minute 10
(caches full), to the last (an installation must not slow-die: the target is under 2 %). The
first and last minutes fall outside recordings, which hold an encoder's threads while they run.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from engine.inputs.osc_client import free_udp_port, send, wait_for_show

SHOW = '''[show]
title = "soak"
fps = 60
seed = {seed}
[look]
grain = 0.02
[[cue]]
kind = "portraits"
count = 4
hold = 3
dissolve = 1
caption = "No. {{n:06d}}"
[[cue]]
kind = "wander"
speed = 0.5
duration = 20
'''


def sample(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    threads = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))
    fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    return {"rss_kb": rss, "fds": fds, "threads": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        show = work / "soak.toml"
        show.write_text(SHOW.format(seed=1))
        osc, health = free_udp_port(), free_udp_port()
        player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", str(show), "--headless", "--size",
                                   args.size, "--fps", "60", "--osc", str(osc), "--health", str(health),
                                   "--recordings", str(work / "recordings"), "--recordings-max-gb", "0.2",
                                   "--duration", str(args.minutes * 60 + 120)],
                                  cwd=work, stderr=subprocess.DEVNULL)
        assert wait_for_show(osc, lambda: player.poll() is None, timeout=120), "the player did not start"
        began = time.monotonic()
        samples, sent, reloads, recordings = [], 0, 0, 0
        next_sample = began + 60.0
        while time.monotonic() - began < args.minutes * 60 and player.poll() is None:
            elapsed = time.monotonic() - began
            address, values = rng.choice([("/vernissage/render/grain", [rng.random() * 0.3]),
                                          ("/vernissage/render/vignette", [rng.random()]),
                                          ("/vernissage/portrait/next", []), ("/vernissage/status", []),
                                          ("/vernissage/latent/truncation", [0.6 + 0.4 * rng.random()])])
            send(address, values, port=osc)
            sent += 1
            if int(elapsed) % 120 == 60 and reloads < elapsed // 120 + 1:
                reloads += 1
                show.write_text(SHOW.format(seed=reloads + 1))
            if int(elapsed) % 300 == 150 and recordings < elapsed // 300 + 1:
                recordings += 1
                send("/vernissage/record/start", [f"soak-{recordings}.mp4"], port=osc)
            if int(elapsed) % 300 == 210:
                send("/vernissage/record/stop", [], port=osc)
            if time.monotonic() >= next_sample:
                next_sample += 60.0
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/health", timeout=10) as reply:
                    state = json.loads(reply.read())
                samples.append({"minute": round(elapsed / 60), **sample(player.pid), "fps": state["fps"],
                                "missed": state["missed"]})
                print(json.dumps(samples[-1]), flush=True)
            time.sleep(rng.uniform(0.1, 0.4))
        player.terminate()
        player.wait(60)
    first, last = samples[0], samples[-1]
    settled = samples[min(9, len(samples) - 1)]  # minute 10: caches full, warm-up over

    def growth(since: dict) -> dict[str, float]:
        return {k: round(100.0 * (last[k] - since[k]) / since[k], 2) for k in ("rss_kb", "fds", "threads")}

    result = {"minutes": args.minutes, "messages": sent, "reloads": reloads, "recordings": recordings,
              "first": first, "minute_10": settled, "last": last, "growth_percent": growth(first),
              "growth_percent_from_minute_10": growth(settled)}
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps({"samples": samples, **result}, indent=2))


if __name__ == "__main__":
    main()
