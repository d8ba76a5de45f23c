"""The one frame loop: commands in, the show at this tick's time drawn, the frame out.

The same object runs ``vernissage play`` (paced by the display or the clock), ``render``
(exact: one tick per frame, every keyframe waited for) and ``render --replay`` (exact, with
the commands of a performance log). Its parts each do one job (see :meth:`FrameLoop.run`);
the loop only says in which order. One thread owns the GL context and runs this loop;
generation runs ahead on a worker, encoding on the recorder's threads, file work on the
housekeeping and loader threads. Live, the loop never waits on any of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import moderngl
import numpy as np

from engine.commands import Pause, Quit, ScheduleOverride, SetFader, SetKeyframeRate, Slew, ToggleFullscreen, WallSync
from engine.inputs.addresses import FADE
from engine.loop.anchor_lock import AnchorLock, LeaderLock
from engine.loop.clock import Key
from engine.loop.compositor import Compositor
from engine.loop.housekeeping import Housekeeping
from engine.loop.intake import CommandIntake
from engine.loop.keyframes import KeyframeRatePolicy
from engine.loop.opening import Opening, OpeningHours
from engine.loop.pacing import Pacer, Presented
from engine.loop.runahead import RunAhead
from engine.loop.show_state import PlannedFrame, ShowState
from engine.loop.stats import FrameStats
from engine.outputs.base import Outputs, ShownFrame
from engine.outputs.health import frame_buckets
from engine.outputs.display import Display
from engine.outputs.recorder import RecorderOutput
from engine.render.context import RenderContextError
from engine.show import Timeline
from engine.status import Status

log = logging.getLogger(__name__)
LOG_EVERY = 60.0
START_TIMEOUT = 120.0
IDLE_PRESENT_EVERY = 5.0  # seconds between black frames presented while closed (a swap wakes the GPU or rasteriser)


class GenerationError(RuntimeError):
    """An exact render could not get a keyframe (the generator failed); one line."""


@dataclass
class LoopParts:
    """Everything a loop is made of, built by engine.loop.run for play, render or replay."""

    display: Display
    pacer: Pacer
    state: ShowState
    runahead: RunAhead
    compositor: Compositor
    outputs: Outputs
    intake: CommandIntake
    stats: FrameStats
    housekeeping: Housekeeping | None = None
    rate_policy: KeyframeRatePolicy | None = None  # live only: the keyframe rate follows the generator
    recorder: RecorderOutput | None = None
    anchor: Callable[[], float] | None = None  # an anchored show's time by the wall clock, now
    opening: OpeningHours | None = None  # live only: closed outside opening hours
    wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)  # the wall clock (tests pass theirs)


class FrameLoop:
    """Runs until quit, the last tick, or a signal (see :meth:`quit`)."""

    def __init__(self, parts: LoopParts, last_tick: int | None, exact: bool, seconds: float | None = None) -> None:
        """``last_tick``: the tick the run ends at; ``seconds``: live, the wall time it ends after
        too (a closed show's ticks stand still, its duration does not)."""
        self.parts = parts
        self.last_tick = last_tick
        self.seconds = seconds
        self._ends_at: float | None = None
        self.exact = exact
        self.ticks = 0
        self._quit = False
        self._fade_out: float | None = None  # asked for: fade to black over this many seconds, then quit
        self._quit_at: float | None = None
        self._next_second = 0.0
        self._next_log = 0.0
        self._stand_ins_before = 0
        self._lock = AnchorLock(float(parts.state.clock.fps)) if parts.anchor is not None else None
        self.opening_state = Opening(True, None, None)
        self._closed = False  # outside opening hours: idling
        self._closing_at: float | None = None  # fading out until then
        self._idle_shown = self._idle_presented = 0.0
        self._leader: LeaderLock | None = None  # a video wall's follower: set by the leader's first sync
        parts.intake.add_routes({**parts.outputs.routes(), Quit: lambda command: self.quit(),
                                 ToggleFullscreen: lambda command: self._toggle_fullscreen(),
                                 ScheduleOverride: self._override, WallSync: self._follow})

    def quit(self, fade: float = 0.0) -> None:
        """Stop after the frame being drawn, or after fading to black for ``fade`` seconds (a
        service stopping: the recording ends on black). Safe from any thread: signals, tests."""
        if fade > 0.0 and not self.exact and self._fade_out is None and not self._quit:
            self._fade_out = fade
        else:
            self._quit = True

    def run(self) -> None:
        try:
            self._run()
        except moderngl.Error as exc:  # a lost context (driver reset, display gone): exit, to be restarted
            raise RenderContextError(f"the OpenGL context failed ({str(exc).splitlines()[0][:160]}); "
                                     "exiting so that the service restarts the show") from None

    def _run(self) -> None:
        p = self.parts
        self._start()
        try:
            while not self._finished():
                if self._closed:
                    self._idle()
                    continue
                tick = p.pacer.wait_to_draw()
                p.intake.take(tick, p.pacer.deadline(tick))
                frame = p.state.frame_at(tick)
                p.runahead.advance(tick, () if self.exact else p.state.speculative_keys(tick))
                stand_in = p.compositor.draw(frame, self._fetch, p.display.target, p.display.flipped)
                p.outputs.capture(p.display.target, tick)
                p.outputs.overlay(p.compositor, tick)
                p.pacer.drawn()
                p.display.present()
                self._shown(frame, p.pacer.presented(), stand_in)
        finally:
            self._close()

    # --- around the frame --------------------------------------------------------------------------

    def _start(self) -> None:
        """Live, warm up before the clock starts so the first frames meet their deadlines
        (an exact run has no deadlines: it starts at once)."""
        p = self.parts
        if p.pacer.first:
            self._catch_up(p.pacer.first)
        p.runahead.start()
        if p.housekeeping is not None:
            p.housekeeping.start()
        if not self.exact:
            p.compositor.warm_up()
            if not p.runahead.wait_ready(0, timeout=START_TIMEOUT):
                log.warning("the generator is slow to start; playing with stand-in frames")
            # The first real frame pays one-time costs (texture storage, driver paths) that took
            # 63 ms here: draw it once before the clock starts so tick 0 meets its deadline.
            p.compositor.draw(p.state.frame_at(0), self._fetch, p.display.target, p.display.flipped)
            p.display.ctx.finish()
        p.pacer.start()
        self._next_second = self._next_log = time.perf_counter()
        if self.seconds is not None:
            self._ends_at = self._next_second + self.seconds

    def _catch_up(self, first: int) -> None:
        """An exact run that starts at tick ``first`` (a render farm's chunk): the show's state
        there is what every command before it made (the music's pace moves the clock), so
        they are applied tick by tick, nothing drawn or generated, and the first frame drawn
        equals that frame of a render from tick 0."""
        p = self.parts
        for tick in range(first):
            p.intake.take(tick, p.pacer.deadline(tick))
        p.runahead.advance(first)

    def _fetch(self, key: Key) -> np.ndarray | None:
        runahead = self.parts.runahead
        if not self.exact:
            return runahead.get(key)
        image = runahead.wait_for(key)
        if image is None:
            raise GenerationError(f"generation failed: {runahead.error or 'timed out waiting for a frame'}")
        return image

    def _finished(self) -> bool:
        if self._fade_out is not None and self._quit_at is None:
            self._quit_at = time.perf_counter() + self._fade_out
            self.parts.intake.post(SetFader(FADE, 1.0, smoothing=self._fade_out / 4))
        if self._quit_at is not None and time.perf_counter() >= self._quit_at:
            self._quit = True
        if self._ends_at is not None and time.perf_counter() >= self._ends_at:
            return True
        return self._quit or (self.last_tick is not None and self.parts.pacer.tick >= self.last_tick)

    def _shown(self, frame: PlannedFrame, presented: Presented, stand_in: bool) -> None:
        p = self.parts
        self.ticks = p.pacer.tick
        p.stats.add(presented.interval, presented.skipped, stand_in)
        p.intake.frame_shown(frame.tick, presented.at, presented.skipped, stand_in)
        shown = ShownFrame(frame.tick, frame.time, presented.interval, presented.skipped, stand_in, presented.at)
        p.outputs.shown(shown, lambda: self.status(frame.tick))
        if presented.at >= self._next_second:
            self._next_second = presented.at + 1.0
            self._every_second(frame)

    def _every_second(self, frame: PlannedFrame) -> None:
        p = self.parts
        if p.opening is not None:
            self._follow_the_hours()
        if p.housekeeping is not None and p.housekeeping.registry is not None:
            base = p.state.latest.base
            shown = base.portrait_at(frame.time) if isinstance(base, Timeline) else None
            p.housekeeping.registry.mark(shown.number if shown else -1, frame.time)
        if p.rate_policy is not None:
            stand_ins = p.stats.substituted - self._stand_ins_before
            self._stand_ins_before = p.stats.substituted
            rate = p.rate_policy.update(p.runahead.capacity(), p.state.planning_speed(frame.tick), stand_ins)
            if rate is not None:
                log.info("keyframes at %g/s of show time from now (the generator makes %.1f faces/s)",
                         float(rate), p.runahead.network_rate())
                p.intake.post(SetKeyframeRate(rate))
        if self._lock is not None and p.anchor is not None and not p.state.moved:
            correction = self._lock.update(frame.time, p.anchor())
            if correction is not None:
                kind, value = correction
                p.intake.post(Slew(value) if kind == "speed" else Slew(to=value))
        if frame.tick and not self.exact and time.perf_counter() >= self._next_log + LOG_EVERY:
            self._next_log = time.perf_counter()  # an offline render reports its own progress, not "live"
            self._log_stats()

    def _follow(self, command: WallSync) -> None:  # type: ignore[override]
        """The leader's show time for the frame being drawn: slew toward it, or seek. From the first
        one on the leader is this player's clock (the anchor lock lets go)."""
        p = self.parts
        if self._leader is None:
            self._leader, self._lock = LeaderLock(float(p.state.clock.fps)), None
            log.info("following a video wall's leader")
        segment = p.state.clock.latest
        correction = self._leader.update(p.state.clock.time_at(p.pacer.tick), command.time, segment.resume_speed,
                                         paused=segment.speed == 0.0)
        if correction is not None:
            kind, value = correction
            p.intake.post(Slew(value) if kind == "speed" else Slew(to=value))

    # --- opening hours -------------------------------------------------------------------------------

    def _override(self, command: ScheduleOverride) -> None:  # type: ignore[override]
        if self.parts.opening is not None:
            self.parts.opening.override = command.mode
            log.info("opening hours: %s (by command)", command.mode)
            self._follow_the_hours()

    def _follow_the_hours(self) -> None:
        """Open or close as the schedule (or staff) says: a fade, then idling until opening time."""
        p = self.parts
        assert p.opening is not None
        self.opening_state = decided = p.opening.decide(p.wall())
        fade = p.opening.schedule.fade if p.opening.schedule is not None else 0.0
        if decided.open and (self._closed or self._closing_at is not None):
            self._reopen(fade)
        elif not decided.open and not self._closed and self._closing_at is None:
            log.info("closing: fading out over %g s; opening again %s", fade,
                     decided.next_open.isoformat(timespec="minutes") if decided.next_open else "when told")
            p.intake.post(SetFader(FADE, 1.0, smoothing=fade / 4))
            self._closing_at = time.perf_counter() + fade
            p.opening.run_hook(opened=False)
        if self._closing_at is not None and not self._closed and time.perf_counter() >= self._closing_at:
            self._closed = True  # from now on: black, and nothing generated
            p.runahead.rest(True)
            if p.anchor is None:
                p.intake.post(Pause(True))  # a show without an anchor takes up where it closed

    def _reopen(self, fade: float) -> None:
        p = self.parts
        log.info("opening%s", " (the show goes on where the clock says)" if p.anchor is not None else "")
        if self._closed:
            p.runahead.rest(False)
            p.pacer.restart()
            p.intake.post(Slew(to=p.anchor()) if p.anchor is not None else Pause(False))
        p.intake.post(SetFader(FADE, 0.0, smoothing=fade / 4))
        self._closed = False
        self._closing_at = None
        p.opening.run_hook(opened=True)  # type: ignore[union-attr]

    def _idle(self) -> None:
        """Closed: commands still apply (staff, quit), the outputs hear of a frame each second (the
        watchdog is fed) and a black frame is presented every few seconds (the window stays
        black whatever was over it); nothing is generated or drawn otherwise."""
        p = self.parts
        tick = p.pacer.tick
        p.intake.take(tick, time.perf_counter())
        now = time.perf_counter()
        if now - self._idle_shown >= 1.0:
            interval, self._idle_shown = now - self._idle_shown, now
            if now - self._idle_presented >= IDLE_PRESENT_EVERY:
                self._idle_presented = now
                target = p.display.target
                target.use()
                target.clear(0.0, 0.0, 0.0, 1.0)
                p.display.present()
            time_now = p.state.clock.time_at(tick)  # the time only: the show's frame is not worked out closed
            p.outputs.shown(ShownFrame(tick, time_now, interval, 0, False, now), lambda: self.status(tick))
            self._follow_the_hours()
        time.sleep(0.2)

    def _log_stats(self) -> None:
        p50, p99 = self.parts.stats.take_window()
        s = self.parts.stats.summary()
        log.info("live: %.1f fps, frame p50 %.1f ms, p99 %.1f ms over the last minute; missed %d in all "
                 "(%d late, %d stand-in)", s["fps"], p50, p99, s["missed"], s["missed_late"], s["missed_substituted"])

    def facts(self) -> dict:
        """What /health and /metrics report beyond the status (asked once a second, frame thread)."""
        p = self.parts
        stats = p.stats
        generator = p.runahead.generator
        return {"frames": stats.frames, "missed_late": stats.late, "missed_stand_in": stats.substituted,
                "model": generator.card.name, "device": generator.describe(),
                "keyframe_rate": float(p.state.clock.latest.keyframe_rate),
                "osc_received": p.intake.counters().get("received", 0),
                "recording_bytes": p.recorder.recording_bytes if p.recorder is not None else 0,
                "frame_buckets": frame_buckets(stats.histogram, stats.BIN), "frame_seconds": stats.total_seconds,
                "cadence": p.pacer.cadence, "open": self.opening_state.open,
                "next_open": self.opening_state.next_open.isoformat() if self.opening_state.next_open else None,
                "next_close": self.opening_state.next_close.isoformat() if self.opening_state.next_close else None}

    def status(self, tick: int) -> Status:
        """/vernissage/status: the show's state, frame rate, misses, recording, control errors."""
        p = self.parts
        cue, t, paused, speed, bpm, locked = p.state.status(tick)
        recording = p.recorder.recording if p.recorder is not None else ""
        return Status(cue, t, paused, speed, bpm, locked, round(p.stats.recent_fps(), 2), p.stats.missed,
                      recording, p.intake.errors, int(self.opening_state.open))

    def _toggle_fullscreen(self) -> None:
        p = self.parts
        if p.display.toggle_fullscreen():
            p.compositor.resize(p.display.size)
            p.outputs.resized(p.display.size)

    def _close(self) -> None:
        """Flush and close everything; the performance log ends at the ticks played."""
        p = self.parts
        try:
            p.outputs.close()
        finally:
            p.intake.close(self.ticks)
            p.runahead.close()
            if p.housekeeping is not None:
                p.housekeeping.close()
            p.compositor.close()
