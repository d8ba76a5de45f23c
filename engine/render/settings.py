"""Typed render settings: output size, fit, filter and the look (grade, grain, vignette)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Fit = Literal["contain", "cover"]
Filter = Literal["lanczos", "bicubic"]


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
class RenderSettings:
    """How generated frames become output frames.

    Attributes:
        width, height: output size in pixels.
        fit: "contain" letterboxes the whole image; "cover" fills the output and crops.
        filter: "lanczos" (Lanczos-3, sharpest) or "bicubic" (Catmull-Rom, softer).
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


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080); ValueError with the expected form otherwise."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if w <= 0 or h <= 0 or w > 16384 or h > 16384:
        raise ValueError(f"size {text!r} is out of range (1..16384 each)")
    return w, h
