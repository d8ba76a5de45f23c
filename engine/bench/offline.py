"""``vernissage bench``: generator and offline-render speed against a naive baseline, same run.

The baseline is what a first script would do: generate one frame, resize it with PIL's
Lanczos, encode or save it, one after another. Figures are reported as ratios to it, since
absolute numbers say more about the machine than about the engine. Each render is also
put against the generator-only bound: the time the generator alone takes for the same
frames at its best batch size (1.00 = the render costs nothing beyond generating).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from engine.frames import WalkSource, make_walk
from engine.generators.base import Generator
from engine.generators.loading import load_generator
from engine.generators.speed import seconds_per_frame
from engine.loop import process, run
from engine.loop.compositor import TextStyle
from engine.loop.program import Program, ProgramSpec
from engine.record.sinks import open_sink
from engine.render.settings import RenderSettings

BATCHES = (1, 2, 4, 8, 16)
FPS = 30


@dataclass(frozen=True)
class Figure:
    name: str
    frames_per_second: float
    baseline: float
    generator_bound: float | None = None  # render seconds / the generator alone's seconds, same frames

    @property
    def ratio(self) -> float:
        return self.frames_per_second / self.baseline


def frame_times(frames: int, fps: int) -> list[float]:
    return [float(Fraction(i, fps)) for i in range(frames)]


def naive_render(generator: Generator, size: tuple[int, int], frames: int, output: Path) -> float:
    """Frames per second of the one-thing-after-another baseline."""
    width, height = size
    path = make_walk("wander", 0, generator.z_dim)
    sink = open_sink(output, FPS, size)
    side = min(width, height)
    began = time.perf_counter()
    for t in frame_times(frames, FPS):
        face = generator.frames(path(t)).cpu().numpy()[0]
        canvas = Image.new("RGB", size)
        canvas.paste(Image.fromarray(face).resize((side, side), Image.LANCZOS),
                     ((width - side) // 2, (height - side) // 2))
        sink.write(np.asarray(canvas))
    sink.close()
    return frames / (time.perf_counter() - began)


def engine_render(generator: Generator, size: tuple[int, int], frames: int, output: Path) -> float:
    source = WalkSource(make_walk("wander", 0, generator.z_dim))
    program = Program(ProgramSpec(walk="wander"), source, generator, Fraction(FPS), RenderSettings(*size), TextStyle(),
                      None)
    began = time.perf_counter()
    run.render(program, output, frames, progress=False)
    return frames / (time.perf_counter() - began)


def best_seconds_per_frame(generator: Generator, frames: int) -> tuple[float, int]:
    """The generator alone at its best batch size: (seconds per frame, batch)."""
    costs = {batch: seconds_per_frame(generator, batch, max(frames, 2 * batch)) for batch in BATCHES}
    batch = min(costs, key=lambda b: costs[b])
    return costs[batch], batch


def run_offline_bench(model: str, size: tuple[int, int], frames: int, json_path: Path | None) -> list[Figure]:
    """Measure and print every figure; optionally write them as JSON."""
    generator = load_generator(model)
    process.configure(generator.placement, live=False, software_gl=True)
    print(f"model {generator.card.name} on {generator.describe()}, output {size[0]}x{size[1]}, "
          f"{frames} frames per measurement")
    single = seconds_per_frame(generator, 1, max(frames, 8))
    best, batch = best_seconds_per_frame(generator, frames)
    figures = [Figure(f"generator, batch {batch} vs batch 1", 1.0 / best, 1.0 / single)]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for kind, target in (("H.264", "out.mp4"), ("PNG", "frames")):
            baseline = naive_render(generator, size, frames, work / f"naive-{target}")
            ours = engine_render(generator, size, frames, work / target)
            figures.append(Figure(f"offline render to {kind}", ours, baseline, (1.0 / ours) / best))
    print(f"{'measurement':34s} {'engine fps':>11s} {'baseline fps':>13s} {'ratio':>7s} {'x generator-only':>17s}")
    for f in figures:
        bound = f"{f.generator_bound:16.2f}x" if f.generator_bound is not None else ""
        print(f"{f.name:34s} {f.frames_per_second:11.1f} {f.baseline:13.1f} {f.ratio:6.2f}x {bound}")
    if json_path:
        json_path.write_text(json.dumps([asdict(f) | {"ratio": f.ratio} for f in figures], indent=2))
    return figures
