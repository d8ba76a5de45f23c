"""What to play, as typed values: the options as given (ProgramSpec) and what they resolve to.

A :class:`ProgramSpec` holds only plain values, so the performance log's header keeps it and
``render --replay`` rebuilds the same program from the log alone, without the command line.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.frames import WALKS, FrameSource, Look, WalkSource, make_walk
from engine.generators.base import Generator
from engine.generators.catalog import DEFAULT_MODEL, latent_dim_of
from engine.generators.ladder import exit_covering
from engine.generators.loading import load_generator
from engine.latent.steering import Steering
from engine.loop.compositor import TextStyle
from engine.render.settings import RenderSettings, WallError
from engine.resources import bundled
from engine.show import Show, ShowError, Timeline, load_show
from engine.show.portraits import PortraitSequence
from engine.show.schema import check_model_fits, for_tile, model_near, tiled
from engine.steer.vectors import steering_for

log = logging.getLogger(__name__)
DEFAULT_SHOW = bundled("shows") / "never_existed.toml"


@dataclass(frozen=True)
class ProgramSpec:
    """The options that say what plays (flags override the show's own settings)."""

    show: str | None = None  # a show script; None with ``walk`` set, else the default show
    walk: str | None = None  # loop | noise | wander
    model: str | None = None
    seed: int | None = None
    period: float = 12.0
    speed: float = 0.25
    size: tuple[int, int] | None = None
    fps: str | None = None  # exact, as text: "30", "30000/1001"
    fit: str | None = None
    filter: str = "lanczos"
    detail: int | None = None
    grain: float | None = None
    vignette: float | None = None
    truncation: float | None = None
    device: str | None = None
    wall: tuple[int, int, int, int, int] | None = None  # columns, rows, this tile's column and row, bezel

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["size"] = list(self.size) if self.size else None
        data["wall"] = list(self.wall) if self.wall else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProgramSpec:
        """From a log's header; ValueError names what is wrong."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown program option {sorted(unknown)[0]!r}")
        values = dict(data)
        if values.get("size") is not None:
            size = values["size"]
            if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
                raise ValueError(f"program size must be [width, height], got {size!r}")
            values["size"] = (size[0], size[1])
        if values.get("wall") is not None:
            wall = values["wall"]
            if not (isinstance(wall, list) and len(wall) == 5 and all(isinstance(v, int) for v in wall)):
                raise ValueError(f"program wall must be [columns, rows, column, row, bezel], got {wall!r}")
            values["wall"] = tuple(wall)
        if values.get("walk") is not None and values["walk"] not in WALKS:
            raise ValueError(f"program walk must be one of {', '.join(WALKS)}, got {values['walk']!r}")
        return cls(**values)


@dataclass(frozen=True)
class Program:
    """What plays, resolved: the source, the generator and how frames are made."""

    spec: ProgramSpec
    source: FrameSource
    generator: Generator
    fps: Fraction
    settings: RenderSettings
    style: TextStyle
    length: float | None  # natural length in seconds: one period, one pass of the show, or None
    show: Show | None = None
    adjust: Callable[[Show], Show] | None = None  # the command line's overrides, for reloaded shows

    @property
    def dim(self) -> int:
        return self.generator.z_dim


    def timeline(self, show: Show, portraits: PortraitSequence | None = None,
                 owner: Callable[[Callable[[Generator], Steering]], Steering] | None = None) -> Timeline:
        """``show`` as this program plays it: its steering axes made for this generator (a
        reloaded or loaded show's own vectors and directions files). ``owner`` runs what needs
        the model on the thread that owns it (engine.loop.runahead.RunAhead.errand) once the
        show runs; before that, here."""
        return show_timeline(own_cues(self.spec, show), self.generator, portraits, owner)


def own_cues(spec: ProgramSpec, show: Show) -> Show:
    """``show`` with the cues this screen plays (a wall's tile cues: its own and the shared ones)."""
    columns, rows, column, row, _ = spec.wall or (1, 1, 0, 0, 0)
    return for_tile(show, (column, row), (columns, rows))


def shows_folder(asked: Path | None, show: Show | None) -> Path:
    """Where /vernissage/show/load reads shows: the folder asked for (--shows), else the playing
    show's own folder, else shows/."""
    return asked or (show.path.parent if show is not None else Path("shows"))


def load_checked_show(path: str | Path) -> Show:
    """A show, checked against the models that exist (their latent sizes included)."""
    return load_show(path, latent_dim=latent_dim_of)


def show_timeline(show: Show, generator: Generator, portraits: PortraitSequence | None = None,
                  owner: Callable[[Callable[[Generator], Steering]], Steering] | None = None) -> Timeline:
    """``show`` as ``generator`` plays it, with its steering axes made with the model (by
    ``owner`` where given); ShowError (file:line) for what this model cannot play."""
    check_model_fits(show, generator.has_w_space, generator.has_input_transform)
    steering = owner(lambda g: steering_for(show, g)) if owner is not None else steering_for(show, generator)
    try:
        return Timeline(show, generator.z_dim, portraits, steering)
    except ValueError as exc:  # a show this timeline cannot play (ShowError is not one)
        raise ShowError(show.path, 1, str(exc)) from None


def model_asked(spec: ProgramSpec, show: Show | None) -> str:
    """The model ``spec`` plays: the command line's, else the show's (beside it first), else the default."""
    return spec.model or (model_near(show.path.parent, show.settings.model) if show else DEFAULT_MODEL)


def resolve(spec: ProgramSpec) -> Program:
    """The source, generator and output settings that ``spec`` asks for."""
    if spec.walk and spec.show:
        raise ShowError(spec.show, 1, "give a show or --walk, not both")
    show = None if spec.walk else load_checked_show(spec.show or DEFAULT_SHOW)
    base = show.settings if show else None
    generator = load_generator(model_asked(spec, show), device=spec.device)
    if spec.detail and len(generator.resolutions) > 1:  # --detail picks the exit too (generators.ladder)
        generator.use_resolution(exit_covering(generator.resolutions, spec.detail))
    log.info("model %s on %s", generator.card.name, generator.describe())
    fps = Fraction(spec.fps) if spec.fps else Fraction(base.fps if base else 30).limit_denominator(1001)
    width, height = spec.size or (base.size if base else (1920, 1080))
    fit = spec.fit or (base.fit if base else "contain")
    columns, rows, column, row, bezel = spec.wall or (1, 1, 0, 0, 0)
    if show is not None and tiled(show):  # each screen plays cues of its own, laid out on itself
        columns, rows, column, row, bezel = 1, 1, 0, 0, 0
    try:
        settings = RenderSettings(width, height, fit=fit, filter=spec.filter, detail=spec.detail,  # type: ignore[arg-type]
                                  wall=(columns, rows), tile=(column, row), bezel=bezel)
    except WallError as exc:  # a replayed log's wall, say: the command line checked its own
        raise ShowError(spec.show or "--wall", 1, str(exc)) from None
    look_flags = {k: v for k, v in (("grain", spec.grain), ("vignette", spec.vignette)) if v is not None}
    if show is None:
        seed = 0 if spec.seed is None else spec.seed
        path = make_walk(spec.walk or "wander", seed, generator.z_dim, spec.period, spec.speed)
        psi = 1.0 if spec.truncation is None else spec.truncation
        return Program(spec, WalkSource(path, Look(**look_flags), psi), generator, fps, settings, TextStyle(),
                       path.period)
    overrides = {k: v for k, v in (("seed", spec.seed), ("truncation", spec.truncation)) if v is not None}

    def adjust(loaded: Show) -> Show:
        return replace(loaded, settings=replace(loaded.settings, **overrides), look=replace(loaded.look, **look_flags))

    show = adjust(show)
    timeline = show_timeline(own_cues(spec, show), generator)
    length = timeline.period or (timeline.duration if math.isfinite(timeline.duration) else None)
    return Program(spec, timeline, generator, fps, settings, TextStyle(show.caption), length, show, adjust)

