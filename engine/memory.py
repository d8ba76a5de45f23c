"""Giving freed memory back to the system, so an installation's memory does not age.

glibc keeps freed heap pages for reuse, and it raises its threshold for serving big blocks from
the heap as big blocks are freed: after a recording whose writer queue filled up (hundreds of MB
of frames while the encoder fell behind), the process would keep that high-water mark for the
rest of the exhibition. ``malloc_trim`` returns the free pages; elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading


def give_back_freed_memory() -> None:
    """Return free heap pages to the system, on a thread of its own (it walks the heap)."""
    threading.Thread(target=trim, name="malloc-trim", daemon=True).start()


def trim() -> None:
    """Return free heap pages to the system now (call it off the frame thread)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing kept to give back
        pass
