"""Pictures of a training run: sample grids, and the quality numbers over the steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from engine.render.sheet import contact_sheet


def sample_grid(net: torch.nn.Module, z: torch.Tensor, step: int, path: Path) -> None:
    """``net``'s images for the fixed ``z``, 8 a row, the first labelled with the step."""
    with torch.no_grad():
        out = net(z)
    images: np.ndarray = ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    labels = [f"step {step}" if i == 0 else "" for i in range(len(images))]
    contact_sheet(list(images), labels, 8, max(64, images.shape[1])).save(path)


def plot_progress(history: list[dict], path: Path, size: tuple[int, int] = (640, 360)) -> None:
    """Each quality number against the step, scaled to its own range: down is better."""
    line_plot({key: [(h["step"], h[key]) for h in history] for key in ("frechet_thumb8", "spectral_distance")},
              path, "step", size)


def line_plot(series: dict[str, list[tuple[float, float]]], path: Path, x_label: str,
              size: tuple[int, int] = (640, 360), bands: dict[str, list[tuple[float, float, float]]] | None = None) -> None:
    """Lines (x, y) per series, each scaled to its own range, with optional (x, low, high) bands."""
    w, h = size
    margin = 40
    image = Image.new("RGB", size, (250, 250, 248))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(12)
    colours = [(200, 60, 40), (40, 90, 200), (40, 150, 80), (120, 60, 160)]
    xs = [x for points in series.values() for x, _ in points] or [0.0, 1.0]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    for i, (name, points) in enumerate(series.items()):
        if not points:
            continue
        band = (bands or {}).get(name, [])
        ys = [y for _, y in points] + [v for _, lo, hi in band for v in (lo, hi)]
        y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

        def at(x: float, y: float) -> tuple[float, float]:
            return (margin + (x - x0) / (x1 - x0) * (w - 2 * margin),
                    h - margin - (y - y0) / (y1 - y0) * (h - 2 * margin))  # noqa: B023

        colour = colours[i % len(colours)]
        if band:
            outline = [at(x, hi) for x, _, hi in band] + [at(x, lo) for x, lo, _ in reversed(band)]
            draw.polygon(outline, fill=tuple(int(c * 0.25 + 250 * 0.75) for c in colour))
        draw.line([at(x, y) for x, y in points], fill=colour, width=2)
        draw.text((margin + 4, 6 + 14 * i), f"{name}: {points[-1][1]:.4g} (range {y0:.3g}..{y1:.3g})",
                  fill=colour, font=font)
    draw.text((w - margin - 60, h - margin + 10), x_label, fill=(60, 60, 60), font=font)
    draw.rectangle((margin, margin, w - margin, h - margin), outline=(180, 180, 180))
    image.save(path)


