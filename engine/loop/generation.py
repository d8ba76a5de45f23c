"""FrameSpecs -> generated images: each distinct face once, batched, blended for dissolves.

The run-ahead worker makes every keyframe through here, live, offline and in replays, so all
three produce the same pixels for the same show time. A portrait held for six seconds, or two
portraits dissolving, is the same face or two across hundreds of keyframes: :class:`FaceImages`
keeps recent faces' images, so each is generated once.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from engine.frames import Face, FrameSpec
from engine.generators.base import Generator

FACE_MEMORY = 64 << 20  # bytes of face images kept (about 20 at 1024 px)
FACES_KEPT = 64  # a held portrait, a dissolve, a few cues back: a walk's faces are new every keyframe anyway


class FaceImages:
    """Recently generated faces' images by face, at most ``count`` of them in ``limit`` bytes
    (one owner: the worker)."""

    def __init__(self, limit: int = FACE_MEMORY, count: int = FACES_KEPT) -> None:
        self.limit = limit
        self.count = count
        self._images: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> np.ndarray | None:
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
        return image

    def put(self, key: tuple, image: np.ndarray) -> None:
        if key in self._images:
            return
        self._images[key] = image
        self._bytes += image.nbytes
        while (self._bytes > self.limit or len(self._images) > self.count) and len(self._images) > 1:
            _, dropped = self._images.popitem(last=False)
            self._bytes -= dropped.nbytes


class MappedW:
    """W of recent z, mapped once (float64, on the CPU): a path in W names the same few z in
    frame after frame (a morph's faces, a loop's keys, a wander's four control faces). Kept by
    the generator's owner, the worker, so a timeline never runs the model itself."""

    def __init__(self, count: int = 256) -> None:
        self.count = count
        self._w: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def of(self, generator: Generator, z: np.ndarray) -> np.ndarray:
        """(K, w_dim): the untruncated W of each row of ``z``, mapping only the unknown ones."""
        keys = [row.tobytes() for row in z]
        for row, key in zip(z, keys):
            if key not in self._w:  # one at a time: a batch's matmul may round differently, and a
                # W must not depend on what else was mapped with it (live and replay agree bit for bit)
                self._w[key] = generator.mapping(generator.to_tensor(row))[0, 0].double().cpu().numpy()
        out = np.stack([self._w[key] for key in keys])
        for key in keys:
            self._w.move_to_end(key)
        while len(self._w) > max(self.count, len(keys)):
            self._w.popitem(last=False)
        return out


def _latents(generator: Generator, faces: list[Face], mapped: MappedW) -> torch.Tensor:
    """W (B, num_ws, w_dim) for faces, truncation, style mixing and W steering applied."""
    ws = []
    for face in faces:
        if face.space == "mapped":  # a path in W: the weights times its keys' W, then truncated
            assert face.weights is not None
            blend = face.weights @ mapped.of(generator, face.latent)
            w = generator.truncated_w(generator.to_tensor(blend), face.truncation)
        else:
            w = generator.mapping(generator.to_tensor(face.latent), face.truncation)
        if face.mix is not None:
            fine = generator.mapping(generator.to_tensor(face.mix), face.truncation)
            w = torch.cat([w[:, : face.mix_from], fine[:, face.mix_from:]], dim=1)
        if face.w_offset is not None:  # steering in W, after truncation
            w = w + torch.as_tensor(face.w_offset, dtype=w.dtype, device=w.device)[None]
        ws.append(w)
    return torch.cat(ws)


@torch.inference_mode()
def generate_images(generator: Generator, specs: list[FrameSpec], known: FaceImages | None = None,
                    mapped: MappedW | None = None) -> tuple[np.ndarray, int]:
    """(B, H, W, 3) uint8 images, black where a spec has no face, and how many faces went
    through the network (faces in ``known`` do not); ``mapped``: the owner's W of recent z."""
    unique: dict[tuple, Face] = {}
    for spec in specs:
        for face, _ in spec.faces:
            unique.setdefault(face.key(), face)
    images: dict[tuple, np.ndarray] = {}
    missing = []
    for key in unique:
        image = known.get(key) if known is not None else None
        if image is None:
            missing.append(key)
        else:
            images[key] = image
    if missing:
        faces = [unique[k] for k in missing]
        motion = (torch.tensor([[f.rotate, *f.translate] for f in faces], dtype=torch.float64)
                  if any(f.moves for f in faces) else None)
        frames = generator.frames_from_w(_latents(generator, faces, mapped or MappedW()), motion).cpu().numpy()
        for key, frame in zip(missing, frames):
            images[key] = frame
            if known is not None:
                known.put(key, frame)
    size = generator.resolution
    out = np.zeros((len(specs), size, size, 3), np.uint8)
    for i, spec in enumerate(specs):
        if len(spec.faces) == 1 and spec.faces[0][1] == 1.0:
            out[i] = images[spec.faces[0][0].key()]  # the common case stays bit-exact
        elif spec.faces:
            blend = sum(w * images[f.key()].astype(np.float32) for f, w in spec.faces)
            out[i] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
    return out, len(missing)
