"""Typed render settings: output size, fit and filter (the look of a frame is in engine.frames)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Fit = Literal["contain", "cover"]
Filter = Literal["lanczos", "bicubic", "easu"]


@dataclass(frozen=True)
class RenderSettings:
    """How generated frames become output frames.

    Attributes:
        width, height: output size in pixels.
        fit: "contain" letterboxes the whole image; "cover" fills the output and crops.
        filter: "lanczos" (Lanczos-3, sharpest separable), "bicubic" (Catmull-Rom, softer) or
            "easu" (edge-adaptive 12-tap upscale, then contrast-adaptive sharpening: the idea of
            AMD FSR 1; straight to the shown size unless ``detail`` says otherwise).
        background: letterbox colour, RGB in 0..1.
        detail: longest side, in pixels, of the Lanczos-resampled image before the last
            (bilinear) step to output size; never below the model's resolution. None (the
            default) = 4x the model's resolution: the image holds no finer detail, and at 4x
            oversampling the bilinear step stays within 0.2 levels (mean) of Lanczos all the
            way. 0 = the output size (Lanczos all the way).
    """

    width: int = 1920
    height: int = 1080
    fit: Fit = "contain"
    filter: Filter = "lanczos"
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    detail: int | None = None

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"output size must be positive, got {self.width}x{self.height}")
        if self.detail is not None and self.detail < 0:
            raise ValueError(f"detail must be 0 (full) or a size in pixels, got {self.detail}")
