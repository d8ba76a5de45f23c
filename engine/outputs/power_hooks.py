"""The display's power commands (``on_open``/``on_close``: DPMS, HDMI CEC, PJLink), run in order.

One worker runs them one at a time, so a slow ``on_close`` can no longer finish after the next
``on_open`` and leave the screen dark while the show is open. While one runs, further requests
wait, and only the newest is kept: the display ends in the state the show is in, without
replaying every flip of a flapping schedule. A command's output is read as it comes and only
its last few kilobytes are kept, decoded with replacement, so a hook that prints hundreds of
megabytes, or binary, costs no memory and cannot kill the worker.
"""

from __future__ import annotations

import logging
import os
import selectors
import subprocess
import threading
import time
from collections import deque

log = logging.getLogger(__name__)
TIMEOUT = 30.0
KEPT_OUTPUT = 4096  # bytes of a command's output kept for its error line


class PowerHooks:
    """Runs commands on one thread, in order, the newest request replacing any still waiting."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._condition = threading.Condition()
        self._waiting: tuple[str, ...] | None = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.finished: list[tuple[tuple[str, ...], int | None, str]] = []  # (argv, exit code, output tail)

    def request(self, argv: tuple[str, ...]) -> None:
        """Run ``argv`` after whatever is running; a request still waiting is dropped for it."""
        with self._condition:
            if self._waiting is not None:
                log.info("%s skipped: %s was asked for since", " ".join(self._waiting), " ".join(argv))
            self._waiting = argv
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="power-hooks", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing runs or waits (for tests and a clean exit)."""
        with self._condition:
            return self._condition.wait_for(lambda: self._waiting is None and not self._running, timeout)

    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._waiting is not None)
                argv, self._waiting = self._waiting, None
                self._running = True
            try:
                code, tail = run_bounded(argv, self.timeout)
                self.finished.append((argv, code, tail))
                del self.finished[:-16]
                if code is None:
                    log.error("%s did not finish in %g s and was stopped (%s)", " ".join(argv), self.timeout,
                              last_line(tail))
                elif code != 0:
                    log.error("%s exited with %d (%s)", " ".join(argv), code, last_line(tail))
            except OSError as exc:
                log.error("%s failed (%s)", argv[0], exc.strerror or exc)
            finally:
                with self._condition:
                    self._running = False
                    self._condition.notify_all()


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def run_bounded(argv: tuple[str, ...], timeout: float) -> tuple[int | None, str]:
    """Run ``argv``; (exit code or None on timeout, the last :data:`KEPT_OUTPUT` bytes of its
    output and errors, decoded with replacement)."""
    process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    kept: deque[bytes] = deque()
    size = 0
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                process.kill()
                process.wait()
                process.stdout.close()
                return None, _decoded(kept)
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            kept.append(chunk)
            size += len(chunk)
            while size - len(kept[0]) >= KEPT_OUTPUT:
                size -= len(kept.popleft())
    process.stdout.close()
    try:
        code = process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # closed its output but goes on running
        process.kill()
        process.wait()
        return None, _decoded(kept)
    return code, _decoded(kept)


def _decoded(kept: deque[bytes]) -> str:
    return b"".join(kept)[-KEPT_OUTPUT:].decode("utf-8", errors="replace")
