"""A stop asked before the show's loop exists (SIGTERM, Ctrl-C while the model loads).

``play`` hears it from its first line: loading a 1024-px model and measuring it takes seconds,
and systemd stopping the service then must still get a clean exit with its stats written, not
a process killed by the default handler. The loop, once built, quits at once when one came.
"""

from __future__ import annotations

import signal
import threading

STOPPED_EARLY = threading.Event()


def hear_stop_during_start_up() -> None:
    """Keep SIGTERM and SIGINT as a flag until the loop installs its own handlers (main thread)."""
    if threading.current_thread() is threading.main_thread():
        STOPPED_EARLY.clear()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda signum, frame: STOPPED_EARLY.set())
