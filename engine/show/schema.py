"""The show format: typed settings and one typed dataclass per cue kind, validated once at the edge.

A show is TOML data (never code). Every problem is a :class:`ShowError` naming the file and
the line where it is, with what was expected; unknown keys suggest the nearest valid one.
Everything a render or a live show would later trip over is refused here, in bounded time
and memory: non-finite numbers, sizes no GPU holds, caption formats that would print
gigabytes, latent files outside the show's folder or of the wrong size.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

import numpy as np

from engine.frames import Look
from engine.latent.directions import Directions, DirectionsError, load_directions
from engine.latent import EASINGS
from engine.show.errors import ShowError
from engine.show.schedule import Schedule, ScheduleError, parse_hours, parse_timezone
from engine.show.source_map import SourceMap
from engine.tomlread import TomlError, parse_toml

CUE_KINDS = ("portraits", "morph", "loop", "wander", "hold", "fade", "title")
MAX_SIDE = 8192  # output pixels a side: 8K; beyond that a frame no longer fits a GPU's textures
MAX_SECONDS = 1e9  # ~31 years: longer than any exhibition, short enough to stay exact in float
MAX_SEED = 2**63 - 1
MAX_LATENT_FILE = 1 << 20  # bytes of a .npy face: a latent is a few kB
MAX_TEXT = 500  # characters of a title or a formatted caption
LatentDim = Callable[[str], "int | None"]  # model setting -> its latent size (None: unknown)


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080); ValueError with the expected form otherwise."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"size {text!r} is out of range (1..{MAX_SIDE} each)")
    return w, h


def parse_anchor(text: str) -> dt.datetime:
    """An ISO date-time, with a trailing Z for UTC accepted on every Python (3.10 included)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return dt.datetime.fromisoformat(value)


@dataclass(frozen=True)
class Caption:
    """How captions and title cards are drawn."""

    font: Path | None = None  # None: Pillow's bundled default font
    size: int = 40  # caption height in pixels at 1080p (scaled with the output height)
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    position: str = "bottom"  # bottom | top


@dataclass(frozen=True)
class Settings:
    title: str = "untitled"
    model: str = "default"  # engine.generators.catalog.default_model()
    fps: float = 30.0
    size: tuple[int, int] = (1920, 1080)
    seed: int = 0
    loop: bool = True
    truncation: float = 1.0
    fit: str = "contain"
    anchor: str | None = None  # ISO date-time: show time = seconds since then
    exclude: frozenset[int] = frozenset()  # portrait seeds a curator keeps out (`exclude` and `exclude_file`)
    directions: str | None = None  # a directions file whose directions faders reach by index


ADVANCES = ("time", "onset", "beat")  # what starts the change to the next face: the clock, or the music too


# --- one dataclass per cue kind ----------------------------------------------------------------

@dataclass(frozen=True)
class PortraitsCue:
    """Faces never shown before, each held then dissolved into the next."""

    count: int = 12
    hold: float = 6.0
    dissolve: float = 1.5
    caption: str | None = None
    min_distance: float = 0.0
    advance: str = "time"  # or "onset", "beat": the music starts the next dissolve (see ADVANCES)

    @property
    def slot(self) -> float:
        """Seconds from one portrait to the next."""
        return self.hold + self.dissolve

    @property
    def change(self) -> float:
        """Seconds into a slot at which the change to the next face begins."""
        return self.hold


@dataclass(frozen=True)
class MorphCue:
    """Chosen faces, each held, then morphed into the next along a C2 spherical spline.

    ``faces`` holds seeds and the latents of ``.npy`` files, read when the show is loaded.
    """

    faces: tuple[int | np.ndarray, ...] = field(repr=False)
    hold: float = 2.0
    morph: float = 4.0
    easing: str = "smootherstep"
    loop: bool = True
    advance: str = "time"
    space: str = "z"  # "w": the spline runs through the faces' W (StyleGAN2), where morphs are more even

    @property
    def slot(self) -> float:
        return self.hold + self.morph

    @property
    def change(self) -> float:
        return self.hold


@dataclass(frozen=True)
class LoopCue:
    """A seamless loop around a face: a great circle or smooth noise."""

    shape: str = "circle"
    period: float = 12.0
    radius: float = 1.0
    seed: int | None = None
    space: str = "z"  # "w": a closed C2 spline in StyleGAN2's W through the loop's faces at LOOP_KEYS points


@dataclass(frozen=True)
class WanderCue:
    """An endless smooth random walk, ``speed`` new faces a second."""

    speed: float = 0.25
    seed: int | None = None
    space: str = "z"  # "w": the same random control faces, the walk between them in StyleGAN2's W


@dataclass(frozen=True)
class HoldCue:
    """One still face."""

    seed: int | None = None


@dataclass(frozen=True)
class FadeCue:
    """The previous cue continues while fading to a colour."""

    to: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class TitleCue:
    """A text card on a plain colour."""

    text: str
    color: tuple[float, float, float] = (0.0, 0.0, 0.0)


CueSettings = Union[PortraitsCue, MorphCue, LoopCue, WanderCue, HoldCue, FadeCue, TitleCue]


@dataclass(frozen=True)
class StyleMix:
    """Style mixing: fine layers, from W slot ``first_slot`` on, come from ``seed``'s face."""

    seed: int
    first_slot: int


@dataclass(frozen=True)
class SteerValue:
    """How far a cue steers along one axis: a constant, or keyframes spread evenly over the cue
    (linear between them)."""

    axis: str  # a [[vector]]'s name, or "FILE.npz#K"
    keys: tuple[float, ...]

    def at(self, fraction: float) -> float:
        """The value ``fraction`` (0..1) of the way through the cue."""
        return keyed(self.keys, fraction)


def keyed(keys: tuple[float, ...], fraction: float) -> float:
    """Keyframes spread evenly over a cue, linear between them, at ``fraction`` (0..1) of it."""
    if len(keys) == 1:
        return keys[0]
    x = min(1.0, max(0.0, fraction)) * (len(keys) - 1)
    i = min(int(x), len(keys) - 2)
    return keys[i] + (keys[i + 1] - keys[i]) * (x - i)


@dataclass(frozen=True)
class Motion:
    """A cue's input transform (StyleGAN3): ``rotate`` degrees and ``translate`` image widths,
    each a constant or keyframes spread evenly over the cue, plus ``spin`` degrees a second."""

    rotate: tuple[float, ...] = (0.0,)
    translate: tuple[tuple[float, float], ...] = ((0.0, 0.0),)
    spin: float = 0.0

    def at(self, fraction: float, seconds: float) -> tuple[float, tuple[float, float]]:
        """(degrees, (x, y)) ``fraction`` of the way through the cue, ``seconds`` into it."""
        x = keyed(tuple(t[0] for t in self.translate), fraction)
        y = keyed(tuple(t[1] for t in self.translate), fraction)
        return keyed(self.rotate, fraction) + self.spin * seconds, (x, y)


@dataclass(frozen=True)
class Vector:
    """``[[vector]]``: face arithmetic from examples, the mean of ``plus`` minus the mean of
    ``minus`` (seeds or .npy latents), made in the model's space when the model is loaded."""

    name: str
    plus: tuple[int | np.ndarray, ...] = field(repr=False)
    minus: tuple[int | np.ndarray, ...] = field(repr=False)
    line: int = 1


@dataclass(frozen=True)
class Cue:
    """One entry of the timeline: its kind's settings and what every cue shares."""

    settings: CueSettings
    line: int
    duration: float
    transition: float = 0.0
    repeat: int = 1
    name: str = ""
    style: StyleMix | None = None
    steer: tuple[SteerValue, ...] = ()
    motion: Motion | None = None  # turned and shifted (StyleGAN3's input transform)
    tile: tuple[int, int] | None = None  # played only by this screen (column, row) of a video wall

    @property
    def kind(self) -> str:
        return KIND_NAMES[type(self.settings)]

    @property
    def total(self) -> float:
        return self.duration * self.repeat


KIND_NAMES: dict[type, str] = {PortraitsCue: "portraits", MorphCue: "morph", LoopCue: "loop", WanderCue: "wander",
                               HoldCue: "hold", FadeCue: "fade", TitleCue: "title"}


@dataclass(frozen=True)
class Show:
    path: Path
    settings: Settings
    look: Look
    caption: Caption
    cues: tuple[Cue, ...]
    schedule: Schedule | None = None  # opening hours; None: always open
    vectors: tuple[Vector, ...] = ()
    directions: Mapping[str, Directions] = field(default_factory=dict)  # files steered by ("FILE.npz")
    files: tuple[Path, ...] = ()  # what it read from its folder besides itself (a render farm ships them)

    @property
    def duration(self) -> float:
        return sum(c.total for c in self.cues)


# --- validation ---------------------------------------------------------------------------------

Number = (int, float)
_SETTINGS_KEYS = {"title": str, "model": str, "fps": Number, "size": str, "seed": int, "loop": bool,
                  "truncation": Number, "fit": str, "anchor": str, "exclude": list, "exclude_file": str,
                  "directions": str}
MAX_EXCLUDED = 1000  # seeds a show may keep out (engine.show.portraits.SPARES - 1 at most)
MAX_PORTRAIT_SEED = 2**62 - 1  # portrait seeds are in [0, 2^62) (engine.show.portraits)
_LOOK_KEYS = {"exposure": Number, "contrast": Number, "saturation": Number, "brightness": Number,
              "vignette": Number, "grain": Number}
_LOOK_RANGES = {"exposure": (-10.0, 10.0), "contrast": (0.0, 10.0), "saturation": (0.0, 10.0),
                "brightness": (0.0, 10.0), "vignette": (0.0, 1.0), "grain": (0.0, 1.0)}
_CAPTION_KEYS = {"font": str, "size": int, "color": str, "position": str}
_CUE_COMMON = {"kind": str, "name": str, "duration": Number, "transition": Number, "repeat": int,
               "style_seed": int, "style_from": int, "steer": dict, "rotate": (int, float, list),
               "translate": list, "spin": Number, "tile": list}
MAX_WALL_SIDE = 16  # screens a side of a video wall (engine.render.settings.MAX_WALL, which sits above shows)
_VECTOR_KEYS = {"name": str, "plus": list, "minus": list}
MAX_STEER = 10.0  # steering values within +-this (engine.latent.steering.MAX_VALUE)
MAX_ROTATE = 36_000.0  # degrees either way: a hundred turns over a cue
MAX_SPIN = 3600.0  # degrees a second: ten turns (faster only flickers)
MAX_TRANSLATE = 10.0  # image widths either way: far past the edge
AXIS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$")  # also an OSC address part: /vernissage/steer/NAME
_CUE_KEYS: dict[str, dict[str, Any]] = {
    "portraits": {"count": int, "hold": Number, "dissolve": Number, "caption": str, "min_distance": Number,
                  "advance": str},
    "morph": {"faces": list, "hold": Number, "morph": Number, "easing": str, "loop": bool, "advance": str,
              "space": str},
    "loop": {"shape": str, "period": Number, "radius": Number, "seed": int, "space": str},
    "wander": {"speed": Number, "seed": int, "space": str},
    "hold": {"seed": int},
    "fade": {"to": str},
    "title": {"text": str, "color": str},
}
_SCHEDULE_KEYS = {"timezone": str, "hours": list, "closed": list, "fade": Number, "on_open": list, "on_close": list}
# [[binding]] tables are OSC bindings, read and checked by engine.inputs.bindings
_TABLES = {"show": _SETTINGS_KEYS, "look": _LOOK_KEYS, "caption": _CAPTION_KEYS, "schedule": _SCHEDULE_KEYS,
           "cue": None, "binding": None, "vector": None}
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list"}
_FORMAT_SPEC = "[[fill]align][sign][0][width up to 2 digits][,|_][d|x|X|o|b]"


def _nearest(word: str, options: list[str] | tuple[str, ...]) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else f" (expected one of: {', '.join(sorted(options))})"


def _type_name(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return "a number" if float in kinds else _TYPE_NAMES[kinds[0]]


def parse_color(text: str) -> tuple[float, float, float] | None:
    """'#rrggbb', 'black' or 'white' -> RGB in 0..1; None if not a colour."""
    names = {"black": "#000000", "white": "#ffffff"}
    text = names.get(text.lower(), text)
    if len(text) == 7 and text[0] == "#" and all(c in string.hexdigits for c in text[1:]):
        return tuple(int(text[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]
    return None


def caption_problem(template: str) -> str | None:
    """Why ``template`` cannot be a caption (None if it can): fields {n} and {seed} only, with
    format specs whose output stays short (``{n:>3000000000}`` would print gigabytes)."""
    if len(template) > MAX_TEXT:
        return f"it is {len(template)} characters; at most {MAX_TEXT}"
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return str(exc)
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in ("n", "seed"):
            return f"unknown field {{{name}}}"
        if conversion is not None or not _spec_is_short(spec or ""):
            return f"format {{{name}:{spec}}} is not {_FORMAT_SPEC}"
    return None


def _spec_is_short(spec: str) -> bool:
    return re.fullmatch(r"(.?[<>=^])?[+\- ]?0?\d{0,2}[,_]?[dxXob]?", spec) is not None


class _Parser:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.folder = path.resolve().parent
        self.map = SourceMap(text)
        self.read: list[Path] = []  # files named by the show, inside its folder

    def fail(self, section: str, index: int, key: str | None, message: str) -> ShowError:
        return ShowError(self.path, self.map.line(section, index, key), message)

    def check_keys(self, table: dict[str, Any], allowed: dict[str, Any], section: str, index: int, where: str) -> None:
        for key, value in table.items():
            if key not in allowed:
                raise self.fail(section, index, key, f"unknown key '{key}' in {where}{_nearest(key, list(allowed))}")
            kind = allowed[key]
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
                got = type(value).__name__.replace("str", "string").replace("int", "integer")
                raise self.fail(section, index, key, f"'{key}' must be {_type_name(kind)}, got {got} {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(section, index, key, f"'{key}' must be a finite number, got {value}")
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SEED:
                raise self.fail(section, index, key, f"'{key}' is out of range, got {value}")

    def number(self, table: dict[str, Any], key: str, section: str, index: int, default: float | None = None,
               low: float = 0.0, high: float = MAX_SECONDS, allow_low: bool = False, what: str = "") -> float:
        """A number in (low, high] (or [low, high] with ``allow_low``); ``default`` when absent."""
        if key not in table:
            if default is None:
                raise self.fail(section, index, None, f"missing '{key}'{what or ' (a positive number of seconds)'}")
            return default
        value = float(table[key])
        if value < low or (value == low and not allow_low) or value > high:
            if low > 0.0 and high < MAX_SECONDS:
                bound = f"between {low:g} and {high:g}"
            elif value > high:
                bound = f"at most {high:g}"
            elif low == 0.0:
                bound = "zero or more" if allow_low else "greater than zero"
            else:
                bound = f"{'at least' if allow_low else 'greater than'} {low:g}"
            raise self.fail(section, index, key, f"'{key}' must be {bound}, got {table[key]}")
        return value

    def inside(self, name: str, section: str, index: int, key: str, what: str) -> Path:
        """``name`` as a file inside the show's folder; never a path out of it."""
        path = (self.folder / name).resolve()
        if Path(name).is_absolute() or not path.is_relative_to(self.folder):
            raise self.fail(section, index, key, f"{what} '{name}' must be a file inside the show's folder")
        if not path.is_file():
            raise self.fail(section, index, key, f"{what} '{name}' not found (relative to the show file)")
        self.read.append(path)
        return path


def check_model_fits(show: Show, has_w_space: bool, has_input_transform: bool) -> None:
    """ShowError at the cue that asks the model for what it cannot do: a morph in W of a model
    whose W is z itself, a turn or shift of one without an input transform."""
    for cue in show.cues:
        if not has_w_space and getattr(cue.settings, "space", "z") == "w":
            raise ShowError(show.path, cue.line, "space = 'w' needs a model with a W space (a StyleGAN); this "
                                                 "one has only z (a DCGAN, a ProGAN: its W is z itself)")
        if not has_input_transform and cue.motion is not None:
            raise ShowError(show.path, cue.line, "rotate, translate and spin need a model with an input "
                                                 "transform (StyleGAN3); this one has none")


def load_show(path: str | Path, latent_dim: LatentDim | None = None) -> Show:
    """Parse and validate the show at ``path``.

    Args:
        latent_dim: the model setting -> its latent size, or raises LookupError with one line
            when there is no such model; None skips the model checks (a show read on its own).
    """
    path = Path(path)
    try:
        if path.stat().st_size > 1 << 20:
            raise ShowError(path, 1, "the file is over 1 MB; a show script is a few kB of TOML")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShowError(path, 1, "show file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ShowError(path, 1, f"cannot read show file ({reason})") from None
    try:
        data = parse_toml(text)
    except TomlError as exc:
        raise ShowError(path, exc.line, f"invalid TOML: {exc.reason}") from None
    return _build(_Parser(path, text), data, latent_dim)


def _build(p: _Parser, data: dict[str, Any], latent_dim: LatentDim | None) -> Show:
    for name, value in data.items():
        if name not in _TABLES:
            raise p.fail(name, 0, None, f"unknown table '{name}'{_nearest(name, list(_TABLES))}") \
                if isinstance(value, (dict, list)) else \
                p.fail("", 0, name, f"unknown top-level key '{name}'; settings go in [show]")
        if _TABLES[name] is not None and not isinstance(value, dict):
            raise p.fail(name, 0, None, f"'{name}' must be a [{name}] table")
    settings = _settings(p, data.get("show", {}))
    dim = _model_dim(p, settings, latent_dim)
    vectors = _vectors(p, data.get("vector", []), dim)
    directions = {settings.directions: _directions_file(p, settings.directions, "show", 0, "directions", dim)} \
        if settings.directions else {}
    look_table = data.get("look", {})
    p.check_keys(look_table, _LOOK_KEYS, "look", 0, "[look]")
    for key, (low, high) in _LOOK_RANGES.items():
        if key in look_table and not low <= look_table[key] <= high:
            raise p.fail("look", 0, key, f"'{key}' must be between {low:g} and {high:g}, got {look_table[key]}")
    look = Look(**{k: float(v) for k, v in look_table.items()})
    caption = _caption(p, data.get("caption", {}))
    raw_cues = data.get("cue", [])
    if not isinstance(raw_cues, list) or not raw_cues:
        raise ShowError(p.path, 1, "the show has no cues; add at least one [[cue]] table")
    if len(raw_cues) > 1000:
        raise ShowError(p.path, 1, f"{len(raw_cues)} cues; a show has at most 1000")
    cues = tuple(_cue(p, table, i, dim) for i, table in enumerate(raw_cues))
    names = {v.name for v in vectors}
    for i, cue in enumerate(cues):
        for value in cue.steer:
            _steer_axis(p, value.axis, i, names, directions, dim)
    _check_sequences(p, cues)
    schedule = _schedule(p, data["schedule"]) if "schedule" in data else None
    return Show(p.path, settings, look, caption, cues, schedule, vectors, directions, tuple(dict.fromkeys(p.read)))


def _check_sequences(p: _Parser, cues: tuple[Cue, ...]) -> None:
    """Each screen's cues (all of them on one screen; on a wall with tile cues, the shared ones
    and its own): an endless cue only last, and every screen's cues as long as the others', so
    the screens change cue together."""
    first: tuple[str, float] | None = None  # the first screen's name and length
    for tile in tiles_of(cues) or [None]:
        own = [(i, cue) for i, cue in enumerate(cues) if screen_plays(cue, tile)]
        name = f"tile {tile[0]},{tile[1]}" if tile is not None else ""
        for i, cue in own[:-1]:
            if cue.duration == math.inf:
                raise p.fail("cue", i, None, f"an endless '{cue.kind}' cue can only be the last cue"
                                             f"{' of ' + name if name else ''}; give it a duration")
        length = sum(cue.total for _, cue in own)
        if first is None:
            first = (name, length)
        elif length != first[1]:
            raise p.fail("cue", own[-1][0], None, f"{name}'s cues last {length:g} s, {first[0]}'s {first[1]:g} s; "
                                                  f"every screen's cues must last alike, so the wall changes cue together")


def screen_plays(cue: Cue, tile: tuple[int, int] | None) -> bool:
    """Whether screen ``tile`` of a wall plays ``cue``: its own cues, and those without a tile."""
    return cue.tile is None or cue.tile == tile


def tiles_of(cues: tuple[Cue, ...]) -> list[tuple[int, int]]:
    """The screens that have cues of their own, in order; none for a show laid out on one canvas."""
    return sorted({cue.tile for cue in cues if cue.tile is not None})


def tiled(show: Show) -> bool:
    """Whether the show gives screens of a wall cues of their own (each screen then lays its
    picture out on itself, not on the whole wall)."""
    return bool(tiles_of(show.cues))


def for_tile(show: Show, tile: tuple[int, int], wall: tuple[int, int] | None) -> Show:
    """``show`` as screen ``tile`` of a ``wall`` (columns, rows) plays it: the shared cues and its
    own. ShowError at the cue whose tile is outside the wall."""
    if not tiled(show):
        return show
    columns, rows = wall or (1, 1)
    for cue in show.cues:
        if cue.tile is not None and not (cue.tile[0] < columns and cue.tile[1] < rows):
            raise ShowError(show.path, cue.line, f"tile {cue.tile[0]},{cue.tile[1]} is outside a {columns}x{rows} "
                                                 f"wall (columns 0-{columns - 1}, rows 0-{rows - 1})")
    own = tuple(cue for cue in show.cues if screen_plays(cue, tile))
    if not own:
        raise ShowError(show.path, 1, f"no cues for tile {tile[0]},{tile[1]} (give it 'tile = [{tile[0]}, "
                                      f"{tile[1]}]' cues, or cues without a tile)")
    return replace(show, cues=own)


def _schedule(p: _Parser, table: dict[str, Any]) -> Schedule:
    """[schedule]: opening hours, closed dates, the fade, commands at opening and closing."""
    p.check_keys(table, _SCHEDULE_KEYS, "schedule", 0, "[schedule]")
    try:
        timezone = parse_timezone(table["timezone"]) if "timezone" in table else None
    except ScheduleError as exc:
        raise p.fail("schedule", 0, "timezone", str(exc)) from None
    hours = table.get("hours", [])
    if not hours or len(hours) > 100 or not all(isinstance(h, str) for h in hours):
        raise p.fail("schedule", 0, "hours", "'hours' must list opening hours, e.g. [\"Tue-Sun 10:00-18:00\"]")
    try:
        periods = tuple(parse_hours(line) for line in hours)
    except ScheduleError as exc:
        raise p.fail("schedule", 0, "hours", str(exc)) from None
    closed = set()
    for value in table.get("closed", []):
        try:
            day = value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else \
                dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            raise p.fail("schedule", 0, "closed", f"'closed' lists dates like \"2026-12-24\", got {value!r}")
        closed.add(day)
    fade = p.number(table, "fade", "schedule", 0, default=5.0, allow_low=True, high=600.0)
    commands = {}
    for key in ("on_open", "on_close"):
        argv = table.get(key, [])
        if argv and (not all(isinstance(a, str) and a for a in argv) or len(argv) > 64):
            raise p.fail("schedule", 0, key, f"'{key}' is a command as a list of words, e.g. [\"xset\", \"dpms\", "
                                             f"\"force\", \"on\"] (no shell)")
        commands[key] = tuple(argv)
    return Schedule(periods, frozenset(closed), timezone, fade, commands["on_open"], commands["on_close"])


def model_near(folder: Path, model: str) -> str:
    """A show's ``model`` setting as a path or name: relative paths are the show folder's first,
    then the working folder's; a path found in neither is named in the show folder, where
    an error about it should point."""
    local = folder / model
    if local.exists() or Path(model).name == model:
        return str(local) if local.exists() else model
    return model if Path(model).expanduser().exists() else str(local)


def _model_dim(p: _Parser, settings: Settings, latent_dim: LatentDim | None) -> int | None:
    if latent_dim is None:
        return None
    try:
        return latent_dim(model_near(p.folder, settings.model))
    except LookupError as exc:
        raise p.fail("show", 0, "model", str(exc.args[0] if exc.args else exc)) from None


def _settings(p: _Parser, table: dict[str, Any]) -> Settings:
    p.check_keys(table, _SETTINGS_KEYS, "show", 0, "[show]")
    values = dict(table)
    values["fps"] = p.number(table, "fps", "show", 0, default=30.0, low=1.0, high=240.0, allow_low=True)
    if "size" in values:
        try:
            values["size"] = parse_size(values["size"])
        except ValueError as exc:
            raise p.fail("show", 0, "size", str(exc)) from None
    if values.get("seed", 0) < 0:
        raise p.fail("show", 0, "seed", f"'seed' must be 0 or more, got {values['seed']}")
    if not 0 <= float(values.get("truncation", 1.0)) <= 2:
        raise p.fail("show", 0, "truncation", f"'truncation' must be between 0 and 2, got {values['truncation']}")
    if values.get("fit", "contain") not in ("contain", "cover"):
        raise p.fail("show", 0, "fit", f"'fit' must be 'contain' or 'cover', got {values['fit']!r}")
    if "anchor" in values:
        try:
            parse_anchor(values["anchor"])
        except ValueError:
            raise p.fail("show", 0, "anchor", f"'anchor' must be an ISO date-time like "
                                              f"2026-12-01T10:00:00, got {values['anchor']!r}") from None
    if "truncation" in values:
        values["truncation"] = float(values["truncation"])
    excluded = [(seed, "exclude", 0) for seed in values.pop("exclude", [])]
    if "exclude_file" in values:
        excluded += _exclude_file(p, values.pop("exclude_file"))
    if len(excluded) > MAX_EXCLUDED:
        raise p.fail("show", 0, "exclude", f"at most {MAX_EXCLUDED} seeds can be excluded, got {len(excluded)}")
    for seed, where, line in excluded:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_PORTRAIT_SEED:
            message = f"{seed!r} is not a portrait seed (a whole number from 0 to 2^62 - 1, as `preview` labels them)"
            if where == "exclude":
                raise p.fail("show", 0, "exclude", f"'exclude': {message}")
            raise ShowError(where, line, message)
    values["exclude"] = frozenset(seed for seed, _, _ in excluded)
    return Settings(**values)


def _exclude_file(p: _Parser, name: str) -> list[tuple[object, str, int]]:
    """Seeds from a text file in the show's folder: one a line, ``#`` starts a comment (a
    curator's notes: "# No. 1: too dark"); (seed or the text that is not one, file, line)."""
    path = p.inside(name, "show", 0, "exclude_file", "exclude file")
    if path.stat().st_size > 1 << 20:
        raise p.fail("show", 0, "exclude_file", f"exclude file '{name}' is over 1 MB")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise p.fail("show", 0, "exclude_file", f"exclude file '{name}' cannot be read ({exc})") from None
    seeds: list[tuple[object, str, int]] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            seeds.append((int(text) if text.isdigit() and len(text) < 30 else text, str(path), number))
    return seeds


def _caption(p: _Parser, table: dict[str, Any]) -> Caption:
    p.check_keys(table, _CAPTION_KEYS, "caption", 0, "[caption]")
    font = None
    if "font" in table:
        font = p.inside(table["font"], "caption", 0, "font", "font file")
        try:
            from PIL import ImageFont

            ImageFont.truetype(str(font), 12)
        except OSError:
            raise p.fail("caption", 0, "font", f"'{table['font']}' is not a TrueType/OpenType font") from None
    color = parse_color(table.get("color", "#ffffff"))
    if color is None:
        raise p.fail("caption", 0, "color", f"'color' must be '#rrggbb', got {table['color']!r}")
    if table.get("position", "bottom") not in ("bottom", "top"):
        raise p.fail("caption", 0, "position", f"'position' must be 'bottom' or 'top', got {table['position']!r}")
    size = table.get("size", 40)
    if not 6 <= size <= 400:
        raise p.fail("caption", 0, "size", f"'size' must be between 6 and 400 pixels, got {size}")
    return Caption(font, size, color, table.get("position", "bottom"))


def _cue(p: _Parser, table: Any, index: int, dim: int | None) -> Cue:
    if not isinstance(table, dict):
        raise p.fail("cue", index, None, "each cue must be a [[cue]] table")
    if "kind" not in table:
        raise p.fail("cue", index, None, f"cue has no 'kind' (expected one of: {', '.join(CUE_KINDS)})")
    kind = table["kind"]
    if kind not in CUE_KINDS:
        raise p.fail("cue", index, "kind", f"unknown cue kind '{kind}'{_nearest(str(kind), CUE_KINDS)}")
    p.check_keys(table, _CUE_COMMON | _CUE_KEYS[kind], "cue", index, f"a '{kind}' cue")
    if "seed" in table and table["seed"] < 0:
        raise p.fail("cue", index, "seed", f"'seed' must be 0 or more, got {table['seed']}")
    style = _style_mixing(p, table, index)
    repeat = table.get("repeat", 1)
    if not 1 <= repeat <= 1_000_000:
        raise p.fail("cue", index, "repeat", f"'repeat' must be 1 to 1000000, got {repeat}")
    settings, duration = _CUE_PARSERS[kind](p, table, index, dim)
    if math.isfinite(duration) and duration * repeat > MAX_SECONDS:
        raise p.fail("cue", index, "repeat" if "repeat" in table else None,
                     f"the cue lasts {duration * repeat:g} s; at most {MAX_SECONDS:g} (about 31 years)")
    transition = p.number(table, "transition", "cue", index, default=0.0, allow_low=True)
    if transition > duration:
        raise p.fail("cue", index, "transition", f"'transition' ({transition:g} s) is longer than the cue ({duration:g} s)")
    steer = _steer(p, table.get("steer", {}), index, duration)
    return Cue(settings, p.map.line("cue", index), duration, transition, repeat, str(table.get("name", "")), style,
               steer, _motion(p, table, index, duration), _tile(p, table, index))


def _tile(p: _Parser, table: dict[str, Any], index: int) -> tuple[int, int] | None:
    """``tile = [column, row]``: the cue belongs to that screen of a video wall."""
    if "tile" not in table:
        return None
    raw = table["tile"]
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                            and 0 <= v < MAX_WALL_SIDE for v in raw)):
        raise p.fail("cue", index, "tile", f"'tile' must be [column, row], each 0 to {MAX_WALL_SIDE - 1}, "
                                           f"got {raw!r}"[:200])
    return raw[0], raw[1]


def _motion(p: _Parser, table: dict[str, Any], index: int, duration: float) -> Motion | None:
    """``rotate = 15`` or ``[0, 360]``, ``translate = [0.1, 0]`` or ``[[0, 0], [0.2, -0.1]]``,
    ``spin = 6`` (degrees a second); None when the cue has none of them."""
    if not {"rotate", "translate", "spin"} & table.keys():
        return None

    def finite(value: Any, bound: float) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) <= bound

    raw = table.get("rotate", 0.0)
    rotate = raw if isinstance(raw, list) else [raw]
    if not 1 <= len(rotate) <= 256 or not all(finite(r, MAX_ROTATE) for r in rotate):
        raise p.fail("cue", index, "rotate", f"'rotate' must be degrees from -{MAX_ROTATE:g} to {MAX_ROTATE:g}, or a "
                                             f"list of 1 to 256 of them, got {raw!r}"[:200])
    raw = table.get("translate", [0.0, 0.0])
    pairs = raw if raw and all(isinstance(t, list) for t in raw) else [raw]
    if not 1 <= len(pairs) <= 256 or not all(isinstance(t, list) and len(t) == 2 and all(finite(v, MAX_TRANSLATE)
                                                                                       for v in t) for t in pairs):
        raise p.fail("cue", index, "translate", f"'translate' must be [x, y] in image widths (-{MAX_TRANSLATE:g} to "
                                                f"{MAX_TRANSLATE:g}), or a list of 1 to 256 such pairs, got {raw!r}"[:200])
    for key, count in (("rotate", len(rotate)), ("translate", len(pairs))):
        if count > 1 and not math.isfinite(duration):
            raise p.fail("cue", index, key, f"'{key}': keyframes need a cue with a duration (or use 'spin')")
    spin = table.get("spin", 0.0)
    if not finite(spin, MAX_SPIN):
        raise p.fail("cue", index, "spin", f"'spin' must be degrees a second from -{MAX_SPIN:g} to {MAX_SPIN:g}, got {spin!r}")
    return Motion(tuple(float(r) for r in rotate), tuple((float(x), float(y)) for x, y in pairs), float(spin))


def _steer(p: _Parser, table: dict[str, Any], index: int, duration: float) -> tuple[SteerValue, ...]:
    """``steer = { glasses = 1.5, "dirs.npz#0" = [-2, 2] }``: constants or keyframes over the cue."""
    if len(table) > 64:
        raise p.fail("cue", index, "steer", f"'steer' names at most 64 axes, got {len(table)}")
    values = []
    for axis, raw in table.items():
        keys = raw if isinstance(raw, list) else [raw]
        if not 1 <= len(keys) <= 256 or not all(isinstance(k, (int, float)) and not isinstance(k, bool)
                                                 and math.isfinite(k) and abs(k) <= MAX_STEER for k in keys):
            raise p.fail("cue", index, "steer", f"steer '{axis}' must be a number from -{MAX_STEER:g} to "
                                                f"{MAX_STEER:g}, or a list of 1 to 256 of them, got {raw!r}"[:200])
        if len(keys) > 1 and not math.isfinite(duration):
            raise p.fail("cue", index, "steer", f"steer '{axis}': keyframes need a cue with a duration")
        values.append(SteerValue(str(axis), tuple(float(k) for k in keys)))
    return tuple(values)


def _steer_axis(p: _Parser, axis: str, index: int, names: set[str], directions: dict[str, Directions],
                dim: int | None) -> None:
    """An axis a cue steers along: a [[vector]] by name, or direction K of a directions file
    (``"FILE.npz#K"``, the file read once and kept with the show)."""
    if axis in names:
        return
    file, hash_, number = axis.rpartition("#")
    if not hash_ or not file.lower().endswith(".npz"):
        known = ", ".join(sorted(names)) or "none"
        raise p.fail("cue", index, "steer", f"steer '{axis}': no [[vector]] of that name (vectors: {known}), "
                                            f"and not a direction 'FILE.npz#K'"[:240])
    if file not in directions:
        directions[file] = _directions_file(p, file, "cue", index, "steer", dim)
    count = len(directions[file].directions)
    if not (number.isdigit() and int(number) < count):
        raise p.fail("cue", index, "steer", f"steer '{axis}': {file} has directions #0 to #{count - 1}")


def _directions_file(p: _Parser, name: str, section: str, index: int, key: str, dim: int | None) -> Directions:
    path = p.inside(name, section, index, key, "directions file")
    try:
        found = load_directions(path)
    except DirectionsError as exc:
        raise p.fail(section, index, key, str(exc).replace(str(path), name)) from None
    if found.space == "z" and dim is not None and found.directions.shape[1] != dim:
        raise p.fail(section, index, key, f"directions file '{name}' is for a latent of "
                                          f"{found.directions.shape[1]}; the model takes {dim}")
    return found


def _vectors(p: _Parser, tables: Any, dim: int | None) -> tuple[Vector, ...]:
    if not isinstance(tables, list) or len(tables) > 64:
        raise p.fail("vector", 0, None, "vectors are [[vector]] tables, at most 64 of them")
    vectors, seen = [], set()
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            raise p.fail("vector", i, None, "each vector must be a [[vector]] table")
        p.check_keys(table, _VECTOR_KEYS, "vector", i, "a [[vector]]")
        name = table.get("name", "")
        if not AXIS_NAME.match(name):
            raise p.fail("vector", i, "name", f"a vector's 'name' is a word (letters, digits, _ and -, up to 40), "
                                              f"got {name!r}"[:200])
        if name in seen:
            raise p.fail("vector", i, "name", f"two vectors are called '{name}'")
        seen.add(name)
        sides = []
        for side in ("plus", "minus"):
            faces = table.get(side, [])
            if not 1 <= len(faces) <= 256:
                raise p.fail("vector", i, side, f"'{side}' must list 1 to 256 seeds or .npy latents, got {len(faces)}")
            sides.append(tuple(_face(p, face, i, dim, "vector", side) for face in faces))
        vectors.append(Vector(name, sides[0], sides[1], p.map.line("vector", i)))
    return tuple(vectors)


def _style_mixing(p: _Parser, table: dict[str, Any], index: int) -> StyleMix | None:
    """(style_seed, style_from): fine layers from W slot ``style_from`` on come from another face."""
    if "style_seed" not in table:
        if "style_from" in table:
            raise p.fail("cue", index, "style_from", "'style_from' needs 'style_seed' (the face the fine layers come from)")
        return None
    seed, start = table["style_seed"], table.get("style_from", 4)
    if seed < 0:
        raise p.fail("cue", index, "style_seed", f"'style_seed' must be 0 or more, got {seed}")
    if not 1 <= start <= 64:
        raise p.fail("cue", index, "style_from", f"'style_from' must be 1 to 64 (a W slot), got {start}")
    return StyleMix(seed, start)


def _no_duration(p: _Parser, table: dict[str, Any], index: int, kind: str, follows: str) -> None:
    if "duration" in table:
        raise p.fail("cue", index, "duration", f"a '{kind}' cue's duration follows from {follows}; remove 'duration'")


def _portraits(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    _no_duration(p, t, i, "portraits", "count x (hold + dissolve)")
    count = t.get("count", 12)
    if not 1 <= count <= 1_000_000:
        raise p.fail("cue", i, "count", f"'count' must be 1 to 1000000, got {count}")
    hold = p.number(t, "hold", "cue", i, default=6.0)
    dissolve = p.number(t, "dissolve", "cue", i, default=1.5, allow_low=True)
    template = t.get("caption")
    if template is not None and (problem := caption_problem(template)) is not None:
        raise p.fail("cue", i, "caption", f"caption template {template!r} is invalid ({problem}); "
                                          "fields are {n} and {seed}")
    reach = 2.0 * math.sqrt(dim or 512)  # two faces on the prior's shell are never further apart
    min_distance = p.number(t, "min_distance", "cue", i, default=0.0, allow_low=True, high=reach)
    advance = _advance(p, t, i)
    return PortraitsCue(count, hold, dissolve, template, min_distance, advance), count * (hold + dissolve)


def _advance(p: _Parser, t: dict[str, Any], i: int) -> str:
    advance = t.get("advance", "time")
    if advance not in ADVANCES:
        raise p.fail("cue", i, "advance", f"'advance' must be one of {', '.join(ADVANCES)}, got {advance!r}")
    return advance


def _morph(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    _no_duration(p, t, i, "morph", "the faces, hold and morph times")
    raw = t.get("faces", [])
    if not 2 <= len(raw) <= 256:
        raise p.fail("cue", i, "faces", f"'faces' must list 2 to 256 seeds or .npy latents, got {len(raw)}")
    faces = tuple(_face(p, face, i, dim) for face in raw)
    easing = t.get("easing", "smootherstep")
    if easing not in EASINGS:
        raise p.fail("cue", i, "easing", f"unknown easing '{easing}'{_nearest(easing, list(EASINGS))}")
    hold = p.number(t, "hold", "cue", i, default=2.0, allow_low=True)
    morph = p.number(t, "morph", "cue", i, default=4.0)
    cue = MorphCue(faces, hold, morph, easing, t.get("loop", True), _advance(p, t, i), _space(p, t, i))
    return cue, len(faces) * cue.slot if cue.loop else (len(faces) - 1) * cue.slot + hold


def _face(p: _Parser, face: object, i: int, dim: int | None, section: str = "cue",
          key: str = "faces") -> int | np.ndarray:
    """A morph's (or a vector's) face: a seed, or the latent in a .npy file inside the show's folder."""
    if isinstance(face, int) and not isinstance(face, bool) and 0 <= face <= MAX_SEED:
        return face
    if not isinstance(face, str) or not face.lower().endswith(".npy"):
        raise p.fail(section, i, key, f"each face is a seed (0 or more) or a .npy file, got {face!r}"[:200])
    path = p.inside(face, section, i, key, "latent file")
    try:
        if path.stat().st_size > MAX_LATENT_FILE:
            raise ValueError(f"{path.stat().st_size} bytes; a latent is a few kB")
        z = np.load(path, allow_pickle=False)
        if z.dtype.kind not in "fiu" or z.size != max(z.shape, default=1) or z.size == 0:
            raise ValueError(f"holds a {z.dtype} array of shape {z.shape}, not one vector of numbers")
        z = z.astype(np.float64).reshape(-1)
        if not np.all(np.isfinite(z)) or not np.any(z):
            raise ValueError("holds NaN, infinite or all-zero values")
    except (OSError, ValueError, EOFError) as exc:
        raise p.fail(section, i, key, f"latent file '{face}' cannot be used ({exc})") from None
    if dim is not None and z.size != dim:
        raise p.fail(section, i, key, f"latent file '{face}' has {z.size} values; the model takes {dim}")
    z.setflags(write=False)
    return z


def _loop(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    shape = t.get("shape", "circle")
    if shape not in ("circle", "noise"):
        raise p.fail("cue", i, "shape", f"'shape' must be 'circle' or 'noise', got {shape!r}")
    period = p.number(t, "period", "cue", i, default=12.0)
    radius = float(t.get("radius", 1.0 if shape == "circle" else 0.6))
    if not 0 < radius <= 1:
        raise p.fail("cue", i, "radius", f"'radius' must be in (0, 1], got {t['radius']}")
    return (LoopCue(shape, period, radius, t.get("seed"), _space(p, t, i)),
            p.number(t, "duration", "cue", i, default=period))


def _wander(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    speed = p.number(t, "speed", "cue", i, default=0.25, high=100.0, what=" (new faces a second)")
    duration = p.number(t, "duration", "cue", i) if "duration" in t else math.inf
    return WanderCue(speed, t.get("seed"), _space(p, t, i)), duration


def _space(p: _Parser, t: dict[str, Any], i: int) -> str:
    space = t.get("space", "z")
    if space not in ("z", "w"):
        raise p.fail("cue", i, "space", f"'space' must be 'z' or 'w' (StyleGAN2's W), got {space!r}"[:200])
    return space


def _hold(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    return HoldCue(t.get("seed")), p.number(t, "duration", "cue", i)


def _fade(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    color = parse_color(t.get("to", "black"))
    if color is None:
        raise p.fail("cue", i, "to", f"'to' must be 'black', 'white' or '#rrggbb', got {t['to']!r}")
    return FadeCue(color), p.number(t, "duration", "cue", i)


def _title(p: _Parser, t: dict[str, Any], i: int, dim: int | None) -> tuple[CueSettings, float]:
    text = t.get("text")
    if not text:
        raise p.fail("cue", i, None, "a 'title' cue needs 'text'")
    if len(text) > MAX_TEXT or text.count("\n") > 20:
        raise p.fail("cue", i, "text", f"'text' must be at most {MAX_TEXT} characters on 20 lines")
    color = parse_color(t.get("color", "black"))
    if color is None:
        raise p.fail("cue", i, "color", f"'color' must be 'black', 'white' or '#rrggbb', got {t['color']!r}")
    return TitleCue(text, color), p.number(t, "duration", "cue", i)


_CUE_PARSERS: dict[str, Callable[[_Parser, dict[str, Any], int, "int | None"], tuple[CueSettings, float]]] = {
    "portraits": _portraits, "morph": _morph, "loop": _loop, "wander": _wander, "hold": _hold, "fade": _fade,
    "title": _title,
}
