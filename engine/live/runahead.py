"""Generation ahead of display: keyframes for the coming half second, made on a worker thread.

Keyframe (e, j) is source epoch e's frame at show time j / rate (an epoch is the source as
live control left it, see engine.live.performance). A frame at show time t shows
keyframe floor(t * rate), blended in the shader toward the next one by the fraction between
them; at rate = display fps and speed 1 that fraction is 0 and every frame is generated
exactly. A slow generator gets a lower rate (see :func:`keyframe_rate`): motion stays
smooth at the display's rate, and the frame is still a pure function of show time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import numpy as np

from engine.frames import FrameSpec
from engine.generation import generate_images
from engine.generators import Generator
from engine.live.clock import ShowClock

log = logging.getLogger(__name__)
EPSILON = 1e-6
Key = tuple[int, int]  # (source epoch, keyframe index)
URGENT_KEYFRAMES = 4


def bracket(t: float, rate: float) -> tuple[int, float]:
    """(keyframe at or before t, 0..1 toward the next); exact keyframe times give 0."""
    u = t * rate
    j = math.floor(u + EPSILON)
    mix = u - j
    return j, 0.0 if mix < EPSILON else min(mix, 1.0)


def keyframe_rate(generator_fps: float, display_fps: float, headroom: float = 2.5) -> float:
    """The highest rate display_fps / k (k = 1, 2, ...) the generator makes ``headroom`` times over.

    The headroom leaves the CPU (or GPU) to rendering, encoding and the unexpected.
    """
    k = max(1, math.ceil(headroom * display_fps / max(generator_fps, 1e-6)))
    return display_fps / k


class RunAhead:
    """Keeps the keyframes the next ``lookahead`` seconds of display need, generated and cached.

    The render thread calls :meth:`advance` each frame with the tick it is drawing and asks
    :meth:`get` for keyframes; live, it never waits (:meth:`wait_for` is for exact renders).
    ``source_for(epoch)`` gives the frame function of each epoch named by the clock.
    """

    def __init__(self, generator: Generator, source_for: Callable[[int], Callable[[float], FrameSpec]],
                 clock: ShowClock, rate: float, lookahead: float = 0.5, batch: int = 8) -> None:
        self.generator = generator
        self.rate = rate
        self.clock = clock
        self.lookahead_ticks = max(2, round(lookahead * clock.fps))
        self.batch = batch
        self.error: str | None = None
        self._source_for = source_for
        self._tick = 0
        self._cache: dict[Key, np.ndarray] = {}
        self._small_last = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generate-ahead", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def advance(self, tick: int) -> None:
        self._tick = tick
        self._wake.set()

    def get(self, key: Key) -> np.ndarray | None:
        return self._cache.get(key)

    def wait_for(self, key: Key, timeout: float = 60.0) -> np.ndarray | None:
        """Block until ``key`` is made (exact renders: every frame as planned, however slow)."""
        deadline = time.perf_counter() + timeout
        while (image := self._cache.get(key)) is None and self.error is None and time.perf_counter() < deadline:
            self._wake.set()
            time.sleep(0.001)
        return image

    def needed(self, tick: int) -> list[Key]:
        """Keyframes for ticks tick .. tick + lookahead, in the order they will be shown."""
        segments = self.clock.segments()
        wanted: dict[Key, None] = {}
        for k in range(tick, tick + self.lookahead_ticks):
            epoch = self.clock.segment_at(k, segments).epoch
            j, mix = bracket(self.clock.time_at(k, segments), self.rate)
            wanted[(epoch, j)] = None
            if mix > 0.0:
                wanted[(epoch, j + 1)] = None
        return list(wanted)

    def wait_ready(self, tick: int, timeout: float) -> bool:
        """Block until the look-ahead from ``tick`` is as full as the worker keeps it (start-up).

        Starting the display with only the first few keyframes made the worker's catch-up burst
        compete with the first second of display: every missed frame of a 30 s run fell there.
        """
        deadline = time.perf_counter() + timeout
        self.advance(tick)
        while time.perf_counter() < deadline and self.error is None:
            needed = self.needed(tick)
            if not self._next_batch(needed) and all(key in self._cache for key in needed[:URGENT_KEYFRAMES]):
                return True
            time.sleep(0.005)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.05)
            self._wake.clear()
            try:
                while self._fill_once():
                    pass
            except Exception as exc:  # a failing generator must not take the show down
                if self.error is None:
                    log.error("generation failed: %s (showing the last good frames)", exc)
                self.error = str(exc)
                time.sleep(1.0)

    def _next_batch(self, needed: list[Key], small_ok: bool = True) -> list[Key]:
        """The keyframes to generate next; none while the look-ahead is full enough.

        A seek or a new latent needs its first keyframes within a few frames: a small batch
        makes those first. Never two small batches running: a generator that is behind would
        chase the display two keyframes at a time, at a rate below the display's, forever.
        """
        missing = [key for key in needed if key not in self._cache]
        urgent = bool(missing) and needed.index(missing[0]) < URGENT_KEYFRAMES
        if not urgent and len(missing) < min(self.batch, len(needed) // 2):
            # Topping up one keyframe per displayed frame costs 2.5x the CPU per keyframe of a
            # whole batch and keeps the generator running beside every frame; wait for a batch.
            return []
        return missing[: URGENT_KEYFRAMES // 2 if urgent and small_ok else self.batch]

    def _fill_once(self) -> bool:
        """Generate one batch of missing keyframes; False when there is nothing to do yet."""
        needed = self.needed(self._tick)
        keep = set(needed)
        missing = self._next_batch(needed, small_ok=not self._small_last)
        self._small_last = 0 < len(missing) <= URGENT_KEYFRAMES // 2 < self.batch
        specs = [self._source_for(epoch)(j / self.rate) for epoch, j in missing]
        images = generate_images(self.generator, specs) if missing else []
        with self._lock:
            self._cache.update(zip(missing, images))
            for key in [key for key in self._cache if key not in keep]:  # behind the display now
                del self._cache[key]
        return bool(missing) and not self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
