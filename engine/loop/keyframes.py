"""How many keyframes a second to generate: chosen at start, then adapted while the show runs.

A keyframe rate of fps / k means every k-th frame is generated and the frames between are
blended in the shader, so motion stays smooth at the display's rate whatever the generator
manages. When the generator falls behind (a heavy recording codec, another process), the
rate drops before stand-ins pile up, rather than frames freezing and then jumping; when
there is room again for a while, it rises. k is a power of two, so a drop keeps every
keyframe already made at the rate it halves (a stride of 16 reuses every other one of 8),
and a change never empties the cache. Every change is a command, logged, so a replay makes
the same keyframes.
"""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction

HEADROOM = 2.5  # capacity over demand needed to raise the rate (and to pick it at start)
SHORTFALL = 1.25  # capacity over demand below which the rate drops
TARGET = 1.5  # capacity over demand a drop aims for
PATIENCE = 5  # seconds of room before the rate rises again
SETTLE = 3  # seconds after a change before stand-ins count against the new rate
MAX_STRIDE = 512  # at most one keyframe in 512 frames (8.5 s at 60 fps)


def stride_for(fps: Fraction, capacity: float, speed: float, headroom: float) -> int:
    """The smallest power-of-two stride whose keyframes a generator making ``capacity`` a
    second makes ``headroom`` times over at ``speed``."""
    needed = headroom * float(fps) * max(speed, 1.0 / 16.0) / max(capacity, 1e-6)
    stride = 1 << max(0, math.ceil(math.log2(max(needed, 1.0))))
    return min(stride, MAX_STRIDE)


def starting_rate(fps: Fraction, capacity: float, speed: float = 1.0) -> Fraction:
    """The rate to start at: the highest fps / 2^n made with the full headroom at ``speed``
    (above 1 when music will drive the show: starting too high shows stand-ins until it drops)."""
    return Fraction(fps) / stride_for(fps, capacity, speed, HEADROOM)


class KeyframeRatePolicy:
    """Decides, once a second, whether the keyframe rate should change (pure: measurements in)."""

    def __init__(self, fps: Fraction, rate: Fraction) -> None:
        self.fps = Fraction(fps)
        self.rate = Fraction(rate)
        self._room = 0  # consecutive seconds with room for the next higher rate
        self._since_change = SETTLE
        self._stand_ins: deque[bool] = deque(maxlen=3)

    @property
    def stride(self) -> int:
        return max(1, round(self.fps / self.rate))

    def update(self, capacity: float, speed: float, stand_ins: int) -> Fraction | None:
        """A new rate, or None to keep this one.

        Args:
            capacity: keyframes a second the generator makes while working (measured).
            speed: the show's speed (keyframes a second of wall time = rate x speed).
            stand_ins: frames shown with a stand-in keyframe in the last second.
        """
        speed = max(speed, 1.0 / 16.0)
        self._since_change += 1
        settled = self._since_change > SETTLE
        self._stand_ins.append(stand_ins > 0 and settled)
        stride = self.stride
        short = capacity < SHORTFALL * float(self.rate) * speed
        if (short or sum(self._stand_ins) >= 2) and stride < MAX_STRIDE:
            return self._set(max(2 * stride, stride_for(self.fps, capacity, speed, TARGET)))
        higher = float(self.fps) * 2 / stride if stride > 1 else math.inf
        self._room = self._room + 1 if capacity >= HEADROOM * higher * speed and not stand_ins and settled else 0
        if self._room >= PATIENCE:
            return self._set(stride // 2)
        return None

    def _set(self, stride: int) -> Fraction:
        self._room = 0
        self._since_change = 0
        self._stand_ins.clear()
        self.rate = self.fps / stride
        return self.rate
