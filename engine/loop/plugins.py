"""The optional inputs and outputs of a live show: one row each, built by the rows the options ask for.

An input gives commands at each frame (the music, a MIDI controller, an Ableton Link session);
an output takes each frame (NDI). :class:`~engine.loop.run.LiveRun` builds whichever rows
``PlayOptions`` switch on, in the order here, instead of a hand-written block for each: a new
one is a row, its factory and its option. A part that cannot start is one line and the show
goes on without it, unless its failure is not one it survives (a music file that cannot be read:
the show was asked to move to it, so ``play`` waits and tries again, as for a missing model).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

from engine.audio.sources import open_source
from engine.inputs.audio import AudioInput
from engine.inputs.base import CommandSource
from engine.inputs.bindings import Binding
from engine.inputs.link import LinkError, LinkInput
from engine.inputs.midi import MidiError, MidiInput
from engine.loop.options import PlayOptions
from engine.outputs.base import Output
from engine.outputs.display import Display
from engine.outputs.ndi import NdiError, NdiOutput

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Setup:
    """What a part may need to be built."""

    options: PlayOptions
    display: Display
    fps: Fraction
    bindings: tuple[Binding, ...]


@dataclass(frozen=True)
class Plugin(Generic[T]):
    """One optional part: its name (for the log), whether the options ask for it, how it is
    built, and the errors it is left out for (one line each)."""

    name: str
    wanted: Callable[[PlayOptions], bool]
    make: Callable[[Setup], T]
    survivable: tuple[type[Exception], ...] = ()


def _midi(setup: Setup) -> MidiInput:
    midi = MidiInput(setup.bindings, setup.options.midi_learn)
    try:
        midi.open(setup.options.midi or None)
    except MidiError:
        midi.close()
        raise
    return midi


INPUTS: tuple[Plugin[CommandSource], ...] = (
    # a file loops with the show; a sound card is heard as it comes
    Plugin("audio", lambda o: o.audio is not None,
           lambda s: AudioInput(open_source(s.options.audio, loop=True), s.fps, s.options.reactivity, s.bindings)),
    Plugin("MIDI", lambda o: o.midi is not None, _midi, (MidiError,)),
    Plugin("Link", lambda o: o.link, lambda s: LinkInput(), (LinkError,)),
)
OUTPUTS: tuple[Plugin[Output], ...] = (
    Plugin("NDI", lambda o: bool(o.ndi),
           lambda s: NdiOutput(s.display.ctx, s.options.ndi, s.fps, s.display.size, s.display.flipped), (NdiError,)),
)


def build(plugins: tuple[Plugin[T], ...], setup: Setup) -> dict[str, T]:
    """The parts ``setup.options`` ask for, by name; one that cannot start is one line and left out."""
    built: dict[str, T] = {}
    for plugin in plugins:
        if not plugin.wanted(setup.options):
            continue
        try:
            built[plugin.name] = plugin.make(setup)
        except plugin.survivable as exc:
            log.error("%s: %s; playing without %s", plugin.name, exc, plugin.name)
    return built
