"""A show's steering axes, made in the model's space once the model is loaded.

Face arithmetic as in the DCGAN paper (Radford et al. 2016: "man with glasses - man + woman"),
from averaged exemplars: a ``[[vector]]`` is the mean of its ``plus`` faces minus the mean of
its ``minus`` faces, in z for a DCGAN and in W (every slot) for StyleGAN2, where attributes
are closer to linear. Directions files add their directions by ``"FILE.npz#K"``, and those of
the show's own ``directions`` file also by their index ``"K"`` (what ``/vernissage/steer/K``
reaches).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from engine.generators.base import Generator
from engine.latent import latent_from_seed
from engine.latent.steering import Axis, Steering
from engine.show.errors import ShowError
from engine.render.sheet import contact_sheet
from engine.show.schema import Show, Vector
from engine.steer.directions import moved_faces


def steering_for(show: Show, generator: Generator) -> Steering:
    """Every axis ``show`` names, made for ``generator``; ShowError (file:line) when a
    directions file is for another space or size."""
    axes: dict[str, Axis] = {vector.name: vector_axis(vector, generator) for vector in show.vectors}
    for name, found in show.directions.items():
        space_dim = generator.z_dim if found.space == "z" else generator.w_dim
        if found.space == "w" and not generator.has_w_space:
            raise ShowError(show.path, 1, f"{name} holds W directions; {generator.card.name} has only z")
        if found.directions.shape[1] != space_dim or found.slots[1] > generator.num_ws:
            raise ShowError(show.path, 1, f"{name} is for a {found.space} of {found.directions.shape[1]} "
                                          f"(slots to {found.slots[1]}); {generator.card.name} has "
                                          f"{space_dim} and {generator.num_ws} slots")
        for k, vector in enumerate(found.directions):
            axis = Axis(vector, found.space, found.slots)
            axes[f"{name}#{k}"] = axis
            if name == show.settings.directions:
                axes[str(k)] = axis
    return Steering(axes, generator.num_ws)


def vector_axis(vector: Vector, generator: Generator) -> Axis:
    """mean(plus) - mean(minus): in z for a DCGAN, in W (after the mapping, untruncated) otherwise."""
    plus, minus = (np.stack([_latent(face, generator.z_dim) for face in faces]) for faces in (vector.plus, vector.minus))
    if not generator.has_w_space:
        return Axis(plus.mean(axis=0) - minus.mean(axis=0), "z", (0, 1))
    with torch.inference_mode():
        w_plus, w_minus = (generator.mapping(generator.to_tensor(z))[:, 0].double().cpu().numpy() for z in (plus, minus))
    return Axis(w_plus.mean(axis=0) - w_minus.mean(axis=0), "w", (0, generator.num_ws))


def _latent(face: int | np.ndarray, dim: int) -> np.ndarray:
    return latent_from_seed(face, dim) if isinstance(face, int) else np.asarray(face, dtype=np.float64)


def vector_sheet(show: Show, generator: Generator, faces: int = 3, reach: float = 2.0, steps: int = 5,
                 tile: int = 128) -> Image.Image:
    """A contact sheet of each of the show's vectors applied to a few faces (seeds 0, 1, ...):
    a row per vector and face, the vector from -reach to +reach across."""
    if not show.vectors:
        raise ShowError(show.path, 1, "the show has no [[vector]] tables to preview")
    amounts = [float(a) for a in np.linspace(-reach, reach, steps)]
    images, labels = [], []
    for vector in show.vectors:
        axis = vector_axis(vector, generator)
        for seed in range(faces):
            z = latent_from_seed(seed, generator.z_dim)
            images.extend(moved_faces(generator, axis, z, amounts, show.settings.truncation))
            labels.extend(f"{vector.name} {amount:+.1f}\nface {seed}" for amount in amounts)
    return contact_sheet(images, labels, steps, tile)
