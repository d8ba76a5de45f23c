"""A chunk rendered on a worker: the show unpacked, the model checked, frames first..end made.

Runs inside a ``dask worker`` process (any machine with Vernissage and the model installed).
The program is kept between the chunks of one job, so the model loads once per worker; chunks
run one at a time per process (each uses every core through torch), whatever ``--nthreads`` says.
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from engine.farm.chunks import Chunk
from engine.farm.errors import FarmError
from engine.farm.job import FarmJob
from engine.generators.catalog import model_identity, resolve_model
from engine.generators.errors import ModelError
from engine.inputs.audio import HeardAudio
from engine.loop import run
from engine.loop.program import Program, ProgramSpec, resolve
from engine.record.errors import RecordError
from engine.show import ShowError

log = logging.getLogger(__name__)
_one_at_a_time = threading.Lock()
_kept: dict[str, tuple[Program, Path]] = {}  # the job's key -> its program and unpacked show folder


@dataclass(frozen=True)
class ChunkResult:
    """What a chunk sends back: its files' bytes (one video segment, or its PNG frames in order)."""

    chunk: Chunk
    files: tuple[bytes, ...]
    worker: str
    seconds: float


def render_chunk(job: FarmJob, chunk: Chunk, heard: HeardAudio | None) -> ChunkResult:
    """Render ``chunk`` of ``job``; FarmError (one line, naming this machine) when it cannot."""
    host = socket.gethostname()
    with _one_at_a_time:
        began = time.perf_counter()
        try:
            program, folder = _program(job)
            with tempfile.TemporaryDirectory(prefix="vernissage-chunk-") as scratch:
                output = Path(scratch) / f"chunk{job.suffix}"
                run.render(program, output, chunk.end, start=job.start, progress=False, delivery=job.delivery,
                           first=chunk.first, heard_audio=heard)
                paths = [output] if job.suffix else sorted(output.glob("*.png"))
                files = tuple(path.read_bytes() for path in paths)
        except (ModelError, ShowError, RecordError, OSError) as exc:
            raise FarmError(f"worker {host}: {exc}") from None
        return ChunkResult(chunk, files, host, time.perf_counter() - began)


def _program(job: FarmJob) -> tuple[Program, Path]:
    """The job's program, built on this worker's first chunk of it and kept for the rest."""
    if job.key in _kept:
        return _kept[job.key]
    for _, folder in _kept.values():  # one job at a time: the last one's files go
        shutil.rmtree(folder, ignore_errors=True)
    _kept.clear()
    model = _local_model(job)
    folder = Path(tempfile.mkdtemp(prefix="vernissage-show-"))
    show = None
    for name, data in job.show_files:
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()):  # the client made these names; a worker checks anyway
            raise FarmError(f"worker {socket.gethostname()}: a show file {name!r} leads out of its folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        show = show or path
    spec = replace(ProgramSpec.from_json(job.spec), show=str(show) if show else None, model=model)
    _kept[job.key] = kept = (resolve(spec), folder)
    return kept


def _local_model(job: FarmJob) -> str:
    """This worker's copy of the job's model: by name, else at the client's path; FarmError unless
    it is there with the same weights."""
    host = socket.gethostname()
    for candidate in (job.model, job.model_path):
        try:
            resolve_model(candidate)
        except ModelError:
            continue
        name, sha = model_identity(candidate)
        if sha != job.model_sha256:
            raise FarmError(f"worker {host}: its model {name} has weights sha256 {sha[:12]}..., the client's "
                            f"{job.model} has {job.model_sha256[:12]}...; install the same model on every worker")
        return candidate
    raise FarmError(f"worker {host}: no model {job.model} (sha256 {job.model_sha256[:12]}...); install it there "
                    f"(vernissage models install/import) or put it in a folder on $VERNISSAGE_MODELS")
