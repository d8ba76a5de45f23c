"""What the client sends every worker: the show as data, the model it must have, the render.

A worker may be another machine: it has its own models folder and none of the client's files.
The show travels as its text and the files it reads beside itself (fonts, latent files,
directions), and a replayed performance as its log (with the folder it loaded shows from, if it
did); the model does not travel (hundreds of MB): each worker must have it installed, and
proves it is the same one by name and the sha256 of its weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from engine.farm.errors import FarmError
from engine.generators.catalog import model_identity, resolve_model
from engine.commands import LoadShow
from engine.inputs.performance_log import RecordedPerformance
from engine.loop.program import DEFAULT_SHOW, Program, ProgramSpec, load_checked_show, model_asked, shows_folder
from engine.record.codecs import Delivery
from engine.show import Show

SHOW_FILES_LIMIT = 64 << 20  # bytes a show may bring with it to each worker


@dataclass(frozen=True)
class FarmJob:
    """One render, as every chunk of it needs it."""

    spec: dict  # ProgramSpec.to_json(), the show and model named below instead of by path
    show_files: tuple[tuple[str, bytes], ...]  # (path relative to the show's folder, contents), the show first
    model: str  # the model's name (its folder's name, or a bare weights file's)
    model_sha256: str
    model_path: str  # the client's path to it: a worker sharing the filesystem may find it there
    start: float  # show time of frame 0
    frames: int
    suffix: str  # "" for PNG frames, else the video file's suffix
    delivery: Delivery  # codec and quality, no soundtrack (the client muxes the track when joining)
    replay: bytes = b""  # a performance log to replay (render --replay), else a show to render
    shows_files: tuple[tuple[str, bytes], ...] = ()  # the folder the performance loaded shows from
    size: tuple[int, int] | None = None  # a replay's --size (None: the performance's own)

    @cached_property
    def key(self) -> str:
        """Names the job on a worker (its program is kept between chunks of one job); worked out
        once per copy of the job (it hashes every shipped file, and each chunk's key names it)."""
        digest = hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode())
        for name, data in (*self.show_files, ("replay", self.replay), *self.shows_files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        digest.update(f"{self.model_sha256}{self.start!r}{self.frames}{self.size}".encode())
        return digest.hexdigest()[:16]


def _files(paths: list[Path], folder: Path, what: str) -> tuple[tuple[str, bytes], ...]:
    """``paths`` (inside ``folder``) as (relative name, contents); FarmError past the limit."""
    files = tuple((str(path.relative_to(folder)), path.read_bytes()) for path in paths)
    total = sum(len(data) for _, data in files)
    if total > SHOW_FILES_LIMIT:
        raise FarmError(f"{folder}: {what} are {total >> 20} MB; a farm ships at most {SHOW_FILES_LIMIT >> 20} MB "
                        "to each worker")
    return files


def _show_files(show: Show | None) -> tuple[tuple[str, bytes], ...]:
    if show is None:
        return ()
    folder = show.path.resolve().parent
    return _files([show.path.resolve(), *show.files], folder, "the show and the files it reads")


def _model(spec: ProgramSpec, show: Show | None) -> tuple[str, str, str]:
    """The model's name, the sha256 of its weights and its resolved path (never "default": a
    worker may mean another model by that word)."""
    asked = model_asked(spec, show)
    name, sha = model_identity(asked)
    return name, sha, str(resolve_model(asked).resolve())


def job_for(program: Program, start: float, frames: int, output: Path, delivery: Delivery) -> FarmJob:
    """The job that renders ``frames`` frames of ``program`` from show time ``start``."""
    fixed = replace(program.spec, show=None, model=None, fps=str(program.fps),
                    size=(program.settings.width, program.settings.height))
    return FarmJob(fixed.to_json(), _show_files(program.show), *_model(program.spec, program.show), start, frames,
                   output.suffix.lower(), replace(delivery, soundtrack=None))


def replay_job_for(log_path: Path, performance: RecordedPerformance, spec: ProgramSpec, output: Path,
                   delivery: Delivery, size: tuple[int, int] | None) -> FarmJob:
    """The job that replays ``performance`` (read from ``log_path``; it played ``spec``), with the
    folder it loaded shows from when it loaded any, found as the replay finds it."""
    show = None if spec.walk else load_checked_show(spec.show or DEFAULT_SHOW)
    shows_files: tuple[tuple[str, bytes], ...] = ()
    if any(isinstance(logged.command, LoadShow) for logged in performance.commands):
        logged_shows = performance.header.get("shows")
        folder = shows_folder(Path(logged_shows) if logged_shows else None, show).resolve()
        shows_files = _files(sorted(p for p in folder.rglob("*") if p.is_file()), folder, "the shows it loaded from")
    fixed = replace(spec, show=None, model=None)
    return FarmJob(fixed.to_json(), _show_files(show), *_model(spec, show), 0.0, performance.end,
                   output.suffix.lower(), replace(delivery, soundtrack=None), log_path.read_bytes(), shows_files, size)
