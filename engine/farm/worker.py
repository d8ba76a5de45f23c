"""A chunk rendered on a worker: the show unpacked, the model checked, frames first..end made.

Runs inside a ``dask worker`` process (any machine with Vernissage and the model installed).
The job's files and program are kept between its chunks, so the model loads once per worker (a
replay resolves its program per chunk, as ``render --replay`` does); chunks run one at a time per
process (each uses every core through torch), whatever ``--nthreads`` says.
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
from engine.inputs.performance_log import PerformanceLogError
from engine.loop import run
from engine.loop.program import Program, ProgramSpec, resolve
from engine.record.errors import RecordError
from engine.show import ShowError

log = logging.getLogger(__name__)
_one_at_a_time = threading.Lock()
_kept: dict[str, _Kept] = {}  # the job's key -> what this worker keeps of it
REPLAY_LOG = "performance.jsonl"
SHOWS = "shows"


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
            with tempfile.TemporaryDirectory(prefix="vernissage-chunk-") as scratch:
                output = Path(scratch) / f"chunk{job.suffix}"
                kept = _kept_for(job)
                if job.replay:
                    run.replay(kept.folder / REPLAY_LOG, output, job.size, progress=False, delivery=job.delivery,
                               first=chunk.first, end=chunk.end, spec=kept.spec,
                               shows=kept.folder / SHOWS if job.shows_files else None)
                else:
                    if kept.program is None:
                        kept.program = resolve(kept.spec)
                    run.render(kept.program, output, chunk.end, start=job.start, progress=False,
                               delivery=job.delivery, first=chunk.first, heard_audio=heard)
                paths = [output] if job.suffix else sorted(output.glob("*.png"))
                files = tuple(path.read_bytes() for path in paths)
        except (ModelError, ShowError, RecordError, PerformanceLogError, OSError) as exc:
            raise FarmError(f"worker {host}: {exc}") from None
        return ChunkResult(chunk, files, host, time.perf_counter() - began)


@dataclass
class _Kept:
    """A job's files unpacked on this worker, the spec that plays them, and (renders) its program."""

    folder: Path
    spec: ProgramSpec
    program: Program | None = None


def _kept_for(job: FarmJob) -> _Kept:
    """The job's files and spec, unpacked on this worker's first chunk of it and kept for the rest."""
    if job.key in _kept:
        return _kept[job.key]
    for kept in _kept.values():  # one job at a time: the last one's files go
        shutil.rmtree(kept.folder, ignore_errors=True)
    _kept.clear()
    model = _local_model(job)
    folder = Path(tempfile.mkdtemp(prefix="vernissage-job-"))
    show = _unpack(job.show_files, folder / "show")
    _unpack(job.shows_files, folder / SHOWS)
    if job.replay:
        (folder / REPLAY_LOG).write_bytes(job.replay)
    spec = replace(ProgramSpec.from_json(job.spec), show=str(show) if show else None, model=model)
    _kept[job.key] = kept = _Kept(folder, spec)
    return kept


def _unpack(files: tuple[tuple[str, bytes], ...], folder: Path) -> Path | None:
    """``files`` written under ``folder``; the first one's path (a show: the show file)."""
    first = None
    for name, data in files:
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()):  # the client made these names; a worker checks anyway
            raise FarmError(f"worker {socket.gethostname()}: a shipped file {name!r} leads out of its folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        first = first or path
    return first


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
