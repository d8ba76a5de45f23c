"""``vernissage check`` over a corpus of hostile shows: one line each, in bounded time and memory.

    python benchmarks/check_hostile.py

Runs each show of tests/hostile_shows.py through ``vernissage check`` in its own process and
prints the wall time and the process's peak memory for each, and the worst of each.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hostile_shows import write_corpus  # noqa: E402

PEAK = ("import resource, sys, runpy; sys.argv = ['vernissage', 'check', sys.argv[1]];\n"
        "try: runpy.run_module('engine.cli', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        worst_time = worst_memory = 0.0
        for path, _, _ in write_corpus(Path(scratch)):
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, cwd=ROOT)
            seconds = time.perf_counter() - began
            lines = done.stderr.strip().splitlines()
            peak_mb = int(lines[-1])
            answer = lines[0] if len(lines) == 2 else f"{len(lines) - 1} lines!"
            worst_time, worst_memory = max(worst_time, seconds), max(worst_memory, peak_mb)
            print(f"{path.name:26s} {seconds:5.2f} s {peak_mb:5d} MB  {answer[:100]}")
        print(f"worst: {worst_time:.2f} s, {worst_memory:.0f} MB peak")


if __name__ == "__main__":
    main()
