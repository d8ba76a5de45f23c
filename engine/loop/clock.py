"""Display ticks -> show time, with pause, speed, seeks and keyframe grids as scheduled segments.

A tick is one displayed frame. Show time is a pure function of the tick and of the segments
that commands made (Space, arrows, OSC, a replayed log), so the run-ahead worker can predict
the show time of any upcoming frame and a change is known before it is shown. A segment also
names the source epoch in force (a live change of latents is a new epoch, see
engine.loop.show_state) and the keyframe grid: keyframe j of a grid is the show at
``origin + j / rate``, and a segment uses every ``stride``-th of them. Offline, the grid is the
frames themselves (origin = start, rate = fps, stride 1), so every frame is generated
exactly; live, a slow generator gets a longer stride and the frames between keyframes are
blended. Changing the stride keeps the grid, so keyframes already made stay useful.

The clock belongs to the frame thread. Its segments are an immutable tuple, replaced whole,
which is what other threads read.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction

MIN_SPEED, MAX_SPEED = 1.0 / 16.0, 16.0
EPSILON = 1e-6
HISTORY = 8  # past segments kept: the worker may still be reading a snapshot that ends there


@dataclass(frozen=True)
class Grid:
    """Keyframe j is the show at ``origin + j / rate`` (exactly: the rate is a Fraction)."""

    origin: float
    rate: Fraction

    def time_of(self, j: int) -> float:
        return self.origin + float(Fraction(j) / self.rate)

    def bracket(self, t: float, stride: int = 1) -> tuple[int, float]:
        """(keyframe at or before t, a multiple of ``stride``; 0..1 toward the one ``stride``
        later); exact keyframe times give 0."""
        u = (t - self.origin) * float(self.rate) / stride
        k = math.floor(u + EPSILON)
        mix = u - k
        return k * stride, 0.0 if mix < EPSILON else min(mix, 1.0)


Key = tuple[int, Grid, int]  # (source epoch, grid, keyframe index)


@dataclass(frozen=True)
class Segment:
    """From display tick ``tick`` on, show time runs from ``time`` at ``speed`` (0 = paused)."""

    tick: int
    time: float
    speed: float
    resume_speed: float  # the speed Space resumes at, kept while paused
    epoch: int
    grid: Grid
    stride: int = 1  # every stride-th keyframe of the grid is made; frames between are blended

    @property
    def keyframe_rate(self) -> Fraction:
        """Keyframes a second of show time."""
        return self.grid.rate / self.stride

    def time_at(self, tick: int, fps: Fraction) -> float:
        return self.time + self.speed * float(Fraction(tick - self.tick) / fps)

    def key_at(self, tick: int, fps: Fraction) -> tuple[Key, float]:
        """The keyframe at or before ``tick``'s show time, and the blend toward the next."""
        j, mix = self.grid.bracket(self.time_at(tick, fps), self.stride)
        return (self.epoch, self.grid, j), mix

    def next_key(self, key: Key) -> Key:
        epoch, grid, j = key
        return epoch, grid, j + self.stride


def keys_for(segments: tuple[Segment, ...], fps: Fraction, first: int, count: int) -> list[Key]:
    """Keyframes that ticks ``first`` .. ``first + count - 1`` show, in the order they are needed."""
    wanted: dict[Key, None] = {}
    for tick in range(first, first + count):
        segment = segment_at(segments, tick)
        key, mix = segment.key_at(tick, fps)
        wanted[key] = None
        if mix > 0.0:
            wanted[segment.next_key(key)] = None
    return list(wanted)


def segment_at(segments: tuple[Segment, ...], tick: int) -> Segment:
    """The segment in force at ``tick``."""
    return segments[max(0, bisect.bisect_right(segments, tick, key=lambda s: s.tick) - 1)]


class ShowClock:
    """Show time of each tick at ``fps`` ticks a second, starting at ``start``."""

    def __init__(self, fps: Fraction, start: float, rate: Fraction, speed: float = 1.0) -> None:
        self.fps = Fraction(fps)
        grid, stride = _grid_for(start, self.fps, Fraction(rate))
        self.segments: tuple[Segment, ...] = (Segment(0, start, speed, speed or 1.0, 0, grid, stride),)

    @property
    def latest(self) -> Segment:
        return self.segments[-1]

    def segment_at(self, tick: int) -> Segment:
        return segment_at(self.segments, tick)

    def time_at(self, tick: int) -> float:
        return self.segment_at(tick).time_at(tick, self.fps)

    @property
    def paused(self) -> bool:
        return self.latest.speed == 0.0

    def planned(self, tick: int, time: float | None = None, speed: float | None = None,
                resume_speed: float | None = None, epoch: int | None = None,
                rate: Fraction | None = None) -> Segment:
        """The segment a change at ``tick`` would start (nothing is scheduled yet).

        A jump in time (``time``) or a new ``rate`` starts a keyframe grid at the new
        segment's time; otherwise the grid goes on, so keyframes already made stay valid.
        """
        current = self.segment_at(tick)
        t = current.time_at(tick, self.fps) if time is None else time
        grid, stride = current.grid, current.stride
        if rate is not None:
            steps = current.grid.rate / Fraction(rate)
            grid, stride = (grid, int(steps)) if steps.denominator == 1 and time is None else _grid_for(t, self.fps, rate)
        elif time is not None:
            grid = Grid(t, grid.rate)
        return Segment(tick, t,
                       current.speed if speed is None else speed,
                       current.resume_speed if resume_speed is None else resume_speed,
                       current.epoch if epoch is None else epoch, grid, stride)

    def schedule(self, segment: Segment) -> None:
        """From ``segment.tick`` on, ``segment`` is in force (later plans are replaced)."""
        kept = tuple(seg for seg in self.segments if seg.tick < segment.tick)[-HISTORY:]
        self.segments = kept + (segment,)

    # --- the changes commands make ------------------------------------------------------------------

    def pause_plan(self, tick: int, paused: bool) -> Segment | None:
        seg = self.latest
        if paused and seg.speed != 0.0:
            return self.planned(tick, speed=0.0, resume_speed=seg.resume_speed)
        if not paused and seg.speed == 0.0:
            return self.planned(tick, speed=seg.resume_speed)
        return None

    def speed_plan(self, tick: int, speed: float) -> Segment:
        """The speed (the resume speed while paused), clamped to 1/16..16."""
        speed = min(MAX_SPEED, max(MIN_SPEED, speed))
        return self.planned(tick, speed=0.0 if self.latest.speed == 0.0 else speed, resume_speed=speed)

    def drive_plan(self, tick: int, drive: float) -> Segment | None:
        """The music's pace: the resume speed times ``drive``, clamped; the resume speed is kept
        (a fader sets it, the music varies around it). None while paused or unchanged."""
        seg = self.latest
        speed = min(MAX_SPEED, max(MIN_SPEED, seg.resume_speed * drive))
        if seg.speed == 0.0 or speed == seg.speed:
            return None
        return self.planned(tick, speed=speed)

    def seek_plan(self, tick: int, time: float) -> Segment:
        return self.planned(tick, time=time)

    def switch_plan(self, tick: int, epoch: int, time: float | None = None) -> Segment:
        return self.planned(tick, time=time, epoch=epoch)

    def rate_plan(self, tick: int, rate: Fraction) -> Segment:
        return self.planned(tick, rate=Fraction(rate))



def _grid_for(origin: float, fps: Fraction, rate: Fraction) -> tuple[Grid, int]:
    """A grid at the frame rate with a stride when ``rate`` divides it (fps / k: every k-th
    frame's keyframe), else a grid at ``rate`` itself."""
    steps = fps / rate
    if steps.denominator == 1:
        return Grid(origin, fps), int(steps)
    return Grid(origin, rate), 1
