"""The show format: typed settings and cues, parsed and validated once at the edge.

A show is TOML data (never code). Every problem is a :class:`ShowError` naming the file and
the line where it is, with what was expected; unknown keys suggest the nearest valid one.
"""

from __future__ import annotations

import difflib
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.latent import EASINGS
from engine.render.settings import Look, parse_size
from engine.show.errors import ShowError
from engine.show.source_map import SourceMap

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

CUE_KINDS = ("portraits", "morph", "loop", "wander", "hold", "fade", "title")


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
    model: str = "digiface-dcgan64"
    fps: float = 30.0
    size: tuple[int, int] = (1920, 1080)
    seed: int = 0
    loop: bool = True
    truncation: float = 1.0
    fit: str = "contain"
    anchor: str | None = None  # ISO date-time: show time = seconds since then


@dataclass(frozen=True)
class Cue:
    """One entry of the timeline; ``params`` holds the kind's own validated keys."""

    kind: str
    line: int
    duration: float
    transition: float = 0.0
    repeat: int = 1
    name: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    style: tuple[int, int] | None = None  # style mixing: (seed of the fine layers, first W slot)

    @property
    def total(self) -> float:
        return self.duration * self.repeat


@dataclass(frozen=True)
class Show:
    path: Path
    settings: Settings
    look: Look
    caption: Caption
    cues: tuple[Cue, ...]

    @property
    def duration(self) -> float:
        return sum(c.total for c in self.cues)


# Each key: (type or tuple of types, validator or None). Shared keys are added to every cue.
_SETTINGS_KEYS = {"title": str, "model": str, "fps": (int, float), "size": str, "seed": int, "loop": bool,
                  "truncation": (int, float), "fit": str, "anchor": str}
_LOOK_KEYS = {"exposure": (int, float), "contrast": (int, float), "saturation": (int, float),
              "brightness": (int, float), "vignette": (int, float), "grain": (int, float)}
_CAPTION_KEYS = {"font": str, "size": int, "color": str, "position": str}
_CUE_COMMON = {"kind": str, "name": str, "duration": (int, float), "transition": (int, float), "repeat": int,
               "style_seed": int, "style_from": int}
_CUE_KEYS: dict[str, dict[str, Any]] = {
    "portraits": {"count": int, "hold": (int, float), "dissolve": (int, float), "caption": str,
                  "min_distance": (int, float)},
    "morph": {"faces": list, "hold": (int, float), "morph": (int, float), "easing": str, "loop": bool},
    "loop": {"shape": str, "period": (int, float), "radius": (int, float), "seed": int},
    "wander": {"speed": (int, float), "seed": int},
    "hold": {"seed": int},
    "fade": {"to": str},
    "title": {"text": str, "color": str},
}
# [[binding]] tables are OSC bindings, read and checked by engine.control.bindings
_TABLES = {"show": _SETTINGS_KEYS, "look": _LOOK_KEYS, "caption": _CAPTION_KEYS, "cue": None, "binding": None}
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list"}


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


class _Parser:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.map = SourceMap(text)

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

    def positive(self, table: dict[str, Any], key: str, section: str, index: int, default: float | None = None,
                 allow_zero: bool = False) -> float:
        if key not in table:
            if default is None:
                raise self.fail(section, index, None, f"missing '{key}' (a positive number of seconds)")
            return default
        value = float(table[key])
        if value < 0 or (value == 0 and not allow_zero):
            bound = "zero or more" if allow_zero else "greater than zero"
            raise self.fail(section, index, key, f"'{key}' must be {bound}, got {table[key]}")
        return value


def load_show(path: str | Path, known_models: list[str] | None = None) -> Show:
    """Parse and validate the show at ``path``.

    Args:
        known_models: names that ``model`` may take besides existing paths; None skips the check.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShowError(path, 1, "show file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShowError(path, 1, f"cannot read show file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        reason = str(exc).split(" (at line")[0]
        raise ShowError(path, line, f"invalid TOML: {reason}") from None
    return _build(_Parser(path, text), data, known_models)


def _line_from_message(message: str) -> int:
    marker = "(at line "
    if marker in message:
        return int(message.split(marker)[1].split(",")[0].rstrip(")"))
    return 1


def _build(p: _Parser, data: dict[str, Any], known_models: list[str] | None) -> Show:
    for name, value in data.items():
        if name not in _TABLES:
            raise p.fail(name, 0, None, f"unknown table '{name}'{_nearest(name, list(_TABLES))}") \
                if isinstance(value, (dict, list)) else \
                p.fail("", 0, name, f"unknown top-level key '{name}'; settings go in [show]")
    settings = _settings(p, data.get("show", {}), known_models)
    look_table = data.get("look", {})
    p.check_keys(look_table, _LOOK_KEYS, "look", 0, "[look]")
    look = Look(**{k: float(v) for k, v in look_table.items()})
    caption = _caption(p, data.get("caption", {}))
    raw_cues = data.get("cue", [])
    if not isinstance(raw_cues, list) or not raw_cues:
        raise ShowError(p.path, 1, "the show has no cues; add at least one [[cue]] table")
    cues = tuple(_cue(p, table, i, settings) for i, table in enumerate(raw_cues))
    for i, cue in enumerate(cues[:-1]):
        if cue.duration == float("inf"):
            raise p.fail("cue", i, None, f"an endless '{cue.kind}' cue can only be the last cue; give it a duration")
    return Show(p.path, settings, look, caption, cues)


def _settings(p: _Parser, table: dict[str, Any], known_models: list[str] | None) -> Settings:
    p.check_keys(table, _SETTINGS_KEYS, "show", 0, "[show]")
    values = dict(table)
    fps = float(values.get("fps", 30.0))
    if not 0 < fps <= 240:
        raise p.fail("show", 0, "fps", f"'fps' must be between 0 and 240, got {values['fps']}")
    values["fps"] = fps
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
    model = values.get("model", Settings.model)
    if known_models is not None and model not in known_models and not (p.path.parent / model).exists() \
            and not Path(model).exists():
        raise p.fail("show", 0, "model", f"unknown model '{model}'{_nearest(model, known_models)}")
    if "anchor" in values:
        import datetime as dt

        try:
            dt.datetime.fromisoformat(values["anchor"])
        except ValueError:
            raise p.fail("show", 0, "anchor", f"'anchor' must be an ISO date-time like "
                                              f"2026-12-01T10:00:00, got {values['anchor']!r}") from None
    return Settings(**values)


def _caption(p: _Parser, table: dict[str, Any]) -> Caption:
    p.check_keys(table, _CAPTION_KEYS, "caption", 0, "[caption]")
    font = None
    if "font" in table:
        font = (p.path.parent / table["font"]).resolve()
        if not font.is_file():
            raise p.fail("caption", 0, "font", f"font file '{table['font']}' not found (relative to the show file)")
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


def _cue(p: _Parser, table: Any, index: int, settings: Settings) -> Cue:
    if not isinstance(table, dict):
        raise p.fail("cue", index, None, "each cue must be a [[cue]] table")
    if "kind" not in table:
        raise p.fail("cue", index, None, f"cue has no 'kind' (expected one of: {', '.join(CUE_KINDS)})")
    kind = table["kind"]
    if kind not in CUE_KINDS:
        raise p.fail("cue", index, "kind", f"unknown cue kind '{kind}'{_nearest(str(kind), CUE_KINDS)}")
    p.check_keys(table, _CUE_COMMON | _CUE_KEYS[kind], "cue", index, f"a '{kind}' cue")
    params = {k: v for k, v in table.items() if k not in _CUE_COMMON}
    style = _style_mixing(p, table, index)
    repeat = table.get("repeat", 1)
    if repeat < 1:
        raise p.fail("cue", index, "repeat", f"'repeat' must be 1 or more, got {repeat}")
    duration = _cue_duration(p, kind, params, table, index)
    transition = p.positive(table, "transition", "cue", index, default=0.0, allow_zero=True)
    if transition > duration:
        raise p.fail("cue", index, "transition", f"'transition' ({transition:g} s) is longer than the cue ({duration:g} s)")
    return Cue(kind, p.map.line("cue", index), duration, transition, repeat, str(table.get("name", "")), params,
               style)


def _style_mixing(p: _Parser, table: dict[str, Any], index: int) -> tuple[int, int] | None:
    """(style_seed, style_from): fine layers from W slot ``style_from`` on come from another face."""
    if "style_seed" not in table:
        if "style_from" in table:
            raise p.fail("cue", index, "style_from", "'style_from' needs 'style_seed' (the face the fine layers come from)")
        return None
    seed, start = table["style_seed"], table.get("style_from", 4)
    if seed < 0:
        raise p.fail("cue", index, "style_seed", f"'style_seed' must be 0 or more, got {seed}")
    if start < 1:
        raise p.fail("cue", index, "style_from", f"'style_from' must be 1 or more (a W slot), got {start}")
    return seed, start


def _cue_duration(p: _Parser, kind: str, params: dict[str, Any], table: dict[str, Any], index: int) -> float:
    if kind in ("portraits", "morph") and "duration" in table:
        what = "count x (hold + dissolve)" if kind == "portraits" else "the faces, hold and morph times"
        raise p.fail("cue", index, "duration", f"a '{kind}' cue's duration follows from {what}; remove 'duration'")
    if kind == "portraits":
        count = params.get("count", 12)
        if count < 1:
            raise p.fail("cue", index, "count", f"'count' must be 1 or more, got {count}")
        hold = p.positive(params, "hold", "cue", index, default=6.0)
        dissolve = p.positive(params, "dissolve", "cue", index, default=1.5, allow_zero=True)
        template = params.get("caption")
        if template is not None:
            try:
                template.format(n=1, seed=0)
            except (KeyError, IndexError, ValueError) as exc:
                raise p.fail("cue", index, "caption", f"caption template {template!r} is invalid ({exc}); "
                                                      "fields are {n} and {seed}") from None
        p.positive(params, "min_distance", "cue", index, default=0.0, allow_zero=True)
        params.setdefault("count", count)
        params.update(hold=hold, dissolve=dissolve)
        return count * (hold + dissolve)
    if kind == "morph":
        faces = params.get("faces", [])
        if len(faces) < 2:
            raise p.fail("cue", index, "faces", f"'faces' must list at least 2 seeds or .npy latents, got {len(faces)}")
        for face in faces:
            if isinstance(face, bool) or not isinstance(face, (int, str)) or (isinstance(face, int) and face < 0):
                raise p.fail("cue", index, "faces", f"each face is a seed (0 or more) or a .npy file, got {face!r}")
            if isinstance(face, str) and not (p.path.parent / face).is_file():
                raise p.fail("cue", index, "faces", f"latent file '{face}' not found (relative to the show file)")
        easing = params.get("easing", "smootherstep")
        if easing not in EASINGS:
            raise p.fail("cue", index, "easing", f"unknown easing '{easing}'{_nearest(easing, list(EASINGS))}")
        hold = p.positive(params, "hold", "cue", index, default=2.0, allow_zero=True)
        morph = p.positive(params, "morph", "cue", index, default=4.0)
        params.update(hold=hold, morph=morph, easing=easing, loop=params.get("loop", True))
        return len(faces) * (hold + morph) if params["loop"] else (len(faces) - 1) * (hold + morph) + hold
    if kind == "loop":
        if params.get("shape", "circle") not in ("circle", "noise"):
            raise p.fail("cue", index, "shape", f"'shape' must be 'circle' or 'noise', got {params['shape']!r}")
        period = p.positive(params, "period", "cue", index, default=12.0)
        radius = float(params.get("radius", 1.0 if params.get("shape", "circle") == "circle" else 0.6))
        if not 0 < radius <= 1:
            raise p.fail("cue", index, "radius", f"'radius' must be in (0, 1], got {params['radius']}")
        params.update(period=period, radius=radius, shape=params.get("shape", "circle"))
        return p.positive(table, "duration", "cue", index, default=period)
    if kind == "wander":
        speed = p.positive(params, "speed", "cue", index, default=0.25)
        params["speed"] = speed
        return p.positive(table, "duration", "cue", index, default=float("inf"))
    if kind == "fade":
        color = parse_color(params.get("to", "black"))
        if color is None:
            raise p.fail("cue", index, "to", f"'to' must be 'black', 'white' or '#rrggbb', got {params['to']!r}")
        params["to"] = color
    if kind == "title":
        if not params.get("text"):
            raise p.fail("cue", index, None, "a 'title' cue needs 'text'")
        color = parse_color(params.get("color", "black"))
        if color is None:
            raise p.fail("cue", index, "color", f"'color' must be 'black', 'white' or '#rrggbb', got {params['color']!r}")
        params["color"] = color
    if "seed" in params and params["seed"] < 0:
        raise p.fail("cue", index, "seed", f"'seed' must be 0 or more, got {params['seed']}")
    return p.positive(table, "duration", "cue", index)
