"""A show's timeline: show time t -> (cue, local time) -> FrameSpec, as a pure function.

The whole timeline repeats when the show loops; each repetition ("cycle") numbers its
portraits after the previous one's, so the n-th portrait of the exhibition depends only on
t. A cue with a transition cross-dissolves from the previous cue, which keeps running past
its end for the length of the dissolve. A Timeline is immutable once built (splines are made
up front) and never runs the model, so any thread may evaluate it: a path in W (a morph, loop
or wander with ``space = "w"``) is a spline through W, and a spline is linear in its keys, so
a frame says which z it passes through and how much of each one's W it takes (a "mapped"
face); the generator's owner maps those z (engine.loop.generation keeps their W).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine.frames import Face, FrameSpec, Text, moved, steered
from engine.latent import CubicSpline, GreatCircleLoop, NoiseLoop, SphericalSpline, Wander, ease, latent_from_seed
from engine.latent.paths import loop_phase
from engine.latent.steering import Steering
from engine.show.portraits import PortraitSequence
from engine.show.schema import (
    Cue,
    FadeCue,
    HoldCue,
    LoopCue,
    MorphCue,
    PortraitsCue,
    Show,
    TitleCue,
    WanderCue,
)

EPSILON = 1e-6
LOOP_KEYS = 8  # faces a loop in W passes through (its z loop's, evenly spaced, mapped to W)
SHORTEST_HOLD = 0.5  # seconds a face holds at least before the music may move it on


@dataclass(frozen=True)
class Position:
    """Where show time t falls: which cue, how far into it, which repetition of the show."""

    cycle: int
    cue: int
    local: float


@dataclass(frozen=True)
class PortraitShown:
    """Which exhibition-wide portrait number a frame shows (for the registry)."""

    number: int
    seed: int


class Timeline:
    """Evaluates a :class:`Show` at any time; implements the FrameSource protocol."""

    def __init__(self, show: Show, dim: int, portraits: PortraitSequence | None = None,
                 steering: Steering | None = None) -> None:
        """``steering``: the show's axes made for its model (engine.steer.vectors); without it,
        cues play unsteered."""
        self.show = show
        self.dim = dim
        self.steering = steering
        # A curator's exclusions apply to the registry's sequence too, and follow a hot reload.
        base = portraits or PortraitSequence(show.settings.seed, dim, self._min_distance())
        self.portraits = base.excluding(show.settings.exclude)
        self._starts = [0.0]
        for cue in show.cues:
            self._starts.append(self._starts[-1] + cue.total)
        self._portrait_offsets, per_cycle = [], 0
        for cue in show.cues:
            self._portrait_offsets.append(per_cycle)
            if isinstance(cue.settings, PortraitsCue):
                per_cycle += cue.settings.count * cue.repeat
        self._portraits_per_cycle = per_cycle
        self._morphs = {i: _spline(cue.settings, dim) for i, cue in enumerate(show.cues)
                        if isinstance(cue.settings, MorphCue)}
        self._w_loops = {i: _loop_keys(cue.settings, dim, self._seed(cue.settings.seed)) for i, cue in enumerate(show.cues)
                         if isinstance(cue.settings, LoopCue) and cue.settings.space == "w"}

    def _min_distance(self) -> float:
        return max((c.settings.min_distance for c in self.show.cues if isinstance(c.settings, PortraitsCue)),
                   default=0.0)

    @property
    def duration(self) -> float:
        return self._starts[-1]

    @property
    def period(self) -> float | None:
        """The show repeats exactly only when it has no portraits (those are new every cycle)."""
        if self.show.settings.loop and self._portraits_per_cycle == 0 and math.isfinite(self.duration):
            return self.duration
        return None

    def locate(self, t: float) -> Position:
        """Before 0 (an anchor still in the future) the show waits on its first frame."""
        total = self.duration
        cycle = 0
        t = max(t, 0.0)
        if math.isfinite(total) and self.show.settings.loop:
            cycle = math.floor(t / total)
            t -= cycle * total
        elif math.isfinite(total):
            t = min(t, total)
        index = min(bisect.bisect_right(self._starts, t) - 1, len(self.show.cues) - 1)
        return Position(cycle, index, t - self._starts[index])

    def __call__(self, t: float) -> FrameSpec:
        where = self.locate(t)
        cue = self.show.cues[where.cue]
        spec = self._cue_frame(where.cycle, where.cue, where.local)
        if cue.transition > 0 and where.local < cue.transition and not isinstance(cue.settings, FadeCue):
            previous = self._previous(where)
            if previous is not None:
                before = self._cue_frame(previous.cycle, previous.cue, previous.local)
                spec = _dissolve(before, spec, ease("smoothstep", where.local / cue.transition))
        return spec

    def _previous(self, where: Position) -> Position | None:
        """The previous cue, continued past its end to the same instant."""
        if where.cue > 0:
            index, cycle = where.cue - 1, where.cycle
        elif where.cycle > 0:
            index, cycle = len(self.show.cues) - 1, where.cycle - 1
        else:
            return None
        return Position(cycle, index, self.show.cues[index].total + where.local)

    def next_face(self, t: float) -> float:
        """Show time of the next new face after t: the next portrait or morph key, else the next cue."""
        where = self.locate(t)
        cue = self.show.cues[where.cue]
        step = _face_step(cue)
        cue_start = t - where.local
        if step > 0:
            following = cue_start + (math.floor(where.local / step + EPSILON) + 1) * step
            if following < cue_start + cue.total:
                return following
        if math.isfinite(cue.total):
            return cue_start + cue.total
        return t + 4.0

    def change_on(self, t: float, trigger: str) -> float | None:
        """Where the music moves the show when it gives ``trigger`` ("onset" or "beat") at t:
        the start of the change to the next face, if the cue playing advances on that trigger
        and has held its face a little (SHORTEST_HOLD); None otherwise."""
        where = self.locate(t)
        s = self.show.cues[where.cue].settings
        if not isinstance(s, (PortraitsCue, MorphCue)) or s.advance != trigger:
            return None
        return self.change_point(t) if where.local % s.slot >= min(SHORTEST_HOLD, s.change) else None

    def change_point(self, t: float) -> float | None:
        """The start of the change to the next face, while the cue playing at t advances on the
        music and holds a face (where an onset or beat would move it: worth making early)."""
        where = self.locate(t)
        cue = self.show.cues[where.cue]
        s = cue.settings
        if not isinstance(s, (PortraitsCue, MorphCue)) or s.advance == "time":
            return None
        into = where.local % s.slot
        target = t - into + s.change
        return target if into < s.change - EPSILON and target < t - where.local + cue.total else None

    def cue_start(self, cue: int | str, t: float) -> float | None:
        """Show time at which ``cue`` (an index, or a name) starts in the cycle playing at t."""
        names = [c.name for c in self.show.cues]
        index = names.index(cue) if isinstance(cue, str) and cue in names else cue
        if not isinstance(index, int) or not 0 <= index < len(self.show.cues):
            return None
        where = self.locate(t)
        cycle_start = where.cycle * self.duration if where.cycle else 0.0
        return cycle_start + self._starts[index]

    def next_cue(self, t: float) -> float:
        """Show time at which the cue after the one playing at t starts (endless last cue: t)."""
        where = self.locate(t)
        end = t - where.local + self.show.cues[where.cue].total
        return end if math.isfinite(end) else t

    def cue_name(self, t: float) -> str:
        """The name of the cue playing at t (its kind and number when unnamed): for feedback."""
        where = self.locate(t)
        cue = self.show.cues[where.cue]
        return cue.name or f"{where.cue}:{cue.kind}"

    def portrait_at(self, t: float) -> PortraitShown | None:
        """The portrait number mostly on screen at t, if a portraits cue is playing."""
        where = self.locate(t)
        cue = self.show.cues[where.cue]
        if not isinstance(cue.settings, PortraitsCue):
            return None
        number = self._portrait_number(where, cue, cue.settings)[0]
        return PortraitShown(number, self.portraits.seed(number))

    # --- cue kinds -------------------------------------------------------------------------

    def _cue_frame(self, cycle: int, index: int, local: float) -> FrameSpec:
        cue = self.show.cues[index]
        u = self._within(cue, local)
        spec = _KINDS[type(cue.settings)](self, Position(cycle, index, local), cue, u)
        fraction = u / cue.duration if math.isfinite(cue.duration) and cue.duration > 0 else 0.0
        if cue.steer and self.steering is not None:
            spec = steered(spec, *self.steering.offsets({v.axis: v.at(fraction) for v in cue.steer}))
        if cue.motion is not None:
            spec = moved(spec, *cue.motion.at(fraction, u))
        if cue.style is None or not spec.faces:
            return spec
        fine = latent_from_seed(cue.style.seed, self.dim)
        faces = tuple((replace(f, mix=fine, mix_from=cue.style.first_slot), w) for f, w in spec.faces)
        return replace(spec, faces=faces)

    @staticmethod
    def _within(cue: Cue, local: float) -> float:
        """Seconds into the cue's current repetition."""
        base = cue.duration
        repetition = min(int(local // base), cue.repeat - 1) if math.isfinite(base) and base > 0 else 0
        return local - repetition * base if repetition else local  # 0 * inf would be NaN

    def _face(self, z: np.ndarray) -> FrameSpec:
        return FrameSpec(((Face(z, self.show.settings.truncation), 1.0),), self.show.look)

    def _seed(self, seed: int | None) -> int:
        return self.show.settings.seed if seed is None else seed

    def _portraits(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        settings: PortraitsCue = cue.settings  # type: ignore[assignment]
        psi = self.show.settings.truncation
        number, mix = self._portrait_number(where, cue, settings)
        face = Face(latent_from_seed(self.portraits.seed(number), self.dim), psi)
        faces: tuple[tuple[Face, float], ...] = ((face, 1.0),)
        if mix > 0:
            following = Face(latent_from_seed(self.portraits.seed(number + 1), self.dim), psi)
            weight = ease("smoothstep", mix)
            faces = ((face, 1.0 - weight), (following, weight))
        text = None
        if settings.caption:
            shown = number + 1 if mix >= 0.5 else number
            opacity = abs(1.0 - 2.0 * ease("smoothstep", mix)) if mix > 0 else 1.0
            text = Text(settings.caption.format(n=shown + 1, seed=self.portraits.seed(shown)), "caption", opacity)
        return FrameSpec(faces, self.show.look, text)

    def _portrait_number(self, where: Position, cue: Cue, settings: PortraitsCue) -> tuple[int, float]:
        """Exhibition-wide portrait number at ``where``, and how far (0..1) it has dissolved on."""
        last_slot = settings.count * cue.repeat - 1
        i = min(int(where.local // settings.slot), last_slot)
        number = where.cycle * self._portraits_per_cycle + self._portrait_offsets[where.cue] + i
        into = where.local - i * settings.slot
        held = i == last_slot or into < settings.hold or settings.dissolve == 0
        return number, 0.0 if held else (into - settings.hold) / settings.dissolve

    def _morph(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        settings: MorphCue = cue.settings  # type: ignore[assignment]
        spline = self._morphs[where.cue]
        count = len(settings.faces)
        k = int(u // settings.slot)
        into = u - k * settings.slot
        if not settings.loop and k >= count - 1:
            u = float(count - 1)
        else:
            step = 0.0 if into < settings.hold else ease(settings.easing, (into - settings.hold) / settings.morph)
            u = float(k % count) + step
        if isinstance(spline, MappedSpline):  # through the faces' W
            return self._mapped(*spline.at(u))
        return self._face(spline(u))

    def _mapped(self, z: np.ndarray, weights: np.ndarray) -> FrameSpec:
        """The face whose W is ``weights`` times the W of each of ``z``."""
        face = Face(z, self.show.settings.truncation, space="mapped", weights=weights)
        return FrameSpec(((face, 1.0),), self.show.look)

    def _loop(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        s: LoopCue = cue.settings  # type: ignore[assignment]
        if where.cue in self._w_loops:  # a closed C2 spline in W through LOOP_KEYS of the loop's faces
            return self._mapped(*self._w_loops[where.cue].at(loop_phase(u, s.period) * LOOP_KEYS))
        return self._face(_loop_path(s, self.dim, self._seed(s.seed))(u))

    def _wander(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        s: WanderCue = cue.settings  # type: ignore[assignment]
        walk = Wander(self._seed(s.seed), self.dim, s.speed)
        if s.space == "w":  # the same control faces, blended in W
            knots = walk.weights(u)
            return self._mapped(np.stack([walk.control(k) for k, _ in knots]), np.array([w for _, w in knots]))
        return self._face(walk(u))

    def _hold(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        s: HoldCue = cue.settings  # type: ignore[assignment]
        return self._face(latent_from_seed(self._seed(s.seed), self.dim))

    def _fade(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        s: FadeCue = cue.settings  # type: ignore[assignment]
        previous = self._previous(where)
        under = (self._cue_frame(previous.cycle, previous.cue, previous.local) if previous
                 else FrameSpec(look=self.show.look))
        amount = ease("smoothstep", u / cue.duration)
        return FrameSpec(under.faces, under.look, under.text, s.to, max(under.fade, amount))

    def _title(self, where: Position, cue: Cue, u: float) -> FrameSpec:
        s: TitleCue = cue.settings  # type: ignore[assignment]
        return FrameSpec((), self.show.look, Text(s.text, "title"), s.color, 1.0)


_KINDS: dict[type, Callable[[Timeline, Position, Cue, float], FrameSpec]] = {
    PortraitsCue: Timeline._portraits, MorphCue: Timeline._morph, LoopCue: Timeline._loop,
    WanderCue: Timeline._wander, HoldCue: Timeline._hold, FadeCue: Timeline._fade, TitleCue: Timeline._title,
}


def _face_step(cue: Cue) -> float:
    """Seconds between new faces within a cue (0: the cue has no steps of its own)."""
    s = cue.settings
    if isinstance(s, (PortraitsCue, MorphCue)):
        return s.slot
    if isinstance(s, WanderCue):
        return 1.0 / s.speed
    return 0.0


@dataclass(frozen=True)
class MappedSpline:
    """A C2 spline through the W of ``keys`` (z), as weights on those keys: the spline of the
    unit vectors, since a spline is linear in its keys."""

    keys: np.ndarray  # (K, z_dim)
    basis: CubicSpline  # through the K unit vectors

    @classmethod
    def through(cls, keys: np.ndarray, periodic: bool) -> MappedSpline:
        return cls(keys, CubicSpline(np.eye(len(keys)), periodic=periodic))

    def at(self, u: float) -> tuple[np.ndarray, np.ndarray]:
        """(z keys, weights): W at ``u`` is the weights times the keys' W."""
        return self.keys, self.basis(u)


def _spline(settings: MorphCue, dim: int) -> SphericalSpline | MappedSpline:
    """The C2 spline through a morph's faces: on the shell in z, or flat through their W;
    ValueError when a latent file's size is not ``dim``."""
    keys = []
    for face in settings.faces:
        z = latent_from_seed(face, dim) if isinstance(face, int) else face
        if z.shape != (dim,):
            raise ValueError(f"a morph face's latent has {z.size} values; the model takes {dim}")
        keys.append(z)
    if settings.space == "w":
        return MappedSpline.through(np.stack(keys), periodic=settings.loop)
    return SphericalSpline(np.stack(keys), periodic=settings.loop)


def _loop_path(settings: LoopCue, dim: int, seed: int) -> GreatCircleLoop | NoiseLoop:
    """A loop cue's path in z."""
    kind = GreatCircleLoop if settings.shape == "circle" else NoiseLoop
    return kind(seed, dim, settings.period, settings.radius)


def _loop_keys(settings: LoopCue, dim: int, seed: int) -> MappedSpline:
    """A loop in W: the faces of its z loop at LOOP_KEYS even points, closed in W."""
    path = _loop_path(settings, dim, seed)
    return MappedSpline.through(np.stack([path(k * settings.period / LOOP_KEYS) for k in range(LOOP_KEYS)]), True)


def _dissolve(before: FrameSpec, after: FrameSpec, amount: float) -> FrameSpec:
    """A cross-dissolve of two frames: faces weighted, the nearer frame's text and fade."""
    faces = tuple((f, w * (1.0 - amount)) for f, w in before.faces) + tuple((f, w * amount) for f, w in after.faces)
    dominant = after if amount >= 0.5 else before
    text = dominant.text
    if text is not None:
        text = Text(text.content, text.style, text.opacity * abs(1.0 - 2.0 * amount))
    fade = (1.0 - amount) * before.fade + amount * after.fade
    color = dominant.fade_color if dominant.fade > 0 else (before.fade_color if before.fade > 0 else after.fade_color)
    return FrameSpec(faces, after.look, text, color, fade)
