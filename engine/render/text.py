"""Captions and title cards: text drawn with a real font (Pillow FreeType) into an RGBA overlay.

Overlays are drawn at the output size, so type is crisp whatever the model's resolution,
cropped to their ink, and cached by content: a caption that stays for six seconds is drawn once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.render.overlay import Overlay, crop_to_ink


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        return ImageFont.load_default(size)  # Pillow's bundled FreeType font
    return ImageFont.truetype(str(path), size)


@lru_cache(maxsize=8)
def text_overlay(content: str, style: str, size: tuple[int, int], font: Path | None, font_px: int,
                 color: tuple[float, float, float], position: str) -> Overlay | None:
    """``content`` as a caption (edge) or a title (centred, larger); None when nothing is inked.

    ``font_px`` is the caption height at 1080 lines; it scales with the output height.
    """
    width, height = size
    scale = height / 1080.0
    px = max(6, round(font_px * scale * (2.0 if style == "title" else 1.0)))
    face = _font(font, px)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    box = draw.multiline_textbbox((0, 0), content, font=face, align="center")
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    x = (width - text_w) / 2 - box[0]
    if style == "title":
        y = (height - text_h) / 2 - box[1]
    elif position == "top":
        y = 0.06 * height - box[1]
    else:
        y = 0.94 * height - text_h - box[1]
    rgb = tuple(round(c * 255) for c in color)
    if style == "caption":  # a soft shadow keeps white type legible over a light face
        draw.multiline_text((x + 2 * scale, y + 2 * scale), content, font=face, fill=(0, 0, 0, 160), align="center")
    draw.multiline_text((x, y), content, font=face, fill=(*rgb, 255), align="center")
    return crop_to_ink(np.asarray(canvas))
