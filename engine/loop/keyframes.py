"""How many keyframes a second to generate: chosen at start, then adapted while the show runs.

A keyframe rate of fps / k means every k-th frame is generated and the frames between are
blended in the shader, so motion stays smooth at the display's rate whatever the generator
manages. When the generator falls behind (a heavy recording codec, another process), the
rate drops before stand-ins pile up, rather than frames freezing and then jumping; when
there is room again for a while, it rises. Every change is a command, logged, so a replay
makes the same keyframes.
"""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction

from engine.loop.runahead import keyframe_rate

HEADROOM = 2.5  # capacity over demand needed to raise the rate (and to pick it at start)
SHORTFALL = 1.25  # capacity over demand below which the rate drops
PATIENCE = 5  # seconds of room before the rate rises again
MAX_DIVISOR = 600  # at most: one keyframe in 600 frames (10 s at 60 fps)


class KeyframeRatePolicy:
    """Decides, once a second, whether the keyframe rate should change (pure: measurements in)."""

    def __init__(self, fps: Fraction, rate: Fraction) -> None:
        self.fps = Fraction(fps)
        self.rate = Fraction(rate)
        self._room = 0  # consecutive seconds with room for the next higher rate
        self._stand_ins: deque[bool] = deque(maxlen=3)

    @property
    def divisor(self) -> int:
        return max(1, round(self.fps / self.rate))

    def update(self, capacity: float, speed: float, stand_ins: int) -> Fraction | None:
        """A new rate, or None to keep this one.

        Args:
            capacity: keyframes a second the generator makes while working (measured).
            speed: the show's speed (keyframes a second of wall time = rate x speed).
            stand_ins: frames shown with a stand-in keyframe in the last second.
        """
        speed = max(speed, 1.0 / 16.0)
        self._stand_ins.append(stand_ins > 0)
        k = self.divisor
        behind = sum(self._stand_ins) >= 2 or capacity < SHORTFALL * float(self.rate) * speed
        if behind and k < MAX_DIVISOR:
            needed = math.ceil(1.5 * float(self.fps) * speed / max(capacity, 1e-6))
            self._room = 0
            self._stand_ins.clear()
            return self._set(min(MAX_DIVISOR, max(k + 1, needed)))
        higher = float(self.fps) / (k - 1) if k > 1 else math.inf
        self._room = self._room + 1 if capacity >= HEADROOM * higher * speed and not stand_ins else 0
        if self._room >= PATIENCE:
            self._room = 0
            return self._set(k - 1)
        return None

    def _set(self, k: int) -> Fraction:
        self.rate = self.fps / k
        return self.rate


def starting_rate(fps: Fraction, capacity: float) -> Fraction:
    """The rate to start at: the highest fps / k made with the full headroom at speed 1."""
    rate = keyframe_rate(capacity, fps, 1.0, HEADROOM)
    return max(rate, Fraction(fps) / MAX_DIVISOR)
