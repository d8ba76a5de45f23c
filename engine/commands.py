"""Typed commands: what keys, OSC (and later MIDI and audio) ask the show and its outputs to do.

Every input turns the outside world into one of these frozen values; the frame loop applies
each at the start of a frame, dispatched by its type through one table. A command that
changes the picture is written to the performance log as the OSC message it stands for
(:attr:`Command.address` and :attr:`Command.args`), so a log reads the same whichever input
sent it, and ``render --replay`` rebuilds the same commands from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

Value = int | float | str


@dataclass(frozen=True)
class Command:
    """Base of every command.

    ``ADDRESS``: the OSC message it is logged and replayed as (None: never logged).
    ``REPLAYED``: part of the frame function, so a replay applies it (recording and snapshots
    are side effects and are not).
    """

    ADDRESS: ClassVar[str | None] = None
    REPLAYED: ClassVar[bool] = True

    @property
    def address(self) -> str | None:
        return self.ADDRESS

    @property
    def args(self) -> tuple[Value, ...]:
        return ()


# --- the show: time, faces, faders, tempo ------------------------------------------------------

@dataclass(frozen=True)
class GoToCue(Command):
    cue: int | str
    ADDRESS: ClassVar[str] = "/vernissage/show/cue"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.cue,)


@dataclass(frozen=True)
class NextCue(Command):
    ADDRESS: ClassVar[str] = "/vernissage/show/next"


@dataclass(frozen=True)
class Pause(Command):
    paused: bool | None = None  # None toggles
    ADDRESS: ClassVar[str] = "/vernissage/show/pause"

    @property
    def args(self) -> tuple[Value, ...]:
        return () if self.paused is None else (int(self.paused),)


@dataclass(frozen=True)
class Seek(Command):
    seconds: float
    ADDRESS: ClassVar[str] = "/vernissage/show/seek"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.seconds,)


@dataclass(frozen=True)
class LoadShow(Command):
    """Asks for another show file; it is read off the frame thread and applied as :class:`ShowLoaded`."""

    file: str
    ADDRESS: ClassVar[str] = "/vernissage/show/load"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.file,)


@dataclass(frozen=True)
class ShowLoaded(Command):
    """A show file read and checked, ready to play from the next frame (logged as /show/load).

    ``start``: the show time to start at; None goes on from where the show is (loading the
    show that is playing: its portraits go on, none comes back)."""

    file: str
    source: Any  # a FrameSource; Any keeps this module free of the rooms that build one
    start: float | None = 0.0
    ADDRESS: ClassVar[str] = "/vernissage/show/load"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.file,)


@dataclass(frozen=True)
class ReloadShow(Command):
    """The show file changed and its new version is ready (hot reload; not logged)."""

    source: Any
    ADDRESS: ClassVar[str | None] = None


@dataclass(frozen=True)
class SetFader(Command):
    """A continuous control: ``fader`` is its address, ``value`` in its range, ``smoothing`` in
    seconds to cover 63 % of a jump (0: at once)."""

    fader: str
    value: float
    smoothing: float = 0.0

    @property
    def address(self) -> str:
        return self.fader

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.value,)


@dataclass(frozen=True)
class Translate(Command):
    """Shift the picture to (x, y) image widths at once (an XY pad; StyleGAN3's input transform).
    Each axis is also a fader of its own, ``/vernissage/model/translate/x`` and ``/y``."""

    x: float
    y: float
    ADDRESS: ClassVar[str] = "/vernissage/model/translate"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.x, self.y)


@dataclass(frozen=True)
class WallSync(Command):
    """A video wall's leader: its show time at this message's time tag. A follower slews or
    seeks to it (engine.loop.anchor_lock.LeaderLock); the corrections are logged, not this."""

    time: float
    ADDRESS: ClassVar[str] = "/vernissage/wall/sync"
    REPLAYED: ClassVar[bool] = False

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.time,)


@dataclass(frozen=True)
class ScaleSpeed(Command):
    """Speed times ``factor`` (the arrow keys); logged as the /walk/rate it comes to."""

    factor: float
    ADDRESS: ClassVar[str | None] = None


@dataclass(frozen=True)
class WalkSeed(Command):
    seed: int
    ADDRESS: ClassVar[str] = "/vernissage/walk/seed"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.seed,)


@dataclass(frozen=True)
class MorphTo(Command):
    seed: int
    seconds: float
    ADDRESS: ClassVar[str] = "/vernissage/morph/to"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.seed, self.seconds)


@dataclass(frozen=True)
class NextFace(Command):
    ADDRESS: ClassVar[str] = "/vernissage/portrait/next"


@dataclass(frozen=True)
class SetTempo(Command):
    bpm: float
    ADDRESS: ClassVar[str] = "/vernissage/tempo/bpm"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.bpm,)


@dataclass(frozen=True)
class TapTempo(Command):
    ADDRESS: ClassVar[str] = "/vernissage/tempo/tap"


@dataclass(frozen=True)
class Beat(Command):
    """A beat falls now: the phase of the tempo grid (from Ableton Link, or a trigger)."""

    ADDRESS: ClassVar[str] = "/vernissage/tempo/beat"


@dataclass(frozen=True)
class LockTempo(Command):
    locked: bool
    ADDRESS: ClassVar[str] = "/vernissage/tempo/lock"

    @property
    def args(self) -> tuple[Value, ...]:
        return (int(self.locked),)


@dataclass(frozen=True)
class BeatsPerFace(Command):
    beats: int
    ADDRESS: ClassVar[str] = "/vernissage/tempo/beats"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.beats,)


@dataclass(frozen=True)
class Slew(Command):
    """The loop's own: an anchored show runs at ``speed`` (within half a percent of 1), or
    jumps ``to`` a show time, to meet the wall clock again. Logged as its own record."""

    speed: float = 1.0
    to: float | None = None
    ADDRESS: ClassVar[str | None] = None


@dataclass(frozen=True)
class SetKeyframeRate(Command):
    """The loop's own: generate keyframes at ``rate`` a second of show time from now on (the
    generator fell behind or has room again). Logged as its own record, replayed exactly."""

    rate: Fraction
    ADDRESS: ClassVar[str | None] = None


@dataclass(frozen=True)
class AudioFrame(Command):
    """What one frame heard, and the speed factor (``drive``) the reactivity made of it: one
    per frame while audio plays. ``heard`` holds the features as engine.audio.analysis
    lists them; ``hit`` and ``beat`` say an onset or a beat fell in the frame (they may move
    a cue on), ``bpm`` the tempo heard (it sets a locked tempo). Logged as its own record, so
    a replay moves exactly as the live show did without hearing anything; sent as OSC only to a
    video wall's followers, which then move to the leader's music."""

    drive: float = 1.0
    hit: bool = False
    beat: bool = False
    bpm: float = 0.0
    heard: tuple[float, ...] = ()
    ADDRESS: ClassVar[str] = "/vernissage/wall/audio"  # what a video wall's leader sends its followers

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.drive, int(self.hit), int(self.beat), self.bpm, *self.heard)


@dataclass(frozen=True)
class ScheduleOverride(Command):
    """Staff open early or close for an event ("open", "closed"), or go back to the hours ("auto").

    Logged for people reading the log; a replay has no opening hours, so it changes nothing
    there: the fades and pauses the loop posts because of it are logged and replayed."""

    mode: str
    ADDRESS: ClassVar[str] = "/vernissage/schedule/override"

    @property
    def args(self) -> tuple[Value, ...]:
        return (self.mode,)


# --- outputs and the loop: side effects, never replayed -----------------------------------------

@dataclass(frozen=True)
class StartRecording(Command):
    file: str | None = None  # None: a timestamped .mp4
    ADDRESS: ClassVar[str] = "/vernissage/record/start"
    REPLAYED: ClassVar[bool] = False

    @property
    def args(self) -> tuple[Value, ...]:
        return () if self.file is None else (self.file,)


@dataclass(frozen=True)
class StopRecording(Command):
    ADDRESS: ClassVar[str] = "/vernissage/record/stop"
    REPLAYED: ClassVar[bool] = False


@dataclass(frozen=True)
class ToggleRecording(Command):
    REPLAYED: ClassVar[bool] = False


@dataclass(frozen=True)
class Snapshot(Command):
    ADDRESS: ClassVar[str] = "/vernissage/snapshot"
    REPLAYED: ClassVar[bool] = False


@dataclass(frozen=True)
class ToggleFullscreen(Command):
    REPLAYED: ClassVar[bool] = False


@dataclass(frozen=True)
class Quit(Command):
    REPLAYED: ClassVar[bool] = False
