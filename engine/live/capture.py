"""Recording while playing: asynchronous readback into a ring of GL buffers, a bounded queue
to a writer thread, and a clean stop with one line when the writer cannot keep up.

Frame k is read into buffer k % 3 and collected two frames later, so on a GPU the copy has
finished by then and the render thread never waits on it. For H.264 on a GPU the picture is
converted to yuv420p there first (engine.render.yuv), which halves what is read back and
leaves the CPU to the encoder; on a software rasteriser that pass would cost more CPU (7 ms a
720p frame on llvmpipe) than FFmpeg's SIMD conversion on the writer thread (3-4 ms), so RGB is
read back instead. The recording holds exactly the frames shown, or stops: it never silently
skips one.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import moderngl
import numpy as np

from engine.record import AsyncWriter, RecordError, open_sink
from engine.render import is_software
from engine.render.yuv import Yuv420Pass, supports_yuv420

log = logging.getLogger(__name__)
RING = 3


class LiveRecorder:
    """Records every frame handed to :meth:`capture` to ``path`` (a directory, .mp4, .mov, .mkv).

    ``gpu_yuv`` converts to yuv420p in a shader where the file takes it (None: unless the
    rasteriser is software). ``exact`` (replays) waits for the writer instead of stopping,
    and encodes at the final quality.
    """

    def __init__(self, ctx: moderngl.Context, path: Path, fps: float | Fraction, size: tuple[int, int],
                 flipped: bool, queue_bytes: int = 512 << 20, gpu_yuv: bool | None = None,
                 exact: bool = False) -> None:
        self.path = Path(path)
        self.size = size
        self.flipped = flipped
        self.frames_captured = 0
        self.exact = exact
        sink = open_sink(self.path, Fraction(fps).limit_denominator(1001), size,
                         quality="final" if exact else "live", fragmented=True)
        if gpu_yuv is None:
            gpu_yuv = not is_software(ctx)
        self._yuv = Yuv420Pass(ctx, size, flipped) if gpu_yuv and sink.accepts_yuv420 and supports_yuv420(size) else None
        frame_bytes = self._yuv.nbytes if self._yuv else size[0] * size[1] * 3
        # a few seconds of slack for the encoder's start and the disk's hiccups, within a memory cap
        capacity = max(8, min(240, queue_bytes // frame_bytes))
        self._sink = sink
        self._writer = AsyncWriter(sink, capacity=capacity, prepare=self._prepare)
        self._buffers = [ctx.buffer(reserve=frame_bytes) for _ in range(RING)]
        self._pending = 0  # frames read into the ring but not yet handed to the writer
        self.stopped_because: str | None = None
        log.info("recording to %s", self.path)

    def _prepare(self, frame: np.ndarray) -> object:
        """Runs ahead of the writer on its own thread: rows top-down (the GPU conversion has
        already turned them), then the sink's own form (for video, the encoder's picture)."""
        if self.flipped and self._yuv is None:
            frame = np.ascontiguousarray(frame[::-1])
        return self._sink.convert(frame)

    @property
    def active(self) -> bool:
        return self.stopped_because is None and self._writer.active

    def capture(self, fbo: moderngl.Framebuffer) -> None:
        """Queue the frame now in ``fbo`` (call before drawing anything not to be recorded)."""
        if not self.active:
            return
        slot = self.frames_captured % RING
        if self._yuv is not None:
            self._yuv.convert(fbo).read_into(self._buffers[slot], components=4, alignment=1)
            fbo.use()  # whatever is drawn next (the stats panel) goes on the picture again
        else:
            fbo.read_into(self._buffers[slot], components=3, alignment=1)
        self.frames_captured += 1
        self._pending += 1
        if self._pending == RING:
            self._hand_over(block=self.exact)

    def _hand_over(self, block: bool) -> None:
        slot = (self.frames_captured - self._pending) % RING
        w, h = self.size
        shape = (h * 3 // 2, w) if self._yuv is not None else (h, w, 3)
        frame = np.frombuffer(self._buffers[slot].read(), np.uint8).reshape(shape)
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
        if self._yuv is not None:
            self._yuv.release()
            self._yuv = None
        written = self._writer.frames_written
        if self._writer.error and self.stopped_because is None:
            self.stopped_because = self._writer.error
        log.info("recording closed: %d frames in %s", written, self.path)
        return written


def open_recorder(ctx: moderngl.Context, path: Path, fps: float, size: tuple[int, int],
                  flipped: bool, exact: bool = False) -> LiveRecorder | None:
    """A recorder, or None with one line when the file cannot be opened (the show goes on)."""
    try:
        return LiveRecorder(ctx, path, fps, size, flipped, exact=exact)
    except RecordError as exc:
        log.error("cannot record: %s (the show goes on)", exc)
        return None
