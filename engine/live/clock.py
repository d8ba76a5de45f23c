"""Display ticks -> show time, with pause, speed and seeks as scheduled segments.

A tick is one display refresh. Show time is a pure function of the tick and of the
segments the performer made (Space, arrows, N, OSC), so the run-ahead worker can predict
the show time of any upcoming frame and a change is known before it is shown. A segment
also names the source epoch in force (a live change of latents is a new epoch, see
engine.live.performance), so the worker generates each keyframe from the right source.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

MIN_SPEED, MAX_SPEED = 1.0 / 16.0, 16.0


@dataclass(frozen=True)
class Segment:
    """From display tick ``tick`` on, show time runs from ``time`` at ``speed`` (0 = paused)."""

    tick: int
    time: float
    speed: float
    resume_speed: float  # the speed Space resumes at, kept while paused
    epoch: int = 0  # which source (engine.live.performance keeps them by epoch)


class ShowClock:
    """Show time of each display tick at ``fps`` ticks a second; safe to read from any thread."""

    def __init__(self, fps: float, start: float = 0.0, speed: float = 1.0) -> None:
        self.fps = fps
        self._segments: tuple[Segment, ...] = (Segment(0, start, speed, speed or 1.0),)
        self._lock = threading.Lock()

    def segments(self) -> tuple[Segment, ...]:
        """An immutable snapshot (for the worker: predict without holding a lock)."""
        return self._segments

    def time_at(self, tick: int, segments: tuple[Segment, ...] | None = None) -> float:
        seg = self.segment_at(tick, segments)
        return seg.time + seg.speed * (tick - seg.tick) / self.fps

    def segment_at(self, tick: int, segments: tuple[Segment, ...] | None = None) -> Segment:
        """The segment in force at ``tick`` (of ``segments``, a snapshot, or the current ones)."""
        segments = segments or self._segments
        return segments[max(0, bisect.bisect_right(segments, tick, key=lambda s: s.tick) - 1)]

    def _schedule(self, tick: int, time: float | None = None, speed: float | None = None,
                  resume_speed: float | None = None, epoch: int | None = None) -> None:
        with self._lock:
            current = self.segment_at(tick)
            t = self.time_at(tick) if time is None else time
            s = current.speed if speed is None else speed
            r = current.resume_speed if resume_speed is None else resume_speed
            e = current.epoch if epoch is None else epoch
            kept = tuple(seg for seg in self._segments if seg.tick < tick)[-7:]  # a short history
            self._segments = kept + (Segment(tick, t, s, r, e),)

    @property
    def paused(self) -> bool:
        return self._segments[-1].speed == 0.0

    def set_paused(self, tick: int, paused: bool) -> None:
        seg = self._segments[-1]
        if paused and seg.speed != 0.0:
            self._schedule(tick, speed=0.0, resume_speed=seg.speed)
        elif not paused and seg.speed == 0.0:
            self._schedule(tick, speed=seg.resume_speed)

    def scale_speed(self, tick: int, factor: float) -> float:
        """Multiply the speed (the resume speed while paused), clamped to 1/16..16."""
        return self.set_speed(tick, self._segments[-1].resume_speed * factor)

    def set_speed(self, tick: int, speed: float) -> float:
        """Set the speed (the resume speed while paused), clamped to 1/16..16."""
        seg = self._segments[-1]
        speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        self._schedule(tick, speed=0.0 if seg.speed == 0.0 else speed, resume_speed=speed)
        return speed

    def seek(self, tick: int, time: float) -> None:
        """From ``tick`` on, show time continues from ``time``."""
        self._schedule(tick, time=time)

    def switch(self, tick: int, epoch: int, time: float | None = None) -> None:
        """From ``tick`` on, frames come from source ``epoch`` (at ``time``, or where the clock is)."""
        self._schedule(tick, time=time, epoch=epoch)
