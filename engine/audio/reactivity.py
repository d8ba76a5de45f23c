"""How the music moves the show: loudness sets the pace, each onset a push along the walk.

Silence leaves the faces almost still and a loud passage makes them lively; an onset (a
kick, a snare) adds a burst of speed that decays over a fifth of a second, so the face
visibly lurches forward on the beat and settles. Both act on the show's speed, never on the
picture directly: the position along the walk stays continuous (no jump cuts), and steady
noise has a steady level and no onsets, so it gives a steady pace, not jitter.
``amount`` scales everything: 0 is off (speed 1), 1 the default, 2 exaggerated.
"""

from __future__ import annotations

import math

from engine.audio.analysis import AudioFeatures

SILENT_SPEED, LOUD_SPEED = 0.12, 2.0  # speed at level 0 and at level 1, at amount 1
LEVEL_CURVE = 1.5  # quiet passages stay calm: speed grows with level ** 1.5
PUSH = 4.0  # extra speed an onset adds (at full strength)
PUSH_DECAY = 0.2  # seconds for a push to fall to 1/e
MOST_PUSH = 8.0
SLOWEST, FASTEST = 1.0 / 16.0, 8.0


class Reactivity:
    """Features in, frame by frame; the speed factor ("drive") out."""

    def __init__(self, amount: float, fps: float) -> None:
        if not (math.isfinite(amount) and 0.0 <= amount <= 2.0):
            raise ValueError(f"reactivity must be 0..2, got {amount}")
        self.amount = amount
        self._decay = math.exp(-1.0 / (PUSH_DECAY * fps))
        self._push = 0.0

    def drive(self, heard: AudioFeatures) -> float:
        """The factor on the show's speed for this frame (1 at amount 0), to 4 decimals."""
        self._push *= self._decay
        if heard.hit:
            self._push = min(MOST_PUSH, self._push + PUSH * (0.5 + 0.5 * heard.onset))
        pace = SILENT_SPEED + (LOUD_SPEED - SILENT_SPEED) * heard.level ** LEVEL_CURVE + self._push
        return round(min(FASTEST, max(SLOWEST, 1.0 + self.amount * (pace - 1.0))), 4)
