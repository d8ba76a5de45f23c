"""The show as the performer changed it: new walks, morphs, truncation, steering and turns over a base source.

Each change made live (``/walk/seed``, ``/morph/to``, ``/latent/truncation``, ``/steer/AXIS``,
``/model/rotate``, ``/model/translate``) makes a new,
immutable :class:`LiveSource` that starts at a show time; the clock switches to it at a tick
(engine.loop.show_state). So a frame is still a pure function of the show, show time and
the commands applied: what ``render --replay`` relies on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.frames import Face, FrameSource, FrameSpec, WalkSource, moved, steered
from engine.latent import Wander, latent_from_seed, slerp
from engine.latent.easing import ease
from engine.latent.steering import Steering

DEFAULT_WALK_SPEED = 0.25  # faces a second, the speed of ``render --walk wander``


@dataclass(frozen=True)
class SeedWalk:
    """Starts exactly on ``seed``'s face and eases into a wander from it over one face's time."""

    seed: int
    dim: int
    speed: float = DEFAULT_WALK_SPEED

    def __call__(self, t: float) -> np.ndarray:
        face = latent_from_seed(self.seed, self.dim)
        if t <= 0:
            return face
        return slerp(face, Wander(self.seed, self.dim, self.speed)(t), ease("smoothstep", t * self.speed))


def primary_face(spec: FrameSpec) -> Face | None:
    """The face with the largest weight (what a morph starts from), if any."""
    return max(spec.faces, key=lambda fw: fw[1])[0] if spec.faces else None


@dataclass(frozen=True)
class LiveSource:
    """``base`` with a live walk from show time ``origin`` on (reached by a morph of
    ``morph_seconds`` from ``before``), and a truncation override."""

    base: FrameSource
    truncation: float | None = None
    walk: SeedWalk | None = None
    origin: float = 0.0
    morph_seconds: float = 0.0
    before: LiveSource | None = None
    steer: tuple[tuple[str, float], ...] = ()  # live steering, added to the show's own, by axis
    rotate: float = 0.0  # live turn (degrees) and shift (image widths), added to the show's own
    translate: tuple[float, float] = (0.0, 0.0)

    @property
    def steering(self) -> Steering | None:
        """The axes live faders may steer along: the show's (a walk has none)."""
        return getattr(self.base, "steering", None)

    @property
    def period(self) -> float | None:
        return self.base.period if self.walk is None else None

    def __call__(self, t: float) -> FrameSpec:
        spec = self._faces(t)
        if self.truncation is not None and spec.faces:
            spec = replace(spec, faces=tuple((replace(f, truncation=self.truncation), w) for f, w in spec.faces))
        steering = self.steering
        if self.steer and steering is not None:
            spec = steered(spec, *steering.offsets(dict(self.steer)))
        return moved(spec, self.rotate, self.translate)

    def _faces(self, t: float) -> FrameSpec:
        spec = self.base(t)
        if self.walk is None:
            return spec
        start = self.origin - self.morph_seconds
        if t < start or (t < self.origin and self.before is None):
            return self.before(t) if self.before is not None else spec
        z = self.walk(t - self.origin)
        if t < self.origin:
            was = primary_face(self.before(t))
            if was is not None and was.space == "z":  # from a face in W there is no z to slerp from: a cut
                z = slerp(was.latent, z, ease("smoothstep", (t - start) / self.morph_seconds))
        truncation = primary_face(spec).truncation if spec.faces else 1.0
        return replace(spec, faces=((Face(z, truncation), 1.0),))

    def next_face(self, t: float) -> float:
        if self.walk is None or t < self.origin:
            return self.base.next_face(t)
        return self.origin + (math.floor((t - self.origin) * self.walk.speed + 1e-6) + 1) / self.walk.speed

    # --- changes: each returns a new source --------------------------------------------------------

    def settled(self, t: float) -> LiveSource:
        """This source for times from t on: morphs finished by then are forgotten (bounded memory)."""
        if self.before is not None and t >= self.origin:
            return replace(self, before=None, morph_seconds=0.0)
        return self

    def with_walk(self, seed: int, dim: int, at: float, morph_seconds: float = 0.0) -> LiveSource:
        if self.walk is not None:
            speed = self.walk.speed
        else:  # a show's portraits have no walk speed: a wander at render --walk's pace
            speed = (self.base.face_rate if isinstance(self.base, WalkSource) else None) or DEFAULT_WALK_SPEED
        return LiveSource(self.base, self.truncation, SeedWalk(seed, dim, speed), at + morph_seconds, morph_seconds,
                          self.settled(at) if morph_seconds > 0 else None, self.steer, self.rotate, self.translate)

    def with_truncation(self, psi: float) -> LiveSource:
        return replace(self, truncation=psi)

    def with_steer(self, axis: str, value: float) -> LiveSource:
        """Live steering along ``axis`` set to ``value`` (0 takes it off)."""
        steer = tuple((a, v) for a, v in self.steer if a != axis) + (((axis, value),) if value else ())
        return replace(self, steer=tuple(sorted(steer)))

    def steer_value(self, axis: str) -> float:
        return dict(self.steer).get(axis, 0.0)

    def with_motion(self, rotate: float | None = None, x: float | None = None, y: float | None = None) -> LiveSource:
        """The live turn and shift, each part given replacing the one before."""
        return replace(self, rotate=self.rotate if rotate is None else rotate,
                       translate=(self.translate[0] if x is None else x, self.translate[1] if y is None else y))

    def with_base(self, base: FrameSource) -> LiveSource:
        """A new show: its own faces again, the truncation override, live steering and turn kept."""
        return LiveSource(base, self.truncation, steer=self.steer, rotate=self.rotate, translate=self.translate)
