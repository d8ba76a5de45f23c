"""Freed memory goes back to the system: an installation's memory does not keep its high-water mark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import gc
from engine.memory import trim
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) // 1024
blocks = [bytearray(2048) for _ in range(150_000)]   # ~300 MB of small heap blocks, as frames' leftovers
keep = blocks[::1000]                                  # a few survivors pin nothing but their own pages
del blocks
gc.collect()
kept = rss()
trim()
print(kept, rss())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc (Linux)")
def test_trim_gives_freed_heap_pages_back():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=60)
    kept, after = (int(v) for v in result.stdout.split())
    assert kept - after > 100, (kept, after)  # MB returned that glibc would otherwise keep
