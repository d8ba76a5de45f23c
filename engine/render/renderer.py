"""The shader pipeline: generated frame -> vertical resample -> horizontal resample + look.

Two passes: the first is cheap (source width x output height), the second touches each
output pixel once, reading neighbouring texels of one row (cache-friendly on llvmpipe). The renderer owns every GL object it makes and releases them in
:meth:`close`, because moderngl never frees forgotten objects and a show runs for months.
"""

from __future__ import annotations

import moderngl
import numpy as np

from engine.render.kernels import AxisWeights, axis_weights
from engine.render.settings import Look, RenderSettings
from engine.render.shaders import fullscreen_pass


class Renderer:
    """Turns (H, W, 3) uint8 frames into finished output frames on one GL context."""

    def __init__(self, ctx: moderngl.Context, settings: RenderSettings, source_size: tuple[int, int]) -> None:
        self.ctx = ctx
        self.settings = settings
        sw, sh = source_size
        w, h = settings.width, settings.height
        pick = min if settings.fit == "contain" else max
        scale = pick(w / sw, h / sh)
        weights_x = axis_weights(sw, w, scale, (w - sw * scale) / 2.0, settings.filter)
        weights_y = axis_weights(sh, h, scale, (h - sh * scale) / 2.0, settings.filter)
        self._owned: list = []
        self._source = self._texture(source_size, 3, "f1")
        self._strip = self._texture((sw, h), 4, "f1")
        self._weights_x = self._weights_texture(weights_x)
        self._weights_y = self._weights_texture(weights_y)
        self.output = self._texture((w, h), 4, "f1")
        self._strip_fbo = self._own(ctx.framebuffer([self._strip]))
        self.output_fbo = self._own(ctx.framebuffer([self.output]))
        self._pass_y, self._vao_y = self._pass("resample_y.frag", weights_y)
        self._pass_y["u_source"], self._pass_y["u_weights"] = 0, 1
        self._pass_y["u_src_size"] = sh
        self._weights_x_table = weights_x
        self._finish_variants: dict[tuple[bool, ...], tuple[moderngl.Program, moderngl.VertexArray]] = {}
        self._overlay = self._texture((w, h), 4, "f1")
        self._overlay_source: np.ndarray | None = None

    def _own(self, obj):
        self._owned.append(obj)
        return obj

    def _pass(self, fragment: str, weights: AxisWeights, **switches: bool
              ) -> tuple[moderngl.Program, moderngl.VertexArray]:
        defines = {"TAPS": weights.taps, "WEIGHT_TEXELS": weights.texels}
        defines.update({k: int(v) for k, v in switches.items()})
        program, vao = fullscreen_pass(self.ctx, fragment, defines)
        return self._own(program), self._own(vao)

    def _finish_pass(self, features: tuple[bool, ...]) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The horizontal-resample-and-look program compiled for exactly these stages."""
        if features not in self._finish_variants:
            grade, vignette, grain, overlay = features
            program, vao = self._pass("resample_x_finish.frag", self._weights_x_table,
                                      GRADE=grade, VIGNETTE=vignette, GRAIN=grain, OVERLAY=overlay)
            program["u_strip"], program["u_weights"] = 0, 1
            if overlay:
                program["u_overlay"] = 2
            program["u_src_size"] = self._source.width
            program["u_background"] = self.settings.background
            program["u_size"] = (float(self.settings.width), float(self.settings.height))
            self._finish_variants[features] = (program, vao)
        return self._finish_variants[features]

    def _texture(self, size: tuple[int, int], components: int, dtype: str) -> moderngl.Texture:
        tex = self._own(self.ctx.texture(size, components, dtype=dtype))
        tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return tex

    def _weights_texture(self, weights: AxisWeights) -> moderngl.Texture:
        tex = self._texture((weights.texels, weights.table.shape[0]), 4, "f4")
        tex.write(weights.table.tobytes())
        return tex

    def upload(self, frame: np.ndarray) -> None:
        """Make ``frame`` (H, W, 3) uint8 RGB, row 0 at the top, the current source image."""
        self._source.write(np.ascontiguousarray(frame, dtype=np.uint8))

    def _use_overlay(self, overlay: np.ndarray) -> None:
        if overlay is not self._overlay_source:  # overlays are cached upstream: identity = content
            self._overlay.write(np.ascontiguousarray(overlay, dtype=np.uint8))
            self._overlay_source = overlay
        self._overlay.use(2)

    def render(self, look: Look, frame_index: int, target: moderngl.Framebuffer | None = None,
               flip: bool = False, fade: float = 0.0, fade_color: tuple[float, float, float] = (0.0, 0.0, 0.0),
               overlay: np.ndarray | None = None, overlay_opacity: float = 1.0) -> None:
        """Run the passes on the uploaded frame into ``target`` (default: :attr:`output_fbo`).

        Args:
            look: grade, vignette, grain, brightness.
            frame_index: seeds the grain, so grain is identical whenever this frame is rendered.
            flip: draw bottom-up, for a window's default framebuffer.
            fade, fade_color: mix the result toward a colour (fades, title backgrounds).
            overlay: (H, W, 4) uint8 RGBA text at output size, drawn on top with ``overlay_opacity``.
        """
        self._strip_fbo.use()
        self._source.use(0)
        self._weights_y.use(1)
        self._vao_y.render(moderngl.TRIANGLES, vertices=3)
        (target or self.output_fbo).use()
        self._strip.use(0)
        self._weights_x.use(1)
        grade, vignette, grain = look.features
        with_overlay = overlay is not None and overlay_opacity > 0.0
        program, vao = self._finish_pass((grade, vignette, grain, with_overlay))
        program["u_brightness"] = look.brightness
        program["u_flip"] = flip
        program["u_fade"], program["u_fade_color"] = fade, fade_color
        if with_overlay:
            self._use_overlay(overlay)
            program["u_overlay_opacity"] = overlay_opacity
        if grade:
            program["u_exposure"], program["u_contrast"] = look.exposure, look.contrast
            program["u_saturation"] = look.saturation
        if vignette:
            program["u_vignette"] = look.vignette
        if grain:
            program["u_grain"], program["u_grain_seed"] = look.grain, frame_index & 0xFFFFFFFF
        vao.render(moderngl.TRIANGLES, vertices=3)

    def read(self) -> np.ndarray:
        """The output as (H, W, 3) uint8, row 0 at the top (a blocking read)."""
        s = self.settings
        data = self.output_fbo.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(s.height, s.width, 3)

    def close(self) -> None:
        """Release every GL object this renderer made (safe to call twice)."""
        for obj in reversed(self._owned):
            obj.release()
        self._owned.clear()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
