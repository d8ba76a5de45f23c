"""Wiring ``vernissage play`` (live, optionally under OSC control) and ``render --replay``.

Both run the same :class:`~engine.live.player.Player`: a replay is the player in exact mode
on a headless surface, fed the logged commands at their ticks instead of OSC.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from engine.control.addresses import ControlError
from engine.control.options import bindings_for, open_performance_log, open_server
from engine.control.performance_log import read_performance
from engine.frames import FrameSource
from engine.live.control import LiveControl
from engine.live.display import Display, HeadlessDisplay
from engine.live.performance import Performance, shows_loader
from engine.live.player import Player, PlayOptions
from engine.show import ShowError, Timeline, load_show
from engine.show.clock import show_time_at
from engine.show.registry import Registry

log = logging.getLogger(__name__)
REPLAY_IGNORES = ("--osc", "--record", "--stats-json", "--duration", "--performance-log", "--start")


def _show_loader(args: argparse.Namespace, program) -> Callable[[str], FrameSource]:
    """/vernissage/show/load's loader: shows from --shows, else the show's folder, else shows/."""
    folder = args.shows or (program.show.path.parent if program.show else Path("shows"))

    def load(path: Path) -> FrameSource:
        try:
            show = load_show(path)
        except ShowError as exc:
            raise ControlError(f"/vernissage/show/load: {exc}") from None
        if show.settings.model != program.generator.card.name and program.show is not None:
            log.warning("%s asks for model %s; it plays on %s (models do not change live)", path.name,
                        show.settings.model, program.generator.card.name)
        return Timeline(show, program.generator.z_dim)

    return shows_loader(folder, load)


def _replayable_argv(args: argparse.Namespace, program) -> list[str]:
    """The play command line, with the show made absolute and live-only options left out."""
    argv, skip = [], False
    for item in args.argv[args.argv.index("play") + 1:]:
        if skip:
            skip = False
            continue
        name = item.split("=", 1)[0]
        if name in REPLAY_IGNORES or name.startswith("--osc-"):
            skip = "=" not in item and name not in ("--osc-learn",)
            continue
        argv.append(item)
    if program.show is not None:
        argv = [a for a in argv if Path(a).resolve() != program.show.path.resolve()] + [str(program.show.path.resolve())]
    return argv


def play(args: argparse.Namespace, program, display: Display) -> dict:
    fps = float(args.fps or getattr(display, "refresh_rate", None) or 60.0)
    source, registry, start = program.source, None, args.start
    if program.show is not None and isinstance(source, Timeline):
        show = program.show
        registry = Registry.for_show(show.path, show.settings.seed, program.generator.z_dim,
                                     source.portraits.min_distance)
        source = Timeline(show, program.generator.z_dim, registry.sequence)
        if start is None:
            anchored = show_time_at(show, dt.datetime.now().astimezone())
            start = anchored if anchored is not None else registry.show_time
    options = PlayOptions(fps=fps, start=start or 0.0, duration=args.duration, record=args.record,
                          stats=args.stats, stats_json=args.stats_json, keyframes=args.keyframes,
                          snapshots=args.snapshots, recordings=args.recordings)
    bindings = bindings_for(args, program.show.path if program.show else None)
    server = open_server(args, bindings)
    loader = _show_loader(args, program)

    def control(performance: Performance, keyframe_rate: float) -> LiveControl:
        header = {"argv": _replayable_argv(args, program), "fps": fps, "keyframe_rate": keyframe_rate,
                  "start": options.start, "size": list(display.size)}
        record = open_performance_log(args, lambda: header)
        if server is not None:
            server.start()
        return LiveControl(performance, server, record=record)

    player = Player(source, program.generator, program.settings, program.style, display, options,
                    program.show, program.adjust, registry, control, loader)
    _quit_on_signals(player)
    return player.run()


def _quit_on_signals(player: Player) -> None:
    """SIGTERM (systemd stop, kill) and Ctrl-C end the show cleanly: recordings and logs closed."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, frame: player.quit())


def replay(log_path: Path, output: Path, size: tuple[int, int] | None = None) -> dict:
    """Render the performance in ``log_path`` to ``output``: every tick, as planned."""
    from engine.cli import build_parser, resolve_program

    performance = read_performance(log_path)
    header = performance.header
    args = build_parser().parse_args(["play", *header["argv"]])
    args.argv = ["play", *header["argv"]]
    program = resolve_program(args)
    display = HeadlessDisplay(tuple(size or header["size"]))
    options = PlayOptions(fps=float(header["fps"]), start=float(header["start"]), record=output,
                          keyframes=float(header["keyframe_rate"]), exact=True, frames=performance.end)
    loader = _show_loader(args, program)
    try:
        player = Player(program.source, program.generator, program.settings, program.style, display, options,
                        None, None, None, lambda p, _rate: LiveControl(p, replay=performance.commands), loader)
        return player.run()
    finally:
        display.close()
