"""One frame's GL work, from its FrameSpec: upload the generated image, render with text and fade.

The offline renderer and the live player both call :func:`draw`, so a show looks the same
in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from engine.frames import FrameSpec
from engine.render import Renderer
from engine.render.overlay import Overlay
from engine.render.text import text_overlay
from engine.show.schema import Caption


@dataclass(frozen=True)
class TextStyle:
    """How a source's text is drawn (a show's [caption] table, or the defaults)."""

    caption: Caption = Caption()


def text_layer(spec: FrameSpec, size: tuple[int, int], style: TextStyle) -> tuple[Overlay | None, float]:
    """The overlay for ``spec``'s caption or title at output ``size``, and its opacity."""
    if spec.text is None or spec.text.opacity <= 0:
        return None, 0.0
    c = style.caption
    overlay = text_overlay(spec.text.content, spec.text.style, size, c.font, c.size, c.color, c.position)
    return overlay, spec.text.opacity


def draw(renderer: Renderer, spec: FrameSpec, image: np.ndarray, frame_index: int, style: TextStyle,
         target: moderngl.Framebuffer | None = None, flip: bool = False) -> None:
    """Upload ``image`` and render ``spec`` into ``target``."""
    renderer.upload(image)
    render_spec(renderer, spec, frame_index, style, target, flip)


def render_spec(renderer: Renderer, spec: FrameSpec, frame_index: int, style: TextStyle,
                target: moderngl.Framebuffer | None = None, flip: bool = False, mix: float = 0.0) -> None:
    """Render ``spec`` over the uploaded image(s) (``mix`` toward source slot 1)."""
    s = renderer.settings
    overlay, opacity = text_layer(spec, (s.width, s.height), style)
    renderer.render(spec.look, frame_index, target, flip, spec.fade, spec.fade_color, overlay, opacity, mix)
