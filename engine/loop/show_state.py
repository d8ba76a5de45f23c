"""The show as performed: commands applied at ticks become segments of the show clock and epochs.

Every command lands at the start of a frame (its tick). A change of show time or of latents
needs keyframes that may not exist yet, so it shows from ``tick + lead``: lead 0 when those
keyframes are already made (the next portrait, cue and morph key are made before they are
asked for), else the generator's measured latency. Look changes apply to the frame itself.
Everything here is a function of the commands, their ticks and leads, never of wall time: a
performance log replays to the same frames.

This object belongs to the frame thread. What the run-ahead worker needs (segments and each
epoch's source) it publishes as one immutable :class:`Plan`, replaced whole on every change.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Protocol

from engine.commands import (
    AudioFrame,
    Beat,
    BeatsPerFace,
    Command,
    GoToCue,
    LockTempo,
    MorphTo,
    NextCue,
    NextFace,
    Pause,
    ReloadShow,
    ScaleSpeed,
    Seek,
    SetFader,
    SetKeyframeRate,
    SetTempo,
    ShowLoaded,
    Slew,
    TapTempo,
    Translate,
    WalkSeed,
)
from engine.frames import FrameSource, FrameSpec, WalkSource
from engine.inputs.addresses import (
    BRIGHTNESS,
    FADE,
    GRAIN,
    LOOK_FADERS,
    MOTION_FADERS,
    RATE,
    ROTATE,
    SPEED,
    SPEED_FADERS,
    STEER,
    TRANSLATE_X,
    TRANSLATE_Y,
    TRUNCATION,
    VIGNETTE,
)
from engine.loop.clock import MAX_SPEED, MIN_SPEED, Key, Segment, ShowClock, keys_for
from engine.loop.live_source import LiveSource
from engine.loop.tempo import Tempo
from engine.show import Timeline

log = logging.getLogger(__name__)
GRAIN_FULL = 0.15  # grain standard deviation at /render/grain 1
ON_BEAT = (GoToCue, NextCue, NextFace, WalkSeed, MorphTo)  # land on a beat when the tempo is locked
URGENT_TICKS = 4  # frames of a change that must be ready for it to show at once
MOVES_IN_TIME = (GoToCue, NextCue, NextFace, Pause, Seek, ShowLoaded, ScaleSpeed, SetTempo, TapTempo, Beat, LockTempo,
                 BeatsPerFace)
GLIDE_CLOSE = {TRUNCATION: 2e-3, ROTATE: 0.05, TRANSLATE_X: 1e-3, TRANSLATE_Y: 1e-3}  # a glide's last step
DRIVES_KEPT = 4.0  # seconds of the music's pace remembered: keyframes are made ahead for its fastest
PUSH_EXPECTED = 5.0  # while music plays, keyframes are made ahead for a push of at least this (the first kick)


class CommandRefused(ValueError):
    """A command that does not fit the show now (no such cue...); ``str()`` is one line."""


def fader_speed(value: float) -> float:
    """/walk/speed's fader: 0 -> 1/4x, 0.5 -> 1x, 1 -> 4x (even steps in octaves)."""
    return 4.0 ** (2.0 * value - 1.0)


@dataclass(frozen=True)
class Plan:
    """What the run-ahead worker reads: the clock's segments and each epoch's source."""

    segments: tuple[Segment, ...]
    sources: Mapping[int, LiveSource]
    fps: Fraction
    ahead: float = 0.0  # a speed to make keyframes ahead for, beyond the segments' own (the music's pushes)

    def spec(self, key: Key) -> FrameSpec | None:
        """The frame keyframe ``key`` shows (None once its epoch is gone)."""
        epoch, grid, j = key
        source = self.sources.get(epoch)
        return None if source is None else source(grid.time_of(j))


@dataclass(frozen=True)
class PlannedFrame:
    """Everything the loop draws for one tick."""

    tick: int
    time: float
    key: Key  # the keyframe at or before ``time``
    mix: float  # 0..1 toward the next keyframe
    spec: FrameSpec  # with the look faders applied
    source: FrameSource  # the epoch's source (its period sets the grain's loop)

    stride: int  # the next keyframe is this many grid steps on

    @property
    def next_key(self) -> Key:
        epoch, grid, j = self.key
        return epoch, grid, j + self.stride


@dataclass(frozen=True)
class Applied:
    """What applying a command did: the first tick showing it, the lead it was given, and the
    command as it goes into the performance log (None: nothing to log)."""

    shows_from: int
    logged: Command | None
    lead: int = 0


class Leads(Protocol):
    """How many frames ahead a change must be scheduled so that its keyframes are ready."""

    def for_keys(self, keys: list[Key]) -> int:
        """0 when ``keys`` are all made already, else :meth:`measured`."""

    def measured(self) -> int:
        """Frames the generator needs, as measured, to make a new keyframe."""


class ShowState:
    """The live state on top of the show: source epochs, look faders, tempo, the clock."""

    def __init__(self, source: FrameSource, dim: int, clock: ShowClock, leads: Leads,
                 input_transform: bool = False) -> None:
        """``input_transform``: the model can turn and shift its picture (the motion faders)."""
        self.clock = clock
        self._input_transform = input_transform
        self.dim = dim
        self.tempo = Tempo(float(clock.fps))
        self.faders: dict[str, float] = {}
        self._leads = leads
        self._lead: int | None = None  # the lead a change gets (a replayed command's logged one)
        self._sources: dict[int, LiveSource] = {0: LiveSource(source)}
        self._epoch = 0
        self._smoothing: dict[str, tuple[float, float, int]] = {}  # fader -> (target, per-tick factor, lead)
        self.moved = False  # a performer moved the show in time: an anchored show stops following the clock
        self._steps_land: dict[type, int] = {}  # NextFace/NextCue -> the tick the pending step lands at
        self._drives: deque[float] = deque(maxlen=max(1, round(DRIVES_KEPT * clock.fps)))  # the music's pace lately
        self._handlers: dict[type, Callable[[int, Command], Applied]] = {
            GoToCue: self._go_to_cue, NextCue: self._next_cue, Pause: self._pause, Seek: self._seek,
            ShowLoaded: self._show_loaded, ReloadShow: self._reload, SetFader: self._fader,
            ScaleSpeed: self._scale_speed, WalkSeed: self._walk_seed, MorphTo: self._morph_to,
            NextFace: self._next_face, SetTempo: self._tempo_bpm, TapTempo: self._tempo_tap, Beat: self._tempo_beat,
            LockTempo: self._tempo_lock, BeatsPerFace: self._tempo_beats, SetKeyframeRate: self._keyframe_rate,
            Slew: self._slew, AudioFrame: self._audio, Translate: self._translate,
        }
        self.plan = self._published()

    @property
    def commands(self) -> tuple[type, ...]:
        """The command types this state applies."""
        return tuple(self._handlers)

    @property
    def latest(self) -> LiveSource:
        return self._sources[self._epoch]

    def _published(self) -> Plan:
        ahead = self.clock.latest.resume_speed * max(PUSH_EXPECTED, *self._drives) if self._drives else 0.0
        return Plan(self.clock.segments, MappingProxyType(dict(self._sources)), self.clock.fps, ahead)

    # --- what the frame loop reads -----------------------------------------------------------------

    def frame_at(self, tick: int) -> PlannedFrame:
        seg = self.clock.segment_at(tick)
        t = seg.time_at(tick, self.clock.fps)
        key, mix = seg.key_at(tick, self.clock.fps)
        source = self._sources.get(seg.epoch) or self.latest
        return PlannedFrame(tick, t, key, mix, self._adjust(source(t)), source, seg.stride)

    def _adjust(self, spec: FrameSpec) -> FrameSpec:
        """``spec`` with the look faders applied (grain, brightness, vignette, blackout)."""
        if not self.faders:
            return spec
        look = spec.look
        f = self.faders
        if GRAIN in f:
            look = replace(look, grain=GRAIN_FULL * f[GRAIN])
        if BRIGHTNESS in f:
            look = replace(look, brightness=look.brightness * f[BRIGHTNESS])
        if VIGNETTE in f:
            look = replace(look, vignette=f[VIGNETTE])
        spec = replace(spec, look=look)
        blackout = f.get(FADE, 0.0)
        if blackout > 0.0:  # the show's own fade, then black over it: one mix with the same result
            total = 1.0 - (1.0 - spec.fade) * (1.0 - blackout)
            color = tuple(c * spec.fade * (1.0 - blackout) / total for c in spec.fade_color)
            spec = replace(spec, fade=total, fade_color=color)  # type: ignore[arg-type]
        return spec

    def speculative_keys(self, tick: int) -> list[Key]:
        """Keyframes worth making before anyone asks: where the next face, the next cue and a
        resume would start, so those commands show on the very next frame."""
        seg = self.clock.latest
        t = self.clock.time_at(tick)
        plans = [self.clock.seek_plan(tick, self.latest.next_face(t))]
        base = self.latest.base
        if isinstance(base, Timeline) and self.latest.walk is None:
            plans.append(self.clock.seek_plan(tick, base.next_cue(t)))
            change = base.change_point(t)
            if change is not None:  # where the next onset or beat will move the show
                plans.append(self.clock.seek_plan(tick, change))
        if seg.speed == 0.0:
            plans.append(self.clock.planned(tick, speed=seg.resume_speed))
        keys: list[Key] = []
        for planned in plans:
            keys += keys_for(self._with(planned), self.clock.fps, tick, URGENT_TICKS)
        return keys

    def status(self, tick: int) -> tuple[str, float, int, float, float, int]:
        """(cue, time, paused, speed, bpm, locked) for /vernissage/status."""
        t = self.clock.time_at(tick)
        seg = self.clock.segment_at(tick)
        base = self.latest.base
        if self.latest.walk is not None:
            cue = f"walk {self.latest.walk.seed}"
        elif isinstance(base, Timeline):
            cue = base.cue_name(t)
        else:
            cue = "walk"
        return (cue, round(t, 3), int(seg.speed == 0.0), round(seg.resume_speed, 4), round(self.tempo.bpm, 2),
                int(self.tempo.locked))

    # --- applying commands --------------------------------------------------------------------------

    def apply(self, tick: int, command: Command, lead: int | None = None) -> Applied:
        """Apply ``command`` at the start of frame ``tick``.

        ``lead`` is a replayed command's logged lead; None decides it here. Raises
        CommandRefused (one line) for a command that does not fit the show now.
        """
        self._lead = lead
        try:
            applied = self._handlers[type(command)](tick, command)
            if (isinstance(command, MOVES_IN_TIME) or (isinstance(command, SetFader) and command.fader in SPEED_FADERS)
                    or (isinstance(command, AudioFrame) and command.drive != 1.0)):
                self.moved = True
            return applied
        finally:
            self._lead = None
            self.plan = self._published()

    def step(self, tick: int) -> None:
        """Move smoothed faders one frame toward their targets (call once per frame)."""
        if not self._smoothing:
            return
        for fader, (target, factor, lead) in list(self._smoothing.items()):
            current = self._fader_value(fader)
            value = current + (target - current) * factor
            # each truncation, steering or motion step is a new epoch to generate: the glide's tail is one step
            close = 2e-3 if fader.startswith(STEER) else GLIDE_CLOSE.get(fader, 1e-4)
            if abs(target - value) < close or abs(value - current) < close:
                value = target
                del self._smoothing[fader]
            self._lead = lead  # every step of a glide keeps the lead its command was logged with
            try:
                self._set_fader(tick, fader, value)
            finally:
                self._lead = None
        self.plan = self._published()

    def _with(self, planned: Segment) -> tuple[Segment, ...]:
        """The clock's segments as they would be with ``planned`` scheduled."""
        return tuple(s for s in self.clock.segments if s.tick < planned.tick) + (planned,)

    def _settled(self, tick: int) -> int:
        """The first tick a new change may take effect: never before one already scheduled, so
        it builds on that one instead of replacing it (live and in a replay alike)."""
        return max(tick, self.clock.latest.tick)

    def _change(self, tick: int, plan: Callable[[int], Segment | None], on_beat: bool = False) -> int:
        """Schedule ``plan(at)`` at the first tick whose keyframes will be ready; returns that tick."""
        if self._lead is not None:  # a replayed or gliding change: the lead it was logged with
            at = self._settled(tick + self._lead)
        else:
            first = plan(self._settled(tick))
            lead = 0 if first is None else self._leads.for_keys(
                keys_for(self._with(first), self.clock.fps, first.tick, URGENT_TICKS))
            at = self._settled(tick) + lead
        if on_beat and self.tempo.locked:
            at = self.tempo.next_beat(at)
        segment = plan(at)
        if segment is not None:
            self.clock.schedule(segment)
        return at

    def _switch(self, tick: int, source: LiveSource, time: float | None = None, on_beat: bool = False) -> int:
        """From the returned tick on, frames come from ``source`` (a new epoch)."""
        self._epoch += 1
        epoch = self._epoch
        self._sources[epoch] = source
        at = self._change(tick, lambda at: self.clock.switch_plan(at, epoch, time), on_beat)
        oldest = min(seg.epoch for seg in self.clock.segments)
        for old in [e for e in self._sources if e < oldest]:
            del self._sources[old]
        return at

    def _applied(self, tick: int, at: int, command: Command | None) -> Applied:
        return Applied(at, command, at - tick if command is not None and command.REPLAYED else 0)

    # --- the handlers, one per command type -----------------------------------------------------------

    def _fader(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, SetFader)
        if command.smoothing > 0.0:
            factor = 1.0 - math.exp(-1.0 / (command.smoothing * float(self.clock.fps)))
            lead = self._lead if self._lead is not None else (0 if command.fader in LOOK_FADERS
                                                              else self._leads.measured())
            self._smoothing[command.fader] = (command.value, factor, lead)
            return Applied(tick + lead, command, lead)
        self._smoothing.pop(command.fader, None)
        at = self._set_fader(tick, command.fader, command.value)
        return self._applied(tick, at, command)

    def _fader_value(self, fader: str) -> float:
        if fader in self.faders:
            return self.faders[fader]
        if fader.startswith(STEER):
            return self.latest.steer_value(fader[len(STEER):])
        if fader in MOTION_FADERS:
            return {"rotate": self.latest.rotate, "x": self.latest.translate[0],
                    "y": self.latest.translate[1]}[MOTION_FADERS[fader]]
        if fader == TRUNCATION:
            return self.latest.truncation if self.latest.truncation is not None else 1.0
        if fader in SPEED_FADERS:
            rate = self.clock.latest.resume_speed
            return (math.log(rate, 4.0) + 1.0) / 2.0 if fader.endswith("speed") else rate
        return 1.0 if fader == BRIGHTNESS else 0.0

    def _set_fader(self, tick: int, fader: str, value: float) -> int:
        if fader in LOOK_FADERS:
            self.faders[fader] = value
            return tick
        if fader == TRUNCATION:
            return self._switch(tick, self.latest.with_truncation(value))
        if fader in MOTION_FADERS:
            self._refuse_without_input_transform(fader)
            return self._switch(tick, self.latest.with_motion(**{MOTION_FADERS[fader]: value}))
        if fader.startswith(STEER):
            axis, steering = fader[len(STEER):], self.latest.steering
            if steering is None or axis not in steering.axes:
                known = ", ".join(sorted(steering.axes)) if steering is not None and steering.axes else "none"
                raise CommandRefused(f"{fader}: the show has no steering axis {axis!r} (axes: {known})"[:200])
            return self._switch(tick, self.latest.with_steer(axis, value))
        if fader == SPEED:
            self.faders[fader] = value
            return self._change(tick, lambda at: self.clock.speed_plan(at, fader_speed(value)))
        if fader == RATE:
            return self._change(tick, lambda at: self.clock.speed_plan(at, value))
        raise CommandRefused(f"{fader}: not a fader")

    def _refuse_without_input_transform(self, address: str) -> None:
        if not self._input_transform:
            raise CommandRefused(f"{address}: this model has no input transform to turn or shift (StyleGAN3 has)")

    def _translate(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, Translate)
        self._refuse_without_input_transform(command.ADDRESS)
        for fader in (TRANSLATE_X, TRANSLATE_Y):
            self._smoothing.pop(fader, None)  # the pad overrides a glide on either axis
        return self._applied(tick, self._switch(tick, self.latest.with_motion(x=command.x, y=command.y)), command)

    def _scale_speed(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, ScaleSpeed)
        rate = min(MAX_SPEED, max(MIN_SPEED, self.clock.latest.resume_speed * command.factor))
        return self._fader(tick, SetFader(RATE, rate))

    def _released(self, tick: int, time: float) -> int:
        """Jump to ``time`` of the show itself (a cue), leaving any live walk."""
        if self.latest.walk is not None:
            return self._switch(tick, self.latest.with_base(self.latest.base), time, on_beat=True)
        return self._change(tick, lambda at: self.clock.seek_plan(at, time), on_beat=True)

    def _go_to_cue(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, GoToCue)
        base = self.latest.base
        start = base.cue_start(command.cue, self.clock.time_at(tick)) if isinstance(base, Timeline) else None
        if start is None:
            raise CommandRefused(f"{GoToCue.ADDRESS}: no cue {command.cue!r} in this show")
        return self._applied(tick, self._released(tick, start), command)

    def _step(self, tick: int, command: Command, schedule: Callable[[], int]) -> Applied:
        """A relative step (the next face, the next cue). Pressed again before the one pending
        has landed, it joins that one instead of queueing a further step behind it: when the
        generator is slower than the presses (a 1024-px model on a CPU), chained steps would each
        wait for the keyframes of the one before and the screen would fall seconds behind the
        hands. The decision reads only the ticks already scheduled, so a replay makes it too."""
        pending = self._steps_land.get(type(command))
        if pending is not None and tick < pending:
            return self._applied(tick, pending, command)
        at = schedule()
        self._steps_land[type(command)] = at
        return self._applied(tick, at, command)

    def _next_cue(self, tick: int, command: Command) -> Applied:
        def schedule() -> int:
            t = self.clock.time_at(tick)
            base = self.latest.base
            return self._released(tick, base.next_cue(t) if isinstance(base, Timeline) else self.latest.next_face(t))
        return self._step(tick, command, schedule)

    def _next_face(self, tick: int, command: Command) -> Applied:
        return self._step(tick, command, lambda: self._change(
            tick, lambda at: self.clock.seek_plan(at, self.latest.next_face(self.clock.time_at(at))), on_beat=True))

    def _pause(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, Pause)
        paused = not self.clock.paused if command.paused is None else command.paused
        if paused:  # freezing needs no new keyframe: at once (or as a change already scheduled lands)
            at = self._settled(tick + (self._lead or 0))
            segment = self.clock.pause_plan(at, True)
            if segment is not None:
                self.clock.schedule(segment)
            return self._applied(tick, at, command)
        return self._applied(tick, self._change(tick, lambda at: self.clock.pause_plan(at, False)), command)

    def _seek(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, Seek)
        return self._applied(tick, self._change(tick, lambda at: self.clock.seek_plan(at, command.seconds)), command)

    def _show_loaded(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, ShowLoaded)
        at = self._switch(tick, self.latest.with_base(command.source), command.start)
        return self._applied(tick, at, command)

    def _slew(self, tick: int, command: Command) -> Applied:
        """An anchored show meets the wall clock again, or a wall's follower its leader
        (engine.loop.anchor_lock). A jump is to where the clock it follows will be when the jump
        lands (``to`` is that clock at ``tick``; the keyframes' lead makes it land later)."""
        assert isinstance(command, Slew)
        speed = self.clock.latest.resume_speed

        def plan(at: int) -> Segment | None:
            if command.to is None:
                return self.clock.speed_plan(at, command.speed)
            return self.clock.seek_plan(at, command.to + speed * (at - tick) / float(self.clock.fps))

        at = self._change(tick, plan)
        return Applied(at, command, at - tick)

    def _reload(self, tick: int, command: Command) -> Applied:
        """The show file changed: its new version from the next ready tick on, live changes kept."""
        assert isinstance(command, ReloadShow)
        return Applied(self._switch(tick, replace(self.latest, base=command.source)), None)

    def _walk_seed(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, WalkSeed)
        source = self.latest.with_walk(command.seed, self.dim, self.clock.time_at(tick))
        return self._applied(tick, self._switch(tick, source, on_beat=True), command)

    def _morph_to(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, MorphTo)
        source = self.latest.with_walk(command.seed, self.dim, self.clock.time_at(tick), command.seconds)
        return self._applied(tick, self._switch(tick, source, on_beat=True), command)

    def _tempo_bpm(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, SetTempo)
        self.tempo.set_bpm(tick, command.bpm)
        return self._applied(tick, self._lock_speed(tick), command)

    def _tempo_tap(self, tick: int, command: Command) -> Applied:
        self.tempo.tap(tick)
        return self._applied(tick, self._lock_speed(tick), command)

    def _tempo_beat(self, tick: int, command: Command) -> Applied:
        self.tempo.anchor = tick  # the grid's phase; the tempo stays
        return self._applied(tick, self._lock_speed(tick), command)

    def _tempo_lock(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, LockTempo)
        self.tempo.locked = command.locked
        return self._applied(tick, self._lock_speed(tick), command)

    def _tempo_beats(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, BeatsPerFace)
        self.tempo.beats_per_face = command.beats
        return self._applied(tick, self._lock_speed(tick), command)

    def _lock_speed(self, tick: int) -> int:
        """Locked to the tempo, a walk moves one face per ``beats_per_face`` beats."""
        rate = self.face_rate()
        if self.tempo.locked and rate:
            speed = self.tempo.faces_per_second() / rate
            return self._change(tick, lambda at: self.clock.speed_plan(at, speed))
        return tick

    def _keyframe_rate(self, tick: int, command: Command) -> Applied:
        assert isinstance(command, SetKeyframeRate)
        at = self._change(tick, lambda at: self.clock.rate_plan(at, command.rate))
        return Applied(at, command, at - tick)

    def _audio(self, tick: int, command: Command) -> Applied:
        """The music: its pace at once (no new keyframes: the grid goes on); an onset or beat
        moves a cue that advances on it to its next change; a beat sets a locked tempo."""
        assert isinstance(command, AudioFrame)
        self._drives.append(command.drive)
        paced = self.clock.drive_plan(self._settled(tick), command.drive)
        if paced is not None:
            self.clock.schedule(paced)
        at = tick
        base = self.latest.base
        if isinstance(base, Timeline) and self.latest.walk is None:
            t = self.clock.time_at(tick)
            heard = [trigger for trigger, fell in (("onset", command.hit), ("beat", command.beat)) if fell]
            targets = [target for trigger in heard if (target := base.change_on(t, trigger)) is not None]
            if targets:
                at = self._change(tick, lambda at: self.clock.seek_plan(at, targets[0]))
        if command.beat and command.bpm and self.tempo.locked:
            if abs(command.bpm - self.tempo.bpm) > 0.5:
                self.tempo.set_bpm(tick, command.bpm)
                self._lock_speed(tick)
            else:
                self.tempo.anchor = tick  # on the beat heard
        return Applied(at, command, at - tick)

    def planning_speed(self, tick: int) -> float:
        """The speed keyframes must keep up with: the show's, or the fastest the music drove it
        lately (its pushes come without warning)."""
        speed = self.clock.segment_at(tick).speed
        if self._drives and speed:
            speed = max(speed, self.clock.segment_at(tick).resume_speed * max(self._drives))
        return speed

    def face_rate(self) -> float | None:
        """New faces per second of show time at speed 1, for sources that have one."""
        if self.latest.walk is not None:
            return self.latest.walk.speed
        base = self.latest.base
        return base.face_rate if isinstance(base, WalkSource) else None
