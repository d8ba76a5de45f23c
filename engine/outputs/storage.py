"""Keeping a folder of recordings under a size cap: an installation that records for months.

Only recordings the engine writes are touched (video files and folders of numbered PNG frames
directly in the recordings folder), oldest first; the recording in progress never.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
RECORDING_SUFFIXES = (".mp4", ".mov", ".mkv")


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def recordings_in(folder: Path) -> list[Path]:
    """The recordings in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir()
             if (p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES)
             or (p.is_dir() and any(p.glob("[0-9][0-9][0-9][0-9][0-9][0-9].png")))]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def make_room(folder: Path, max_bytes: int, keep: Path | None = None) -> bool:
    """Remove the oldest recordings until ``folder`` holds at most ``max_bytes`` (never ``keep``);
    False when that is not enough (``keep`` alone is too big)."""
    recordings = recordings_in(folder)
    total = sum(_size(p) for p in recordings)
    for oldest in recordings:
        if total <= max_bytes:
            break
        if keep is not None and oldest.resolve() == keep.resolve():
            continue
        total -= _size(oldest)
        try:
            shutil.rmtree(oldest) if oldest.is_dir() else oldest.unlink()
            log.info("recordings over %.1f GB: removed the oldest, %s", max_bytes / 1e9, oldest.name)
        except OSError as exc:
            log.error("cannot remove %s to make room (%s)", oldest, exc.strerror or exc)
    return total <= max_bytes
