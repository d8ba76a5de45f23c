"""A bounded queue and a writer thread between the renderer and a frame sink.

The display must never wait on the disk: a live caller submits without blocking and is told
when the queue is full; an offline render submits blocking, so no frame is ever lost. If the
sink fails (disk full, device gone) the writer stops, closes what it wrote so it stays
playable, and keeps one line saying why.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import numpy as np

from engine.record.sinks import FrameSink, RecordError

log = logging.getLogger(__name__)
_STOP = object()


class AsyncWriter:
    """Feeds a :class:`FrameSink` from its own thread through a queue of ``capacity`` frames.

    ``prepare`` runs on the writer thread before each write (e.g. flipping a window's
    bottom-up rows), so the submitting thread pays nothing for it.
    """

    def __init__(self, sink: FrameSink, capacity: int = 8,
                 prepare: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.sink = sink
        self._prepare = prepare
        self.error: str | None = None
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-writer", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        return self.sink.frames_written

    @property
    def active(self) -> bool:
        """False once the writer failed or was closed: stop submitting."""
        return not self._stopped.is_set()

    def submit(self, frame: np.ndarray, block: bool = True) -> bool:
        """Queue ``frame`` (the writer keeps a reference: pass a frame you will not modify).

        Returns False, without waiting, when ``block`` is False and the queue is full, or
        when the writer has stopped.
        """
        if self._stopped.is_set():
            return False
        try:
            self._queue.put(frame, block=block)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            if self._stopped.is_set():
                continue  # failed: drain so submitters never block
            try:
                frame = self._prepare(item) if self._prepare else item  # type: ignore[arg-type]
                self.sink.write(frame)
            except RecordError as exc:
                self._fail(str(exc))
            except OSError as exc:
                self._fail(f"{self.sink.path}: {exc.strerror or exc}")
        self._close_sink()

    def _fail(self, message: str) -> None:
        self.error = message
        self._stopped.set()
        log.error("recording stopped: %s (the show goes on)", message)

    def _close_sink(self) -> None:
        try:
            self.sink.close()
        except (RecordError, OSError) as exc:
            if self.error is None:
                self._fail(str(exc))

    def close(self) -> None:
        """Write what is queued, close the sink and join the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        self._stopped.set()
