"""When each frame is drawn and shown, measured on a monotonic clock: the loop's beat.

Live, the display's refresh sets the beat. With a real vsync the swap blocks until the
refresh, so the time between swaps says how many refreshes passed (one normally, more when a
frame was late). A swap cannot return sooner than a refresh after the last one: when swaps
do (Xvfb, VNC, remote desktops, drivers with sync-to-vblank off), the pacer measures that,
waits out the refresh itself, and after a few such swaps paces by the clock for good, with
one line. Paced by the clock, it sleeps to each frame's deadline, and starts drawing as late
as it safely can (late-latching): commands that arrive meanwhile still make that frame.

When a frame's work takes longer than a refresh (a software rasteriser at 1080p60 draws in
32 ms), frames that land on one refresh, then two, then one judder. The pacer measures the work
(from the start of drawing to the swap) and shows each frame for an even number of refreshes:
the smallest *cadence* the work fits in with room (2 at 60 Hz: 30 fps, evenly), back down once
the work has shrunk for a while. Show time still comes from the refreshes, so the show runs at
wall speed whatever the cadence.

Offline and in replays, the beat is the work itself: one tick per frame, nothing skipped.
Either way the tick, never the time Python took, drives the show clock, so show time runs
at wall speed at any refresh rate, and frame-exactly offline.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)
FAST_SWAP = 0.75  # of a refresh: no real vsync returns from a swap this soon after the last
FAST_SWAPS_MEAN_NO_VSYNC = 8  # fast swaps among the last 30 before pacing by the clock for good
AHEAD_MEANS_NO_VSYNC = 3.0  # refreshes the show may run ahead of the wall clock before that too
LATE_TOLERANCE = 0.25  # of a refresh: a frame this late keeps its slot (scheduler jitter)
DRAW_TIMES_KEPT = 120
LATCH_MARGIN = 0.002  # seconds added to the measured draw time when latching late
MAX_CADENCE = 4  # refreshes a frame may be shown for: 15 fps at 60 Hz
CADENCE_UP = 1.0  # of a cadence's time: work (p90) above it misses refreshes, so the cadence rises
CADENCE_DOWN = 0.7  # of one cadence less: work (p90) below it for a while, so the cadence falls
CADENCE_EVERY = 60  # frames between decisions


def cadence_for(work_p90: float, period: float, current: int) -> int:
    """Refreshes each frame is shown for: the smallest the work fits in (with room), rising at
    once and falling one step at a time only when the work fits the lower one easily."""
    needed = max(1, math.ceil(work_p90 / (CADENCE_UP * period)))
    if needed > current:
        return min(MAX_CADENCE, needed)
    if current > 1 and work_p90 < CADENCE_DOWN * (current - 1) * period:
        return current - 1
    return current


@dataclass(frozen=True)
class Presented:
    """A frame just shown: seconds since the previous one, ticks skipped before it, when."""

    interval: float
    skipped: int
    at: float


class Pacer(Protocol):
    tick: int  # the next tick to draw
    first: int  # the first tick drawn (0 but for a render farm's chunk)
    cadence: int  # refreshes each frame is shown for

    def start(self) -> None: ...

    def wait_to_draw(self) -> int:
        """Wait until it is time to draw the next frame; returns its tick."""

    def drawn(self) -> None:
        """Call when the frame is drawn, just before it is presented (measures the work)."""

    def presented(self) -> Presented:
        """Call right after the frame for :attr:`tick` was shown; advances :attr:`tick`."""

    def deadline(self, tick: int) -> float:
        """When ``tick`` is due on screen (perf_counter seconds)."""

    def restart(self) -> None:
        """Go on from now after a pause in presenting."""


class ExactPacer:
    """Offline and replays: one tick per frame, as fast as frames come, none skipped."""

    cadence = 1

    def __init__(self, fps: float, now: Callable[[], float] = time.perf_counter, first: int = 0) -> None:
        """``first``: the first tick drawn (a render farm's chunk starts inside the show)."""
        self.fps = fps
        self.first = first
        self.tick = first
        self._now = now
        self._last = 0.0

    def start(self) -> None:
        self._last = self._now()
        self.tick = self.first

    def wait_to_draw(self) -> int:
        return self.tick

    def drawn(self) -> None:
        pass

    def presented(self) -> Presented:
        now = self._now()
        interval, self._last = now - self._last, now
        self.tick += 1
        return Presented(interval, 0, now)

    def deadline(self, tick: int) -> float:
        return self._last  # whenever the frame is done

    def restart(self) -> None:
        self._last = self._now()


class DisplayPacer:
    """Live: ticks from the display's refreshes (vsync) or the monotonic clock."""

    first = 0

    def __init__(self, fps: float, vsync: bool, now: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep, late_latch: bool = True) -> None:
        self.fps = fps
        self.period = 1.0 / fps
        self.vsync = vsync
        self.late_latch = late_latch
        self._now = now
        self._sleep = sleep
        self.tick = 0
        self._origin = 0.0
        self._last = 0.0
        self._fast: deque[bool] = deque(maxlen=30)
        self._ahead_origin = 0.0  # vsync: when the show would be on time if every swap were a refresh
        self._draw_began = 0.0
        self._draw_times: deque[float] = deque(maxlen=DRAW_TIMES_KEPT)
        self._budget = self.period  # how long before a deadline drawing starts (late-latching)
        self._drawn_at: float | None = None
        self._work: deque[float] = deque(maxlen=2 * CADENCE_EVERY)  # drawing to swap, where drawn() says
        self.cadence = 1
        self._since_decision = 0

    def start(self) -> None:
        self._origin = self._last = self._ahead_origin = self._draw_began = self._now()
        self.tick = 0

    def restart(self) -> None:
        """Go on from now after a pause in presenting (the gallery was closed): the next tick is due
        at once, and the time away is not counted as frames missed."""
        now = self._now()
        self._origin = now - self.tick / self.fps
        self._last = self._ahead_origin = self._draw_began = now - self.period

    def deadline(self, tick: int) -> float:
        return self._origin + tick / self.fps

    def wait_to_draw(self) -> int:
        """Paced by the clock: sleep until the frame's deadline less the measured draw time. With
        vsync and a cadence above 1: start drawing as late as lets the swap make the cadence's
        refresh, so it can make none sooner."""
        if not self.vsync and self.late_latch:
            wait = self.deadline(self.tick) - self._budget - self._now()
            if wait > 0:
                self._sleep(wait)
        elif self.vsync and self.cadence > 1:
            wait = self._last + self.cadence * self.period - self._budget - self._now()
            if wait > 0:
                self._sleep(wait)
        self._draw_began = self._now()
        self._drawn_at = None
        return self.tick

    def drawn(self) -> None:
        self._drawn_at = self._now()

    def presented(self) -> Presented:
        now = self._now()
        if self._drawn_at is not None:  # the work alone: a swap that waits for the refresh is not work
            self._work.append(self._drawn_at - self._draw_began)
        self._measure_draw((self._drawn_at if self._drawn_at is not None else now) - self._draw_began)
        k = self.cadence
        step = None
        if self.vsync:
            step, now = self._vsync_step(now)
        if step is None:  # paced by the clock
            wait = self.deadline(self.tick) - now
            if wait > 0:
                self._sleep(wait)
                now = self._now()
            step = max(1, math.floor((now - self._origin) * self.fps) + 1 - self.tick)
            step = k * math.ceil(step / k)  # whole cadences: every frame shown for k refreshes
            if step > k and now - self.deadline(self.tick + step - k) < LATE_TOLERANCE * self.period:
                step -= k
        interval, self._last = now - self._last, now
        self.tick += step
        self._decide_cadence()
        return Presented(interval, max(0, step - k), now)

    def _decide_cadence(self) -> None:
        self._since_decision += 1
        if self._since_decision < CADENCE_EVERY or len(self._work) < CADENCE_EVERY:
            return
        self._since_decision = 0
        recent = sorted(self._work)
        p90 = recent[int(0.9 * (len(recent) - 1))]
        cadence = cadence_for(p90, self.period, self.cadence)
        if cadence != self.cadence:
            log.info("a frame's work takes %.1f ms (p90) at %g Hz: each frame shown for %d refresh%s, "
                     "%g fps evenly", 1000 * p90, self.fps, cadence, "" if cadence == 1 else "es",
                     round(self.fps / cadence, 2))
            self.cadence = cadence

    def _vsync_step(self, now: float) -> tuple[int | None, float]:
        """Refreshes since the last swap (None when this swap says there is no real vsync), and
        the time the frame counts as shown.

        A swap returning sooner than a refresh after the last one did not wait: the pacer waits
        out the refresh here so the show never runs fast, and after a few such swaps (or when
        the show has crept ahead of the wall clock, as swaps that take just under a refresh
        make it do) it paces by the clock for good.
        """
        interval = now - self._last
        fast = interval < FAST_SWAP * self.period
        self._fast.append(fast)
        if fast:
            self._sleep(self._last + self.period - now)
            now = self._now()
            step = 1
        else:
            step = max(1, round(interval * self.fps))
        expected = self._ahead_origin + (self.tick + step) / self.fps
        ahead = expected - now
        if ahead < 0:  # behind (a slower display, missed refreshes): only running ahead matters
            self._ahead_origin -= ahead
        if sum(self._fast) >= FAST_SWAPS_MEAN_NO_VSYNC or ahead > AHEAD_MEANS_NO_VSYNC * self.period:
            log.warning("the display does not wait for vsync (swaps return at once); pacing frames by the clock")
            self.vsync = False
            self._origin = now - self.tick / self.fps
            return None, now
        return step, now

    def _measure_draw(self, seconds: float) -> None:
        """Late-latching budget: the 98th percentile of recent draw times plus a margin, so a
        frame drawn that late still makes its deadline (never more than a refresh); the rare
        longer draw still lands within the quarter refresh a frame may be late by."""
        self._draw_times.append(seconds)
        if len(self._draw_times) % 30 == 0 or len(self._draw_times) < 30:
            ordered = sorted(self._draw_times)
            p98 = ordered[min(len(ordered) - 1, int(0.98 * len(ordered)))]
            self._budget = min(self.cadence * self.period, p98 + LATCH_MARGIN)
