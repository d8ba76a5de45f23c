"""A folder of images as one cached training array: every file Pillow reads, centre-cropped
and resized once; what Pillow cannot read is skipped and counted, never a crash."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)
MAX_IMAGES = 200_000


class DataError(ValueError):
    """A data folder that cannot be trained on; ``str()`` is one line."""


@dataclass(frozen=True)
class ImageSet:
    images: np.ndarray  # (N, S, S, 3) uint8
    skipped: int  # files Pillow could not read
    folder: Path

    def summary(self) -> str:
        return f"{len(self.images)} images from {self.folder.name} ({self.skipped} files skipped)"


def load_images(folder: Path, size: int, cache: Path | None = None) -> ImageSet:
    """Every image under ``folder`` as ``size`` px squares; ``cache``: where the array is kept
    between runs (keyed by the files' names, sizes and times, so an edited folder is read again)."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))[:MAX_IMAGES]
    key = hashlib.sha256(f"{size}".encode() + b"".join(
        f"{p.relative_to(folder)}:{p.stat().st_size}:{p.stat().st_mtime_ns}\n".encode() for p in files)).hexdigest()[:16]
    cached = cache / f"images-{size}-{key}.npz" if cache is not None else None
    if cached is not None and cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            return ImageSet(data["images"], int(data["skipped"]), folder)
    images, skipped = [], 0
    for path in files:
        try:
            with Image.open(path) as opened:
                images.append(_square(opened.convert("RGB"), size))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            skipped += 1
    if not images:
        raise DataError(f"{folder}: no image Pillow can read ({skipped} files skipped)")
    found = ImageSet(np.stack(images), skipped, folder)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, images=found.images, skipped=np.array(skipped))
    log.info("data: %s", found.summary())
    return found


def _square(image: Image.Image, size: int) -> np.ndarray:
    w, h = image.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS, box=box), dtype=np.uint8)
