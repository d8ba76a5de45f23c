"""A stop asked before the show's loop exists (SIGTERM, Ctrl-C while the model loads).

``play`` hears it from its first line: loading a 1024-px model and measuring it takes seconds,
and systemd stopping the service then must still get a clean exit with its stats written, not
a process killed by the default handler. The loop, once built, quits at once when one came.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOPPED_EARLY = threading.Event()
HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # what the engine takes over while it plays


def hear_stop_during_start_up() -> None:
    """Keep SIGTERM and SIGINT as a flag until the loop installs its own handlers (main thread)."""
    if threading.current_thread() is threading.main_thread():
        STOPPED_EARLY.clear()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda signum, frame: STOPPED_EARLY.set())


@contextmanager
def signals_restored() -> Iterator[None]:
    """The process's own SIGTERM, SIGINT and SIGHUP handlers back once the body is done. A show
    run inside another program (pytest, a benchmark, a notebook) otherwise left its handlers
    behind, and that program no longer stopped on SIGTERM or Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {number: signal.getsignal(number) for number in HANDLED}
    try:
        yield
    finally:
        for number, handler in before.items():
            if handler is not None:  # None: set outside Python, cannot be put back from here
                signal.signal(number, handler)
