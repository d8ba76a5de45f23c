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
                images.append(_square(eight_bit_rgb(opened), size))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            skipped += 1
    if not images:
        raise DataError(f"{folder}: no image Pillow can read ({skipped} files skipped)")
    found = ImageSet(np.stack(images), skipped, folder)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cached, images=found.images, skipped=np.array(skipped))
        except OSError as exc:  # no cache: the folder is read again next time, that is all
            log.warning("%s: cannot cache the images (%s)", cached, exc.strerror or exc)
            cached.unlink(missing_ok=True)
    log.info("data: %s", found.summary())
    return found


def eight_bit_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB, at its full depth scaled down: Pillow's own convert() clips 16-bit
    and 32-bit greys at 255 (a mid-grey 16-bit gradient trained as white)."""
    if image.mode.startswith("I;16") or image.mode == "I":
        grey = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or grey.max() > 255 else 255.0
        return Image.fromarray(np.clip(grey * (255.0 / top) + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode == "F":
        grey = np.nan_to_num(np.asarray(image, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if grey.max() <= 1.0 else 1.0
        return Image.fromarray(np.clip(grey * scale + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    return image.convert("RGB")


def _square(image: Image.Image, size: int) -> np.ndarray:
    w, h = image.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS, box=box), dtype=np.uint8)
