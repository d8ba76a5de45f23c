"""The readback ring the recorder and NDI share: every frame comes back once, in order."""

from __future__ import annotations

import numpy as np

from engine.outputs.readback import ReadbackRing


def test_frames_come_back_in_order_two_frames_late_then_drained(gl):
    fbo = gl.simple_framebuffer((4, 2))
    ring = ReadbackRing(gl, 4 * 2 * 3)
    collected = []
    for k in range(5):
        fbo.use()
        fbo.clear(k * 40 / 255, 0.0, 0.0, 1.0)
        fbo.read_into(ring.next_buffer(), components=3, alignment=1)
        oldest = ring.copied()
        collected.append(None if oldest is None else int(np.frombuffer(oldest, np.uint8)[0]))
    assert collected == [None, None, 0, 40, 80]  # frame k (red 40 k) comes back with frame k + 2
    drained = []
    while (oldest := ring.oldest()) is not None:
        drained.append(int(np.frombuffer(oldest, np.uint8)[0]))
    assert drained == [120, 160] and ring.oldest() is None
    ring.release()
    fbo.release()
