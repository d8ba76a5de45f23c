"""Process-wide settings, made once at start-up and in this one place (never in a constructor).

Measured on the 2-core machine this was built on (see the README's Benchmarks):
- torch threads: live on a CPU beside a software rasteriser, one torch thread: llvmpipe
  rasterises on every core, and a generator fighting it for them made 7x the late frames at
  1080p for the same keyframe rate. Offline, and live beside a GPU's GL, every core: the
  generator is then what the render waits for.
- the GIL switch interval: 1 ms. The writer, the generator and the display each let go of
  the GIL around native work (encoding, torch kernels, GL) and then wait to take it back; at
  the default 5 ms that wait made FFmpeg's RGB->YUV take 17 ms instead of 3 next to a busy
  thread, and live recording fell behind.
"""

from __future__ import annotations

import logging
import os
import sys

import torch

from engine.generators.device import Placement

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001


def configure(placement: Placement, live: bool, software_gl: bool, threads: int | None = None) -> None:
    """Set the torch thread count and the GIL switch interval for this run; ``threads`` (a
    replay: what the live run used) overrides the choice."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    if placement.device.type == "cpu":
        threads = threads or (1 if live and software_gl else (os.cpu_count() or 1))
        torch.set_num_threads(threads)
        log.debug("torch on %d CPU thread(s)", threads)
