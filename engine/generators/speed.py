"""How fast a generator makes frames: measured, never assumed, for the loop and the benchmarks."""

from __future__ import annotations

import time

import numpy as np

from engine.generators.base import Generator


def seconds_per_frame(generator: Generator, batch: int, frames: int) -> float:
    """Seconds per frame of ``generator.frames`` in batches of ``batch`` (after one warm-up batch).

    Results are brought to the host, as the engine uses them, so a GPU's queue is included.
    """
    z = np.random.default_rng(0).standard_normal((batch, generator.z_dim))
    generator.frames(z).cpu()
    rounds = max(1, frames // batch)
    began = time.perf_counter()
    for _ in range(rounds):
        generator.frames(z).cpu()
    return (time.perf_counter() - began) / (rounds * batch)


def generator_rate(generator: Generator, batch: int, frames: int) -> float:
    """Frames per second of ``generator.frames`` in batches of ``batch``."""
    return 1.0 / seconds_per_frame(generator, batch, frames)
