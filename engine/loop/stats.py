"""Frame intervals and misses: what --stats shows, the log prints and --stats-json writes."""

from __future__ import annotations

import math

import numpy as np


class FrameStats:
    """Counts and times shown frames in constant memory.

    Intervals go into a fixed histogram (0.1 ms bins), so a show that runs for months keeps
    exact-enough percentiles without keeping its frames.
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
    def histogram(self) -> np.ndarray:
        """Frame intervals since the start, in bins of :attr:`BIN` seconds (a copy)."""
        return self._histogram.copy()

    @property
    def total_seconds(self) -> float:
        return self._total

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
