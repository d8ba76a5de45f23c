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

    ``prepare`` (e.g. flipping a window's bottom-up rows and converting to the encoder's
    pixel format) runs on a thread of its own, one stage ahead of the writes: the submitting
    thread pays nothing for it, and conversion and encoding of neighbouring frames overlap on
    two cores (both release the GIL), which is what lets a 2-core machine record 720p live.
    """

    def __init__(self, sink: FrameSink, capacity: int = 8,
                 prepare: Callable[[np.ndarray], object] | None = None, quiet: bool = False) -> None:
        """``quiet``: a failure is only kept in :attr:`error` (the caller reports it), not logged."""
        self.sink = sink
        self._prepare = prepare
        self._quiet = quiet
        self.error: str | None = None
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(self._queue,), name="frame-writer", daemon=True)]
        if prepare is not None:
            prepared: queue.Queue[object] = queue.Queue(maxsize=2)
            self._threads = [threading.Thread(target=self._run_prepare, args=(prepare, prepared),
                                              name="frame-prepare", daemon=True),
                             threading.Thread(target=self._run, args=(prepared,), name="frame-writer", daemon=True)]
        for thread in self._threads:
            thread.start()

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

    def _run_prepare(self, prepare: Callable[[np.ndarray], object], prepared: queue.Queue[object]) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                prepared.put(_STOP)
                return
            if self._stopped.is_set():
                continue  # failed: drain so submitters never block
            try:
                prepared.put(prepare(item))  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - a dead stage would stall recording silently
                self._fail(f"{self.sink.path}: cannot convert frame {self.sink.frames_written} "
                           f"({type(exc).__name__}: {exc})")

    def _run(self, frames: queue.Queue[object]) -> None:
        while True:
            item = frames.get()
            if item is _STOP:
                break
            if self._stopped.is_set():
                continue  # failed: drain so the stage before never blocks
            try:
                self.sink.write(item)  # type: ignore[arg-type]
            except RecordError as exc:
                self._fail(str(exc))
            except OSError as exc:
                self._fail(f"{self.sink.path}: {exc.strerror or exc}")
        self._close_sink()

    def _fail(self, message: str) -> None:
        self.error = message
        self._stopped.set()
        if not self._quiet:
            log.error("recording stopped: %s (the show goes on)", message)

    def _close_sink(self) -> None:
        try:
            self.sink.close()
        except (RecordError, OSError) as exc:
            if self.error is None:
                self._fail(str(exc))

    def close(self) -> None:
        """Write what is queued, close the sink and join the thread."""
        if self._threads[-1].is_alive():
            self._queue.put(_STOP)
            for thread in self._threads:
                thread.join()
        self._stopped.set()
