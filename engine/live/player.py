"""The live loop: tick -> show time -> keyframes -> shader passes -> present, at the display's rate.

One thread owns the GL context and only draws; generation runs ahead on a worker, encoding
on the recorder's writer, file writes (snapshots, the registry) on short-lived threads. The
loop never waits on any of them: a keyframe that is not ready is replaced by the nearest one
that is, and counted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.composition import TextStyle, render_spec
from engine.frames import FrameSource, FrameSpec
from engine.generators import Generator
from engine.control.addresses import Command
from engine.live.capture import LiveRecorder, open_recorder
from engine.live.clock import MAX_SPEED, MIN_SPEED, ShowClock
from engine.live.control import LiveControl
from engine.live.display import Display
from engine.live.hud import stats_lines, stats_panel
from engine.live.pacing import FramePacer, FrameStats
from engine.bench import generator_rate
from engine.live.performance import Performance
from engine.live.runahead import Key, RunAhead, bracket, keyframe_rate
from engine.offline import grain_index
from engine.render import Renderer, RenderSettings
from engine.show import Show, Timeline
from engine.show.registry import Registry
from engine.show.reload import ShowWatcher

log = logging.getLogger(__name__)
SPEED_STEP = 1.25
LEAD_TICKS = 3  # seeks are scheduled this far ahead, so their keyframes are ready in time
LOG_EVERY = 60.0
REGISTRY_EVERY = 10.0  # seconds between registry saves (and one at exit)


@dataclass(frozen=True)
class PlayOptions:
    """How ``vernissage play`` runs (its command-line options)."""

    fps: float
    start: float = 0.0
    duration: float | None = None
    record: Path | None = None
    stats: bool = False
    stats_json: Path | None = None
    keyframes: float | None = None  # keyframes per second of show time; None = pick by speed
    snapshots: Path = Path("snapshots")
    recordings: Path = Path("recordings")  # where /vernissage/record/start files go
    exact: bool = False  # render --replay: every tick drawn, every keyframe waited for, nothing dropped
    frames: int | None = None  # stop after this many ticks (replays)


class LockedSource:
    """A frame source shared by the render thread and the worker (a Timeline memoises)."""

    def __init__(self, source: FrameSource, lock: threading.Lock) -> None:
        self.source = source
        self.lock = lock

    def __call__(self, t: float) -> FrameSpec:
        with self.lock:
            return self.source(t)


class Player:
    """Plays ``source`` on ``display`` until quit, --duration, or a signal."""

    def __init__(self, source: FrameSource, generator: Generator, settings: RenderSettings, style: TextStyle,
                 display: Display, options: PlayOptions, show: Show | None = None,
                 adjust_show: Callable[[Show], Show] | None = None, registry: Registry | None = None,
                 control: Callable[[Performance, float], LiveControl] | None = None,
                 load_show: Callable[[str], FrameSource] | None = None) -> None:
        self.generator = generator
        self.style = style
        self.display = display
        self.options = options
        self.fps = options.fps
        self._source_lock = threading.Lock()
        self.settings = replace(settings, width=display.size[0], height=display.size[1])
        self.renderer = Renderer(display.ctx, self.settings, (generator.resolution,) * 2)
        self.clock = ShowClock(self.fps, options.start)
        self.performance = Performance(self.clock, source, generator.z_dim, LEAD_TICKS, load_show)
        self.pacer = FramePacer(self.fps, display.vsync, exact=options.exact)
        self.stats = FrameStats(self.fps)
        self.show = show
        self._adjust = adjust_show or (lambda s: s)
        self._watcher = ShowWatcher(show.path) if show is not None else None
        self._registry = registry
        self._registry_saved = 0.0
        if generator.placement.device.type == "cpu":
            # llvmpipe rasterises on every core; one torch thread keeps generation from
            # fighting the display for them (measured: fewer late frames, same keyframe rate)
            torch.set_num_threads(1)
        self.generator_fps = generator_rate(generator, batch=8, frames=24)
        self.keyframe_rate = options.keyframes or keyframe_rate(self.generator_fps, self.fps)
        log.info("generator makes %.0f frames/s; keyframes at %g/s of show time%s", self.generator_fps,
                 self.keyframe_rate, "" if self.keyframe_rate >= self.fps else " (blended in between)")
        self.runahead = RunAhead(generator, self._source_for, self.clock, self.keyframe_rate)
        # commands, the performance log and feedback (the log's header needs the keyframe rate)
        self.control = control(self.performance, self.keyframe_rate) if control else LiveControl(self.performance)
        self.recorder: LiveRecorder | None = None
        self.recordings: list[dict] = []
        self._slots: list[Key | None] = [None, None]  # keyframe uploaded to each source slot
        self._panel: np.ndarray | None = None
        self._panel_at = -1.0
        self._quit = False

    # --- keys and controls ------------------------------------------------------------------

    def quit(self) -> None:
        """Stop after the frame being drawn (safe from any thread: signals, tests)."""
        self._quit = True

    def _source_for(self, epoch: int) -> LockedSource:
        return LockedSource(self.performance.source(epoch), self._source_lock)

    def handle(self, action: str) -> None:
        """A key: show changes become commands (applied and logged like OSC), the rest act here."""
        if action == "quit":
            self._quit = True
        elif action == "pause":
            self.control.key(Command("/vernissage/show/pause"))
        elif action in ("faster", "slower"):
            rate = self.clock.segments()[-1].resume_speed * (SPEED_STEP if action == "faster" else 1 / SPEED_STEP)
            self.control.key(Command("/vernissage/walk/rate", (min(MAX_SPEED, max(MIN_SPEED, rate)),)))
        elif action == "next":
            self.control.key(Command("/vernissage/portrait/next"))
        elif action == "snapshot":
            self._snapshot()
        elif action == "record":
            if self.recorder is None:
                self.start_recording(self.options.record or Path(f"vernissage-{_stamp()}.mp4"))
            else:
                self.stop_recording()
        elif action == "fullscreen" and hasattr(self.display, "toggle_fullscreen"):
            self._toggle_fullscreen()

    def start_recording(self, path: Path) -> None:
        if self.recorder is None:
            self.recorder = open_recorder(self.display.ctx, path, self.fps, self.display.size, self.display.flipped,
                                          exact=self.options.exact)

    def _requests(self) -> None:
        """Side effects asked for over OSC: recording and snapshots (not part of the frame)."""
        for command in self.performance.requests:
            if command.address == "/vernissage/record/start":
                name = command.args[0] if command.args else f"vernissage-{_stamp()}.mp4"
                path = (self.options.recordings / str(name)).resolve()
                if not path.is_relative_to(self.options.recordings.resolve()):
                    log.error("OSC: ignored /vernissage/record/start %r: outside %s", name, self.options.recordings)
                else:
                    self.start_recording(path)
            elif command.address == "/vernissage/record/stop":
                self.stop_recording()
            else:
                self._snapshot()
        self.performance.requests.clear()

    def stop_recording(self) -> None:
        if self.recorder is not None:
            written = self.recorder.stop()
            self.recordings.append({"path": str(self.recorder.path.resolve()), "frames": written,
                                    "stopped_because": self.recorder.stopped_because})
            self.recorder = None

    def _toggle_fullscreen(self) -> None:
        before = self.display.size
        self.display.toggle_fullscreen()
        if self.display.size != before:
            if self.recorder is not None:
                log.warning("the window changed size: recording stopped (a video keeps one size)")
                self.stop_recording()
            self.renderer.close()
            self.settings = replace(self.settings, width=self.display.size[0], height=self.display.size[1])
            self.renderer = Renderer(self.display.ctx, self.settings, (self.generator.resolution,) * 2)
            self.renderer.warm_up()
            self._slots = [None, None]

    def _snapshot(self) -> None:
        w, h = self.display.size
        frame = np.frombuffer(self.display.target.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
        if self.display.flipped:
            frame = frame[::-1]
        path = self.options.snapshots / f"vernissage-{_stamp()}.png"
        threading.Thread(target=_save_png, args=(frame, path), name="snapshot", daemon=True).start()

    # --- the loop --------------------------------------------------------------------------------

    def _frame(self, tick: int) -> bool:
        """Draw the frame for ``tick``; True if a keyframe had to be stood in for."""
        t = self.clock.time_at(tick)
        epoch = self.clock.segment_at(tick).epoch
        self.runahead.advance(tick)
        source = self._source_for(epoch)
        spec = self.performance.adjust(source(t))
        j, mix = bracket(t, self.keyframe_rate)
        substituted = False
        for slot, key in enumerate(((epoch, j), (epoch, j + 1)) if mix > 0 else ((epoch, j),)):
            if self._slots[slot] == key:
                continue
            image = self.runahead.wait_for(key) if self.options.exact else self.runahead.get(key)
            if image is None:
                substituted = True
                continue
            self.renderer.upload(image, slot)
            self._slots[slot] = key
        if mix > 0 and self._slots[1] != (epoch, j + 1):
            mix = 0.0  # the next keyframe is late: hold this one
        target = self.display.target
        render_spec(self.renderer, spec, grain_index(source.source, t, self.fps), self.style, target,
                    self.display.flipped, mix)
        if self.recorder is not None:
            self.recorder.capture(target)
        if self.options.stats:
            self._draw_panel(t)
        return substituted

    def _draw_panel(self, t: float) -> None:
        now = time.perf_counter()
        if self._panel is None or now - self._panel_at > 0.5:
            segment = self.clock.segment_at(self.pacer.tick)
            recording = self._recording()
            lines = stats_lines(self.stats.summary(), t, segment.resume_speed, segment.speed == 0.0,
                                self.keyframe_rate, recording)
            self._panel, self._panel_at = stats_panel(lines, self.display.size[1]), now
        margin = round(self.display.size[1] * 0.02)
        self.renderer.draw_overlay(self._panel, (margin, margin), flip=self.display.flipped)

    def run(self) -> dict:
        """Play until quit or --duration; returns the stats summary (also written to --stats-json)."""
        # The writer, the generator and the display each let go of the GIL around native work
        # (encoding, torch kernels, GL) and then wait to take it back; at the default 5 ms
        # switch interval that wait made FFmpeg's RGB->YUV take 17 ms instead of 3 next to a
        # busy thread, and live recording fell behind. 1 ms keeps hand-overs short.
        sys.setswitchinterval(0.001)
        self.renderer.warm_up()
        self.runahead.start()
        if not self.runahead.wait_ready(0, timeout=30.0):
            log.warning("the generator is slow to start; playing with stand-in frames")
        # The first real frame pays one-time costs (texture storage, driver paths) that took
        # 63 ms here: draw it once before the clock starts so tick 0 meets its deadline.
        self._frame(0)
        self.display.ctx.finish()
        if self.options.record:
            self.start_recording(self.options.record)
        self.pacer.start()
        self.stats.started = time.perf_counter()
        next_log = next_poll = time.perf_counter()
        last_tick = self._last_tick()
        try:
            while not self._quit:
                for action in self.display.actions():
                    self.handle(action)
                tick = self.pacer.tick
                if last_tick is not None and tick >= last_tick:
                    break
                self.control.begin_frame(tick, self.pacer.deadline(tick))
                if self.performance.requests:
                    self._requests()
                substituted = self._frame(tick)
                self.display.present()
                interval, skipped = self.pacer.presented()
                self.stats.add(interval, skipped, substituted)
                now = time.perf_counter()
                self.control.frame_shown(tick, now, skipped, substituted, lambda: self._status(tick))
                if now >= next_poll:
                    next_poll = now + 1.0
                    self._housekeeping(tick)
                if now >= next_log + LOG_EVERY:
                    next_log = now
                    self._log_stats()
        finally:
            self.close(self.pacer.tick)
        summary = self.summary()
        if self.options.stats_json:
            self.options.stats_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return summary

    def _last_tick(self) -> int | None:
        if self.options.frames is not None:
            return self.options.frames
        return None if self.options.duration is None else round(self.options.duration * self.fps)

    def _recording(self) -> str | None:
        return str(self.recorder.path) if self.recorder is not None and self.recorder.active else None

    def _status(self, tick: int) -> dict[str, object]:
        """/vernissage/status: the show's state, frame rate, misses, recording, control errors."""
        stats = self.stats
        return {**self.performance.status(tick), "fps": round(stats.recent_fps(), 2), "missed": stats.missed,
                "recording": self._recording() or "", "errors": self.control.counters()["rejected"]}

    def summary(self) -> dict:
        return {**self.stats.summary(), "generator_fps": round(self.generator_fps, 1),
                "keyframe_rate": self.keyframe_rate, "size": list(self.display.size),
                "renderer": self.display.ctx.info["GL_RENDERER"], "recordings": self.recordings,
                "control": self.control.counters(), **self.control.latency_summary(self.fps)}

    def _log_stats(self) -> None:
        p50, p99 = self.stats.take_window()
        s = self.stats.summary()
        log.info("live: %.1f fps, frame p50 %.1f ms, p99 %.1f ms over the last minute; missed %d in all "
                 "(%d late, %d stand-in)", s["fps"], p50, p99, s["missed"], s["missed_late"], s["missed_substituted"])

    def _housekeeping(self, tick: int) -> None:
        """Once a second: a changed show file, the portrait registry."""
        base = self.performance.latest.base
        if self._watcher is not None:
            show = self._watcher.poll()
            if show is not None and isinstance(base, Timeline) and base.show.path == show.path:
                self.show = self._adjust(show)
                self.performance.reload(tick, Timeline(self.show, self.generator.z_dim, base.portraits))
        if self._registry is not None:
            t = self.clock.time_at(tick)
            shown = base.portrait_at(t) if isinstance(base, Timeline) else None
            changed = self._registry.mark(shown.number if shown else -1, t)
            if changed and time.perf_counter() - self._registry_saved > REGISTRY_EVERY:
                self._registry_saved = time.perf_counter()
                threading.Thread(target=self._save_registry, name="registry", daemon=True).start()

    def _save_registry(self) -> None:
        with self._source_lock:  # the worker may be extending the portrait sequence
            try:
                self._registry.save()
            except OSError as exc:
                log.error("%s: cannot save the portrait registry (%s)", self._registry.path, exc.strerror or exc)

    def close(self, ticks: int = 0) -> None:
        """Flush and close everything; ``ticks`` passed in all (the performance log's end)."""
        self.stop_recording()
        self.control.close(ticks)
        self.runahead.close()
        self.renderer.close()
        if self._registry is not None:
            self._save_registry()


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _save_png(frame: np.ndarray, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(frame)).save(path)
        log.info("snapshot: %s", path)
    except OSError as exc:
        log.error("snapshot failed: %s: %s", path, exc.strerror or exc)
