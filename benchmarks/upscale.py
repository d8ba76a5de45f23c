"""Edge-adaptive upscaling (``--filter easu``) against Lanczos, on real photographs no model made.

    python benchmarks/upscale.py [--out DIR] [--json PATH]

Photographs from scikit-image's sample data (``pip install scikit-image``; they ship inside its
wheel): each is downscaled (PIL, Lanczos with antialiasing) to 64, 128 and 256 lines, then
upscaled by the engine's own renderer (a real GL context) with ``lanczos`` (all the way, no
bilinear step) and with ``easu``, to 1080 lines where the photograph has them and to its own
size where it has fewer, and compared with the photograph at that size: PSNR (higher is
closer) and gradient energy against the photograph's (1.0 is as sharp, lower is blurrier).
With ``--out`` it writes side-by-side crops to look at.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.frames import Look  # noqa: E402
from engine.render.context import headless_context  # noqa: E402
from engine.render.renderer import Renderer  # noqa: E402
from engine.render.settings import RenderSettings  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina")
LINES = (64, 128, 256)
FILTERS = ("lanczos", "easu")


def photographs() -> dict[str, Image.Image]:
    import skimage.data

    return {name: Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in PHOTOS}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def gradient_energy(image: np.ndarray) -> float:
    luma = image.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    return float(np.mean(np.diff(luma, axis=0) ** 2) + np.mean(np.diff(luma, axis=1) ** 2))


def upscale(ctx, low: Image.Image, size: tuple[int, int], filter_name: str) -> np.ndarray:
    renderer = Renderer(ctx, RenderSettings(size[0], size[1], fit="contain", filter=filter_name, detail=0),
                        low.size)
    try:
        renderer.upload(np.asarray(low))
        renderer.render(Look(), 0)
        return renderer.read()
    finally:
        renderer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for side-by-side crops")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ctx = headless_context()
    print(f"renderer: {ctx.info['GL_RENDERER']}")
    rows = []
    for name, photo in photographs().items():
        lines = min(1080, photo.height)
        size = (round(photo.width * lines / photo.height), lines)
        truth = np.asarray(photo.resize(size, Image.LANCZOS) if size != photo.size else photo)
        for target in LINES:
            if target >= lines:
                continue
            low = photo.resize((round(photo.width * target / photo.height), target), Image.LANCZOS, reducing_gap=3.0)
            outputs = {f: upscale(ctx, low, size, f) for f in FILTERS}
            row = {"photo": name, "from": target, "to": lines}
            for f, out in outputs.items():
                row[f"{f}_psnr"] = psnr(out, truth)
                row[f"{f}_sharpness"] = gradient_energy(out) / gradient_energy(truth)
            rows.append(row)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                crop = (size[0] // 4, size[1] // 4, size[0] // 4 + min(400, size[0] // 2), size[1] // 4 + min(400, size[1] // 2))
                tiles = [Image.fromarray(truth).crop(crop)] + [Image.fromarray(outputs[f]).crop(crop) for f in FILTERS]
                sheet = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
                for k, tile in enumerate(tiles):
                    sheet.paste(tile, (k * tiles[0].width, 0))
                sheet.save(args.out / f"{name}-{target}.png")
    print("\n| photo | lines | Lanczos PSNR | EASU PSNR | Lanczos sharpness | EASU sharpness |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['photo']} | {row['from']} -> {row['to']} | {row['lanczos_psnr']:.2f} | {row['easu_psnr']:.2f} | "
              f"{row['lanczos_sharpness']:.3f} | {row['easu_sharpness']:.3f} |")
    for target in LINES:
        chosen = [r for r in rows if r["from"] == target]
        if chosen:
            gain = statistics.mean(r["easu_psnr"] - r["lanczos_psnr"] for r in chosen)
            sharper = statistics.mean(r["easu_sharpness"] / r["lanczos_sharpness"] for r in chosen)
            print(f"from {target} lines: EASU - Lanczos PSNR {gain:+.2f} dB (mean of {len(chosen)}), "
                  f"gradient energy x{sharper:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
