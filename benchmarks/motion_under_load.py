"""Motion under load: a heavy model played live while a costly codec records what is shown.

    python benchmarks/motion_under_load.py [--resolution 128] [--seconds 15] [--codec mkv|mp4]
                                           [--size 1280x720] [--fps 60] [--engine PATH]
                                           [--model NAME] [--show SHOW]

A random-weight StyleGAN2 (a quarter of the standard widths: a 128-px model one CPU thread makes
~30 frames a second of) plays a wander at 720p60 headless while recording FFV1 (.mkv), which takes the CPU
the generator counted on. The recording is decoded and each frame compared with the one before:
a frame equal to its predecessor is frozen (a stand-in), and the largest step against the median
step says how far the picture jumped when it caught up. Printed with the player's own counts.
``--engine`` runs another checkout of the engine (a baseline) with the same model. ``--model``
plays an installed model instead (``mobilestylegan-ffhq``: the FFHQ faces), and ``--show`` a show
instead of the wander.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stylegan2_speed import random_canonical  # noqa: E402


def make_model(folder: Path, resolution: int) -> Path:
    """A model folder with random weights (what matters here is the cost, not the faces)."""
    tensors = random_canonical(resolution, channel_base=4096, channel_max=128)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "generator.safetensors"))
    (folder / "model.toml").write_text(f'name = "{folder.name}"\narchitecture = "stylegan2"\n'
                                       f'latent_dim = 512\nresolution = {resolution}\n')
    return folder


FROZEN = 0.05  # mean grey-level change below which a frame repeats the last (lossy codecs jitter a little)


def motion(path: Path, fps: float, settle: float) -> dict[str, float]:
    """Frames, frozen frames and the largest step over the median step of a recording, over
    all of it and after the first ``settle`` seconds (the steady state)."""
    steps, previous = [], None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="gray").astype(np.int16)
            if previous is not None:
                steps.append(float(np.abs(image - previous).mean()))
            previous = image
    result: dict[str, float] = {"recorded": len(steps) + 1}
    for name, part in (("", np.array(steps)), ("steady_", np.array(steps[round(settle * fps):]))):
        moving = part[part >= FROZEN]
        median = float(np.median(moving)) if moving.size else 0.0
        result[f"{name}frozen"] = int(np.sum(part < FROZEN))
        result[f"{name}largest_step_over_median"] = round(float(part.max()) / median, 1) if median else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--codec", choices=("mkv", "mp4"), default="mkv")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", default="60")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds left out of the steady-state figures")
    parser.add_argument("--engine", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout whose engine plays (default: this one)")
    parser.add_argument("--model", default=None, help="an installed model instead of the random StyleGAN2")
    parser.add_argument("--show", type=Path, default=None, help="a show instead of the wander")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        model = args.model or str(make_model(work / f"random-sg2-{args.resolution}", args.resolution))
        recording, stats = work / f"live.{args.codec}", work / "stats.json"
        env = {**os.environ, "PYTHONPATH": str(args.engine)}
        what = [str(args.show.resolve())] if args.show else ["--walk", "wander", "--speed", "0.5"]
        subprocess.run([sys.executable, "-m", "engine.cli", "play", "--headless", *what,
                        "--model", model, "--size", args.size, "--fps", args.fps, "--duration", str(args.seconds),
                        "--record", str(recording), "--stats-json", str(stats)], check=True, env=env,
                       cwd=args.engine, stderr=subprocess.DEVNULL)
        played = json.loads(stats.read_text())
        result = {"engine": str(args.engine), "model": played.get("model"), "device": played.get("device"),
                  "renderer": played.get("renderer"), "frames": played["frames"], "stand_ins": played["missed_substituted"],
                  "late": played["missed_late"], "keyframe_rate": played["keyframe_rate"],
                  "generator_fps": played["generator_fps"], **motion(recording, float(args.fps), args.settle)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
