"""How a render is cut into chunks of frames."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

CHUNK_SECONDS = 2  # of video a chunk holds by default: an H.264 segment's IDR every 2 s costs little
CHUNK_RAW_BYTES = 512 << 20  # but at most this many bytes of raw frames, so a 4K chunk travels whole


@dataclass(frozen=True)
class Chunk:
    """Frames ``first`` to ``end`` (not included) of the render, the ``index``-th chunk."""

    index: int
    first: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.first


def chunk_frames(fps: Fraction, size: tuple[int, int], asked: int | None = None) -> int:
    """Frames a chunk holds: ``asked``, else two seconds of video, fewer for very large frames."""
    if asked is not None:
        return max(1, asked)
    raw = size[0] * size[1] * 3
    return max(1, min(round(CHUNK_SECONDS * fps), CHUNK_RAW_BYTES // raw))


def split(frames: int, size: int) -> list[Chunk]:
    """Frames 0 to ``frames`` in chunks of ``size`` (the last may be shorter)."""
    return [Chunk(i, start, min(start + size, frames)) for i, start in enumerate(range(0, frames, size))]
