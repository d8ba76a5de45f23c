"""NDI out: the clean picture (no stats panel) published as an NDI source for a VJ's mixer.

Read back like the recorder (engine.outputs.readback: the frame thread never waits on the GPU), then handed to a sender thread through a queue of two:
when the network or the receiver falls behind, frames are dropped and counted, never queued
without end and never waited for. ``cyndilib`` (MIT) wraps the NDI runtime, which ships inside
its wheel under the NDI SDK licence (``pip install "vernissage[ndi]"``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from fractions import Fraction

import moderngl
import numpy as np

from engine.outputs.base import Output, ShownFrame
from engine.outputs.readback import ReadbackRing
from engine.status import Status

log = logging.getLogger(__name__)
WAITING = 2  # frames waiting for the sender at most; more are dropped


class NdiError(RuntimeError):
    """NDI cannot be used here; ``str()`` is one line."""


class NdiOutput(Output):
    """Publishes each shown frame as the NDI source ``name``."""

    def __init__(self, ctx: moderngl.Context, name: str, fps: Fraction, size: tuple[int, int], flipped: bool) -> None:
        try:
            from cyndilib.sender import Sender
            from cyndilib.video_frame import VideoSendFrame
            from cyndilib.wrapper.ndi_structs import FourCC
        except ImportError:
            raise NdiError('NDI needs cyndilib: pip install "vernissage[ndi]"') from None
        self.name, self.size, self.flipped = name, size, flipped
        self.sent = self.dropped = 0
        try:
            self._sender = Sender(name, clock_video=False)  # the frame loop keeps time, not the sender
            frame = VideoSendFrame()
            frame.set_resolution(*size)
            frame.set_frame_rate(Fraction(fps))
            frame.set_fourcc(FourCC.RGBA)
            self._sender.set_video_frame(frame)
            self._sender.open()
        except Exception as exc:  # noqa: BLE001 - the runtime's errors are its own
            raise NdiError(f"cannot publish NDI source {name!r} ({exc})") from None
        self._ring: ReadbackRing | None = ReadbackRing(ctx, size[0] * size[1] * 4)
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=WAITING)
        self._thread = threading.Thread(target=self._send, name="ndi-sender", daemon=True)
        self._thread.start()
        log.info("NDI source %r: %dx%d at %g fps", name, size[0], size[1], float(fps))

    def capture(self, target: moderngl.Framebuffer, tick: int) -> None:
        if self._ring is not None and (target.width, target.height) == self.size:
            target.read_into(self._ring.next_buffer(), components=4, alignment=1)
            oldest = self._ring.copied()
            if oldest is not None:
                self._hand_over(oldest)

    def _hand_over(self, data: bytes) -> None:
        w, h = self.size
        frame = np.frombuffer(data, np.uint8).reshape(h, w, 4)
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def _send(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            # a writable copy, rows top-down (the sender takes a writable buffer; the read-back is not)
            frame = np.array(frame[::-1] if self.flipped else frame, order="C")
            try:
                self._sender.write_video(frame.reshape(-1))
                self.sent += 1
            except Exception as exc:  # noqa: BLE001 - a failing send is one line; the show goes on
                log.error("NDI: sending stopped (%s); the show goes on", exc)
                return

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        """Nothing: frames go out from capture, and the sender thread."""

    def close(self) -> None:
        if self._ring is None:
            return
        while True:  # make room for the end marker, whatever the sender is doing
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass
        self._thread.join(5)
        self._ring.release()
        self._ring = None
        self._sender.close()
        log.info("NDI source %r closed: %d frames sent, %d dropped (the network or receivers fell behind)",
                 self.name, self.sent, self.dropped)
