"""Tempo: a beat grid in display ticks, set by BPM or tap tempo, that face changes can lock to."""

from __future__ import annotations

import math
from collections import deque

TAP_GAP = 2.0  # seconds: a longer pause between taps starts a new tap sequence
TAPS_KEPT = 8


class Tempo:
    """Beats at ``anchor + n * ticks_per_beat``; all in ticks, so it replays exactly."""

    def __init__(self, fps: float, bpm: float = 120.0) -> None:
        self.fps = fps
        self.bpm = bpm
        self.anchor = 0  # a tick on a beat: the last tap, or when the tempo was set
        self.locked = False
        self.beats_per_face = 4
        self._taps: deque[int] = deque(maxlen=TAPS_KEPT)

    @property
    def ticks_per_beat(self) -> float:
        return self.fps * 60.0 / self.bpm

    def set_bpm(self, tick: int, bpm: float) -> None:
        self.bpm, self.anchor = bpm, tick

    def tap(self, tick: int) -> None:
        """A tap is a beat; two or more taps within TAP_GAP of each other set the tempo."""
        if self._taps and tick - self._taps[-1] > TAP_GAP * self.fps:
            self._taps.clear()
        self._taps.append(tick)
        self.anchor = tick
        if len(self._taps) >= 2:
            gaps = (self._taps[-1] - self._taps[0]) / (len(self._taps) - 1)
            self.bpm = min(300.0, max(20.0, 60.0 * self.fps / gaps))

    def next_beat(self, tick: int) -> int:
        """The first tick at or after ``tick`` that falls on a beat."""
        n = math.ceil((tick - self.anchor) / self.ticks_per_beat - 1e-9)
        return self.anchor + round(n * self.ticks_per_beat)

    def faces_per_second(self) -> float:
        return self.bpm / 60.0 / self.beats_per_face
