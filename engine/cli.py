"""The ``vernissage`` command: render, play, check, bench and models."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from engine.composition import TextStyle
from engine.control.bindings import BindingError
from engine.control.options import add_osc_command, add_osc_options
from engine.control.performance_log import PerformanceLogError
from engine.frames import WALKS, FrameSource, WalkSource, make_walk
from engine.generators import DEFAULT_MODEL, Generator, ModelError, available_models, load_generator, model_dirs
from engine.record import RecordError
from engine.render import Look, RenderContextError, RenderSettings, parse_size
from engine.show import Show, ShowError, Timeline, load_show
from engine.show.clock import show_time_at

DEFAULT_SHOW = Path(__file__).resolve().parents[1] / "shows" / "never_existed.toml"

log = logging.getLogger("vernissage")


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fps(text: str) -> Fraction:
    try:
        value = Fraction(text).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"fps {text!r} is not a number (e.g. 30, 29.97, 60)") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"fps {text} is out of range (0, 1000]")
    return value


def _datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date-time like 2026-12-03T14:00:00") from None


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def add_output_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that draws frames."""
    p.add_argument("--model", default=None, help=f"model name or path (default {DEFAULT_MODEL})")
    p.add_argument("--size", type=_size, default=None, help="output WxH (default: the show's, else 1920x1080)")
    p.add_argument("--fps", type=_fps, default=None, help="frames per second (default: the show's, else 30)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the show's, else 0)")
    p.add_argument("--walk", choices=WALKS, default=None,
                   help="what plays when no show is given: loop, noise or wander (default wander)")
    p.add_argument("--period", type=_positive, default=12.0, help="loop period in seconds (default 12)")
    p.add_argument("--speed", type=_positive, default=0.25, help="wander: new faces per second (default 0.25)")
    p.add_argument("--fit", choices=("contain", "cover"), default=None,
                   help="contain: letterbox the square image; cover: fill and crop (default: the show's)")
    p.add_argument("--filter", choices=("lanczos", "bicubic"), default="lanczos")
    p.add_argument("--detail", type=int, default=None,
                   help="longest side the image is resampled at before a bilinear step to output size "
                        "(default 4x the model's resolution, never below it; 0 = Lanczos all the way)")
    p.add_argument("--grain", type=float, default=None, help="film grain strength, e.g. 0.03 (default: the show's)")
    p.add_argument("--vignette", type=float, default=None, help="vignette strength 0..1 (default: the show's)")
    p.add_argument("--truncation", type=float, default=None, help="truncation psi, 1 = none (default: the show's)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if present, else cpu)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vernissage", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render frame-exactly to PNG frames or a video file")
    render.add_argument("show", nargs="?", type=Path,
                        help=f"show script (default {DEFAULT_SHOW.name} unless --walk is given)")
    render.add_argument("-o", "--output", required=True, type=Path,
                        help="a directory (PNG frames), or .mp4 (H.264), .mov (ProRes 4444), .mkv (FFV1)")
    length = render.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=_positive, help="duration in seconds")
    length.add_argument("--frames", type=int, help="exact number of frames")
    start = render.add_mutually_exclusive_group()
    start.add_argument("--start", type=float, default=0.0, help="show time of the first frame")
    start.add_argument("--at", type=_datetime, default=None,
                       help="start where an anchored show is at this wall time, e.g. 2026-12-03T14:00:00")
    render.add_argument("--no-progress", action="store_true", help="no progress bar")
    render.add_argument("--replay", type=Path, default=None, metavar="LOG",
                        help="render a live performance from its log (play --performance-log), frame-exact; "
                             "--size may change the resolution")
    add_output_options(render)

    play = sub.add_parser("play", help="play live in a window (or headless) at the display's frame rate")
    play.add_argument("show", nargs="?", type=Path,
                      help=f"show script (default {DEFAULT_SHOW.name} unless --walk is given)")
    play.add_argument("--fullscreen", action="store_true", help="fullscreen on --display, cursor hidden")
    play.add_argument("--display", type=int, default=0, help="monitor number for the window (default 0)")
    play.add_argument("--headless", action="store_true",
                      help="no window: an offscreen EGL surface paced by the clock (servers, recording nodes)")
    play.add_argument("--record", type=Path, default=None,
                      help="record every shown frame from the start: a directory (PNG) or .mp4/.mov/.mkv")
    play.add_argument("--stats", action="store_true", help="overlay fps, frame-time p50/p99 and missed frames")
    play.add_argument("--stats-json", type=Path, default=None, help="write the final stats here as JSON")
    play.add_argument("--duration", type=_positive, default=None, help="quit after this many seconds")
    play.add_argument("--start", type=float, default=None,
                      help="show time to start at (default: the anchor's wall-clock time, else where "
                           "the registry says the show was, else 0)")
    play.add_argument("--keyframes", type=_positive, default=None,
                      help="generated frames per second of show time (default: the display rate if the "
                           "generator keeps up, else a fraction of it, blended in between)")
    play.add_argument("--snapshots", type=Path, default=Path("snapshots"), help="folder for S snapshots")
    add_output_options(play)
    add_osc_options(play)

    check = sub.add_parser("check", help="validate a show script without rendering")
    check.add_argument("show", type=Path)

    bench = sub.add_parser("bench", help="measure generator and offline render speed against a naive baseline")
    bench.add_argument("--frames", type=int, default=60, help="frames per measurement (default 60)")
    bench.add_argument("--size", type=_size, default=(1920, 1080))
    bench.add_argument("--model", default=DEFAULT_MODEL)
    bench.add_argument("--json", type=Path, help="also write the figures as JSON here")
    bench.add_argument("--live", action="store_true",
                       help="measure the live player instead: headless play at 720p, 1080p and 720p recording")
    bench.add_argument("--seconds", type=_positive, default=60.0, help="--live/--osc: seconds per run (default 60)")
    bench.add_argument("--osc", action="store_true",
                       help="measure OSC latency instead: message sent -> first frame showing it, at 720p")

    add_osc_command(sub)

    models = sub.add_parser("models", help="list available models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("list", help="models found by name, with their cards")
    importing = models_sub.add_parser("import", help="convert a checkpoint (.pt, .pkl, .safetensors) to models/NAME")
    importing.add_argument("file", type=Path, help="rosinality .pt, NVIDIA .pkl, DCGAN checkpoint or safetensors")
    importing.add_argument("name", help="name to load it by, e.g. my-faces-256")
    importing.add_argument("--into", type=Path, default=None,
                           help="models folder to write to (default: the first of the model folders)")
    return parser


@dataclass(frozen=True)
class Program:
    """What to play, resolved from a show script or the walk flags (flags override the show)."""

    source: FrameSource
    generator: Generator
    fps: Fraction
    settings: RenderSettings
    style: TextStyle
    length: float | None  # natural length in seconds: one period, one pass of the show, or None
    show: Show | None = None
    adjust: Callable[[Show], Show] | None = None  # the command line's overrides, for reloaded shows


def _check_show(path: Path) -> Show:
    return load_show(path, known_models=[c.name for c in available_models()])


def resolve_program(args: argparse.Namespace) -> Program:
    """The source, generator and output settings that ``args`` ask for."""
    if args.walk and args.show:
        raise ShowError(args.show, 1, "give a show or --walk, not both")
    show = None if args.walk else _check_show(args.show or DEFAULT_SHOW)
    base = show.settings if show else None
    model = args.model or (str(_model_path(show)) if show else DEFAULT_MODEL)
    generator = load_generator(model, device=args.device)
    log.info("model %s on %s", generator.card.name, generator.placement.describe())
    fps = args.fps or Fraction(base.fps if base else 30).limit_denominator(1001)
    width, height = args.size or (base.size if base else (1920, 1080))
    fit = args.fit or (base.fit if base else "contain")
    settings = RenderSettings(width, height, fit=fit, filter=args.filter, detail=args.detail)
    look_flags = {k: v for k, v in (("grain", args.grain), ("vignette", args.vignette)) if v is not None}
    if show is None:
        seed = 0 if args.seed is None else args.seed
        path = make_walk(args.walk, seed, generator.z_dim, args.period, args.speed)
        psi = 1.0 if args.truncation is None else args.truncation
        return Program(WalkSource(path, Look(**look_flags), psi), generator, fps, settings, TextStyle(), path.period)
    overrides = {k: v for k, v in (("seed", args.seed), ("truncation", args.truncation)) if v is not None}

    def adjust(loaded: Show) -> Show:
        return replace(loaded, settings=replace(loaded.settings, **overrides), look=replace(loaded.look, **look_flags))

    show = adjust(show)
    timeline = Timeline(show, generator.z_dim)
    length = timeline.period or (timeline.duration if math.isfinite(timeline.duration) else None)
    return Program(timeline, generator, fps, settings, TextStyle(show.caption), length, show, adjust)


def _model_path(show: Show) -> str | Path:
    local = show.path.parent / show.settings.model
    return local if local.exists() else show.settings.model


def cmd_render(args: argparse.Namespace) -> int:
    from engine.offline import render_offline

    if args.replay is not None:
        from engine.live.launch import replay

        summary = replay(args.replay, args.output, args.size)
        log.info("replayed %d frames to %s", summary["frames"], args.output)
        return 0

    program = resolve_program(args)
    fps = program.fps
    start = args.start
    if args.at is not None:
        at = show_time_at(program.show, args.at) if program.show else None
        if at is None:
            log.error("--at needs a show with an 'anchor' in its [show] table")
            return 2
        start = at
    if args.frames is not None:
        frames = args.frames
    elif args.seconds is not None:
        frames = round(args.seconds * fps)
    else:  # one period (a seamless video loop) or one pass of the show; 10 s of an endless one
        frames = round((program.length or 10.0) * fps)
    report = render_offline(program.source, program.generator, program.settings, args.output, frames, fps,
                            start=start, progress=not args.no_progress, style=program.style)
    log.info("wrote %d frames to %s in %.1f s (%.1f frames/s)", report.frames, report.output,
             report.seconds, report.fps)
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    from engine.live.display import HeadlessDisplay, WindowDisplay
    from engine.live.launch import play

    program = resolve_program(args)
    size = args.size or (program.settings.width, program.settings.height)
    display = HeadlessDisplay(size) if args.headless else WindowDisplay(args.size, args.fullscreen, args.display)
    try:
        summary = play(args, program, display)
    finally:
        display.close()
    log.info("played %d frames in %.1f s: %.1f fps, p50 %.1f ms, p99 %.1f ms, missed %d", summary["frames"],
             summary["seconds"], summary["fps"], summary["p50_ms"], summary["p99_ms"], summary["missed"])
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    show = _check_show(args.show)
    length = f"{show.duration:g} s" if math.isfinite(show.duration) else "endless"
    print(f"{args.show}: ok ({len(show.cues)} cues, {length}{', loops' if show.settings.loop else ''})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.osc:
        from engine.bench_osc import run_osc_bench

        run_osc_bench(args.model, args.seconds, 60.0, args.json)
        return 0
    if args.live:
        from engine.bench_live import run_live_bench

        run_live_bench(args.model, args.seconds, 60.0, args.json)
        return 0
    from engine.bench import run_offline_bench

    run_offline_bench(args.model, args.size, args.frames, args.json)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    if args.models_command == "import":
        from engine.generators.importer import import_model

        folder = import_model(args.file, args.name, args.into or model_dirs()[0])
        generator = load_generator(folder, device="cpu")
        log.info("imported %s as %s (%s, z %d, %dpx, %d W slots)", args.file, folder,
                 generator.card.architecture, generator.z_dim, generator.resolution, generator.num_ws)
        return 0
    cards = available_models()
    if not cards:
        print("no models found")
    for card in cards:
        print(f"{card.name:24s} {card.architecture:10s} z {card.latent_dim:4d}  {card.resolution}px")
    return 0


def cmd_osc(args: argparse.Namespace) -> int:
    from engine.control.client import send, typed

    wait = args.wait if args.wait is not None else (1.0 if args.address == "/vernissage/status" else 0.0)
    replies = send(args.address, [typed(a) for a in args.args], args.host, args.port, wait)
    for address, values in replies:
        print(address, *values)
    if wait and not replies:
        log.error("no answer from %s:%d within %g s (is vernissage play --osc %d running?)",
                  args.host, args.port, wait, args.port)
        return 1
    return 0


COMMANDS = {"render": cmd_render, "play": cmd_play, "check": cmd_check, "bench": cmd_bench, "models": cmd_models,
            "osc": cmd_osc}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except (ModelError, RecordError, RenderContextError, ShowError, BindingError, PerformanceLogError, OSError) as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.warning("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
