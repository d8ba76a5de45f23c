"""``vernissage render --cluster ADDRESS``: the chunks sent to a Dask scheduler, the results joined.

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
from engine.farm.job import job_for
from engine.farm.join import join_video, write_frames, write_soundtrack
from engine.farm.worker import ChunkResult, render_chunk
from engine.inputs.audio import hear_track
from engine.inputs.bindings import load_bindings
from engine.loop.program import Program
from engine.loop.run import RenderReport
from engine.record.codecs import Delivery

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler before saying it cannot be reached


def render_on_cluster(program: Program, output: Path, frames: int, address: str, start: float = 0.0,
                      progress: bool = True, delivery: Delivery = Delivery(), audio: Path | None = None,
                      reactivity: float = 1.0, chunk: int | None = None) -> RenderReport:
    """Render as :func:`engine.loop.run.render` does, on the Dask cluster at ``address``;
    FarmError (one line) when the cluster cannot do it."""
    try:
        from distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise FarmError("--cluster needs Dask's distributed package: pip install 'vernissage[farm]'") from None
    began = time.perf_counter()
    job = job_for(program, start, frames, output, delivery)
    size = chunk_frames(program.fps, (program.settings.width, program.settings.height), chunk)
    chunks = split(frames, size)
    heard = None
    if audio is not None:  # heard once, here: every chunk gets what a local render heard at its frames
        bindings = load_bindings(program.show.path) if program.show is not None else []
        heard = hear_track(audio, program.fps, reactivity, bindings, frames)
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
        log.info("rendering %d frames in %d chunks of %d on %d workers at %s", frames, len(chunks), size,
                 len(workers), address)
        scratch.mkdir(parents=True, exist_ok=True)
        shared_job = client.scatter(job, broadcast=True)
        shared_heard = client.scatter(heard, broadcast=True) if heard is not None else None
        futures = [client.submit(render_chunk, shared_job, c, shared_heard, key=f"vernissage-{job.key}-{c.index}",
                                 pure=False) for c in chunks]
        done: dict[int, Path | None] = {}
        with tqdm(total=frames, unit="frame", disable=not progress, desc=f"{output.name} (cluster)") as bar:
            for future in as_completed(futures, loop=client.loop):
                result = _result(future, KilledWorker)
                done[result.chunk.index] = _keep(result, job.suffix, scratch, output)
                bar.update(result.chunk.frames)
                future.release()
        if job.suffix:
            join_video([(c.first, done[c.index]) for c in chunks], output, program.fps, frames, audio)  # type: ignore[misc]
        elif audio is not None:
            write_soundtrack(output, audio, Fraction(frames) / program.fps)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        client.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return RenderReport(output, frames, time.perf_counter() - began)


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
