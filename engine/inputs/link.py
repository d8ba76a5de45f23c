"""Ableton Link as an input: the tempo and the beat the other machines on stage share.

Each frame asks the Link session for its tempo and where the beat is now; a tempo that moved
becomes ``SetTempo``, each beat crossed a ``Beat`` (the grid's phase), so face changes and cues
locked to the tempo land on the beats the DAW and the lights hear, and both are logged like any
command (a replay needs no network). Link is GPL-2.0-or-later (LinkPython wraps Ableton's
library): an optional extra, ``pip install "vernissage[link]"``, never installed by default.
"""

from __future__ import annotations

import logging
import math

from engine.commands import Beat, Command, SetTempo

log = logging.getLogger(__name__)
QUANTUM = 4.0  # beats in a bar, as Link counts phase
TEMPO_STEP = 0.05  # BPM the session's tempo must move before it is sent again


class LinkError(RuntimeError):
    """Link cannot be used here; ``str()`` is one line."""


class LinkInput:
    """Tempo and beats from an Ableton Link session joined at ``bpm`` (engine.loop.intake asks each frame)."""

    def __init__(self, bpm: float = 120.0) -> None:
        try:
            import link
        except ImportError:
            raise LinkError('Ableton Link needs LinkPython (GPL): pip install "vernissage[link]"') from None
        self._link = link.Link(float(bpm))
        self._link.enabled = True
        self._tempo = float(bpm)
        self._beat: int | None = None
        log.info("Ableton Link: joined at %g BPM", bpm)

    @property
    def peers(self) -> int:
        return int(self._link.numPeers())

    def commands(self, tick: int) -> list[Command]:
        state = self._link.captureAppSessionState()
        now = self._link.clock().micros()
        out: list[Command] = []
        tempo = float(state.tempo())
        if math.isfinite(tempo) and 20.0 <= tempo <= 300.0 and abs(tempo - self._tempo) >= TEMPO_STEP:
            self._tempo = tempo
            out.append(SetTempo(round(tempo, 2)))
        beat = math.floor(state.beatAtTime(now, QUANTUM))
        if self._beat is not None and beat != self._beat:
            out.append(Beat())
        self._beat = beat
        return out

    def close(self) -> None:
        self._link.enabled = False
