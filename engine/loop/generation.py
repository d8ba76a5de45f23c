"""FrameSpecs -> generated images: each distinct face once, batched, blended for dissolves.

Shared by the offline renderer and the live player's run-ahead worker, so both produce the
same pixels for the same show time.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.frames import Face, FrameSpec
from engine.generators.base import Generator


def _latents(generator: Generator, faces: list[Face]) -> torch.Tensor:
    """W (B, num_ws, w_dim) for faces, truncation and style mixing applied."""
    ws = []
    for face in faces:
        w = generator.mapping(generator.to_tensor(face.latent), face.truncation)
        if face.mix is not None:
            fine = generator.mapping(generator.to_tensor(face.mix), face.truncation)
            w = torch.cat([w[:, : face.mix_from], fine[:, face.mix_from:]], dim=1)
        ws.append(w)
    return torch.cat(ws)


@torch.inference_mode()
def generate_images(generator: Generator, specs: list[FrameSpec]) -> np.ndarray:
    """(B, H, W, 3) uint8 images, black where a spec has no face."""
    unique: dict[tuple, Face] = {}
    for spec in specs:
        for face, _ in spec.faces:
            unique.setdefault(face.key(), face)
    keys = list(unique)
    images: dict[tuple, np.ndarray] = {}
    if keys:
        frames = generator.frames_from_w(_latents(generator, [unique[k] for k in keys])).cpu().numpy()
        images = dict(zip(keys, frames))
    size = generator.resolution
    out = np.zeros((len(specs), size, size, 3), np.uint8)
    for i, spec in enumerate(specs):
        if len(spec.faces) == 1 and spec.faces[0][1] == 1.0:
            out[i] = images[spec.faces[0][0].key()]  # the common case stays bit-exact
        elif spec.faces:
            blend = sum(w * images[f.key()].astype(np.float32) for f, w in spec.faces)
            out[i] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
    return out
