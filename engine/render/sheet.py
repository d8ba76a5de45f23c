"""Contact sheets: images in a grid, each labelled under it, as a curator marks up prints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (24, 24, 24)
INK = (236, 232, 224)
MARGIN = 12
LABEL_PX = 15


def contact_sheet(images: Sequence[np.ndarray], labels: Sequence[str], columns: int, tile: int) -> Image.Image:
    """``images`` (H, W, 3 uint8) resized to ``tile`` px squares (Lanczos), ``columns`` a row,
    each with its (multi-line) label under it."""
    if len(images) != len(labels) or not images:
        raise ValueError("a contact sheet needs as many labels as images, and at least one")
    px = LABEL_PX  # smaller until the longest line fits under its face (a 19-digit seed does at 192 px)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    longest = max((line for label in labels for line in label.split("\n")), key=len)
    while px > 8 and probe.textlength(longest, font=ImageFont.load_default(px)) > tile:
        px -= 1
    font = ImageFont.load_default(px)
    lines = max(label.count("\n") + 1 for label in labels)
    label_height = lines * (px + 3) + 4
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    cell_w, cell_h = tile + MARGIN, tile + label_height + MARGIN
    sheet = Image.new("RGB", (MARGIN + columns * cell_w, MARGIN + rows * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(zip(images, labels)):
        x, y = MARGIN + (i % columns) * cell_w, MARGIN + (i // columns) * cell_h
        sheet.paste(Image.fromarray(image).resize((tile, tile), Image.Resampling.LANCZOS), (x, y))
        draw.multiline_text((x, y + tile + 4), label, fill=INK, font=font, spacing=3)
    return sheet


def save_sheet(sheet: Image.Image, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
