"""Recording while playing: asynchronous readback into a ring of GL buffers, a bounded queue
to a writer thread, and a clean stop with one line when the writer cannot keep up.

Frame k is read into buffer k % 3 and collected two frames later, so on a GPU the copy has
finished by then and the render thread never waits on it. The recording holds exactly the
frames shown, or stops: it never silently skips one.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import moderngl
import numpy as np

from engine.record import AsyncWriter, RecordError, open_sink

log = logging.getLogger(__name__)
RING = 3


class LiveRecorder:
    """Records every frame handed to :meth:`capture` to ``path`` (a directory, .mp4, .mov, .mkv)."""

    def __init__(self, ctx: moderngl.Context, path: Path, fps: float | Fraction, size: tuple[int, int],
                 flipped: bool, queue_bytes: int = 512 << 20) -> None:
        self.path = Path(path)
        self.size = size
        self.flipped = flipped
        self.frames_captured = 0
        sink = open_sink(self.path, Fraction(fps).limit_denominator(1001), size, quality="live", fragmented=True)
        # a few seconds of slack for the encoder's start and the disk's hiccups, within a memory cap
        capacity = max(8, min(240, queue_bytes // (size[0] * size[1] * 3)))
        self._writer = AsyncWriter(sink, capacity=capacity, prepare=self._orient)
        self._buffers = [ctx.buffer(reserve=size[0] * size[1] * 3) for _ in range(RING)]
        self._pending = 0  # frames read into the ring but not yet handed to the writer
        self.stopped_because: str | None = None
        log.info("recording to %s", self.path)

    def _orient(self, frame: np.ndarray) -> np.ndarray:
        """Runs on the writer thread: rows top-down and contiguous, as the sinks want them."""
        return np.ascontiguousarray(frame[::-1]) if self.flipped else frame

    @property
    def active(self) -> bool:
        return self.stopped_because is None and self._writer.active

    def capture(self, fbo: moderngl.Framebuffer) -> None:
        """Queue the frame now in ``fbo`` (call before drawing anything not to be recorded)."""
        if not self.active:
            return
        slot = self.frames_captured % RING
        fbo.read_into(self._buffers[slot], components=3, alignment=1)
        self.frames_captured += 1
        self._pending += 1
        if self._pending == RING:
            self._hand_over(block=False)

    def _hand_over(self, block: bool) -> None:
        slot = (self.frames_captured - self._pending) % RING
        w, h = self.size
        frame = np.frombuffer(self._buffers[slot].read(), np.uint8).reshape(h, w, 3)
        self._pending -= 1
        if not self._writer.submit(frame, block=block) and self.stopped_because is None:
            self.stopped_because = self._writer.error or (
                "the writer fell behind the display (the disk or the encoder is too slow for this size)")
            log.error("recording stopped: %s; %s holds the frames up to there (the show goes on)",
                      self.stopped_because, self.path)

    def stop(self) -> int:
        """Hand over the frames still in the ring, close the file; returns the frames written."""
        while self._pending and self.active:
            self._hand_over(block=True)
        self._writer.close()
        for buffer in self._buffers:
            buffer.release()
        self._buffers.clear()
        written = self._writer.frames_written
        if self._writer.error and self.stopped_because is None:
            self.stopped_because = self._writer.error
        log.info("recording closed: %d frames in %s", written, self.path)
        return written


def open_recorder(ctx: moderngl.Context, path: Path, fps: float, size: tuple[int, int],
                  flipped: bool) -> LiveRecorder | None:
    """A recorder, or None with one line when the file cannot be opened (the show goes on)."""
    try:
        return LiveRecorder(ctx, path, fps, size, flipped)
    except RecordError as exc:
        log.error("cannot record: %s (the show goes on)", exc)
        return None
