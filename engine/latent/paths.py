"""Latent paths: pure functions from show time t (seconds) to a latent z.

Every path is a value object; calling it with the same t always gives the same z, which is
what lets the same show render identically live and offline, and lets a worker generate
frames ahead of the display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np

from engine.latent.seeds import latent_from_seed, project_to_shell, shell_radius
from engine.latent.sphere import orthonormal_pair
from engine.latent.spline import SphericalSpline

_PHASE_STEPS = 2**32


def loop_phase(t: float, period: float) -> float:
    """Position in [0, 1) within a loop of ``period`` seconds.

    Snapped to a 2^-32 grid so that t = k * period gives exactly 0.0 even when t was
    computed as frame / fps: that is what makes the last frame of a loop bit-identical to
    the first.
    """
    steps = round(t / period * _PHASE_STEPS)
    return (steps % _PHASE_STEPS) / _PHASE_STEPS


class LatentPath(Protocol):
    """What the player asks of a path."""

    dim: int

    @property
    def period(self) -> float | None:
        """Seconds after which the path repeats exactly, or None for an endless path."""

    def __call__(self, t: float) -> np.ndarray:
        """The latent (dim,) float64 at show time ``t``."""


@dataclass(frozen=True)
class GreatCircleLoop:
    """A seamless loop around the face of ``seed``.

    ``radius`` is the angular size in (0, 1]: 1.0 travels a full great circle of the shell
    (through the seed's face and its opposite); smaller values circle closer around it.
    """

    seed: int
    dim: int
    seconds: float
    radius: float = 1.0

    @property
    def period(self) -> float:
        return self.seconds

    def __call__(self, t: float) -> np.ndarray:
        center, v, w = _frame(self.seed, self.dim)
        theta = 2.0 * math.pi * loop_phase(t, self.seconds)
        if self.radius >= 1.0:
            direction = math.cos(theta) * center + math.sin(theta) * v
        else:
            alpha = 0.5 * math.pi * self.radius
            ring = math.cos(theta) * v + math.sin(theta) * w
            direction = math.cos(alpha) * center + math.sin(alpha) * ring
        return direction * shell_radius(self.dim)


@dataclass(frozen=True)
class NoiseLoop:
    """A seamless loop that meanders like smooth noise instead of tracing a circle.

    A random Fourier series in the loop phase (``octaves`` harmonics with 1/k falloff) is
    periodic by construction; mixed around the face of ``seed`` by ``radius`` (as for
    :class:`GreatCircleLoop`) and projected onto the shell.
    """

    seed: int
    dim: int
    seconds: float
    radius: float = 0.6
    octaves: int = 4

    @property
    def period(self) -> float:
        return self.seconds

    def __call__(self, t: float) -> np.ndarray:
        center = _unit(latent_from_seed(self.seed, self.dim))
        theta = 2.0 * math.pi * loop_phase(t, self.seconds)
        noise = np.zeros(self.dim)
        for k in range(1, self.octaves + 1):
            a = latent_from_seed(self.seed, self.dim, stream=2 * k)
            b = latent_from_seed(self.seed, self.dim, stream=2 * k + 1)
            noise += (a * math.cos(k * theta) + b * math.sin(k * theta)) / k
        noise -= np.dot(noise, center) * center
        alpha = 0.5 * math.pi * self.radius
        direction = math.cos(alpha) * center + math.sin(alpha) * _unit(noise)
        return project_to_shell(direction, shell_radius(self.dim))


@dataclass(frozen=True)
class Wander:
    """An endless, smooth random walk: ``speed`` new random faces approached per second.

    A uniform cubic B-spline (C2) over random control latents, one per knot, each derived
    from (seed, knot) so any t is evaluated in O(1) without history.
    """

    seed: int
    dim: int
    speed: float = 0.25

    @property
    def period(self) -> None:
        return None

    def __call__(self, t: float) -> np.ndarray:
        z = sum(w * _control(self.seed, self.dim, k) for k, w in self.weights(t))
        return project_to_shell(z, shell_radius(self.dim))

    def weights(self, t: float) -> list[tuple[int, float]]:
        """(knot, weight) of the four control faces the walk blends at ``t`` (uniform cubic B-spline)."""
        u = t * self.speed
        k = math.floor(u)
        s = u - k
        weights = (
            (1.0 - s) ** 3 / 6.0,
            (3.0 * s**3 - 6.0 * s**2 + 4.0) / 6.0,
            (-3.0 * s**3 + 3.0 * s**2 + 3.0 * s + 1.0) / 6.0,
            s**3 / 6.0,
        )
        return [(k + i - 1, w) for i, w in enumerate(weights)]

    def control(self, knot: int) -> np.ndarray:
        """The control face at ``knot``, on the shell (what a walk in W maps to W)."""
        return _control(self.seed, self.dim, knot) * shell_radius(self.dim)


@dataclass(frozen=True)
class SplinePath:
    """A C2 path through keyframe latents, ``seconds_per_key`` apart (closed if ``periodic``)."""

    keys: np.ndarray = field(repr=False)
    seconds_per_key: float
    periodic: bool = False

    @property
    def dim(self) -> int:
        return int(self.keys.shape[1])

    @property
    def period(self) -> float | None:
        return len(self.keys) * self.seconds_per_key if self.periodic else None

    def __call__(self, t: float) -> np.ndarray:
        spline = _spline(self.keys.tobytes(), self.keys.shape, self.periodic)
        if self.periodic:
            return spline(loop_phase(t, self.period or 1.0) * spline.span)
        return spline(t / self.seconds_per_key)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@lru_cache(maxsize=64)
def _frame(seed: int, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal (center, v, w) for loops around the face of ``seed``."""
    center, v = orthonormal_pair(latent_from_seed(seed, dim), latent_from_seed(seed, dim, 1))
    w = latent_from_seed(seed, dim, stream=2)
    w = w - np.dot(w, center) * center - np.dot(w, v) * v
    return center, v, _unit(w)


@lru_cache(maxsize=256)
def _control(seed: int, dim: int, knot: int) -> np.ndarray:
    return _unit(latent_from_seed(seed, dim, stream=1000 + (knot % 2**31)))


@lru_cache(maxsize=16)
def _spline(raw: bytes, shape: tuple[int, int], periodic: bool) -> SphericalSpline:
    return SphericalSpline(np.frombuffer(raw, dtype=np.float64).reshape(shape), periodic)
