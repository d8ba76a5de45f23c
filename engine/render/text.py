"""Captions and title cards: text drawn with a real font (Pillow FreeType) into an RGBA overlay.

Overlays are drawn at the output size, so type is crisp whatever the model's resolution,
cropped to their ink, and cached by content: a caption that stays for six seconds is drawn once.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.render.overlay import Overlay, crop_to_ink


def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        return ImageFont.load_default(size)  # Pillow's bundled FreeType font
    return ImageFont.truetype(str(path), size)


def _fitted(content: str, font: Path | None, px: int, width: int, height: int):
    """The font at ``px``, smaller if the text would not fit the frame (96 % of its width, 90 % of
    its height), and the text's box: type never runs off the picture, and its image is never
    larger than the frame."""
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    for _ in range(4):  # a smaller size can measure a little differently: check again
        face = _font(font, px)
        box = probe.multiline_textbbox((0, 0), content, font=face, align="center")
        fit = min(0.96 * width / max(1, box[2] - box[0]), 0.9 * height / max(1, box[3] - box[1]))
        if fit >= 1.0 or px <= 6:
            break
        px = max(6, math.floor(px * fit))
    return face, box


@lru_cache(maxsize=8)
def text_overlay(content: str, style: str, size: tuple[int, int], font: Path | None, font_px: int,
                 color: tuple[float, float, float], position: str) -> Overlay | None:
    """``content`` as a caption (edge) or a title (centred, larger); None when nothing is inked.

    ``font_px`` is the caption height at 1080 lines; it scales with the output height. The
    text is drawn into a canvas just large enough for it (not the whole frame: 8 MB of RGBA at
    1080p for a line of type), placed at the same sub-pixel position, so the pixels are those a
    full-frame canvas would hold.
    """
    width, height = size
    scale = height / 1080.0
    px = max(6, round(font_px * scale * (2.0 if style == "title" else 1.0)))
    face, box = _fitted(content, font, px, width, height)
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    x = (width - text_w) / 2 - box[0]
    if style == "title":
        y = (height - text_h) / 2 - box[1]
    elif position == "top":
        y = 0.06 * height - box[1]
    else:
        y = 0.94 * height - text_h - box[1]
    shadow = 2 * scale if style == "caption" else 0.0
    # whole pixels, and never past the drawing position: Pillow truncates a negative coordinate
    # toward zero, which would move the type by a pixel
    left, top = math.floor(min(x, x + box[0])) - 2, math.floor(min(y, y + box[1])) - 2
    right, bottom = math.ceil(x + box[2] + shadow) + 3, math.ceil(y + box[3] + shadow) + 3
    canvas = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    rgb = tuple(round(c * 255) for c in color)
    if shadow:  # a soft shadow keeps white type legible over a light face
        draw.multiline_text((x - left + shadow, y - top + shadow), content, font=face, fill=(0, 0, 0, 160),
                            align="center")
    draw.multiline_text((x - left, y - top), content, font=face, fill=(*rgb, 255), align="center")
    pixels = np.asarray(canvas)
    inside = pixels[max(0, -top):height - top, max(0, -left):width - left]  # what lies in the frame
    ink = crop_to_ink(inside)
    if ink is None:
        return None
    return Overlay(ink.pixels, (ink.origin[0] + max(0, left), ink.origin[1] + max(0, top)))
