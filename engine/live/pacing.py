"""When each frame is shown, measured on a monotonic clock, and what that says about the show.

Two ways to find the display's beat. With a real vsync the swap blocks until the refresh,
so the time between swaps says how many refreshes passed (1 normally, more when a frame was
late). Without one (headless, SDL's offscreen driver, a driver that ignores vsync) the
pacer sleeps to each frame's deadline on the monotonic clock. Either way the tick, not the
time Python took, drives the show clock, so speed is right at any refresh rate.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

log = logging.getLogger(__name__)
FAST_SWAPS_MEAN_NO_VSYNC = 10


class FramePacer:
    """Hands out display ticks: the next one to render, and how many were skipped."""

    def __init__(self, fps: float, vsync: bool, now=time.perf_counter, sleep=time.sleep, exact: bool = False) -> None:
        self.fps = fps
        self.vsync = vsync
        self.exact = exact  # offline replay: one tick per frame, as fast as frames come, none skipped
        self._now = now
        self._sleep = sleep
        self.tick = 0
        self._origin = 0.0
        self._last = 0.0
        self._fast_swaps = 0

    def start(self) -> None:
        self._origin = self._last = self._now()
        self.tick = 0

    def deadline(self, tick: int) -> float:
        return self._origin + tick / self.fps

    def presented(self) -> tuple[float, int]:
        """Call right after a frame for :attr:`tick` was shown (swap returned, or read back).

        Waits for the frame's deadline when no vsync paced it; returns (seconds since the
        previous frame, ticks skipped) and advances :attr:`tick` to the next frame to render.
        """
        now = self._now()
        if self.exact:
            interval, self._last = now - self._last, now
            self.tick += 1
            return interval, 0
        if self.vsync:
            interval = now - self._last
            self._check_vsync(interval)
        if self.vsync:
            step = max(1, round(interval * self.fps))
        else:
            wait = self.deadline(self.tick) - now
            if wait > 0:
                self._sleep(wait)
                now = self._now()
            step = max(1, math.floor((now - self._origin) * self.fps) + 1 - self.tick)
            # a frame a hair late (scheduler jitter < 1/4 frame) keeps its slot
            if step > 1 and now - self.deadline(self.tick + step - 1) < 0.25 / self.fps:
                step -= 1
        interval, self._last = now - self._last, now
        self.tick += step
        return interval, step - 1

    def _check_vsync(self, interval: float) -> None:
        """A driver may accept vsync and ignore it: swaps that return in a fraction of a
        refresh, many times running, mean the clock has to pace instead."""
        self._fast_swaps = self._fast_swaps + 1 if interval < 0.25 / self.fps else 0
        if self._fast_swaps >= FAST_SWAPS_MEAN_NO_VSYNC:
            log.warning("the display does not wait for vsync; pacing frames by the clock instead")
            self.vsync = False
            self._origin = self._now() - self.tick / self.fps


class FrameStats:
    """Frame intervals and misses: what --stats shows, the log prints and --stats-json writes.

    Intervals go into a fixed histogram (0.1 ms bins), so a show that runs for months keeps
    exact-enough percentiles in constant memory.
    """

    BIN = 1e-4
    BINS = 10_000  # up to one second; longer intervals land in the last bin

    def __init__(self, fps_target: float) -> None:
        self.fps_target = fps_target
        self.frames = 0
        self.late = 0  # display ticks skipped because a frame was not ready in time
        self.substituted = 0  # frames shown with a stand-in image (the generator was behind)
        self._histogram = np.zeros(self.BINS, np.int64)
        self._window = np.zeros(self.BINS, np.int64)  # since the last take_window()
        self._total = 0.0
        self._recent = 1.0 / fps_target  # smoothed frame interval, for live feedback

    def recent_fps(self) -> float:
        """Frame rate over roughly the last second (what a controller's label shows)."""
        return 1.0 / self._recent if self._recent > 0 else 0.0

    def add(self, interval: float, skipped: int, substituted: bool) -> None:
        """One presented frame; the first frame's interval (from start) is not a frame time."""
        if self.frames:
            self._recent += (interval - self._recent) / max(1.0, self.fps_target)
        self.frames += 1
        self.late += skipped
        self.substituted += int(substituted)
        if self.frames > 1:
            b = min(self.BINS - 1, int(interval / self.BIN))
            self._histogram[b] += 1
            self._window[b] += 1
            self._total += interval

    @property
    def missed(self) -> int:
        return self.late + self.substituted

    def _percentile_ms(self, histogram: np.ndarray, q: float) -> float:
        n = int(histogram.sum())
        if n == 0:
            return 0.0
        b = int(np.searchsorted(np.cumsum(histogram), math.ceil(q / 100.0 * n)))
        return round((b + 0.5) * self.BIN * 1e3, 2)

    def summary(self) -> dict[str, float | int]:
        """frames, seconds, fps, p50_ms, p99_ms, missed (and its two parts), over the whole run."""
        timed = self.frames - 1
        return {
            "frames": self.frames,
            "seconds": round(self._total, 3),
            "fps": round(timed / self._total, 2) if self._total > 0 else 0.0,
            "fps_target": round(self.fps_target, 3),
            "p50_ms": self._percentile_ms(self._histogram, 50),
            "p99_ms": self._percentile_ms(self._histogram, 99),
            "missed": self.missed,
            "missed_late": self.late,
            "missed_substituted": self.substituted,
        }

    def take_window(self) -> tuple[float, float]:
        """(p50, p99) in ms since the previous call: the once-a-minute log line."""
        window = self._window.copy()
        self._window[:] = 0
        return self._percentile_ms(window, 50), self._percentile_ms(window, 99)
