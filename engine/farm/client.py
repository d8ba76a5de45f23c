"""``vernissage render [--replay LOG] --cluster ADDRESS``: chunks sent to a Dask scheduler, the results joined.

The client reads the show and the music, asks each chunk of frames of the cluster's workers,
writes what comes back to a scratch folder beside the output as it arrives (so memory holds a
chunk or two, not the render) and joins them at the end. A worker that dies mid-chunk is
Dask's to handle: the scheduler gives the chunk to another worker (up to its
``allowed-failures``); a chunk that fails for a reason of its own (no model, a full disk) ends
the render with that reason in one line.
"""

from __future__ import annotations

import logging
import shutil
import time
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

from engine.farm.chunks import Chunk, chunk_frames, split
from engine.farm.errors import FarmError
from engine.farm.job import FarmJob, job_for, replay_job_for
from engine.farm.join import join_video, write_frames, write_soundtrack
from engine.farm.worker import ChunkResult, render_chunk
from engine.inputs.audio import HeardAudio, hear_track
from engine.inputs.bindings import load_bindings
from engine.inputs.performance_log import read_performance
from engine.loop.program import Program
from engine.loop.run import RenderReport, logged_program
from engine.record.codecs import Delivery

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler before saying it cannot be reached


def render_on_cluster(program: Program, output: Path, frames: int, address: str, start: float = 0.0,
                      progress: bool = True, delivery: Delivery = Delivery(), audio: Path | None = None,
                      reactivity: float = 1.0, chunk: int | None = None) -> RenderReport:
    """Render as :func:`engine.loop.run.render` does, on the Dask cluster at ``address``;
    FarmError (one line) when the cluster cannot do it."""
    began = time.perf_counter()
    job = job_for(program, start, frames, output, delivery)
    heard = None
    if audio is not None:  # heard once, here: every chunk gets what a local render heard at its frames
        bindings = load_bindings(program.show.path) if program.show is not None else []
        heard = hear_track(audio, program.fps, reactivity, bindings, frames)
    size = chunk_frames(program.fps, (program.settings.width, program.settings.height), chunk)
    _run(job, split(frames, size), heard, output, address, program.fps, audio, progress)
    return RenderReport(output, frames, time.perf_counter() - began)


def replay_on_cluster(log_path: Path, output: Path, address: str, size: tuple[int, int] | None = None,
                      progress: bool = True, delivery: Delivery = Delivery(), chunk: int | None = None) -> RenderReport:
    """Render a performance as :func:`engine.loop.run.replay` does, on the Dask cluster at ``address``
    (``delivery.soundtrack``: a track muxed beside it)."""
    began = time.perf_counter()
    performance = read_performance(log_path)
    job = replay_job_for(log_path, performance, logged_program(log_path, performance), output, delivery, size)
    width, height = size or tuple(performance.header["size"])
    _run(job, split(job.frames, chunk_frames(performance.fps, (width, height), chunk)), None, output, address,
         performance.fps, delivery.soundtrack, progress)
    return RenderReport(output, job.frames, time.perf_counter() - began)


def _run(job: FarmJob, chunks: list[Chunk], heard: HeardAudio | None, output: Path, address: str, fps: Fraction,
         soundtrack: Path | None, progress: bool) -> None:
    """Every chunk of ``job`` rendered on the cluster and joined into ``output``."""
    try:
        from distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise FarmError("--cluster needs Dask's distributed package: pip install 'vernissage[farm]'") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FarmError(f"cannot reach the Dask scheduler at {address} ({str(exc).splitlines()[0][:160]})") from None
    scratch = output.parent / f".{output.name}.chunks"
    futures = []
    try:
        workers = client.scheduler_info().get("workers", {})
        if not workers:
            raise FarmError(f"the Dask scheduler at {address} has no workers; start some with "
                            f"`dask worker {address} --nthreads 1`")
        log.info("rendering %d frames in %d chunks of %d on %d workers at %s", job.frames, len(chunks),
                 chunks[0].frames, len(workers), address)
        scratch.mkdir(parents=True, exist_ok=True)
        shared_job = client.scatter(job, broadcast=True)
        shared_heard = client.scatter(heard, broadcast=True) if heard is not None else None
        futures = [client.submit(render_chunk, shared_job, c, shared_heard, key=f"vernissage-{job.key}-{c.index}",
                                 pure=False) for c in chunks]
        done: dict[int, Path | None] = {}
        with tqdm(total=job.frames, unit="frame", disable=not progress, desc=f"{output.name} (cluster)") as bar:
            for future in as_completed(futures, loop=client.loop):
                result = _result(future, KilledWorker)
                done[result.chunk.index] = _keep(result, job.suffix, scratch, output)
                bar.update(result.chunk.frames)
                future.release()
        if job.suffix:
            join_video([(c.first, done[c.index]) for c in chunks], output, fps, job.frames, soundtrack)  # type: ignore[misc]
        elif soundtrack is not None:
            write_soundtrack(output, soundtrack, Fraction(job.frames) / fps)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        client.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _result(future, killed: type[Exception]) -> ChunkResult:  # type: ignore[no-untyped-def]
    """A finished chunk's result; FarmError (one line) for one that failed."""
    try:
        return future.result()
    except FarmError:
        raise
    except killed as exc:
        raise FarmError(f"a chunk killed every worker it was given ({exc}); is a worker short of memory?") from None
    except Exception as exc:  # noqa: BLE001 - whatever a worker raised ends the render in one line
        raise FarmError(f"a chunk failed on a worker ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") \
            from None


def _keep(result: ChunkResult, suffix: str, scratch: Path, output: Path) -> Path | None:
    """A chunk's result on disk: its segment in the scratch folder, or its PNG frames in place."""
    chunk: Chunk = result.chunk
    if not suffix:
        write_frames(chunk.first, result.files, output)
        return None
    path = scratch / f"{chunk.index:06d}{suffix}"
    try:
        path.write_bytes(result.files[0])
    except OSError as exc:
        raise FarmError(f"{path}: cannot keep a chunk ({exc.strerror or exc})") from None
    return path
