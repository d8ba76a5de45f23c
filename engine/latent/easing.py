"""Easing curves s(x) on [0, 1] that shape how a morph starts and lands.

``smootherstep`` has zero first and second derivatives at both ends, so a morph that holds
on a face and then moves on starts and stops without a jerk (C2 at the hold).
"""

from __future__ import annotations

import math
from typing import Callable

Easing = Callable[[float], float]


def linear(x: float) -> float:
    return x


def smoothstep(x: float) -> float:
    """Cubic ease-in-out (C1 at the ends)."""
    return x * x * (3.0 - 2.0 * x)


def smootherstep(x: float) -> float:
    """Quintic ease-in-out (C2 at the ends): the default for morphs."""
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)


def sine(x: float) -> float:
    """Sinusoidal ease-in-out: gentle, C1."""
    return 0.5 - 0.5 * math.cos(math.pi * x)


def ease_in(x: float) -> float:
    """Cubic ease-in: starts slowly, arrives at full speed."""
    return x * x * x


def ease_out(x: float) -> float:
    """Cubic ease-out: leaves at full speed, lands softly."""
    return 1.0 - (1.0 - x) ** 3


EASINGS: dict[str, Easing] = {
    "linear": linear,
    "smoothstep": smoothstep,
    "smootherstep": smootherstep,
    "sine": sine,
    "ease_in": ease_in,
    "ease_out": ease_out,
}


def ease(name: str, x: float) -> float:
    """Apply the easing called ``name`` to ``x`` clamped to [0, 1]."""
    return EASINGS[name](min(1.0, max(0.0, x)))
