"""Offline render: frame i is the source at t = start + i / fps, however long it takes.

Three stages overlap: a worker thread generates batches of frames ahead (torch releases the
GIL), the calling thread owns the GL context and renders, and the writer thread encodes.
Queues between them are bounded and blocking, so no frame is ever skipped.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

from engine.composition import TextStyle, draw
from engine.frames import FrameSource, FrameSpec
from engine.generation import generate_images
from engine.generators import Generator
from engine.record import AsyncWriter, RecordError, open_sink
from engine.render import Renderer, RenderSettings, headless_context


@dataclass(frozen=True)
class RenderReport:
    """What a render produced, for the CLI and the benchmarks."""

    output: Path
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def frame_times(frames: int, fps: float | Fraction, start: float = 0.0) -> list[float]:
    """Show time of each frame: exact i / fps (as a Fraction) plus ``start``."""
    rate = Fraction(fps).limit_denominator(1001)
    return [start + float(Fraction(i) / rate) for i in range(frames)]


def _frame_number(t: float, rate: Fraction) -> int:
    return round(Fraction(t).limit_denominator(10**6) * rate)


def _loop_frames(source: FrameSource, rate: Fraction) -> int:
    """Frames in one period of a looping source at ``rate``; 0 for sources that do not loop."""
    return _frame_number(source.period, rate) if source.period else 0


def grain_index(source: FrameSource, t: float, fps: float | Fraction) -> int:
    """The grain seed of the frame at show time t: its frame number at ``fps``, wrapped by the
    loop length for looping sources, so grain repeats with the loop and frame N of a seamless
    loop equals frame 0 exactly. Offline renders and the live player both use it."""
    rate = Fraction(fps).limit_denominator(1001)
    number, loop = _frame_number(t, rate), _loop_frames(source, rate)
    return number % loop if loop else number


def grain_indices(source: FrameSource, frames: int, fps: float | Fraction, start: float = 0.0) -> list[int]:
    """Grain seeds of ``frames`` consecutive frames from ``start`` (see :func:`grain_index`)."""
    first = grain_index(source, start, fps)
    loop = _loop_frames(source, Fraction(fps).limit_denominator(1001))
    return [(first + i) % loop if loop else first + i for i in range(frames)]


def _put_unless_stopped(results: queue.Queue, item: object, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            results.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _generate_ahead(generator: Generator, specs: list[FrameSpec], batch: int,
                    results: queue.Queue, stop: threading.Event) -> None:
    try:
        for first in range(0, len(specs), batch):
            _put_unless_stopped(results, generate_images(generator, specs[first:first + batch]), stop)
    except Exception as exc:  # hand any failure to the render thread to report
        _put_unless_stopped(results, exc, stop)


def render_offline(source: FrameSource, generator: Generator, settings: RenderSettings,
                   output: str | Path, frames: int, fps: float | Fraction = 30, start: float = 0.0,
                   batch: int = 8, progress: bool = True, style: TextStyle = TextStyle()) -> RenderReport:
    """Render ``frames`` frames of ``source`` to ``output`` (a directory, .mp4, .mov or .mkv)."""
    began = time.perf_counter()
    specs = [source(t) for t in frame_times(frames, fps, start)]
    grain_seeds = grain_indices(source, frames, fps, start)
    sink = open_sink(output, fps, (settings.width, settings.height))
    writer = AsyncWriter(sink, capacity=6)
    images: queue.Queue = queue.Queue(maxsize=3)
    stop = threading.Event()
    worker = threading.Thread(target=_generate_ahead, name="generate-ahead", daemon=True,
                              args=(generator, specs, batch, images, stop))
    ctx = headless_context()
    bar = tqdm(total=frames, unit="frame", disable=not progress, desc=Path(output).name)
    try:
        with Renderer(ctx, settings, (generator.resolution, generator.resolution)) as renderer:
            worker.start()
            index = 0
            while index < frames:
                block = images.get()
                if isinstance(block, Exception):
                    raise block
                for image in block:
                    draw(renderer, specs[index], image, grain_seeds[index], style)
                    if not writer.submit(renderer.read().copy()):
                        raise RecordError(writer.error or f"{output}: writer stopped")
                    index += 1
                    bar.update(1)
    finally:
        stop.set()
        if worker.is_alive():
            worker.join()
        bar.close()
        writer.close()
        ctx.release()
    if writer.error:
        raise RecordError(writer.error)
    return RenderReport(Path(output), sink.frames_written, time.perf_counter() - began)
