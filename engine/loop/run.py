"""The three runs of the one frame loop: ``play`` (live), ``render`` (offline) and ``render --replay``.

Each builds the same :class:`~engine.loop.frame_loop.FrameLoop` from the same parts; they
differ only in the pacer (display or exact), where commands come from (OSC and keys, none,
or a performance log) and where frames go (a window or an offscreen surface; a recording).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

from engine.audio.sources import AudioError, FileAudio
from engine.commands import ShowLoaded
from engine.frames import FrameSource
from engine.generators.errors import ModelError
from engine.inputs.audio import AudioInput, HeardAudio
from engine.inputs.bindings import Binding, BindingError, load_bindings
from engine.inputs.osc_server import OscServer
from engine.inputs.performance_log import (
    LOGS_KEPT,
    PerformanceLog,
    RecordedPerformance,
    prune_logs,
    rate_text,
    read_performance,
)
from engine.loop import plugins, process
from engine.loop.clock import ShowClock
from engine.loop.compositor import Compositor
from engine.loop.frame_loop import FrameLoop, LoopParts
from engine.loop.housekeeping import Housekeeping
from engine.loop.intake import CommandIntake
from engine.generators.ladder import exit_covering, exit_keeping_up, shown_pixels
from engine.generators.speed import seconds_per_frame
from engine.loop.keyframes import KeyframeRatePolicy, starting_rate
from engine.loop.opening import OpeningHours
from engine.loop.options import ControlOptions, PlayOptions
from engine.loop.pacing import DisplayPacer, ExactPacer
from engine.loop.plugins import Setup
from engine.loop.program import Program, ProgramSpec, load_checked_show, resolve, shows_folder
from engine.loop.runahead import RunAhead
from engine.loop.show_loader import ShowLoader
from engine.loop.show_state import PUSH_EXPECTED, ShowState
from engine.loop.stats import FrameStats
from engine.loop.waiting import when_ready
from engine.outputs.base import Output, Outputs
from engine.outputs.display import Display, HeadlessDisplay
from engine.outputs.feedback import FeedbackOutput
from engine.outputs.followers import MARGIN, FollowerRelay
from engine.outputs.health import HealthOutput
from engine.outputs.health_server import HealthServer
from engine.outputs.notify import SystemdNotify
from engine.outputs.progress import ProgressOutput
from engine.outputs.recorder import RecorderOutput
from engine.outputs.preview import TerminalPreview
from engine.outputs.snapshots import SnapshotOutput
from engine.outputs.stats_panel import StatsPanelOutput, stats_lines
from engine.record.codecs import Delivery
from engine.record.sinks import RecordError
from engine.render.context import is_software
from engine.show import Show, ShowError, Timeline
from engine.show.anchor import show_time_at
from engine.show.registry import Registry
from engine.show.reload import ShowWatcher
from engine.stopping import STOPPED_EARLY, signals_restored

log = logging.getLogger(__name__)
LOOKAHEAD_SECONDS = 0.5
FADE_OUT = 0.5  # seconds to black when the show is stopped (SIGTERM, Ctrl-C)


@dataclass(frozen=True)
class RenderReport:
    """What an offline render produced, for the CLI and the benchmarks."""

    output: Path
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class _Build:
    """The parts every run shares, before its own outputs and inputs are added."""

    program: Program
    display: Display
    fps: Fraction
    exact: bool
    image_exit: int | None = None  # the image exit to generate; None: chosen here (see generators.ladder)
    state: ShowState = field(init=False)
    runahead: RunAhead = field(init=False)
    compositor: Compositor = field(init=False)

    def make(self, source: FrameSource, start: float, rate: Fraction | None, end: int | None = None,
             speed: float = 1.0) -> Fraction:
        """Build state, worker and compositor; ``rate`` None measures the generator to pick one
        for a show running at ``speed``; ``end`` is the tick the run stops at (an exact run
        makes nothing beyond it)."""
        lookahead = max(2, round(LOOKAHEAD_SECONDS * self.fps))
        generator = self.program.generator
        self.runahead = RunAhead(generator, lambda: self.state.plan, lookahead, self.exact, end=end)
        if len(generator.resolutions) > 1 and self.program.spec.detail is None and self.image_exit is None:
            if self.exact:
                w, h = self.display.size
                generator.use_resolution(exit_covering(generator.resolutions,
                                                       shown_pixels(w, h, self.program.settings.fit)))
            elif rate is None:
                generator.use_resolution(exit_keeping_up(generator.resolutions, self._measured_rate(speed))[0])
            log.info("generating the model's %d-px exit (of %s)", generator.resolution,
                     ", ".join(map(str, generator.resolutions)))
        elif self.image_exit is not None:
            generator.use_resolution(self.image_exit)
        if rate is None:
            try:
                rate = starting_rate(self.fps, 1.0 / self.runahead.calibrate(), speed)
            except (RuntimeError, ValueError) as exc:  # weights that load but cannot make a frame
                raise ModelError(self.program.generator.card.name,
                                 f"cannot make a frame ({str(exc).splitlines()[0][:160]})") from None
        self.state = ShowState(source, self.program.dim, ShowClock(self.fps, start, rate), self.runahead,
                               self.program.generator.has_input_transform)
        w, h = self.display.size
        settings = replace(self.program.settings, width=w, height=h)
        self.compositor = Compositor(self.display.ctx, settings, (self.program.generator.resolution,) * 2,
                                     self.program.style, self.fps)
        return rate

    def _measured_rate(self, speed: float) -> Callable[[int], Fraction]:
        def rate_at(pixels: int) -> Fraction:
            self.program.generator.use_resolution(pixels)
            seconds = seconds_per_frame(self.program.generator, 1, 2)
            log.info("the %d-px exit makes %.1f faces/s", pixels, 1.0 / seconds)
            return starting_rate(self.fps, 1.0 / seconds, speed)

        return rate_at


def _show_loader(program: Program, folder: Path | None, intake: CommandIntake,
                 registry: Registry | None, owner: RunAhead) -> ShowLoader:
    """/vernissage/show/load: shows from ``folder``, else the show's own folder, else shows/."""
    root = shows_folder(folder, program.show)

    def build(path: Path, name: str) -> ShowLoaded:
        show = load_checked_show(path)
        if program.show is not None and show.settings.model != program.show.settings.model:
            log.warning("%s asks for model %s; it plays on %s (models do not change live)", path.name,
                        show.settings.model, program.generator.card.name)
        playing = program.show is not None and path == program.show.path.resolve()
        portraits = registry.sequence if registry is not None and playing else None
        # the show that is playing goes on where it is: no portrait comes back
        return ShowLoaded(name, program.timeline(show, portraits, owner.errand), None if playing else 0.0)

    return ShowLoader(root, build, intake.post)


def _bindings(program: Program, control: ControlOptions) -> list[Binding]:
    bindings: list[Binding] = []
    if program.show is not None:
        bindings += load_bindings(program.show.path)
    if control.bindings is not None:
        bindings += load_bindings(control.bindings)
    return bindings


def _quit_on_signals(loop: FrameLoop, housekeeping: Housekeeping | None = None) -> None:
    """SIGTERM (systemd stop, kill) and Ctrl-C end the show cleanly: live, after a short fade to
    black; recordings closed, registry saved, exit 0. SIGHUP reads the show file again."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, frame: loop.quit(fade=FADE_OUT))
    if STOPPED_EARLY.is_set():  # asked while the show was starting (engine.stopping)
        loop.quit()
    if housekeeping is not None:
        signal.signal(signal.SIGHUP, lambda signum, frame: housekeeping.reload())


def _summary(loop: FrameLoop, build: _Build, recorder: RecorderOutput, intake: CommandIntake) -> dict[str, Any]:
    stats = loop.parts.stats
    return {**stats.summary(), "generator_fps": round(build.runahead.network_rate(), 1),
            "cadence": loop.parts.pacer.cadence, "ticks": loop.ticks,
            "keyframe_rate": float(build.state.clock.latest.keyframe_rate), "size": list(build.display.size),
            "renderer": build.display.ctx.info["GL_RENDERER"], "model": build.program.generator.card.name,
            "device": build.program.generator.describe(), "recordings": recorder.recordings,
            "control": intake.counters(), **intake.latency_summary(float(build.fps))}


class LiveRun:
    """``vernissage play``, built and ready to run: its loop, state, server and outputs are here
    for the tests and benchmarks that drive a live show."""

    def __init__(self, program: Program, options: PlayOptions, control: ControlOptions, display: Display,
                 wall: Callable[[], dt.datetime] | None = None) -> None:
        """``wall``: the wall clock opening hours follow (tests pass their own; default the real one)."""
        refresh = getattr(display, "refresh_rate", None)
        fps = options.fps or Fraction(refresh or 60).limit_denominator(1001)
        self.options = options
        source, registry, start, anchor = program.source, None, options.start, None
        if program.show is not None and isinstance(source, Timeline):
            show = program.show
            registry = Registry.for_show(show.path, show.settings.seed, program.dim, source.portraits.min_distance)
            source = program.timeline(show, registry.sequence)
            if show.settings.anchor is not None and start is None:
                anchor = lambda: show_time_at(show, dt.datetime.now().astimezone()) or 0.0  # noqa: E731
                start = anchor()
            elif start is None:
                start = registry.show_time
        start = start or 0.0
        self.build = build = _Build(program, display, fps, exact=False)
        driven = options.audio is not None and options.reactivity > 0.0  # the music's pushes: PUSH_EXPECTED
        rate = build.make(source, start, options.keyframes, speed=PUSH_EXPECTED if driven else 1.0)
        log.info("generator makes %.1f faces/s; keyframes at %g/s of show time%s", build.runahead.network_rate(),
                 float(rate), "" if rate >= fps else " (blended in between)")
        bindings = _bindings(program, control)
        setup = Setup(options, display, fps, tuple(bindings))
        self.inputs = plugins.build(plugins.INPUTS, setup)
        heard = self.inputs.get("audio")
        self.server = None
        if control.osc is not None:
            self.server = OscServer(control.host, control.osc, control.allow, bindings, control.feedback,
                                    control.learn)
        record = _performance_log(control, {"program": program.spec.to_json(), "fps": rate_text(fps),
                                            "keyframe_rate": rate_text(rate), "start": start,
                                            "exit": program.generator.resolution,
                                            "size": list(display.size),
                                            "shows": str(control.shows) if control.shows else None,
                                            "torch_threads": torch.get_num_threads(),
                                            "audio": heard.source.name if isinstance(heard, AudioInput) else None})
        self.recorder = RecorderOutput(display.ctx, fps, display.size, display.flipped, options.recordings,
                                       options.record, max_bytes=options.recordings_max_bytes)
        outputs: list[Output] = [self.recorder, SnapshotOutput(options.snapshots, display.size, display.flipped),
                                 *plugins.build(plugins.OUTPUTS, setup).values()]
        self.health = HealthOutput(lambda: self.loop.facts(), missed_share_limit=options.missed_share_limit)
        self.notify = SystemdNotify(self.health)
        outputs += [self.health, self.notify]
        self.health_server = HealthServer(*options.health, self.health.current) if options.health else None
        relay = None
        if options.followers:
            relay = FollowerRelay(options.followers, options.follower_margin or MARGIN)
            if options.follower_margin is None:
                relay.measure_margin(float(fps))
        self.intake = intake = CommandIntake(build.state, server=self.server, keys=display.keys, record=record,
                                             sources=tuple(self.inputs.values()), relay=relay)
        intake.loader = _show_loader(program, control.shows, intake, registry, build.runahead)
        housekeeping = None
        if program.show is not None:
            adjust = program.adjust or (lambda s: s)
            portraits = registry.sequence if registry is not None else None

            def rebuild(show: Show) -> FrameSource:
                return program.timeline(adjust(show), portraits, build.runahead.errand)

            housekeeping = Housekeeping(ShowWatcher(program.show.path, load_checked_show), rebuild, intake.post,
                                        registry)
        policy = None if options.keyframes else KeyframeRatePolicy(fps, rate)
        opening = OpeningHours(program.show.schedule if program.show is not None else None)
        parts = LoopParts(display, DisplayPacer(float(fps), display.vsync), build.state, build.runahead,
                          build.compositor, Outputs(outputs), intake, FrameStats(float(fps)), housekeeping, policy,
                          self.recorder, anchor, opening)
        if wall is not None:
            parts.wall = wall
        self.housekeeping = housekeeping
        self.loop = FrameLoop(parts, None if options.duration is None else round(options.duration * fps), exact=False,
                              seconds=options.duration)
        preview = options.preview and sys.stdout.isatty()
        if options.preview and not preview:
            log.warning("--preview draws in the terminal the show was started from, and stdout is not one: ignored")
        if preview:  # the picture and the stats in the terminal; the display shows only the picture
            outputs.append(TerminalPreview(display.ctx, display.size, display.flipped,
                                           lambda tick: _panel_lines(self.loop, tick), sys.stdout))
        elif options.stats:
            outputs.append(StatsPanelOutput(lambda tick: _panel_lines(self.loop, tick), display.size[1],
                                            display.flipped))
        if self.server is not None:
            outputs.append(FeedbackOutput(self.server))

    @property
    def state(self) -> ShowState:
        return self.build.state

    def run(self) -> dict[str, Any]:
        """Play until quit, --duration or a signal; returns the stats summary."""
        if self.server is not None:
            self.server.start()
        if self.health_server is not None:
            self.health_server.start()
        if self.options.record:
            self.recorder.start(self.options.record)
        try:
            with signals_restored():
                _quit_on_signals(self.loop, self.housekeeping)
                self.loop.run()
        finally:
            if self.health_server is not None:
                self.health_server.close()
            for source in self.inputs.values():
                source.close()
        summary = _summary(self.loop, self.build, self.recorder, self.intake)
        if self.options.stats_json:
            self.options.stats_json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return summary


def play(program: Program, options: PlayOptions, control: ControlOptions, display: Display) -> dict[str, Any]:
    """Play live on ``display`` until quit, --duration or a signal; returns the stats summary."""
    process.configure(program.generator.placement, live=True, software_gl=is_software(display.ctx))
    return LiveRun(program, options, control, display).run()


def play_when_ready(spec: ProgramSpec, options: PlayOptions, control: ControlOptions, display: Display,
                    fallback: Path | None = None) -> dict[str, Any] | None:
    """Play as soon as the show can start: until then ``display`` stays black (or shows
    ``fallback``), unhealthy, and the show is tried again every few seconds (never a desktop).
    None when stopped before it could start."""

    def start() -> LiveRun:
        program = resolve(spec)
        process.configure(program.generator.placement, live=True, software_gl=is_software(display.ctx))
        return LiveRun(program, options, control, display)

    live = when_ready(start, (ModelError, ShowError, BindingError, AudioError, OSError), display, options.health,
                      fallback)
    return None if live is None else live.run()


def _panel_lines(loop: FrameLoop, tick: int) -> list[str]:
    p = loop.parts
    segment = p.state.clock.segment_at(tick)
    recording = p.recorder.recording if p.recorder is not None else ""
    return stats_lines(p.stats.summary(), p.state.clock.time_at(tick), segment.resume_speed, segment.speed == 0.0,
                       float(segment.keyframe_rate), recording)


def _performance_log(control: ControlOptions, header: dict[str, Any]) -> PerformanceLog | None:
    path = control.performance_log
    if path is None and control.osc is not None:
        folder = Path("performances")
        prune_logs(folder, LOGS_KEPT - 1)
        path = folder / f"{dt.datetime.now():%Y%m%d-%H%M%S}.jsonl"
    return PerformanceLog(path, header) if path is not None else None


def _exact(program: Program, display: Display, fps: Fraction, start: float, rate: Fraction, output: Path,
           frames: int, progress: bool, replay: RecordedPerformance | None = None, shows: Path | None = None,
           delivery: Delivery = Delivery(), audio: AudioInput | HeardAudio | None = None,
           image_exit: int | None = None, first: int = 0) -> tuple[FrameLoop, _Build, RecorderOutput, CommandIntake]:
    """An exact loop (offline render, replay) that records ticks ``first`` to ``frames`` to
    ``output``; ``image_exit``: the image exit the live run generated (a replay makes the same
    pictures)."""
    build = _Build(program, display, fps, exact=True, image_exit=image_exit)
    build.make(program.source, start, rate, end=frames)
    recorder = RecorderOutput(display.ctx, fps, display.size, display.flipped, exact=True, delivery=delivery)
    recorder.start(output)
    intake = CommandIntake(build.state, replay=replay, sources=(audio,) if audio is not None else ())
    if replay is not None:
        intake.loader = _show_loader(program, shows, intake, None, build.runahead)
    parts = LoopParts(display, ExactPacer(float(fps), first=first), build.state, build.runahead, build.compositor,
                      Outputs([recorder, ProgressOutput(frames - first, output.name, progress)]), intake,
                      FrameStats(float(fps)), recorder=recorder)
    return FrameLoop(parts, frames, exact=True), build, recorder, intake


def render(program: Program, output: Path, frames: int, start: float = 0.0, progress: bool = True,
           delivery: Delivery = Delivery(), audio: Path | None = None, reactivity: float = 1.0,
           first: int = 0, heard_audio: HeardAudio | None = None) -> RenderReport:
    """Render ``frames`` frames from show time ``start``: frame i is the show at start + i / fps,
    however long it takes. ``audio``: a track the show reacts to (frame i hears it up to i / fps)
    and that is muxed beside the frames. ``first``: write frames ``first`` to ``frames`` only,
    each equal to that frame of the whole render (a render farm's chunk, which hears
    ``heard_audio``, the client's analysis, instead of a track). Raises RecordError (one line,
    naming the partial file) when writing fails, AudioError when the track cannot be read."""
    began = time.perf_counter()
    heard: AudioInput | HeardAudio | None = heard_audio
    if audio is not None:
        bindings = load_bindings(program.show.path) if program.show is not None else []
        heard = AudioInput(FileAudio(audio), program.fps, reactivity, bindings)
        delivery = replace(delivery, soundtrack=audio)
    display = HeadlessDisplay((program.settings.width, program.settings.height))
    process.configure(program.generator.placement, live=False, software_gl=is_software(display.ctx))
    try:
        loop, _, recorder, _ = _exact(program, display, program.fps, start, program.fps, output, frames, progress,
                                      delivery=delivery, audio=heard, first=first)
        with signals_restored():
            _quit_on_signals(loop)
            loop.run()
    finally:
        display.close()
        if heard is not None:
            heard.close()
    made = recorder.recordings[-1] if recorder.recordings else {"frames": 0, "stopped_because": "nothing written"}
    if made["stopped_because"] or made["frames"] != frames - first:
        reason = str(made["stopped_because"] or "interrupted").removeprefix(f"{output}: ")
        raise RecordError(f"{output}: incomplete, {made['frames']} of {frames - first} frames in the file ({reason})")
    return RenderReport(output, made["frames"], time.perf_counter() - began)


def logged_program(log_path: Path, performance: RecordedPerformance) -> ProgramSpec:
    """What the performance played, from its log's header; ShowError (file:1) when it cannot be."""
    try:
        return ProgramSpec.from_json(performance.header["program"])
    except (TypeError, ValueError) as exc:
        raise ShowError(log_path, 1, f"the header's program cannot be played ({exc})") from None


def replay_exit(header: dict[str, Any], size: tuple[int, int] | None, resolutions: tuple[int, ...]) -> int | None:
    """The image exit a replay generates: at the live size the one the live run did (its frames
    come out bit-identical); at another size (a 4K master of a 720p set) None, so the exit that
    covers the new size is chosen: the same faces, sharp."""
    played = header.get("exit")
    same_size = size is None or list(size) == header.get("size")
    return played if same_size and isinstance(played, int) and played in resolutions else None


def replay(log_path: Path, output: Path, size: tuple[int, int] | None = None, progress: bool = True,
           delivery: Delivery = Delivery(), first: int = 0, end: int | None = None,
           spec: ProgramSpec | None = None, shows: Path | None = None) -> dict[str, Any]:
    """Render the performance in ``log_path`` to ``output``: every tick, as planned (what the
    show heard is in the log; ``delivery.soundtrack`` only muxes a track beside it). ``first``,
    ``end``: only those ticks (a render farm's chunk); ``spec``, ``shows``: the program to play
    and the folder shows were loaded from, instead of the header's (a farm worker's own paths to
    the same show, model and shows)."""
    performance = read_performance(log_path)
    header = performance.header
    program = resolve(spec or logged_program(log_path, performance))
    display = HeadlessDisplay(tuple(size or header["size"]))  # type: ignore[arg-type]
    threads = header.get("torch_threads")  # the live run's: a face's last bit may depend on it
    process.configure(program.generator.placement, live=False, software_gl=is_software(display.ctx),
                      threads=threads if isinstance(threads, int) and 0 < threads <= 1024 else None)
    if shows is None and header.get("shows"):
        shows = Path(header["shows"])
    try:
        image_exit = replay_exit(header, size, program.generator.resolutions)
        loop, build, recorder, intake = _exact(program, display, performance.fps, float(header["start"]),
                                               performance.keyframe_rate, output, end or performance.end, progress,
                                               replay=performance, shows=shows, delivery=delivery, image_exit=image_exit,
                                               first=first)
        with signals_restored():
            _quit_on_signals(loop)
            loop.run()
        return _summary(loop, build, recorder, intake)
    finally:
        display.close()
