"""Delivery settings: bitrate and fidelity of each codec setting against the lossless frames.

    python benchmarks/delivery.py [--seconds 10] [--size 1920x1080] [--show shows/never_existed.toml | --walk]

Renders the show once to lossless FFV1 (the reference), then encodes the same frames with
each setting and reports Mbit/s, PSNR against the reference (RGB, dB), the PSNR of the picture
(4x4 means, so film grain, which no encoder keeps pixel for pixel at a delivery bitrate, is
averaged out; over 40 dB is not told apart by eye on moving pictures) and encoding speed, with the bitrate as a ratio of the first
wave's default (H.264 CRF 16 medium) measured in the same run.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from engine.record.codecs import delivery_cap

def settings(size: tuple[int, int], fps: int) -> list[tuple[str, str, dict[str, str]]]:
    """(label, codec, options) of each setting compared; the first is the baseline."""
    cap = delivery_cap(size, fps)
    capped = {"maxrate": str(cap), "bufsize": str(2 * cap)}  # capped CRF, as the engine's default
    return [
        ("h264 crf16 medium (first wave)", "libx264", {"preset": "medium", "crf": "16"}),
        ("h264 crf20 slow", "libx264", {"preset": "slow", "crf": "20"}),
        ("h264 crf22 slow", "libx264", {"preset": "slow", "crf": "22"}),
        (f"h264 crf20 medium cap {cap / 1e6:g}M (default)", "libx264", {"preset": "medium", "crf": "20", **capped}),
        (f"h264 crf20 slow cap {cap / 1e6:g}M", "libx264", {"preset": "slow", "crf": "20", **capped}),
        (f"h265 crf24 medium cap {cap / 1e6:g}M (default)", "libx265",
         {"preset": "medium", "crf": "24", **capped, "x265-params": "log-level=error"}),
    ]


def encode(frames: list[np.ndarray], path: Path, codec: str, options: dict[str, str], fps: int) -> float:
    began = time.perf_counter()
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p", dst_colorspace="itu709")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return time.perf_counter() - began


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24", src_colorspace="itu709") for f in container.decode(video=0)]


def psnr(a: list[np.ndarray], b: list[np.ndarray], block: int = 1) -> float:
    """PSNR in dB; with ``block`` > 1, of the means of block x block squares: the picture with
    the film grain averaged out, which tells a softened face from merely different grain."""
    errors = [np.mean((_means(x, block) - _means(y, block)) ** 2) for x, y in zip(a, b)]
    return 10.0 * math.log10(255.0 ** 2 / max(float(np.mean(errors)), 1e-12))


def _means(image: np.ndarray, block: int) -> np.ndarray:
    h, w = (image.shape[0] // block) * block, (image.shape[1] // block) * block
    pixels = image[:h, :w].astype(np.float64)
    return pixels.reshape(h // block, block, w // block, block, -1).mean(axis=(1, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--show", default="shows/never_existed.toml")
    parser.add_argument("--walk", action="store_true",
                        help="a wander with film grain instead: motion and noise in every frame (the worst case)")
    args = parser.parse_args()
    what = ["--walk", "wander", "--speed", "0.5", "--grain", "0.03"] if args.walk else [args.show]
    fps = 30
    with tempfile.TemporaryDirectory() as folder:
        reference = Path(folder) / "reference.mkv"
        subprocess.run([sys.executable, "-m", "engine.cli", "render", *what, "--seconds", str(args.seconds),
                        "--size", args.size, "--fps", str(fps), "-o", str(reference), "--no-progress"], check=True)
        frames = decoded(reference)
        baseline = None
        width, height = (int(v) for v in args.size.split("x"))
        for label, codec, options in settings((width, height), fps):
            path = Path(folder) / f"{len(label)}.mp4"
            seconds = encode(frames, path, codec, options, fps)
            mbits = path.stat().st_size * 8 / 1e6 / (len(frames) / fps)
            baseline = baseline or mbits
            back = decoded(path)
            print(f"{label:34s} {mbits:6.1f} Mbit/s ({mbits / baseline:4.2f}x)  PSNR {psnr(frames, back):5.2f} dB"
                  f"  picture {psnr(frames, back, 4):5.2f} dB  {len(frames) / seconds:5.1f} frames/s encoded")


if __name__ == "__main__":
    main()
