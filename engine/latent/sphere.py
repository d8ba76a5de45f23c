"""Spherical interpolation: moving between latents without leaving the typical shell.

Linear interpolation between two Gaussian samples passes through a region of low norm
(the midpoint of two orthogonal vectors has norm |z|/sqrt(2)), where a GAN draws washed-out
averages. Slerp keeps the norm, so every in-between frame is as plausible as the endpoints.
"""

from __future__ import annotations

import numpy as np


def slerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """Spherical interpolation from ``a`` (s=0) to ``b`` (s=1); norms are interpolated linearly.

    Exact at the endpoints: ``slerp(a, b, 0) is a`` copy and ``slerp(a, b, 1)`` equals ``b``.
    """
    if s <= 0.0:
        return np.array(a, dtype=np.float64, copy=True)
    if s >= 1.0:
        return np.array(b, dtype=np.float64, copy=True)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    ua, ub = a / na, b / nb
    cos = float(np.clip(np.dot(ua, ub), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < 1e-7:
        direction = (1.0 - s) * ua + s * ub
        direction /= np.linalg.norm(direction)
    else:
        sin = np.sin(omega)
        direction = (np.sin((1.0 - s) * omega) * ua + np.sin(s * omega) * ub) / sin
    return direction * ((1.0 - s) * na + s * nb)


def orthonormal_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (u, v) spanning the plane of ``a`` and ``b``, with u along ``a``."""
    u = a / np.linalg.norm(a)
    v = b - np.dot(b, u) * u
    return u, v / np.linalg.norm(v)
