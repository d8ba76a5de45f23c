"""The show's health as one value: for systemd's watchdog, /health, /metrics and people.

Three states. *Unhealthy*: no frames, or only stand-ins for more than a few seconds (a stuck
generator): the watchdog stops, systemd restarts the show. *Degraded*: frames come, but over the
last minute more than a set share of the display's refreshes missed their frame (late, or a
stand-in): a machine too slow for the show, which a restart would not fix, so the watchdog goes
on, but /health is 503 and says so (a run at 25 fps against 60 once reported healthy). *Healthy*
otherwise. The snapshot is rebuilt by the frame thread once a second and replaced whole; the
HTTP server and the watchdog only ever read the latest one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.outputs.base import Output, ShownFrame
from engine.outputs.clock_state import clock_state
from engine.status import Status

STALL = 5.0  # seconds of stand-ins only before the show counts as unhealthy
MISSED_SHARE = 0.25  # default: refreshes without their own frame, over a minute, above which the show is degraded
WINDOW = 60.0  # seconds the missed share is taken over
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
    state: str = "healthy"  # healthy | degraded | unhealthy
    missed_share: float = 0.0  # refreshes without their own frame over the last minute, 0..1
    missed_share_limit: float = MISSED_SHARE  # above it: degraded
    cadence: int = 1  # refreshes each frame is shown for (2: half the display's rate, evenly)
    clock_synchronised: bool | None = None  # the kernel's verdict on the wall clock (None: not said)
    clock_error_ms: float | None = None  # and its estimated error: what a video wall's players agree to

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

    def __init__(self, facts: Callable[[], dict], now: Callable[[], float] = time.monotonic,
                 missed_share_limit: float = MISSED_SHARE) -> None:
        self._facts = facts
        self._now = now
        self.missed_share_limit = missed_share_limit
        self._window: deque[tuple[float, int, int, int]] = deque()  # (time, frames, late, stand-ins)
        self._started = now()
        self._last_frame = self._started
        self._last_own = self._started  # the last frame shown with the show's own keyframes
        self._rebuilt = -1.0
        self.latest = Health(False, "starting", 0.0, 0, 0, 0, 0, 0.0, "", "", "", "", 0.0, 0, 0, 0,
                             state="unhealthy")

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        now = self._now()
        self._last_frame = now
        if not frame.stand_in:
            self._last_own = now
        if now - self._rebuilt >= 1.0:
            self._rebuilt = now
            self.latest = self._build(now, status())

    def _missed_share(self, now: float, frames: int, late: int, stand_ins: int) -> float:
        """Refreshes over the last minute that missed their frame: late ones (a refresh with no
        new frame) and stand-ins, over refreshes (frames shown plus late ones)."""
        self._window.append((now, frames, late, stand_ins))
        while len(self._window) > 2 and now - self._window[1][0] >= WINDOW:
            self._window.popleft()
        _, frames0, late0, stand_ins0 = self._window[0]
        refreshes = (frames - frames0) + (late - late0)
        return ((late - late0) + (stand_ins - stand_ins0)) / refreshes if refreshes > 0 else 0.0

    def _build(self, now: float, status: Status) -> Health:
        facts = self._facts()
        clock = clock_state()
        stalled = now - self._last_own
        share = self._missed_share(now, facts["frames"], facts["missed_late"], facts["missed_stand_in"])
        state, reason = "healthy", ""
        if stalled > STALL:
            state, reason = "unhealthy", f"only stand-ins for {stalled:.0f} s: the generator is stuck"
        elif share > self.missed_share_limit and facts.get("open", True):
            state, reason = "degraded", (f"{share:.0%} of the display's refreshes missed their frame over the last "
                                         f"minute (limit {self.missed_share_limit:.0%}): too slow for this show")
        return Health(state == "healthy", reason, round(now - self._started, 1), facts["frames"], status.missed,
                      facts["missed_late"], facts["missed_stand_in"], status.fps, status.cue, status.recording,
                      facts["model"], facts["device"], facts["keyframe_rate"], facts["osc_received"], status.errors,
                      facts["recording_bytes"], facts.get("open", True), facts.get("next_open"),
                      facts.get("next_close"), facts["frame_buckets"], facts["frame_seconds"], state, round(share, 4),
                      self.missed_share_limit, facts.get("cadence", 1),
                      clock.synchronised if clock else None, clock.estimated_error_ms if clock else None)

    def current(self) -> Health:
        """The latest snapshot, judged now: frames that stopped coming make it unhealthy too."""
        health = self.latest
        silent = self._now() - self._last_frame
        if health.state != "unhealthy" and silent > STALL:
            return Health(**{**health.__dict__, "healthy": False, "state": "unhealthy",
                             "reason": f"no frame for {silent:.0f} s"})
        return health


def frame_buckets(histogram: np.ndarray, bin_seconds: float) -> tuple[int, ...]:
    """Cumulative frame counts below each of FRAME_BUCKETS, from a histogram of ``bin_seconds`` bins."""
    cumulative = np.cumsum(histogram)
    return tuple(int(cumulative[min(len(cumulative) - 1, int(edge / bin_seconds) - 1)]) for edge in FRAME_BUCKETS)
