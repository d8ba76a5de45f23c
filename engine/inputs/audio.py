"""Audio as an input: each frame, what was heard up to it becomes commands, like OSC does.

At the start of frame ``tick`` the source gives the samples up to ``tick / fps`` (a file) or
what has arrived (a sound card); the analysis turns them into features; the reactivity into
the show's pace. The frame gets one :class:`~engine.commands.AudioFrame` (logged, so a
replay needs no audio) and, for each ``[[binding]]`` whose address is ``audio/<feature>``,
the fader command that feature drives when its value moved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from engine.audio.analysis import Analyzer, AudioFeatures
from engine.audio.reactivity import Reactivity
from engine.audio.sources import AudioSource, FileAudio
from engine.commands import AudioFrame, Command
from engine.inputs.bindings import AUDIO, Binding

log = logging.getLogger(__name__)
STILL = 1e-3  # a bound feature that moved less than this sends nothing


class AudioInput:
    """Commands from sound, frame by frame (engine.loop.intake asks at each frame's start)."""

    def __init__(self, source: AudioSource, fps: Fraction, reactivity: float = 1.0,
                 bindings: tuple[Binding, ...] | list[Binding] = ()) -> None:
        self.source = source
        self.fps = Fraction(fps)
        self.analyzer = Analyzer()
        self.reactivity = Reactivity(reactivity, float(fps))
        self.bindings = [b for b in bindings if b.address.startswith(AUDIO)]
        self._sent: dict[int, float] = {}
        self._was_alive = True
        self.heard = AudioFeatures()

    def commands(self, tick: int) -> list[Command]:
        """What frame ``tick`` hears, as commands (nothing while a sound card is gone)."""
        samples = self.source.read(float(tick / self.fps))
        if not self.source.alive:
            if self._was_alive:
                self._was_alive = False
                log.error("audio input %s stopped delivering sound; the show goes on at its own pace",
                          self.source.name)
                silence = AudioFeatures()
                return [AudioFrame(heard=tuple(silence.values()))]  # speed 1 until sound comes back
            return []
        if not self._was_alive:
            self._was_alive = True
            log.info("audio input %s is delivering sound again", self.source.name)
        self.analyzer.feed(samples)
        heard = self.heard = self.analyzer.take()
        out: list[Command] = [AudioFrame(self.reactivity.drive(heard), heard.hit, heard.beat, heard.bpm,
                                         tuple(heard.values()))]
        for index, binding in enumerate(self.bindings):
            value = float(getattr(heard, binding.address[len(AUDIO):]))
            if abs(value - self._sent.get(index, -1.0)) >= STILL:
                self._sent[index] = value
                out.append(binding.command((value,)))
        return out

    def close(self) -> None:
        self.source.close()


class HeardAudio:
    """What a track made each frame, worked out once and handed out by tick.

    A render farm's chunks start inside the show, but the analysis is a running one (envelopes,
    onsets, the tempo carry from frame to frame): the client hears the whole track once
    (:func:`hear_track`) and every chunk gets these commands, so a chunk hears what a local
    render heard at the same frames.
    """

    def __init__(self, by_tick: Sequence[Sequence[Command]]) -> None:
        self.by_tick = tuple(tuple(commands) for commands in by_tick)

    def commands(self, tick: int) -> list[Command]:
        return list(self.by_tick[tick]) if 0 <= tick < len(self.by_tick) else []

    def close(self) -> None:
        """Nothing to close: the track was read on the client."""


def hear_track(track: Path, fps: Fraction, reactivity: float, bindings: Sequence[Binding], frames: int) -> HeardAudio:
    """The commands ``track`` gives at each of the first ``frames`` frames, as a render hears it."""
    heard = AudioInput(FileAudio(track), fps, reactivity, bindings)
    try:
        return HeardAudio([heard.commands(tick) for tick in range(frames)])
    finally:
        heard.close()
