"""What the client sends every worker: the show as data, the model it must have, the render.

A worker may be another machine: it has its own models folder and none of the client's files.
The show travels as its text and the files it reads beside itself (fonts, latent files,
directions); the model does not travel (hundreds of MB): each worker must have it installed, and
proves it is the same one by name and the sha256 of its weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from engine.farm.errors import FarmError
from engine.generators.catalog import model_identity, resolve_model
from engine.loop.program import Program, ProgramSpec, model_asked
from engine.record.codecs import Delivery

SHOW_FILES_LIMIT = 64 << 20  # bytes a show may bring with it to each worker


@dataclass(frozen=True)
class FarmJob:
    """One render, as every chunk of it needs it."""

    spec: dict  # ProgramSpec.to_json(), the show and model named below instead of by path
    show_name: str | None  # the show file's name; None: a walk
    show_files: tuple[tuple[str, bytes], ...]  # (path relative to the show's folder, contents), the show first
    model: str  # the model's name (its folder's name, or a bare weights file's)
    model_sha256: str
    model_path: str  # the client's path to it: a worker sharing the filesystem may find it there
    start: float  # show time of frame 0
    frames: int
    suffix: str  # "" for PNG frames, else the video file's suffix
    delivery: Delivery  # codec and quality, no soundtrack (the client muxes the track when joining)

    @property
    def key(self) -> str:
        """Names the job on a worker (its program is kept between chunks of one job)."""
        digest = hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode())
        for name, data in self.show_files:
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        digest.update(f"{self.model_sha256}{self.start!r}{self.frames}".encode())
        return digest.hexdigest()[:16]

    @property
    def fps(self) -> Fraction:
        return Fraction(self.spec["fps"])


def job_for(program: Program, start: float, frames: int, output: Path, delivery: Delivery) -> FarmJob:
    """The job that renders ``frames`` frames of ``program`` from show time ``start``."""
    spec: ProgramSpec = program.spec
    asked = model_asked(spec, program.show)
    name, sha = model_identity(asked)
    model_path = resolve_model(asked).resolve()  # not "default": a worker may mean another model by it
    files: list[tuple[str, bytes]] = []
    if program.show is not None:
        folder = program.show.path.resolve().parent
        for path in (program.show.path.resolve(), *program.show.files):
            files.append((str(path.relative_to(folder)), path.read_bytes()))
        total = sum(len(data) for _, data in files)
        if total > SHOW_FILES_LIMIT:
            raise FarmError(f"{program.show.path}: the show and the files it reads are {total >> 20} MB; "
                            f"a farm ships at most {SHOW_FILES_LIMIT >> 20} MB to each worker")
    fixed = replace(spec, show=None, model=None, fps=str(program.fps),
                    size=(program.settings.width, program.settings.height))
    return FarmJob(fixed.to_json(), program.show.path.name if program.show else None, tuple(files), name, sha,
                   str(model_path), start, frames, output.suffix.lower(), replace(delivery, soundtrack=None))
