"""StyleGAN2 ms per frame at 256x256 and 1024x1024 (random weights, standard widths).

    python benchmarks/stylegan2_speed.py [--device cpu|cuda] [--frames N]

Prints fp32 and fp16 for each configuration (fp16 only on CUDA: the engine never uses it on
a CPU, where torch's half convolutions are far slower than fp32). The baseline in each row is
the same network in fp32 at batch 1, measured in the same run.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from engine.generators.card import ModelCard
from engine.generators.device import choose_placement
from engine.generators.stylegan2 import StyleGAN2Generator


def random_canonical(resolution: int, z_dim: int = 512, mapping_layers: int = 8,
                     channel_base: int = 32768, channel_max: int = 512) -> dict[str, torch.Tensor]:
    """Canonical StyleGAN2 tensors with the official width schedule min(base / res, max)."""
    g = torch.Generator().manual_seed(resolution)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    width = lambda res: min(channel_base // res, channel_max)  # noqa: E731
    t = {f"mapping.{i}.weight": r(z_dim, z_dim) / math.sqrt(z_dim) for i in range(mapping_layers)}
    t |= {f"mapping.{i}.bias": torch.zeros(z_dim) for i in range(mapping_layers)}
    t["w_avg"] = torch.zeros(z_dim)
    t["const"] = r(width(4), 4, 4)
    resolutions = [4] + [res for res in (8, 16, 32, 64, 128, 256, 512, 1024) if res <= resolution for _ in (0, 1)]
    previous = width(4)
    for layer, res in enumerate(resolutions):
        out = width(res)
        t |= {f"conv.{layer}.weight": r(out, previous, 3, 3), f"conv.{layer}.affine.weight": r(previous, z_dim) / math.sqrt(z_dim),
              f"conv.{layer}.affine.bias": torch.ones(previous), f"conv.{layer}.bias": torch.zeros(out),
              f"conv.{layer}.noise": r(res, res), f"conv.{layer}.noise_strength": torch.tensor(0.1)}
        previous = out
    for k, res in enumerate([4] + [res for res in (8, 16, 32, 64, 128, 256, 512, 1024) if res <= resolution]):
        c = width(res)
        t |= {f"torgb.{k}.weight": r(3, c, 1, 1) / math.sqrt(c), f"torgb.{k}.affine.weight": r(c, z_dim) / math.sqrt(z_dim),
              f"torgb.{k}.affine.bias": torch.ones(c), f"torgb.{k}.bias": torch.zeros(3)}
    kernel = torch.tensor([1.0, 3.0, 3.0, 1.0])
    t["resample_filter"] = torch.outer(kernel, kernel) / 64.0
    return t


def ms_per_frame(generator: StyleGAN2Generator, batch: int, frames: int) -> float:
    z = torch.randn(batch, generator.z_dim)
    generator.frames(z)  # warm-up (and cuDNN autotune on GPU)
    if generator.device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    rounds = max(1, frames // batch)
    for _ in range(rounds):
        generator.frames(z)
    if generator.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - began) * 1000 / (rounds * batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    print(f"{'config':>10s} {'precision':>9s} {'batch':>5s} {'ms/frame':>9s} {'vs fp32 b1':>10s}")
    for resolution in (256, 1024):
        tensors = random_canonical(resolution)
        card = ModelCard(f"random-{resolution}", "stylegan2", 512, resolution)
        baseline = None
        for fp16 in (False, True):
            if fp16 and args.device == "cpu":
                print(f"{resolution:>8d}px {'fp16':>9s}     -  CUDA only")
                continue
            generator = StyleGAN2Generator(card, tensors, choose_placement(args.device, fp16), "random")
            for batch in (1, 4):
                try:
                    ms = ms_per_frame(generator, batch, args.frames if resolution == 1024 else 4 * args.frames)
                except RuntimeError as exc:
                    print(f"{resolution:>8d}px {'fp16' if fp16 else 'fp32':>9s} {batch:5d}  unsupported here ({str(exc)[:60]})")
                    continue
                baseline = baseline or ms
                print(f"{resolution:>8d}px {'fp16' if fp16 else 'fp32':>9s} {batch:5d} {ms:9.1f} {baseline / ms:9.2f}x")


if __name__ == "__main__":
    main()
