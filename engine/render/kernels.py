"""Resampling weights, computed once per output row/column in numpy and read by the shaders.

A separable Lanczos upscale evaluates the same few kernel weights for every pixel of a row
(or column). Computing them here once, normalised to sum to exactly 1, turns the shader's
inner loop into fetch-and-multiply: on a software rasteriser that is the difference between
60 fps and 20 fps at 1080p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.render.settings import Filter

def lanczos3(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


def catmull_rom(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    near = 1.5 * x**3 - 2.5 * x**2 + 1.0
    far = -0.5 * x**3 + 2.5 * x**2 - 4.0 * x + 2.0
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


_KERNELS = {"lanczos": (lanczos3, 3.0), "bicubic": (catmull_rom, 2.0)}


@dataclass(frozen=True)
class AxisWeights:
    """For each output pixel along one axis: first source tap and the taps' weights.

    ``table`` is (dst, 4 * texels) float32: column 0 the first source index, columns 1..taps
    the weights, zero padding to a multiple of 4 so a row packs into RGBA texels. Indices are
    clamped to the source by the shader.
    """

    table: np.ndarray
    taps: int

    @property
    def texels(self) -> int:
        return self.table.shape[1] // 4


def axis_weights(src: int, dst: int, kind: Filter) -> AxisWeights:
    """Weights to resample ``src`` pixels to exactly ``dst`` (the whole image, edge to edge).

    Downscaling (dst < src) stretches the kernel by src/dst so it also low-passes.
    """
    kernel, radius = _KERNELS[kind]
    scale = dst / src
    stretch = max(1.0, 1.0 / scale)
    taps = int(math.ceil(2.0 * radius * stretch)) + 1
    centres = (np.arange(dst) + 0.5) / scale  # source coordinate of each output centre
    s = centres - 0.5
    first = np.ceil(s - radius * stretch).astype(np.int64)
    positions = first[:, None] + np.arange(taps)[None, :]
    weights = kernel((positions - s[:, None]) / stretch)
    weights /= weights.sum(axis=1, keepdims=True)
    table = np.zeros((dst, 4 * math.ceil((taps + 1) / 4)), dtype=np.float32)
    table[:, 0] = first
    table[:, 1 : taps + 1] = weights
    return AxisWeights(table, taps)
