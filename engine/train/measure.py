"""`vernissage spectrum`: a model's reduced spectrum against real images, as a plot and numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine.generators.base import Generator
from engine.train.data import load_images
from engine.train.report import line_plot
from engine.train.spectrum import frechet_distance, reduced_spectra, spectral_distance


def model_spectrum(generator: Generator, samples: int, real: Path | None, plot: Path, json_path: Path | None,
                   seed: int = 0) -> dict:
    """Reduced spectra (mean and std by radius) of ``samples`` faces, and of the images under
    ``real`` at the model's resolution; their spectral and thumbnail Fréchet distances."""
    z = np.random.default_rng(seed).standard_normal((samples, generator.z_dim))
    with torch.inference_mode():
        fake = np.concatenate([generator.frames(part).cpu().numpy() for part in np.array_split(z, max(1, samples // 64))])
    result: dict = {"model": generator.card.name, "samples": samples, "generated": _curves(fake)}
    series = {"generated": list(enumerate(result["generated"]["mean"]))}
    bands = {"generated": [(r, m - s, m + s) for r, (m, s) in
                           enumerate(zip(result["generated"]["mean"], result["generated"]["std"]))]}
    if real is not None:
        images = load_images(real, generator.resolution).images
        result["real"] = {"images": len(images), **_curves(images)}
        result["spectral_distance"] = round(spectral_distance(fake, images), 4)
        result["frechet_thumb8"] = round(frechet_distance(fake, images), 4)
        series["real"] = list(enumerate(result["real"]["mean"]))
        bands["real"] = [(r, m - s, m + s) for r, (m, s) in enumerate(zip(result["real"]["mean"], result["real"]["std"]))]
    line_plot(series, plot, "radius (frequency): log10 power, mean +- std", bands=bands)
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _curves(images: np.ndarray) -> dict[str, list[float]]:
    spectra = reduced_spectra(images)
    return {"mean": [round(float(v), 5) for v in spectra.mean(axis=0)],
            "std": [round(float(v), 5) for v in spectra.std(axis=0)]}
