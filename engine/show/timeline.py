"""A show's timeline: show time t -> (cue, local time) -> FrameSpec, as a pure function.

The whole timeline repeats when the show loops; each repetition ("cycle") numbers its
portraits after the previous one's, so the n-th portrait of the exhibition depends only on
t. A cue with a transition cross-dissolves from the previous cue, which keeps running past
its end for the length of the dissolve.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.frames import Face, FrameSpec, Text
from engine.latent import (
    GreatCircleLoop,
    NoiseLoop,
    SphericalSpline,
    Wander,
    ease,
    latent_from_seed,
)
from engine.show.registry import PortraitSequence
from engine.show.schema import Cue, Show


EPSILON = 1e-6


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

    def __init__(self, show: Show, dim: int, portraits: PortraitSequence | None = None) -> None:
        self.show = show
        self.dim = dim
        self.portraits = portraits or PortraitSequence(show.settings.seed, dim, self._min_distance())
        self._starts = [0.0]
        for cue in show.cues:
            self._starts.append(self._starts[-1] + cue.total)
        self._portrait_offsets, per_cycle = [], 0
        for cue in show.cues:
            self._portrait_offsets.append(per_cycle)
            if cue.kind == "portraits":
                per_cycle += cue.params["count"] * cue.repeat
        self._portraits_per_cycle = per_cycle
        self._morphs: dict[int, SphericalSpline] = {}

    def _min_distance(self) -> float:
        return max((c.params.get("min_distance", 0.0) for c in self.show.cues if c.kind == "portraits"), default=0.0)

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
        total = self.duration
        cycle = 0
        if math.isfinite(total) and self.show.settings.loop:
            cycle = math.floor(t / total)
            t -= cycle * total
        elif math.isfinite(total):
            t = min(t, total)
        t = max(t, 0.0)
        index = min(bisect.bisect_right(self._starts, t) - 1, len(self.show.cues) - 1)
        return Position(cycle, index, t - self._starts[index])

    def __call__(self, t: float) -> FrameSpec:
        where = self.locate(t)
        cue = self.show.cues[where.cue]
        spec = self._cue_frame(where.cycle, where.cue, where.local)
        if cue.transition > 0 and where.local < cue.transition and cue.kind != "fade":
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
        p = cue.params
        step = {"portraits": p.get("hold", 0) + p.get("dissolve", 0), "morph": p.get("hold", 0) + p.get("morph", 0),
                "wander": 1.0 / p["speed"] if cue.kind == "wander" else 0}.get(cue.kind, 0)
        cue_start = t - where.local
        if step > 0:
            following = cue_start + (math.floor(where.local / step + EPSILON) + 1) * step
            if following < cue_start + cue.total:
                return following
        if math.isfinite(cue.total):
            return cue_start + cue.total
        return t + 4.0

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
        if cue.kind != "portraits":
            return None
        number = self._portrait_number(where, cue)[0]
        return PortraitShown(number, self.portraits.seed(number))

    # --- cue kinds -------------------------------------------------------------------------

    def _cue_frame(self, cycle: int, index: int, local: float) -> FrameSpec:
        spec = self._cue_content(cycle, index, local)
        style = self.show.cues[index].style
        if style is None or not spec.faces:
            return spec
        fine = latent_from_seed(style[0], self.dim)
        faces = tuple((replace(f, mix=fine, mix_from=style[1]), w) for f, w in spec.faces)
        return replace(spec, faces=faces)

    def _cue_content(self, cycle: int, index: int, local: float) -> FrameSpec:
        cue = self.show.cues[index]
        look = self.show.look
        psi = self.show.settings.truncation
        base = cue.duration
        repetition = min(int(local // base), cue.repeat - 1) if math.isfinite(base) and base > 0 else 0
        u = local - repetition * base if repetition else local  # 0 * inf would be NaN
        p = cue.params
        if cue.kind == "portraits":
            return self._portraits(Position(cycle, index, local), cue, psi)
        if cue.kind == "morph":
            return FrameSpec(((Face(self._morph(index, cue, u), psi), 1.0),), look)
        if cue.kind == "loop":
            seed = p.get("seed", self.show.settings.seed)
            path = (GreatCircleLoop(seed, self.dim, p["period"], p["radius"]) if p["shape"] == "circle"
                    else NoiseLoop(seed, self.dim, p["period"], p["radius"]))
            return FrameSpec(((Face(path(u), psi), 1.0),), look)
        if cue.kind == "wander":
            path = Wander(p.get("seed", self.show.settings.seed), self.dim, p["speed"])
            return FrameSpec(((Face(path(u), psi), 1.0),), look)
        if cue.kind == "hold":
            z = latent_from_seed(p.get("seed", self.show.settings.seed), self.dim)
            return FrameSpec(((Face(z, psi), 1.0),), look)
        if cue.kind == "fade":
            previous = self._previous(Position(cycle, index, local))
            under = self._cue_frame(previous.cycle, previous.cue, previous.local) if previous else FrameSpec(look=look)
            amount = ease("smoothstep", u / base)
            return FrameSpec(under.faces, under.look, under.text, p["to"], max(under.fade, amount))
        # title: a text card on a plain colour
        return FrameSpec((), look, Text(p["text"], "title"), p["color"], 1.0)

    def _portrait_number(self, where: Position, cue: Cue) -> tuple[int, float]:
        """Exhibition-wide portrait number at ``where``, and how far (0..1) it has dissolved on."""
        p = cue.params
        local = where.local
        slot = p["hold"] + p["dissolve"]
        i = min(int(local // slot), p["count"] * cue.repeat - 1)
        number = where.cycle * self._portraits_per_cycle + self._portrait_offsets[where.cue] + i
        into = local - i * slot
        last = i == p["count"] * cue.repeat - 1
        mix = 0.0 if last or into < p["hold"] or p["dissolve"] == 0 else (into - p["hold"]) / p["dissolve"]
        return number, mix

    def _portraits(self, where: Position, cue: Cue, psi: float) -> FrameSpec:
        number, mix = self._portrait_number(where, cue)
        face = Face(latent_from_seed(self.portraits.seed(number), self.dim), psi)
        faces: tuple[tuple[Face, float], ...] = ((face, 1.0),)
        if mix > 0:
            following = Face(latent_from_seed(self.portraits.seed(number + 1), self.dim), psi)
            weight = ease("smoothstep", mix)
            faces = ((face, 1.0 - weight), (following, weight))
        text = None
        template = cue.params.get("caption")
        if template:
            shown = number + 1 if mix >= 0.5 else number
            opacity = abs(1.0 - 2.0 * ease("smoothstep", mix)) if mix > 0 else 1.0
            text = Text(template.format(n=shown + 1, seed=self.portraits.seed(shown)), "caption", opacity)
        return FrameSpec(faces, self.show.look, text)

    def _morph(self, index: int, cue: Cue, u: float) -> np.ndarray:
        p = cue.params
        if index not in self._morphs:
            keys = np.stack([_face_latent(f, self.dim, self.show.path) for f in p["faces"]])
            self._morphs[index] = SphericalSpline(keys, periodic=p["loop"])
        spline = self._morphs[index]
        segment = p["hold"] + p["morph"]
        count = len(p["faces"])
        k = int(u // segment)
        into = u - k * segment
        if not p["loop"] and k >= count - 1:
            return spline(float(count - 1))
        step = 0.0 if into < p["hold"] else ease(p["easing"], (into - p["hold"]) / p["morph"])
        return spline(float(k % count) + step)


def _face_latent(face: int | str, dim: int, show_path: Path) -> np.ndarray:
    if isinstance(face, int):
        return latent_from_seed(face, dim)
    z = np.load(show_path.parent / face, allow_pickle=False).astype(np.float64).reshape(-1)
    if z.shape[0] != dim:
        raise ValueError(f"{face}: latent has {z.shape[0]} values, the model needs {dim}")
    return z


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
