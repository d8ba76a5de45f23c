"""A C2-continuous spline through latent keyframes that stays on the typical shell.

Morphs through chosen faces must never jerk: velocity *and* acceleration are continuous
where the path passes a keyframe. We interpolate the keyframes' directions with an
interpolating cubic spline (natural for open paths, periodic for closed ones; both C2),
normalise the result back onto the unit sphere (normalisation is smooth away from the
origin, so C2 survives), and scale by a cubic spline of the keyframes' own norms, so the
path passes through every keyframe exactly and |z| stays close to theirs.
"""

from __future__ import annotations

import numpy as np


def _second_derivatives(values: np.ndarray, periodic: bool) -> np.ndarray:
    """Second derivatives at unit-spaced knots of the C2 cubic spline through ``values`` (n, d)."""
    n = len(values)
    system = np.zeros((n, n))
    rhs = np.zeros_like(values)
    for i in range(n):
        if not periodic and i in (0, n - 1):
            system[i, i] = 1.0  # natural end: zero curvature
            continue
        prev, nxt = (i - 1) % n, (i + 1) % n
        system[i, prev] += 1.0
        system[i, i] += 4.0
        system[i, nxt] += 1.0
        rhs[i] = 6.0 * (values[nxt] - 2.0 * values[i] + values[prev])
    return np.linalg.solve(system, rhs)


class _CubicSpline:
    """Interpolating cubic spline with knots at 0, 1, ..., (n-1) (or n when periodic)."""

    def __init__(self, values: np.ndarray, periodic: bool) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.periodic = periodic
        n = len(self.values)
        self.span = float(n if periodic else n - 1)
        if n == 2 and periodic:
            # Two keys on a closed path: the cyclic system is singular; go there and back.
            self.second = np.zeros_like(self.values)
        else:
            self.second = _second_derivatives(self.values, periodic)

    def __call__(self, u: float) -> np.ndarray:
        n = len(self.values)
        if self.periodic:
            u = u % self.span
        else:
            u = min(max(u, 0.0), self.span)
        i = min(int(np.floor(u)), n - 1 if self.periodic else n - 2)
        s = u - i
        j = (i + 1) % n
        r = 1.0 - s
        return (
            r * self.values[i]
            + s * self.values[j]
            + ((r**3 - r) * self.second[i] + (s**3 - s) * self.second[j]) / 6.0
        )


class CubicSpline:
    """C2 spline through keyframes in flat space (W of a StyleGAN: no shell to keep to).

    Keyframe k sits at u = k; open spans [0, n-1], periodic spans [0, n) and wraps with matching
    velocity and acceleration, so a closed morph in W loops exactly.
    """

    def __init__(self, keys: np.ndarray, periodic: bool = False) -> None:
        keys = np.asarray(keys, dtype=np.float64)
        if keys.ndim != 2 or len(keys) < 2:
            raise ValueError("a spline needs at least two keyframes of shape (n, d)")
        self.dim = keys.shape[1]
        self.periodic = periodic
        self._spline = _CubicSpline(keys, periodic)

    @property
    def span(self) -> float:
        return self._spline.span

    def __call__(self, u: float) -> np.ndarray:
        return self._spline(u)


class SphericalSpline:
    """C2 spline through latent keyframes, evaluated at a knot parameter u.

    Keyframe k sits at u = k. An open spline spans [0, n-1]; a periodic one spans [0, n) and
    wraps, so u = n is keyframe 0 again with matching velocity and acceleration.
    """

    def __init__(self, keys: np.ndarray, periodic: bool = False) -> None:
        keys = np.asarray(keys, dtype=np.float64)
        if keys.ndim != 2 or len(keys) < 2:
            raise ValueError("a spline needs at least two keyframes of shape (n, d)")
        norms = np.linalg.norm(keys, axis=1)
        self.dim = keys.shape[1]
        self.periodic = periodic
        self.count = len(keys)
        self._direction = _CubicSpline(keys / norms[:, None], periodic)
        self._radius = _CubicSpline(norms[:, None], periodic)

    @property
    def span(self) -> float:
        """Largest knot parameter (n - 1 open, n periodic)."""
        return self._direction.span

    def __call__(self, u: float) -> np.ndarray:
        direction = self._direction(u)
        direction /= max(float(np.linalg.norm(direction)), 1e-12)
        # No clipping of the radius: a clip would put a kink at the smallest/largest key.
        return direction * float(self._radius(u)[0])
