"""``vernissage bench``: generator and offline-render speed against a naive baseline, same run.

The baseline is what a first script would do: generate one frame, resize it with PIL's
Lanczos, encode or save it, one after another. Figures are reported as ratios to it, since
absolute numbers say more about the machine than about the engine.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.frames import WalkSource, make_walk
from engine.generators import Generator, load_generator
from engine.offline import frame_times, render_offline
from engine.record import open_sink
from engine.render import RenderSettings


@dataclass(frozen=True)
class Figure:
    name: str
    frames_per_second: float
    baseline: float

    @property
    def ratio(self) -> float:
        return self.frames_per_second / self.baseline


def generator_rate(generator: Generator, batch: int, frames: int) -> float:
    """Frames per second of ``generator.frames`` in batches of ``batch`` (after a warm-up)."""
    z = np.random.default_rng(0).standard_normal((batch, generator.z_dim))
    generator.frames(z)
    began = time.perf_counter()
    for _ in range(max(1, frames // batch)):
        generator.frames(z).cpu()
    return max(1, frames // batch) * batch / (time.perf_counter() - began)


def naive_render(generator: Generator, size: tuple[int, int], frames: int, output: Path) -> float:
    """Frames per second of the one-thing-after-another baseline."""
    width, height = size
    path = make_walk("wander", 0, generator.z_dim)
    sink = open_sink(output, 30, size)
    side = min(width, height)
    began = time.perf_counter()
    for t in frame_times(frames, 30):
        face = generator.frames(path(t)).cpu().numpy()[0]
        canvas = Image.new("RGB", size)
        canvas.paste(Image.fromarray(face).resize((side, side), Image.LANCZOS),
                     ((width - side) // 2, (height - side) // 2))
        sink.write(np.asarray(canvas))
    sink.close()
    return frames / (time.perf_counter() - began)


def engine_render(generator: Generator, size: tuple[int, int], frames: int, output: Path) -> float:
    source = WalkSource(make_walk("wander", 0, generator.z_dim))
    report = render_offline(source, generator, RenderSettings(*size), output, frames, 30, progress=False)
    return report.fps


def run_offline_bench(model: str, size: tuple[int, int], frames: int, json_path: Path | None) -> list[Figure]:
    """Measure and print every figure; optionally write them as JSON."""
    generator = load_generator(model)
    print(f"model {generator.card.name} on {generator.placement.describe()}, output {size[0]}x{size[1]}, "
          f"{frames} frames per measurement")
    single = generator_rate(generator, 1, max(frames, 64))
    figures = [Figure("generator, batch 8 vs batch 1", generator_rate(generator, 8, max(frames, 64)), single)]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for kind, target in (("H.264", "out.mp4"), ("PNG", "frames")):
            baseline = naive_render(generator, size, frames, work / f"naive-{target}")
            ours = engine_render(generator, size, frames, work / target)
            figures.append(Figure(f"offline render to {kind}", ours, baseline))
    print(f"{'measurement':34s} {'engine fps':>11s} {'baseline fps':>13s} {'ratio':>7s}")
    for f in figures:
        print(f"{f.name:34s} {f.frames_per_second:11.1f} {f.baseline:13.1f} {f.ratio:6.2f}x")
    if json_path:
        json_path.write_text(json.dumps([asdict(f) | {"ratio": f.ratio} for f in figures], indent=2))
    return figures
