"""What the engine shows at time t: a typed frame description, independent of GL and torch.

A frame source is any object mapping show time to a :class:`FrameSpec`; walks are one kind,
show scripts another. Everything downstream (generation, rendering, recording) only ever
sees FrameSpecs, so live and offline runs share one path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from engine.latent import GreatCircleLoop, LatentPath, NoiseLoop, Wander
from engine.latent.steering import steer_on_shell

WALKS = ("loop", "noise", "wander")


@dataclass(frozen=True)
class Look:
    """Colour and texture of the final image; the defaults change nothing."""

    exposure: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    brightness: float = 1.0
    vignette: float = 0.0
    grain: float = 0.0

    @property
    def features(self) -> tuple[bool, bool, bool]:
        """Which optional stages (grade, vignette, grain) this look needs."""
        grade = (self.exposure, self.contrast, self.saturation) != (0.0, 1.0, 1.0)
        return grade, self.vignette > 0.0, self.grain > 0.0

    def flat(self, rgb: tuple[float, float, float]) -> tuple[float, float, float]:
        """``rgb`` through the grade and brightness of shaders/look.glsl: the letterbox colour.

        Vignette and grain are left out: the letterbox is a flat clear, which costs nothing,
        where shading it would cost a software rasteriser a third of a 1080p frame.
        """
        c = [v * 2.0 ** self.exposure for v in rgb]
        c = [(v - 0.5) * self.contrast + 0.5 for v in c]
        luma = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
        c = [luma + (v - luma) * self.saturation for v in c]
        r, g, b = (min(1.0, max(0.0, v * self.brightness)) for v in c)
        return r, g, b


@dataclass(frozen=True)
class Face:
    """One generated image: z, truncation, optional style mixing (fine layers from ``mix``), and
    a W offset added after truncation (steering in W: engine.latent.steering; steering in z is
    already in ``latent``)."""

    latent: np.ndarray = field(repr=False)
    truncation: float = 1.0
    mix: np.ndarray | None = field(default=None, repr=False)
    mix_from: int = 0  # first W slot taken from ``mix``
    w_offset: np.ndarray | None = field(default=None, repr=False)  # (num_ws, w_dim)
    space: str = "z"  # "mapped": ``latent`` holds several z, and W is their W blended by ``weights``
    weights: np.ndarray | None = field(default=None, repr=False)  # "mapped": W = sum of weights[k] * W(latent[k])
    rotate: float = 0.0  # degrees, for models with an input transform (StyleGAN3)
    translate: tuple[float, float] = (0.0, 0.0)  # image widths, likewise

    def key(self) -> tuple:
        """Hashable identity, so a face shared by several frames is generated once."""
        mix = None if self.mix is None else self.mix.tobytes()
        offset = None if self.w_offset is None else self.w_offset.tobytes()
        weights = None if self.weights is None else self.weights.tobytes()
        return (self.latent.tobytes(), self.truncation, mix, self.mix_from, offset, self.space, weights, self.rotate,
                self.translate)

    @property
    def moves(self) -> bool:
        """Turned or shifted: only a model with an input transform can draw it."""
        return self.rotate != 0.0 or self.translate != (0.0, 0.0)


@dataclass(frozen=True)
class Text:
    """Text drawn over the frame: a caption at the edge or a centred title card."""

    content: str
    style: str = "caption"  # caption | title
    opacity: float = 1.0


@dataclass(frozen=True)
class FrameSpec:
    """Everything needed to draw one frame.

    Attributes:
        faces: weighted faces (weights sum to 1); several during a cross-dissolve, none on a
            title card (black).
        look: grade, grain, vignette, brightness for this frame.
        text: caption or title, or None.
        fade_color, fade: mix the finished frame toward this colour by ``fade`` (0..1).
    """

    faces: tuple[tuple[Face, float], ...] = ()
    look: Look = Look()
    text: Text | None = None
    fade_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fade: float = 0.0


def steered(spec: FrameSpec, z_offset: np.ndarray | None, w_offset: np.ndarray | None) -> FrameSpec:
    """``spec`` with every face steered: by ``z_offset`` in z (on the shell), by ``w_offset`` in W
    (added to any W offset the face has). The same spec when both are None."""
    if (z_offset is None and w_offset is None) or not spec.faces:
        return spec
    faces = []
    for face, weight in spec.faces:
        w = face.w_offset if w_offset is None else (w_offset if face.w_offset is None else face.w_offset + w_offset)
        latent = steer_on_shell(face.latent, z_offset) if face.space == "z" else face.latent  # z axes steer z faces
        faces.append((replace(face, latent=latent, w_offset=w), weight))
    return replace(spec, faces=tuple(faces))


def moved(spec: FrameSpec, rotate: float, translate: tuple[float, float]) -> FrameSpec:
    """``spec`` with every face turned by ``rotate`` degrees and shifted by ``translate`` more
    (the input transform of a StyleGAN3); the same spec when both are zero."""
    if (rotate == 0.0 and translate == (0.0, 0.0)) or not spec.faces:
        return spec
    faces = tuple((replace(f, rotate=f.rotate + rotate,
                           translate=(f.translate[0] + translate[0], f.translate[1] + translate[1])), w)
                  for f, w in spec.faces)
    return replace(spec, faces=faces)


class FrameSource(Protocol):
    """Show time (seconds) -> FrameSpec; ``period`` is set for sources that loop exactly."""

    @property
    def period(self) -> float | None: ...

    def __call__(self, t: float) -> FrameSpec: ...

    def next_face(self, t: float) -> float:
        """Show time of the next new face after t (the player's N key)."""
        ...


@dataclass(frozen=True)
class WalkSource:
    """A latent walk shown with one look: what ``render --walk`` plays."""

    path: LatentPath
    look: Look = Look()
    truncation: float = 1.0

    @property
    def period(self) -> float | None:
        return self.path.period

    def __call__(self, t: float) -> FrameSpec:
        return FrameSpec(((Face(self.path(t), self.truncation), 1.0),), self.look)

    @property
    def face_rate(self) -> float | None:
        """New faces per second of show time (a wander's speed); None for walks without one."""
        return getattr(self.path, "speed", None) or None

    def next_face(self, t: float) -> float:
        """Show time of the next new face: the wander's next control face, or an eighth of a loop on."""
        speed = self.face_rate
        if self.path.period is None and speed:
            return (math.floor(t * speed + 1e-6) + 1) / speed
        return t + (self.path.period or 8.0) / 8.0


def make_walk(kind: str, seed: int, dim: int, period: float = 12.0, speed: float = 0.25,
              radius: float | None = None) -> LatentPath:
    """The walk called ``kind``: "loop" (great circle), "noise" (noise loop) or "wander".

    ``radius`` (0..1] is how far a loop strays from the seed's face; None takes the kind's
    default (a full great circle; 0.6 for the noise loop).
    """
    if kind == "loop":
        return GreatCircleLoop(seed, dim, period, 1.0 if radius is None else radius)
    if kind == "noise":
        return NoiseLoop(seed, dim, period, 0.6 if radius is None else radius)
    if kind == "wander":
        return Wander(seed, dim, speed)
    raise ValueError(f"unknown walk {kind!r}; expected one of {', '.join(WALKS)}")
