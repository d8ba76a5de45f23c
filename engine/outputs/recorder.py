"""Recording what is shown: asynchronous readback into a ring of GL buffers, a bounded queue
to a writer thread, and a clean stop with one line when the writer cannot keep up.

Frames are read back through a ring of GL buffers (engine.outputs.readback), so the render
thread never waits on the copy. For H.264 on a GPU the picture is
converted to yuv420p there first (engine.render.yuv), which halves what is read back and
leaves the CPU to the encoder; on a software rasteriser that pass would cost more CPU (7 ms a
720p frame on llvmpipe) than FFmpeg's SIMD conversion on the writer thread (3-4 ms), so RGB is
read back instead. The recording holds exactly the frames shown, or stops: it never silently
skips one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import moderngl
import numpy as np

from engine.commands import Command, StartRecording, StopRecording, ToggleRecording
from engine.memory import give_back_freed_memory
from engine.outputs.base import Output, ShownFrame
from engine.outputs.readback import ReadbackRing
from engine.outputs.storage import make_room
from engine.record.codecs import Delivery
from engine.record.sinks import RecordError, open_sink
from engine.record.writer import AsyncWriter
from engine.render.context import is_software
from engine.render.yuv import Yuv420Pass, supports_yuv420
from engine.status import Status

log = logging.getLogger(__name__)


class LiveRecorder:
    """Records every frame handed to :meth:`capture` to ``path`` (a directory, .mp4, .mov, .mkv).

    ``gpu_yuv`` converts to yuv420p in a shader where the file takes it (None: unless the
    rasteriser is software). ``exact`` (offline renders, replays) waits for the writer instead
    of stopping, encodes at the final quality and writes a plain (not fragmented) file.
    """

    def __init__(self, ctx: moderngl.Context, path: Path, fps: float | Fraction, size: tuple[int, int],
                 flipped: bool, queue_bytes: int = 512 << 20, gpu_yuv: bool | None = None,
                 exact: bool = False, delivery: Delivery = Delivery()) -> None:
        self.path = Path(path)
        self.size = size
        self.flipped = flipped
        self.frames_captured = 0
        self.exact = exact
        sink = open_sink(self.path, Fraction(fps).limit_denominator(1001), size,
                         quality="final" if exact else "live", fragmented=not exact, delivery=delivery)
        if gpu_yuv is None:
            gpu_yuv = not is_software(ctx)
        self._yuv = Yuv420Pass(ctx, size, flipped) if gpu_yuv and sink.accepts_yuv420 and supports_yuv420(size) else None
        frame_bytes = self._yuv.nbytes if self._yuv else size[0] * size[1] * 3
        # a few seconds of slack for the encoder's start and the disk's hiccups, within a memory cap
        capacity = max(8, min(240, queue_bytes // frame_bytes))
        self._sink = sink
        self._writer = AsyncWriter(sink, capacity=capacity, prepare=self._prepare, quiet=exact)
        self._ring = ReadbackRing(ctx, frame_bytes)
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
        buffer = self._ring.next_buffer()
        if self._yuv is not None:
            self._yuv.convert(fbo).read_into(buffer, components=4, alignment=1)
            fbo.use()  # whatever is drawn next (the stats panel) goes on the picture again
        else:
            fbo.read_into(buffer, components=3, alignment=1)
        self.frames_captured += 1
        oldest = self._ring.copied()
        if oldest is not None:
            self._hand_over(oldest, block=self.exact)

    def _hand_over(self, data: bytes, block: bool) -> None:
        w, h = self.size
        shape = (h * 3 // 2, w) if self._yuv is not None else (h, w, 3)
        frame = np.frombuffer(data, np.uint8).reshape(shape)
        if not self._writer.submit(frame, block=block) and self.stopped_because is None:
            self.stopped_because = self._writer.error or (
                "the writer fell behind the display (the disk or the encoder is too slow for this size)")
            log.error("recording stopped: %s; %s holds the frames up to there (the show goes on)",
                      self.stopped_because, self.path)

    def stop(self) -> int:
        """Hand over the frames still in the ring, close the file; returns the frames written."""
        while self.active and (oldest := self._ring.oldest()) is not None:
            self._hand_over(oldest, block=True)
        self._writer.close()
        self._ring.release()
        if self._yuv is not None:
            self._yuv.release()
            self._yuv = None
        written = self._sink.frames_on_disk  # what a player gets from the file, not what was encoded
        if self._writer.error and self.stopped_because is None:
            self.stopped_because = self._writer.error
        log.info("recording closed: %d frames in %s", written, self.path)
        return written


def open_recorder(ctx: moderngl.Context, path: Path, fps: float | Fraction, size: tuple[int, int],
                  flipped: bool) -> LiveRecorder | None:
    """A live recorder, or None with one line when the file cannot be opened (the show goes on)."""
    try:
        return LiveRecorder(ctx, path, fps, size, flipped)
    except RecordError as exc:
        log.error("cannot record: %s (the show goes on)", exc)
        return None


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def unused_path(path: Path, taken: set[Path]) -> Path:
    """``path``, or ``NAME-2.EXT``, ``NAME-3.EXT``... the first that neither exists nor was
    recorded to in this run: a take never overwrites another (two in the same second once got
    one name, and the first was lost)."""
    candidate, number = path, 1
    while candidate.exists() or candidate.resolve() in taken:
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def remove_empty(path: Path) -> None:
    """What a recording that got no frame left behind (a header, an empty folder)."""
    try:
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove the empty recording %s (%s)", path, exc.strerror)


class RecorderOutput(Output):
    """Records shown frames: from the start (``--record``, offline renders) and on command.

    Args:
        folder: where /vernissage/record/start names resolve (never outside it).
        default: what R and a bare /record/start record to (None: a timestamped .mp4).
    """

    COMMANDS = (StartRecording, StopRecording, ToggleRecording)

    def __init__(self, ctx: moderngl.Context, fps: float | Fraction, size: tuple[int, int], flipped: bool,
                 folder: Path = Path("recordings"), default: Path | None = None, exact: bool = False,
                 max_bytes: int | None = None, delivery: Delivery = Delivery()) -> None:
        """``max_bytes``: cap on the recordings folder (oldest recordings removed to stay under it);
        ``delivery``: codec settings and soundtrack of an exact recording (a render)."""
        self.delivery = delivery
        self.ctx, self.fps, self.size, self.flipped, self.exact = ctx, fps, size, flipped, exact
        self.folder = folder
        self.default = default
        self.max_bytes = max_bytes
        self.recorder: LiveRecorder | None = None
        self.recordings: list[dict[str, Any]] = []
        self._checked = 0.0
        self._taken: set[Path] = set()  # paths recorded to in this run

    def start(self, path: Path) -> None:
        """Record to ``path`` from the next frame (one recording at a time). Live, a file that
        cannot be opened is one line and the show goes on; exact, it is a RecordError."""
        if self.recorder is None and self.exact:
            self.recorder = LiveRecorder(self.ctx, path, self.fps, self.size, self.flipped, exact=True,
                                         delivery=self.delivery)
        elif self.recorder is None:
            if self.max_bytes is not None and not make_room(self.folder, int(0.9 * self.max_bytes)):
                log.error("not recording %s: the recordings folder cannot be brought under %.1f GB", path,
                          self.max_bytes / 1e9)
                return
            unused = unused_path(path, self._taken)
            if unused != path:
                log.info("%s exists: recording to %s", path, unused.name)
            self._taken.add(unused.resolve())
            self.recorder = open_recorder(self.ctx, unused, self.fps, self.size, self.flipped)
        else:
            log.warning("already recording to %s; %s not started", self.recorder.path, path)

    def stop(self) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            written = recorder.stop()
            because = recorder.stopped_because
            if written == 0 and not self.exact:  # started and stopped between two frames: keep nothing
                remove_empty(recorder.path)
                because = because or "no frame was shown while it ran: no file kept"
            self.recordings.append({"path": str(recorder.path.resolve()), "frames": written,
                                    "stopped_because": because})
            if not self.exact:
                give_back_freed_memory()  # the writer's queue of frames, freed: not the exhibition's for good

    @property
    def recording_bytes(self) -> int:
        """Size of the recording in progress (a video file; 0 for none or a folder of frames)."""
        try:
            return self.recorder.path.stat().st_size if self.recorder is not None and self.recorder.path.is_file() else 0
        except OSError:
            return 0

    @property
    def recording(self) -> str:
        """The file being recorded to, or "" (for /vernissage/status)."""
        return str(self.recorder.path) if self.recorder is not None and self.recorder.active else ""

    def handle(self, command: Command) -> None:
        if isinstance(command, StartRecording):
            self._start_named(command.file)
        elif isinstance(command, StopRecording):
            self.stop()
        elif self.recorder is None:  # R toggles
            self.start(self.default or Path(f"vernissage-{_stamp()}.mp4"))
        else:
            self.stop()

    def _start_named(self, name: str | None) -> None:
        root = self.folder.resolve()
        path = (root / (name or f"vernissage-{_stamp()}.mp4")).resolve()
        if not path.is_relative_to(root) or path == root:
            log.error("ignored /vernissage/record/start %r: not a file inside %s", name, self.folder)
            return
        self.start(path)

    def capture(self, target: moderngl.Framebuffer, tick: int) -> None:
        if self.recorder is None:
            return
        if self.exact and self.recorder.stopped_because:  # offline, a file that stops being written ends the run
            raise RecordError(f"{self.recorder.path}: {self.recorder.stopped_because}")
        self.recorder.capture(target)

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        if self.recorder is not None and not self.recorder.active:
            self.stop()  # it stopped itself (disk full, encoder behind): account for it now
        if self.recorder is not None and self.max_bytes is not None and frame.at - self._checked >= 1.0:
            self._checked = frame.at
            if not make_room(self.folder, self.max_bytes, keep=self.recorder.path):
                log.error("recording stopped: %s alone would pass the %.1f GB cap on %s", self.recorder.path,
                          self.max_bytes / 1e9, self.folder)
                self.stop()

    def resized(self, size: tuple[int, int]) -> None:
        if self.recorder is not None:
            log.warning("the window changed size: recording stopped (a video keeps one size)")
            self.stop()
        self.size = size

    def close(self) -> None:
        self.stop()
