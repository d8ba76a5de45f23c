"""Seeds to latent vectors, reproducible across runs, machines and numpy versions.

numpy's ``Generator(PCG64(seed)).standard_normal`` is specified by the bit generator and the
ziggurat algorithm, not by the platform, so seed 42 is the same face on every machine.
"""

from __future__ import annotations

import math

import numpy as np


def shell_radius(dim: int) -> float:
    """Radius of the typical shell of a standard normal in ``dim`` dimensions (about sqrt(d))."""
    return math.sqrt(dim)


def latent_from_seed(seed: int, dim: int, stream: int = 0) -> np.ndarray:
    """The latent vector for ``seed`` (float64, shape ``(dim,)``).

    Args:
        seed: any non-negative integer; the same seed always gives the same face.
        dim: latent dimensionality of the model.
        stream: an independent sub-stream of the same seed (used for auxiliary directions, so
            a loop "of seed 7" is stable and unrelated to the face of seed 8).
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    rng = np.random.Generator(np.random.PCG64([int(seed), int(stream)]))
    return rng.standard_normal(dim)


def project_to_shell(z: np.ndarray, radius: float) -> np.ndarray:
    """Scale ``z`` (..., d) onto the sphere of ``radius``, keeping its direction."""
    norm = np.linalg.norm(z, axis=-1, keepdims=True)
    return z * (radius / np.maximum(norm, 1e-12))
