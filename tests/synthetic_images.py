"""A synthetic image data set written by the tests: soft coloured discs on gradients, with fine
stripes (high frequencies a generator has to learn), and files Pillow cannot read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_images(folder: Path, count: int, size: int = 48, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size] / size
    for i in range(count):
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
        colour = rng.uniform(0.2, 1.0, 3)
        disc = np.clip((r - np.hypot(x - cx, y - cy)) * 12, 0, 1)[..., None]
        background = np.stack([x, y, 1 - x], axis=-1) * rng.uniform(0.2, 0.6)
        stripes = 0.08 * np.sin(2 * np.pi * (x * size / 3 + rng.uniform(0, 1)))[..., None]
        image = np.clip(background * (1 - disc) + colour * disc + stripes, 0, 1)
        Image.fromarray((image * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return folder
