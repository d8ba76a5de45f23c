"""The FFHQ MobileStyleGAN on this machine: CPU runtimes side by side, and the resolution ladder.

    python benchmarks/mobilestylegan.py [--faces 8] [--json out.json]

1. Runtimes: torch, OpenVINO (the engine's network converted) and ONNX Runtime (the same network
   exported), each at the 256- and 1024-px exits, in one run, one face at a time as the live
   loop asks for them: median seconds a face, speed against torch, and the largest difference
   from torch's picture. ONNX Runtime and its exporter (onnx, onnxscript) are only for this
   table: ``pip install onnxruntime onnx onnxscript``; without them its rows say so.
2. The ladder: each exit's time a face (through the runtime the engine uses) and its PSNR
   against the 1024-px picture box-filtered to the exit's size, over faces never used to fit
   the exits (psi 0.7, as shows play them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.generators.catalog import FACES_MODEL  # noqa: E402
from engine.generators.loading import load_generator  # noqa: E402
from engine.generators.openvino_runtime import ExitModule, OpenVINOSynthesis  # noqa: E402


def timed(run, ws: torch.Tensor, repeats: int) -> tuple[float, np.ndarray]:
    first = run(ws[:1])  # warm-up
    times = []
    for i in range(repeats):
        began = time.perf_counter()
        run(ws[i % len(ws):i % len(ws) + 1])
        times.append(time.perf_counter() - began)
    return statistics.median(times), np.asarray(first)


def onnx_runner(module: torch.nn.Module, example: torch.Tensor, folder: Path):
    try:
        import onnxruntime as ort
    except ImportError:
        return None, "onnxruntime not installed"
    path = folder / "synthesis.onnx"
    try:
        torch.onnx.export(module, (example,), str(path), input_names=["ws"], output_names=["image"],
                          dynamic_axes={"ws": {0: "batch"}, "image": {0: "batch"}})
    except Exception as exc:  # the exporter's own errors are many kinds
        return None, f"export failed: {str(exc).splitlines()[0][:100]}"
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return (lambda ws: session.run(None, {"ws": ws.numpy()})[0]), ""


@torch.inference_mode()
def runtimes(generator, ws: torch.Tensor, repeats: int) -> list[dict]:
    rows = []
    for pixels in (256, 1024):
        block = generator.config.exits[generator.resolutions.index(pixels)]
        module = ExitModule(generator.net, block).eval()
        torch_seconds, reference = timed(lambda w: module(w).numpy(), ws, repeats)
        rows.append({"exit": pixels, "runtime": "torch", "seconds": torch_seconds, "speedup": 1.0, "max_diff": 0.0})
        compiled = OpenVINOSynthesis(module, ws[:1], f"bench-{generator._digest}-exit{block}")
        seconds, out = timed(lambda w: compiled(w).numpy(), ws, repeats)
        rows.append({"exit": pixels, "runtime": "OpenVINO", "seconds": seconds, "speedup": torch_seconds / seconds,
                     "max_diff": float(np.abs(out - reference).max())})
        with tempfile.TemporaryDirectory() as folder:
            run, why = onnx_runner(module, ws[:1], Path(folder))
            if run is None:
                rows.append({"exit": pixels, "runtime": "ONNX Runtime", "note": why})
                continue
            seconds, out = timed(run, ws, repeats)
        rows.append({"exit": pixels, "runtime": "ONNX Runtime", "seconds": seconds,
                     "speedup": torch_seconds / seconds, "max_diff": float(np.abs(out - reference).max())})
    return rows


@torch.inference_mode()
def ladder(generator, ws: torch.Tensor, repeats: int) -> list[dict]:
    generator.use_resolution(1024)
    full = torch.cat([generator.synthesis(ws[i:i + 1]) for i in range(len(ws))])
    rows = []
    for pixels in generator.resolutions:
        generator.use_resolution(pixels)
        seconds, _ = timed(generator.synthesis, ws, repeats)
        image = torch.cat([generator.synthesis(ws[i:i + 1]) for i in range(len(ws))])
        reference = F.avg_pool2d(full, 1024 // pixels)
        mse = ((image.clamp(-1, 1) - reference.clamp(-1, 1)) / 2).square().mean(dim=(1, 2, 3))
        psnr = (-10 * torch.log10(mse.clamp_min(1e-12))).tolist()
        rows.append({"exit": pixels, "seconds": seconds, "fps": 1 / seconds,
                     "psnr_mean": statistics.mean(psnr), "psnr_min": min(psnr)})
    generator.use_resolution(1024)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    generator = load_generator(FACES_MODEL, device="cpu")
    z = np.random.default_rng(424242).standard_normal((args.faces, generator.z_dim))
    with torch.inference_mode():
        ws = torch.cat([generator.mapping(generator.to_tensor(z[i:i + 1]), 0.7) for i in range(args.faces)])
    print(f"model {generator.card.name} on {generator.describe()}, torch {torch.__version__}")
    table = runtimes(generator, ws, args.faces)
    print("\n| exit | runtime | s a face | vs torch | max diff |\n| --- | --- | --- | --- | --- |")
    for row in table:
        if "note" in row:
            print(f"| {row['exit']} | {row['runtime']} | - | - | {row['note']} |")
        else:
            print(f"| {row['exit']} | {row['runtime']} | {row['seconds']:.3f} | {row['speedup']:.2f}x | "
                  f"{row['max_diff']:.1e} |")
    steps = ladder(generator, ws, args.faces)
    print("\n| exit px | s a face | faces/s | PSNR vs 1024 downscaled (mean / worst) |\n| --- | --- | --- | --- |")
    for row in steps:
        psnr = "exact" if row["exit"] == 1024 else f"{row['psnr_mean']:.1f} / {row['psnr_min']:.1f} dB"
        print(f"| {row['exit']} | {row['seconds']:.3f} | {row['fps']:.1f} | {psnr} |")
    if args.json:
        args.json.write_text(json.dumps({"device": generator.describe(), "runtimes": table, "ladder": steps}, indent=1))


if __name__ == "__main__":
    main()
