"""Whether this machine's clock is disciplined, as the kernel says (Linux adjtimex, read only).

Players of a video wall take show time from the wall clock, so their clocks must agree: chrony
or systemd-timesyncd over NTP, or linuxptp where the network has PTP. Whichever runs, the kernel
keeps its verdict (synchronised or not) and an estimated error; /health reports both, so a wall
that drifts apart shows why. None where the system does not say (not Linux, or no permission).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass

TIME_ERROR = 5  # adjtimex's return value for an unsynchronised clock


class _Timex(ctypes.Structure):
    """struct timex (linux/timex.h); only ``modes`` is written (0: read, change nothing)."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("reserved", ctypes.c_int * 11)]


@dataclass(frozen=True)
class ClockState:
    synchronised: bool
    estimated_error_ms: float  # the kernel's estimate of the clock's error


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, found once: find_library runs ldconfig, not a thing to do every second."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def clock_state() -> ClockState | None:
    """The kernel's view of the clock, or None where it cannot be read."""
    libc = _libc()
    if libc is None or not hasattr(libc, "adjtimex"):
        return None
    timex = _Timex()
    state = libc.adjtimex(ctypes.byref(timex))
    if state < 0:
        return None
    return ClockState(state != TIME_ERROR, timex.esterror / 1000.0)
