"""Typed render settings: output size, fit and filter (the look of a frame is in engine.frames)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Fit = Literal["contain", "cover"]


class WallError(ValueError):
    """A video wall that cannot be drawn (a tile outside it...); ``str()`` is one line."""
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
        wall, tile, bezel: a video wall of ``wall`` (columns, rows) screens, each ``width`` x
            ``height``, with ``bezel`` pixels hidden behind the frames between neighbours; this
            output is screen ``tile`` (column, row from the top left). The picture, its fit,
            vignette, grain and captions are laid out on the whole canvas; each screen draws its
            part. One screen: ``wall`` (1, 1).
    """

    width: int = 1920
    height: int = 1080
    fit: Fit = "contain"
    filter: Filter = "lanczos"
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    detail: int | None = None
    wall: tuple[int, int] = (1, 1)
    tile: tuple[int, int] = (0, 0)
    bezel: int = 0

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"output size must be positive, got {self.width}x{self.height}")
        if self.detail is not None and self.detail < 0:
            raise ValueError(f"detail must be 0 (full) or a size in pixels, got {self.detail}")
        problem = wall_problem(self.wall, self.tile, self.bezel)
        if problem:
            raise WallError(problem)

    @property
    def canvas(self) -> tuple[int, int]:
        """The whole wall's picture in pixels, the hidden bezels included."""
        (columns, rows), gap = self.wall, self.bezel
        return columns * self.width + (columns - 1) * gap, rows * self.height + (rows - 1) * gap

    @property
    def origin(self) -> tuple[int, int]:
        """Where this screen's top-left pixel is on the canvas."""
        column, row = self.tile
        return column * (self.width + self.bezel), row * (self.height + self.bezel)


MAX_WALL = 16  # screens a side
MAX_BEZEL = 1000  # pixels


def wall_problem(wall: tuple[int, int], tile: tuple[int, int], bezel: int) -> str | None:
    """Why a wall cannot be drawn (None: it can): the one line ``--wall``/``--tile``/``--bezel`` get."""
    columns, rows = wall
    if not (1 <= columns <= MAX_WALL and 1 <= rows <= MAX_WALL):
        return f"a wall is 1 to {MAX_WALL} screens a side, got {columns}x{rows}"
    if not (0 <= tile[0] < columns and 0 <= tile[1] < rows):
        return f"tile {tile[0]},{tile[1]} is outside a {columns}x{rows} wall (columns 0-{columns - 1}, rows 0-{rows - 1})"
    if not 0 <= bezel <= MAX_BEZEL:
        return f"bezel must be 0 to {MAX_BEZEL} pixels, got {bezel}"
    return None
