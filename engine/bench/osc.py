"""``vernissage bench --osc``: OSC message sent -> first frame that shows its effect.

A real ``vernissage play --headless --osc`` in its own process gets messages over UDP at
random moments: ``/render/fade`` (a look change: due on the next frame) and
``/portrait/next`` (a jump in show time: scheduled a few frames ahead so its keyframes are
ready). The player times each from arrival to the presentation of the first frame showing
it; the send-to-arrival hop on loopback is tens of microseconds.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.inputs.osc_client import free_udp_port, send, wait_for_show

ADDRESSES = (("/vernissage/render/fade", lambda rng: [round(rng.random() * 0.2, 3)]),
             ("/vernissage/portrait/next", lambda rng: []))


def run_osc_bench(model: str, seconds: float, fps: float, output: Path | None) -> dict:
    port = free_udp_port()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as scratch:
        stats_path = Path(scratch) / "stats.json"
        player = subprocess.Popen([sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander",
                                   "--model", model, "--size", "1280x720", "--fps", str(fps),
                                   "--duration", str(seconds + 30), "--osc", str(port), "--stats-json", str(stats_path),
                                   "--performance-log", str(Path(scratch) / "performance.jsonl")],
                                  stderr=subprocess.DEVNULL)
        if not wait_for_show(port, lambda: player.poll() is None):
            raise RuntimeError("the player did not start")
        end = time.monotonic() + seconds
        sent = 0
        while time.monotonic() < end:
            address, args = ADDRESSES[sent % 2]
            send(address, args(rng), port=port)
            sent += 1
            time.sleep(rng.uniform(0.05, 0.25))  # random phase against the frame clock
        player.terminate()
        player.wait(timeout=60)
        stats = json.loads(stats_path.read_text())
    result = {"fps": stats["fps"], "missed": stats["missed"], "sent": sent, **stats.get("osc_latency", {})}
    print(f"OSC latency at 1280x720, {fps:g} fps ({stats['fps']:.2f} achieved, {stats['missed']} missed), {sent} messages:")
    for address, row in stats.get("osc_latency", {}).items():
        print(f"  {address:28s} n {row['count']:4d}  p50 {row['p50_ms']:6.1f} ms ({row['p50_frames']:.2f} frames)"
              f"  p99 {row['p99_ms']:6.1f} ms ({row['p99_frames']:.2f} frames)")
    if output:
        output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result
