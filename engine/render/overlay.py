"""Small RGBA images (captions, titles, the stats display) blended over a finished frame.

Only the rectangle that holds ink is uploaded and drawn: a caption covers a few percent of
the frame, and on a software rasteriser blending a full-frame overlay would cost more than
the whole image pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from engine.render.shaders import shader_source


@dataclass(frozen=True, eq=False)
class Overlay:
    """The inked part of an RGBA layer and where its top-left lands in the output (x, y).

    Kept cropped because overlays are cached: a full-frame RGBA array per cached caption
    held 30 MB at 720p and 265 MB at 4K for a few hundred pixels of type each.
    """

    pixels: np.ndarray  # (h, w, 4) uint8, straight alpha
    origin: tuple[int, int]


def crop_to_ink(rgba: np.ndarray) -> Overlay | None:
    """The smallest part of ``rgba`` with any alpha, placed where it was; None if blank."""
    rows = np.flatnonzero(rgba[..., 3].any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(rgba[rows[0]:rows[-1] + 1, :, 3].any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return Overlay(np.ascontiguousarray(rgba[y0:y1, x0:x1]), (int(x0), int(y0)))


class OverlayPass:
    """Draws one RGBA image at a pixel position of the current framebuffer, alpha-blended."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self._program = ctx.program(vertex_shader=shader_source("overlay.vert"),
                                    fragment_shader=shader_source("overlay.frag"))
        self._vao = ctx.vertex_array(self._program, [])
        self._texture: moderngl.Texture | None = None
        self._uploaded: np.ndarray | None = None

    def _upload(self, pixels: np.ndarray) -> moderngl.Texture:
        height, width = pixels.shape[:2]
        if self._texture is None or self._texture.size != (width, height):
            if self._texture is not None:
                self._texture.release()
            self._texture = self.ctx.texture((width, height), 4)
            self._texture.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._uploaded = None
        if pixels is not self._uploaded:  # callers cache overlays: the same array = the same image
            self._texture.write(np.ascontiguousarray(pixels, dtype=np.uint8))
            self._uploaded = pixels
        return self._texture

    def draw(self, pixels: np.ndarray, origin: tuple[int, int], output_size: tuple[int, int],
             opacity: float = 1.0, flip: bool = False) -> None:
        """Blend ``pixels`` ((h, w, 4) uint8, straight alpha) with its top-left at ``origin``."""
        texture = self._upload(pixels)
        texture.use(0)
        program = self._program
        program["u_overlay"] = 0
        program["u_rect"] = (*origin, texture.width, texture.height)
        program["u_size"] = output_size
        program["u_flip"] = flip
        program["u_opacity"] = opacity
        self.ctx.enable_only(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO, moderngl.ONE
        self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        self.ctx.enable_only(moderngl.NOTHING)

    def release(self) -> None:
        for obj in (self._texture, self._vao, self._program):
            if obj is not None:
                obj.release()
        self._texture = None
