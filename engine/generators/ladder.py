"""Which of a model's image exits to generate: as small as the picture allows offline, as large
as the machine keeps up with live.

A model with several exits (MobileStyleGAN: 64 to 1024 px) can stop synthesis early: the 256-px
exit costs a third of the full network here. Offline there is time for anything, so ``render``
takes the smallest exit that covers the picture on screen; live, ``play`` measures each exit
from the largest down and takes the first whose keyframes keep up (the keyframe rate it would
start at reaches :data:`MIN_LIVE_KEYFRAMES` a second, with the loop's own headroom). ``--detail``
picks the exit in both.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

MIN_LIVE_KEYFRAMES = 1.0  # a new face at least once a second: slower, morphs read as dissolves


def exit_covering(resolutions: tuple[int, ...], pixels: int) -> int:
    """The smallest exit of at least ``pixels``, else the largest."""
    covering = [r for r in sorted(resolutions) if r >= pixels]
    return covering[0] if covering else max(resolutions)


def shown_pixels(width: int, height: int, fit: str) -> int:
    """Pixels a side the square picture takes in a ``width`` x ``height`` frame."""
    return min(width, height) if fit == "contain" else max(width, height)


def exit_keeping_up(resolutions: tuple[int, ...], starting_rate: Callable[[int], Fraction]) -> tuple[int, Fraction]:
    """The largest exit whose starting keyframe rate (``starting_rate(exit)``, measured) reaches
    :data:`MIN_LIVE_KEYFRAMES`, with that rate; the smallest exit when none does."""
    ordered = sorted(resolutions, reverse=True)
    for pixels in ordered:
        rate = starting_rate(pixels)
        if rate >= MIN_LIVE_KEYFRAMES or pixels == ordered[-1]:
            return pixels, rate
    raise AssertionError("unreachable: the smallest exit always returns")
