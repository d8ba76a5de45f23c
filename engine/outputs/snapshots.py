"""Snapshots: the clean frame on screen saved as a PNG, on a thread of its own, at a bounded rate.

A snapshot is taken from the frame as drawn (before the stats panel), compressed and written
by one saver thread through a short queue; requests beyond a few a second, or while the
queue is full, are dropped and counted, so a flood of /snapshot messages costs the show
nothing. File names carry milliseconds and a counter: three snapshots in a second are three
files.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from pathlib import Path

import moderngl
import numpy as np
from PIL import Image

from engine.commands import Command, Snapshot
from engine.outputs.base import Output
from engine.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)
PER_SECOND = 4
QUEUED = 4


class SnapshotOutput(Output):
    """Saves the next frame drawn after each Snapshot command into ``folder``."""

    COMMANDS = (Snapshot,)

    def __init__(self, folder: Path, size: tuple[int, int], flipped: bool) -> None:
        self.folder = folder
        self.size = size
        self.flipped = flipped
        self.saved = 0
        self.dropped = 0
        self._pending = False
        self._taken: list[float] = []
        self._count = 0
        self._queue: queue.Queue[tuple[np.ndarray, Path] | None] = queue.Queue(maxsize=QUEUED)
        self._problems = RateLimitedLog(log)
        self._thread = threading.Thread(target=self._save_all, name="snapshots", daemon=True)
        self._thread.start()

    def handle(self, command: Command) -> None:
        now = time.monotonic()
        self._taken = [t for t in self._taken if now - t < 1.0]
        if len(self._taken) >= PER_SECOND or self._queue.full():
            self.dropped += 1
            self._problems.warning("flood", f"snapshot: more than {PER_SECOND} a second; dropping the rest")
            return
        self._taken.append(now)
        self._pending = True

    def capture(self, target: moderngl.Framebuffer, tick: int) -> None:
        if not self._pending:
            return
        self._pending = False
        w, h = self.size
        frame = np.frombuffer(target.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
        if self.flipped:
            frame = frame[::-1]
        self._count += 1
        name = f"vernissage-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"[:-3] + f"-{self._count}.png"
        try:
            self._queue.put_nowait((frame, self.folder / name))
        except queue.Full:
            self.dropped += 1

    def resized(self, size: tuple[int, int]) -> None:
        self.size = size

    def _save_all(self) -> None:
        while (item := self._queue.get()) is not None:
            frame, path = item
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.ascontiguousarray(frame)).save(path)
                self.saved += 1
                log.info("snapshot: %s", path)
            except (OSError, ValueError) as exc:
                self._problems.warning("save", f"snapshot failed: {path}: {getattr(exc, 'strerror', None) or exc}")

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10.0)
