"""``vernissage bench --live``: the live player's frame rate, frame times and misses.

Each run is a real ``vernissage play --headless`` in its own process (so one run's threads
and caches cannot flatter the next), next to the raw generator's rate measured in the same
benchmark: the player's job is to keep the display's rate whatever the generator does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from engine.generators.loading import load_generator
from engine.generators.speed import generator_rate

RUNS = (("1280x720", False), ("1920x1080", False), ("1280x720", True))


def run_live_bench(model: str, seconds: float, fps: float, output: Path | None) -> list[dict]:
    generator = load_generator(model)
    raw = generator_rate(generator, 8, 64)
    print(f"raw generator ({model}, batches of 8): {raw:.0f} frames/s = {raw / fps:.1f}x the display's {fps:g} fps")
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for size, record in RUNS:
            stats_path = Path(scratch) / "stats.json"
            command = [sys.executable, "-m", "engine.cli", "play", "--headless", "--walk", "wander",
                       "--model", model, "--size", size, "--fps", str(fps), "--duration", str(seconds),
                       "--stats-json", str(stats_path)]
            if record:
                command += ["--record", str(Path(scratch) / "live.mp4")]
            subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
            stats = json.loads(stats_path.read_text())
            recorded = stats["recordings"][0]["frames"] if record and stats["recordings"] else None
            row = {"size": size, "record": record, **{k: stats[k] for k in
                   ("frames", "seconds", "fps", "p50_ms", "p99_ms", "missed", "missed_late",
                    "missed_substituted", "keyframe_rate", "generator_fps", "renderer")},
                   "recorded_frames": recorded, "fps_ratio_to_target": round(stats["fps"] / fps, 3),
                   "raw_generator_fps": round(raw, 1)}
            results.append(row)
            print(f"{size:>9} {'+H.264' if record else '      '}  {row['fps']:6.2f} fps ({row['fps_ratio_to_target']:.3f}x"
                  f" target)  p50 {row['p50_ms']:5.1f} ms  p99 {row['p99_ms']:5.1f} ms  missed {row['missed']:4d}"
                  f" (late {row['missed_late']}, stand-in {row['missed_substituted']})"
                  + (f"  recorded {recorded}/{row['frames']}" if record else ""))
    if output:
        output.write_text(json.dumps({"raw_generator_fps": raw, "runs": results}, indent=2) + "\n", encoding="utf-8")
    return results
