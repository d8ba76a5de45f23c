"""The operator's preview in the terminal, so the projector shows nothing but the picture.

With ``play --fullscreen --preview`` the stats panel leaves the projector: twice a second the
terminal the show was started from gets the picture in coloured half blocks (24-bit ANSI, two
pixel rows a character) and the stats lines under it. The frame is read back asynchronously
(collected at the next frame, when the copy has finished) and drawn on a thread of its own, so
the display never waits on the terminal; a terminal that falls behind skips previews.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import TextIO

import moderngl
import numpy as np

from engine.outputs.base import Output, ShownFrame
from engine.status import Status

EVERY = 0.5  # seconds between previews
HALF_BLOCK = "\u2580"  # upper half block: foreground the upper pixel, background the lower


def ansi_picture(rgb: np.ndarray, columns: int) -> str:
    """``rgb`` (H, W, 3, rows top-down) as ``columns`` characters a line of coloured half blocks."""
    h, w = rgb.shape[:2]
    columns = max(1, min(columns, w))
    rows = max(2, round(columns * h / w / 2) * 2)  # pixel rows: two a character, as square as cells allow
    ys = (np.arange(rows) + 0.5) * h / rows
    xs = (np.arange(columns) + 0.5) * w / columns
    small = rgb[ys.astype(int)][:, xs.astype(int)]
    lines = []
    for top, bottom in zip(small[0::2], small[1::2]):
        cells = [f"\x1b[38;2;{a[0]};{a[1]};{a[2]}m\x1b[48;2;{b[0]};{b[1]};{b[2]}m{HALF_BLOCK}"
                 for a, b in zip(top, bottom)]
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


class TerminalPreview(Output):
    """Twice a second, the clean picture and ``describe(tick)``'s lines on ``stream``."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], flipped: bool,
                 describe: Callable[[int], list[str]], stream: TextIO, columns: int = 64,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.size, self.flipped, self.describe, self.stream, self.columns = size, flipped, describe, stream, columns
        self._now = now
        self._buffer: moderngl.Buffer | None = ctx.buffer(reserve=size[0] * size[1] * 3)
        self._pending: int | None = None  # the tick read into the buffer, collected next frame
        self._last = -1e9
        self.drawn = 0
        self._queue: queue.Queue[tuple[np.ndarray, list[str]] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._draw, name="terminal-preview", daemon=True)
        self._thread.start()

    def capture(self, target: moderngl.Framebuffer, tick: int) -> None:
        if self._buffer is None:
            return
        if self._pending is not None:
            w, h = self.size
            frame = np.frombuffer(self._buffer.read(), np.uint8).reshape(h, w, 3)
            try:
                self._queue.put_nowait((frame, self.describe(self._pending)))
            except queue.Full:  # the terminal is behind: this preview is skipped
                pass
            self._pending = None
        now = self._now()
        if now - self._last >= EVERY and (target.width, target.height) == self.size:
            target.read_into(self._buffer, components=3, alignment=1)
            self._pending, self._last = tick, now

    def _draw(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            frame, lines = item
            picture = ansi_picture(frame[::-1] if self.flipped else frame, self.columns)
            try:
                self.stream.write("\x1b[H" + picture + "\n" + "\n".join(f"\x1b[K{line}" for line in lines) + "\x1b[J")
                self.stream.flush()
                self.drawn += 1
            except (OSError, ValueError):  # the terminal went away (ssh closed): the show goes on
                return

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        """Nothing: previews are taken in capture and drawn on their own thread."""

    def close(self) -> None:
        if self._buffer is None:
            return
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put_nowait(None)
        self._thread.join(5)
        self._buffer.release()
        self._buffer = None
