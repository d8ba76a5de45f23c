"""One frame's GL work: its keyframe images uploaded, blended, placed and graded, text on top.

Live play, offline render and replay all draw through this one object, so a show looks the
same in each. It owns the renderer (and so every GL object of the picture) and remembers
which keyframe each source slot holds, so a keyframe shown on many frames is uploaded once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

import moderngl
import numpy as np

from engine.frames import FrameSource, FrameSpec
from engine.loop.clock import Key
from engine.loop.show_state import PlannedFrame
from engine.render.overlay import Overlay
from engine.render.renderer import Renderer
from engine.render.settings import RenderSettings
from engine.render.text import text_overlay
from engine.show.schema import Caption

Fetch = Callable[[Key], "np.ndarray | None"]  # a keyframe's image, or None when it is not made


@dataclass(frozen=True)
class TextStyle:
    """How a source's text is drawn (a show's [caption] table, or the defaults)."""

    caption: Caption = Caption()


def _frame_number(t: float, rate: Fraction) -> int:
    return round(Fraction(t).limit_denominator(10**6) * rate)


def grain_index(source: FrameSource, t: float, fps: float | Fraction) -> int:
    """The grain seed of the frame at show time t: its frame number at ``fps``, wrapped by the
    loop length for looping sources, so grain repeats with the loop and frame N of a seamless
    loop equals frame 0 exactly."""
    rate = Fraction(fps).limit_denominator(1001)
    number = _frame_number(t, rate)
    loop = _frame_number(source.period, rate) if source.period else 0
    return number % loop if loop else number


def text_layer(spec: FrameSpec, size: tuple[int, int], style: TextStyle) -> tuple[Overlay | None, float]:
    """The overlay for ``spec``'s caption or title at output ``size``, and its opacity."""
    if spec.text is None or spec.text.opacity <= 0:
        return None, 0.0
    c = style.caption
    overlay = text_overlay(spec.text.content, spec.text.style, size, c.font, c.size, c.color, c.position)
    return overlay, spec.text.opacity


class Compositor:
    """Draws planned frames into a target framebuffer of ``settings``' size."""

    def __init__(self, ctx: moderngl.Context, settings: RenderSettings, source_size: tuple[int, int],
                 style: TextStyle, fps: Fraction) -> None:
        self.ctx = ctx
        self.settings = settings
        self.style = style
        self.fps = Fraction(fps)
        self._source_size = source_size
        self.renderer = Renderer(ctx, settings, source_size)
        self._slots: list[Key | None] = [None, None]  # keyframe uploaded to each source slot

    def warm_up(self) -> None:
        """Compile every shader variant before the show starts (see Renderer.warm_up)."""
        self.renderer.warm_up()

    def draw(self, frame: PlannedFrame, fetch: Fetch, target: moderngl.Framebuffer, flip: bool) -> bool:
        """Draw ``frame`` into ``target``; True if a keyframe had to be stood in for (the last one
        uploaded is shown instead, and the blend toward a missing next one is dropped)."""
        mix = frame.mix
        stand_in = False
        for slot, key in enumerate((frame.key, frame.next_key) if mix > 0 else (frame.key,)):
            if self._slots[slot] == key:
                continue
            image = fetch(key)
            if image is None:
                stand_in = True
                continue
            self.renderer.upload(image, slot)
            self._slots[slot] = key
        if mix > 0 and self._slots[1] != frame.next_key:
            mix = 0.0  # the next keyframe is late: hold this one
        spec = frame.spec
        overlay, opacity = text_layer(spec, self.settings.canvas, self.style)  # laid out on the whole wall
        self.renderer.render(spec.look, grain_index(frame.source, frame.time, self.fps), target, flip, spec.fade,
                             spec.fade_color, overlay, opacity, mix)
        return stand_in

    def draw_overlay(self, pixels: np.ndarray, origin: tuple[int, int], flip: bool) -> None:
        """Blend RGBA ``pixels`` over the framebuffer just drawn (the stats panel)."""
        self.renderer.draw_overlay(pixels, origin, flip=flip)

    def resize(self, size: tuple[int, int]) -> None:
        """A new output size (the window went fullscreen): a new renderer, its shaders warmed up."""
        self.renderer.close()
        self.settings = replace(self.settings, width=size[0], height=size[1])
        self.renderer = Renderer(self.ctx, self.settings, self._source_size)
        self.renderer.warm_up()
        self._slots = [None, None]

    def close(self) -> None:
        self.renderer.close()
