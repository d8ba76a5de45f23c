"""Reading frames back from the GPU without waiting for it: a ring of buffers.

Frame k is copied into buffer k % depth and collected ``depth - 1`` frames later, so on a GPU
the copy has finished by then and the frame thread never stalls on it (on a software rasteriser
the copy is done at once anyway). The recorder and NDI out each keep one ring.
"""

from __future__ import annotations

import moderngl

DEPTH = 3


class ReadbackRing:
    """``depth`` GL buffers of ``frame_bytes`` each, filled in turn and collected oldest first."""

    def __init__(self, ctx: moderngl.Context, frame_bytes: int, depth: int = DEPTH) -> None:
        self._buffers = [ctx.buffer(reserve=frame_bytes) for _ in range(depth)]
        self._copied = 0  # frames copied in since the start
        self._waiting = 0  # of them, not collected yet

    def next_buffer(self) -> moderngl.Buffer:
        """The buffer the next frame is to be copied into (then call :meth:`copied`)."""
        return self._buffers[self._copied % len(self._buffers)]

    def copied(self) -> bytes | None:
        """Count the frame just copied in; once the ring is full, the oldest frame's bytes."""
        self._copied += 1
        self._waiting += 1
        return self.oldest() if self._waiting == len(self._buffers) else None

    def oldest(self) -> bytes | None:
        """The oldest frame not collected yet (at the end: the ring emptied one by one), or None."""
        if not self._waiting:
            return None
        slot = (self._copied - self._waiting) % len(self._buffers)
        self._waiting -= 1
        return self._buffers[slot].read()

    def release(self) -> None:
        for buffer in self._buffers:
            buffer.release()
        self._buffers.clear()
        self._waiting = 0
