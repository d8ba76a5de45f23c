"""How the music moves the show: loudness sets the pace, each onset a push along the walk.

Silence leaves the faces almost still, the track's own loudness keeps the show's pace, and a
louder passage makes them livelier (levels are relative to the track: engine.audio.analysis);
an onset adds a burst of speed that decays in 0.15 s, so the face visibly
lurches forward on the beat and settles. Onsets are weighed against the track's own accents
(a kick against the kicks, not against a hi-hat), squared, so the accents lurch and the small
onsets between them barely do. The pushes' own running average is taken back out of the pace:
on average the music moves the show at the pace its loudness sets (less of it in the pushes,
:data:`KEPT_BETWEEN` of it between them), so a morph meant to hold a face 2.5 s still does
(pushes that only added once cut it every 1.2 s and saturated at 8x).
Both act on the show's speed, never on the picture directly: the position along the walk
stays continuous (no jump cuts), and steady noise has a steady level and no onsets, so it
gives a steady pace, not jitter. ``amount`` scales everything: 0 is off (speed 1), 1 the
default, 2 exaggerated.
"""

from __future__ import annotations

import math

from engine.audio.analysis import AudioFeatures

SILENT_SPEED, LOUD_SPEED = 0.12, 2.0  # speed at level 0 and at level 1, at amount 1
LEVEL_CURVE = 1.5  # quiet passages stay calm: speed grows with level ** 1.5
PUSH = 2.5  # extra speed an accent (an onset as strong as the track's strong ones) starts
PUSH_DECAY = 0.15  # seconds for a push to fall to 1/e
ACCENT_RISE, ACCENT_FALL = 0.5, 4.0  # an onset's weight follows the track's strong onsets: at once up, over seconds down
PUSH_MEAN = 4.0  # seconds the pushes' running average is taken over
KEPT_BETWEEN = 0.25  # of the loudness's pace, kept between the pushes (the average taken out is at most the rest)
SLOWEST, FASTEST = 1.0 / 16.0, 8.0


class Reactivity:
    """Features in, frame by frame; the speed factor ("drive") out."""

    def __init__(self, amount: float, fps: float) -> None:
        if not (math.isfinite(amount) and 0.0 <= amount <= 2.0):
            raise ValueError(f"reactivity must be 0..2, got {amount}")
        self.amount = amount
        self._decay = math.exp(-1.0 / (PUSH_DECAY * fps))
        self._accent_fall = 1.0 - math.exp(-1.0 / (ACCENT_FALL * fps))
        self._mean_weight = 1.0 - math.exp(-1.0 / (PUSH_MEAN * fps))
        self._push = 0.0
        self._accent = 0.0  # how strong the track's strong onsets are, lately
        self._mean_push = 0.0

    def drive(self, heard: AudioFeatures) -> float:
        """The factor on the show's speed for this frame (1 at amount 0), to 4 decimals."""
        self._push *= self._decay
        if heard.hit:
            strength = max(heard.onset, 0.05)
            if strength > self._accent:
                self._accent += (strength - self._accent) * ACCENT_RISE if self._accent else strength
            weight = min(1.0, strength / self._accent)
            self._push = max(self._push, PUSH * weight * weight)
        else:
            self._accent -= self._accent * self._accent_fall
        self._mean_push += (self._push - self._mean_push) * self._mean_weight
        base = SILENT_SPEED + (LOUD_SPEED - SILENT_SPEED) * heard.level ** LEVEL_CURVE
        pace = base + self._push - min(self._mean_push, (1.0 - KEPT_BETWEEN) * base)
        return round(min(FASTEST, max(SLOWEST, 1.0 + self.amount * (pace - 1.0))), 4)
