"""A fragmented MP4 (or MOV) written fragment by fragment, so what is on disk always plays.

The muxer's bytes arrive here in arbitrary pieces; they are cut into top-level ISO boxes. The
header boxes go to the file as they come; each fragment (a ``moof`` and its ``mdat``) is held
until it is complete and then written with a single ``write``. If that write fails (a full
disk), the file is cut back to the end of the last whole fragment. So the file on disk is
always a header and whole fragments: a plain decoder plays it to its last fragment whatever
happened (a full disk, a power cut, kill -9), and :attr:`FragmentFile.samples` counts exactly
the frames it holds.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

HEADER = 8


def _boxes(data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None):
    """(type, payload start, payload end) of the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    at = start
    while at + HEADER <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = HEADER
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, at + HEADER)
            header = 16
        if size < header or at + size > end:
            return
        yield bytes(kind), at + header, at + size
        at += size


def fragment_samples(moof: bytes) -> int:
    """Frames in a ``moof`` box: the sample counts of its track runs."""
    count = 0
    for kind, start, end in _boxes(moof):
        if kind != b"moof":
            continue
        for traf, traf_start, traf_end in _boxes(moof, start, end):
            if traf != b"traf":
                continue
            for run, run_start, _ in _boxes(moof, traf_start, traf_end):
                if run == b"trun":  # version and flags (4 bytes), then the sample count
                    count += struct.unpack_from(">I", moof, run_start + 4)[0]
    return count


class FragmentFile(io.RawIOBase):
    """The file PyAV writes a fragmented MP4/MOV into (``av.open(FragmentFile(path), "w", format=...)``)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.samples = 0  # frames in whole fragments on disk
        self.size = 0  # bytes on disk: the header and whole fragments
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._pending = bytearray()
        self._moof: bytes | None = None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False  # the muxer writes straight through (empty_moov)

    def write(self, data) -> int:  # type: ignore[override]
        self._pending += data
        self._commit()
        return len(data)

    def _commit(self) -> None:
        done = 0
        for kind, _, end in _boxes(self._pending):  # the boxes tile the pending bytes from 0
            box = bytes(self._pending[done:end])
            done = end
            if kind == b"moof":
                self._moof = box
            elif kind == b"mdat" and self._moof is not None:
                self._put(self._moof + box, fragment_samples(self._moof))
                self._moof = None
            else:
                self._put(box, 0)
        del self._pending[:done]

    def _put(self, data: bytes, samples: int) -> None:
        """Write ``data`` whole, or cut the file back to where it was and raise."""
        try:
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError:
            os.ftruncate(self._fd, self.size)
            raise
        self.size += len(data)
        self.samples += samples

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._pending:  # the last box (mfra) arrives whole at the end; anything else is cut off
                self._commit()
        finally:
            os.close(self._fd)
            super().close()
