"""Colour conversion for the encoder on the GPU: a framebuffer's RGB to yuv420p bytes.

Recording while playing is bounded by the CPU on small machines; converting on the GPU and
reading back 1.5 bytes a pixel instead of 3 takes the readback, the row flip and FFmpeg's
swscale off it (about 6 ms a 720p frame on two cores).
"""

from __future__ import annotations

import moderngl

from engine.render.shaders import shader_pass


def supports_yuv420(size: tuple[int, int]) -> bool:
    """The shader writes four bytes a fragment and packs two chroma rows per row: the width
    must be divisible by 8, the height by 4 (1280x720, 1920x1080, 3840x2160 all are)."""
    width, height = size
    return width % 8 == 0 and height % 4 == 0


class Yuv420Pass:
    """Converts a ``size`` framebuffer into a (height * 3 // 2, width) yuv420p image in :attr:`fbo`."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], flipped: bool) -> None:
        if not supports_yuv420(size):
            raise ValueError(f"GPU yuv420p needs a width divisible by 8 and a height by 4, got {size[0]}x{size[1]}")
        width, height = size
        self.ctx = ctx
        self.size = size
        self._rgb = ctx.texture(size, 4)
        self._planes = ctx.texture((width // 4, height * 3 // 2), 4)
        self.fbo = ctx.framebuffer([self._planes])
        self._program, self._vao = shader_pass(ctx, "yuv420.frag", {"WIDTH": width, "HEIGHT": height,
                                                                   "FLIP": int(flipped)})

    @property
    def nbytes(self) -> int:
        return self.size[0] * self.size[1] * 3 // 2

    def convert(self, source: moderngl.Framebuffer) -> moderngl.Framebuffer:
        """Draw ``source``'s picture as yuv420p into :attr:`fbo` (read it with components=4)."""
        self.ctx.copy_framebuffer(self._rgb, source)
        self.fbo.use()
        self._rgb.use(0)
        self._vao.render(moderngl.TRIANGLES, vertices=3)
        return self.fbo

    def release(self) -> None:
        for resource in (self._vao, self._program, self.fbo, self._planes, self._rgb):
            resource.release()
