"""The shader pipeline: generated frame -> Lanczos to detail size -> placed, graded output.

Pass 1 resamples the source's columns (source width x detail height, small), pass 2 its rows
(the whole image at detail size: at most ``RenderSettings.detail`` pixels a side), pass 3
places that image in the output with a bilinear fetch and applies the look. A GAN's frame
holds no detail beyond a few times its own resolution, so Lanczos to that size followed by a
bilinear step is visually the full-resolution Lanczos at a fraction of the cost: what lets a
software rasteriser keep 60 fps at 1080p (``detail=0`` asks for Lanczos all the way).

The renderer owns every GL object it makes and releases them in :meth:`close`, because
moderngl never frees forgotten objects and a show runs for months.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import moderngl
import numpy as np

from engine.frames import Look
from engine.render.kernels import AxisWeights, axis_weights
from engine.render.overlay import Overlay, OverlayPass
from engine.render.settings import RenderSettings
from engine.render.shaders import shader_pass

DETAIL_OVERSAMPLING = 4  # default detail size, in multiples of the model's resolution
RCAS_SHARPNESS = 0.8  # FSR 1's default (0.2 stops below the limit is 2^-0.2 = 0.87); a little gentler


@dataclass(frozen=True)
class ImageLayout:
    """Where the image lands in the output (pixels, may overhang with "cover"), and its detail size."""

    x: float
    y: float
    width: float
    height: float
    detail: tuple[int, int]


def image_layout(settings: RenderSettings, source_size: tuple[int, int]) -> ImageLayout:
    """Fit the source into the canvas (the output, or a whole video wall), and pick the
    resolution the Lanczos passes work at. Positions are canvas pixels."""
    sw, sh = source_size
    w, h = settings.canvas
    scale = (min if settings.fit == "contain" else max)(w / sw, h / sh)
    iw, ih = sw * scale, sh * scale
    if settings.detail is not None:
        detail = settings.detail
    else:  # an edge-adaptive upscale is the last step: to the shown size, not via bilinear
        detail = 0 if settings.filter == "easu" else DETAIL_OVERSAMPLING * max(sw, sh)
    limit = max(detail, sw, sh) if detail > 0 else max(iw, ih)
    shrink = min(1.0, limit / max(iw, ih))
    detail = (max(1, round(iw * shrink)), max(1, round(ih * shrink)))
    return ImageLayout((w - iw) / 2.0, (h - ih) / 2.0, iw, ih, detail)


def covers_output(layout: ImageLayout, size: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> bool:
    """Whether the image covers every pixel centre of the output at ``origin`` on the canvas,
    leaving no letterbox to clear."""
    (w, h), (ox, oy) = size, origin
    return (layout.x <= ox + 0.5 and layout.y <= oy + 0.5
            and layout.x + layout.width > ox + w - 0.5 and layout.y + layout.height > oy + h - 0.5)


class Renderer:
    """Turns (H, W, 3) uint8 frames into finished output frames on one GL context."""

    def __init__(self, ctx: moderngl.Context, settings: RenderSettings, source_size: tuple[int, int]) -> None:
        self.ctx = ctx
        self.settings = settings
        self.layout = layout = image_layout(settings, source_size)
        sw, sh = source_size
        dw, dh = layout.detail
        self._owned: list = []
        self._sources = [self._texture(source_size, 3), self._texture(source_size, 3)]
        self._detail = self._texture((dw, dh), 4)
        self._detail.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._detail.repeat_x = self._detail.repeat_y = False
        self.output = self._texture((settings.width, settings.height), 4)
        self._detail_fbo = self._own(ctx.framebuffer([self._detail]))
        self.output_fbo = self._own(ctx.framebuffer([self.output]))
        self._edge_adaptive = settings.filter == "easu"
        if self._edge_adaptive:
            self._upscaled = self._texture((dw, dh), 4)  # before sharpening
            self._upscaled_fbo = self._own(ctx.framebuffer([self._upscaled]))
            self._pass_easu = {blend: self._pass("easu.frag", BLEND=blend) for blend in (False, True)}
            for blend, (program, _) in self._pass_easu.items():
                program["u_source"], program["u_src_size"], program["u_dst_size"] = 0, (sw, sh), (dw, dh)
                if blend:
                    program["u_source_b"] = 2
            self._pass_rcas = self._pass("rcas.frag")
            self._pass_rcas[0]["u_image"], self._pass_rcas[0]["u_sharpness"] = 0, RCAS_SHARPNESS
        else:
            weights_x = axis_weights(sw, dw, settings.filter)
            weights_y = axis_weights(sh, dh, settings.filter)
            self._strip = self._texture((sw, dh), 4)
            self._weights_x = self._weights_texture(weights_x)
            self._weights_y = self._weights_texture(weights_y)
            self._strip_fbo = self._own(ctx.framebuffer([self._strip]))
            self._pass_y = {blend: self._pass("resample_y.frag", weights_y, BLEND=blend) for blend in (False, True)}
            for blend, (program, _) in self._pass_y.items():
                program["u_source"], program["u_weights"], program["u_src_size"] = 0, 1, sh
                if blend:
                    program["u_source_b"] = 2
            self._pass_x = self._pass("resample_x.frag", weights_x)
            self._pass_x[0]["u_strip"], self._pass_x[0]["u_weights"], self._pass_x[0]["u_src_size"] = 0, 1, sw
        self._letterboxed = not covers_output(layout, (settings.width, settings.height), settings.origin)
        self._finish_variants: dict[tuple[bool, ...], tuple[moderngl.Program, moderngl.VertexArray]] = {}
        self._overlay_pass = OverlayPass(ctx)

    def _own(self, obj):
        self._owned.append(obj)
        return obj

    def _pass(self, fragment: str, weights: AxisWeights | None = None, vertex: str = "fullscreen.vert",
              **switches: bool) -> tuple[moderngl.Program, moderngl.VertexArray]:
        defines = {"TAPS": weights.taps, "WEIGHT_TEXELS": weights.texels} if weights else {}
        defines.update({k: int(v) for k, v in switches.items()})
        program, vao = shader_pass(self.ctx, fragment, defines, vertex)
        return self._own(program), self._own(vao)

    def _finish_pass(self, features: tuple[bool, bool, bool, bool]
                     ) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The placement-and-look program compiled for exactly these stages."""
        if features not in self._finish_variants:
            grade, vignette, grain, tint = features
            program, vao = self._pass("finish.frag", vertex="finish.vert", GRADE=grade, VIGNETTE=vignette,
                                      GRAIN=grain, TINT=tint)
            layout = self.layout
            program["u_image"] = 0
            program["u_rect"] = (layout.x, layout.y, layout.width, layout.height)
            if vignette:  # the only stage that reads the canvas's size (an unused uniform is compiled out)
                program["u_size"] = tuple(float(v) for v in self.settings.canvas)
            program["u_origin"] = tuple(float(v) for v in self.settings.origin)
            program["u_tile"] = (float(self.settings.width), float(self.settings.height))
            self._finish_variants[features] = (program, vao)
        return self._finish_variants[features]

    def warm_up(self) -> None:
        """Compile and run every shader variant once, so no look change stalls a live frame
        (a software rasteriser compiles a program on its first draw, not at link time)."""
        for grade, vignette, grain, tint, blend in itertools.product((False, True), repeat=5):
            look = Look(exposure=0.1 if grade else 0.0, vignette=0.5 if vignette else 0.0,
                        grain=0.01 if grain else 0.0, brightness=0.5 if tint else 1.0)
            self.render(look, 0, mix=0.5 if blend else 0.0)
        self.ctx.finish()

    def _texture(self, size: tuple[int, int], components: int, dtype: str = "f1") -> moderngl.Texture:
        tex = self._own(self.ctx.texture(size, components, dtype=dtype))
        tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return tex

    def _weights_texture(self, weights: AxisWeights) -> moderngl.Texture:
        tex = self._texture((weights.texels, weights.table.shape[0]), 4, "f4")
        tex.write(weights.table.tobytes())
        return tex

    def upload(self, frame: np.ndarray, slot: int = 0) -> None:
        """Make ``frame`` (H, W, 3) uint8 RGB, row 0 at the top, source ``slot`` (1: the blend partner)."""
        self._sources[slot].write(np.ascontiguousarray(frame, dtype=np.uint8))

    def render(self, look: Look, frame_index: int, target: moderngl.Framebuffer | None = None,
               flip: bool = False, fade: float = 0.0, fade_color: tuple[float, float, float] = (0.0, 0.0, 0.0),
               overlay: Overlay | None = None, overlay_opacity: float = 1.0, mix: float = 0.0) -> None:
        """Run the passes on the uploaded frame into ``target`` (default: :attr:`output_fbo`).

        Args:
            look: grade, vignette, grain, brightness.
            frame_index: seeds the grain, so grain is identical whenever this frame is rendered.
            flip: draw bottom-up, for a window's default framebuffer.
            fade, fade_color: mix the result toward a colour (fades, title backgrounds).
            overlay: text (captions, titles), drawn on top with ``overlay_opacity``.
            mix: 0..1 blend from source slot 0 toward slot 1 (between two generated frames).
        """
        if self._edge_adaptive:
            self._upscale_edge_adaptive(mix)
        else:
            self._upscale_separable(mix)
        target = target or self.output_fbo
        target.use()
        if self._letterboxed:  # one full clear is cheaper than clearing the bars alone
            flat = look.flat(self.settings.background)
            target.clear(*(v + (f - v) * fade for v, f in zip(flat, fade_color)), 1.0)
        self._detail.use(0)
        tint = look.brightness != 1.0 or fade > 0.0
        grade, vignette, grain = look.features
        program, vao = self._finish_pass((grade, vignette, grain, tint))
        program["u_flip"] = flip
        if tint:
            program["u_brightness"] = look.brightness
            program["u_fade"], program["u_fade_color"] = fade, fade_color
        if grade:
            program["u_exposure"], program["u_contrast"] = look.exposure, look.contrast
            program["u_saturation"] = look.saturation
        if vignette:
            program["u_vignette"] = look.vignette
        if grain:
            program["u_grain"], program["u_grain_seed"] = look.grain, frame_index & 0xFFFFFFFF
        vao.render(moderngl.TRIANGLE_STRIP, vertices=4)
        if overlay is not None and overlay_opacity > 0.0:  # laid out on the canvas: shifted to this screen
            ox, oy = self.settings.origin
            self.draw_overlay(overlay.pixels, (overlay.origin[0] - ox, overlay.origin[1] - oy), overlay_opacity, flip)

    def _upscale_separable(self, mix: float) -> None:
        """Passes 1-2: Lanczos (or Catmull-Rom) down the columns, then along the rows."""
        blend = mix > 0.0
        program_y, vao_y = self._pass_y[blend]
        self._strip_fbo.use()
        self._sources[0].use(0)
        self._weights_y.use(1)
        if blend:
            self._sources[1].use(2)
            program_y["u_mix"] = mix
        vao_y.render(moderngl.TRIANGLES, vertices=3)
        self._detail_fbo.use()
        self._strip.use(0)
        self._weights_x.use(1)
        self._pass_x[1].render(moderngl.TRIANGLES, vertices=3)

    def _upscale_edge_adaptive(self, mix: float) -> None:
        """Passes 1-2 with ``--filter easu``: the edge-adaptive upscale, then sharpening."""
        blend = mix > 0.0
        program, vao = self._pass_easu[blend]
        self._upscaled_fbo.use()
        self._sources[0].use(0)
        if blend:
            self._sources[1].use(2)
            program["u_mix"] = mix
        vao.render(moderngl.TRIANGLES, vertices=3)
        self._detail_fbo.use()
        self._upscaled.use(0)
        self._pass_rcas[1].render(moderngl.TRIANGLES, vertices=3)

    def draw_overlay(self, pixels: np.ndarray, origin: tuple[int, int], opacity: float = 1.0,
                     flip: bool = False) -> None:
        """Blend ``pixels`` (RGBA) at ``origin`` over the framebuffer in use (the stats display)."""
        self._overlay_pass.draw(pixels, origin, (self.settings.width, self.settings.height), opacity, flip)

    def read(self) -> np.ndarray:
        """The output as (H, W, 3) uint8, row 0 at the top (a blocking read)."""
        s = self.settings
        data = self.output_fbo.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(s.height, s.width, 3)

    def close(self) -> None:
        """Release every GL object this renderer made (safe to call twice)."""
        self._overlay_pass.release()
        for obj in reversed(self._owned):
            obj.release()
        self._owned.clear()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
