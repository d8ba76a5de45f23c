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
from engine.render.text import text_overlay
from engine.show.schema import Caption


@dataclass(frozen=True)
class TextStyle:
    """How a source's text is drawn (a show's [caption] table, or the defaults)."""

    caption: Caption = Caption()


def draw(renderer: Renderer, spec: FrameSpec, image: np.ndarray, frame_index: int, style: TextStyle,
         target: moderngl.Framebuffer | None = None, flip: bool = False) -> None:
    """Upload ``image`` and render ``spec`` into ``target``."""
    renderer.upload(image)
    overlay, opacity = None, 0.0
    if spec.text is not None and spec.text.opacity > 0:
        s = renderer.settings
        c = style.caption
        overlay = text_overlay(spec.text.content, spec.text.style, (s.width, s.height), c.font, c.size,
                               c.color, c.position)
        opacity = spec.text.opacity
    renderer.render(spec.look, frame_index, target, flip, spec.fade, spec.fade_color, overlay, opacity)
