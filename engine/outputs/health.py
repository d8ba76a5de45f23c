"""The show's health as one value: for systemd's watchdog, /health, /metrics and people.

Healthy means frames are being shown and they are the show's own: a generator stuck for more
than a few seconds, so that only stand-ins are shown, is unhealthy even though the display
goes on. The snapshot is rebuilt by the frame thread once a second and replaced whole; the
HTTP server and the watchdog only ever read the latest one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.outputs.base import Output, ShownFrame
from engine.status import Status

STALL = 5.0  # seconds of stand-ins only before the show counts as unhealthy
FRAME_BUCKETS = (0.005, 0.010, 0.0167, 0.020, 0.0333, 0.050, 0.100, 0.250, 1.0)  # seconds


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str  # why not, in words ("" when healthy)
    uptime: float
    frames: int
    missed: int
    missed_late: int
    missed_stand_in: int
    fps: float
    cue: str
    recording: str
    model: str
    device: str
    keyframe_rate: float
    osc_received: int
    osc_errors: int
    recording_bytes: int
    open: bool = True
    next_open: str | None = None  # ISO date-time of the next opening, while closed
    next_close: str | None = None  # ... of the next closing, while open
    frame_buckets: tuple[int, ...] = field(default=(), repr=False)  # frames faster than each FRAME_BUCKETS
    frame_seconds: float = 0.0  # sum of frame intervals

    def as_json(self) -> dict:
        data = asdict(self)
        del data["frame_buckets"], data["frame_seconds"]
        return data


class HealthOutput(Output):
    """Keeps :attr:`latest`: what the loop knows of the show's health, a second old at most.

    Args:
        facts: the rest of what /health reports (model, device, keyframe rate, OSC counts,
            recording bytes, frame histogram), asked once a second on the frame thread.
    """

    def __init__(self, facts: Callable[[], dict], now: Callable[[], float] = time.monotonic) -> None:
        self._facts = facts
        self._now = now
        self._started = now()
        self._last_frame = self._started
        self._last_own = self._started  # the last frame shown with the show's own keyframes
        self._rebuilt = -1.0
        self.latest = Health(False, "starting", 0.0, 0, 0, 0, 0, 0.0, "", "", "", "", 0.0, 0, 0, 0)

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        now = self._now()
        self._last_frame = now
        if not frame.stand_in:
            self._last_own = now
        if now - self._rebuilt >= 1.0:
            self._rebuilt = now
            self.latest = self._build(now, status())

    def _build(self, now: float, status: Status) -> Health:
        facts = self._facts()
        stalled = now - self._last_own
        reason = f"only stand-ins for {stalled:.0f} s: the generator is stuck" if stalled > STALL else ""
        return Health(not reason, reason, round(now - self._started, 1), facts["frames"], status.missed,
                      facts["missed_late"], facts["missed_stand_in"], status.fps, status.cue, status.recording,
                      facts["model"], facts["device"], facts["keyframe_rate"], facts["osc_received"], status.errors,
                      facts["recording_bytes"], facts.get("open", True), facts.get("next_open"),
                      facts.get("next_close"), facts["frame_buckets"], facts["frame_seconds"])

    def current(self) -> Health:
        """The latest snapshot, judged now: frames that stopped coming make it unhealthy too."""
        health = self.latest
        silent = self._now() - self._last_frame
        if health.healthy and silent > STALL:
            return Health(**{**health.__dict__, "healthy": False, "reason": f"no frame for {silent:.0f} s"})
        return health


def frame_buckets(histogram: np.ndarray, bin_seconds: float) -> tuple[int, ...]:
    """Cumulative frame counts below each of FRAME_BUCKETS, from a histogram of ``bin_seconds`` bins."""
    cumulative = np.cumsum(histogram)
    return tuple(int(cumulative[min(len(cumulative) - 1, int(edge / bin_seconds) - 1)]) for edge in FRAME_BUCKETS)
