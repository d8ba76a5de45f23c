"""Directions in a model's latent space that change the face in a meaningful way, found
without labels, and the ``.npz`` file that holds them.

Two methods, as the field uses them:

- ``sefa``, closed-form factorisation (Shen & Zhou 2021): the weights that first read the
  latent map it linearly; the eigenvectors of AᵀA (A those weights, each output unit's weight
  vector normalised) are the directions that move those first features the most. Instant: no
  sampling. For a DCGAN, A is the first transposed convolution (BatchNorm folded in), in z;
  for StyleGAN2 the style affines of the chosen W slots, in W.
- ``pca``, GANSpace (Härkönen et al. 2020): principal components of W = mapping(z) over many
  samples for StyleGAN2; for a DCGAN, of the first layer's features, regressed back to z (a
  least-squares map from features to z carries each component into latent space).

The file holds ``directions`` (K x D, unit and orthonormal, strongest first), the ``space``
(``z`` or ``w``), the W slots [first, last) they act on, the method and the model's name.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from engine.generators.base import Generator
from engine.latent import latent_from_seed
from engine.latent.directions import MAX_COUNT, Directions, DirectionsError
from engine.latent.steering import Axis, steer_on_shell
from engine.render.sheet import contact_sheet

METHODS = ("sefa", "pca")
PCA_SAMPLES = 10_000


def find_directions(generator: Generator, method: str, count: int, slots: tuple[int, int] | None = None,
                    samples: int = PCA_SAMPLES, seed: int = 0) -> Directions:
    """The ``count`` strongest directions of ``generator`` by ``method`` (see the module's doc)."""
    if method not in METHODS:
        raise DirectionsError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not generator.has_w_space:
        if slots is not None:
            raise DirectionsError("layers are for models with W; this one reads its one latent in one layer")
        space, slots = "z", (0, 1)
    else:
        space, slots = "w", slots or (0, generator.num_ws)
        if not 0 <= slots[0] < slots[1] <= generator.num_ws:
            raise DirectionsError(f"layers must be within 0..{generator.num_ws}, got {slots[0]}-{slots[1]}")
    dim = generator.z_dim if space == "z" else generator.w_dim
    if not 1 <= count <= min(dim, MAX_COUNT):
        raise DirectionsError(f"count must be 1 to {min(dim, MAX_COUNT)}, got {count}")
    with torch.inference_mode():
        if method == "sefa":
            found = _sefa(_reading_weights(generator, slots), count)
        elif space == "w":
            found = _pca_w(generator, count, samples, seed)
        else:
            found = _pca_regressed(generator, count, samples, seed)
    return Directions(found, space, slots, method, generator.card.name)


def _reading_weights(generator: Generator, slots: tuple[int, int]) -> np.ndarray:
    """(units, D): one row per unit that first reads the latent (or W in ``slots``)."""
    try:
        return generator.reading_weights(slots).detach().double().cpu().numpy()
    except NotImplementedError as exc:
        raise DirectionsError(str(exc)) from None


def _sefa(weights: np.ndarray, count: int) -> np.ndarray:
    """Top eigenvectors of AᵀA, A's rows (one unit each) normalised: every unit counts alike."""
    a = weights / np.maximum(np.linalg.norm(weights, axis=1, keepdims=True), 1e-12)
    values, vectors = np.linalg.eigh(a.T @ a)
    order = np.argsort(values)[::-1][:count]
    return _signed(vectors[:, order].T)


def _pca_w(generator: Generator, count: int, samples: int, seed: int) -> np.ndarray:
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((samples, generator.z_dim)))
    w = torch.cat([generator.mapping(generator.to_tensor(part))[:, 0] for part in z.split(2048)])
    w = w.double().cpu().numpy()
    _, _, vt = np.linalg.svd(w - w.mean(axis=0), full_matrices=False)
    return _signed(vt[:count])


def _pca_regressed(generator: Generator, count: int, samples: int, seed: int) -> np.ndarray:
    """PCA of the first layer's features (after its ReLU); z regressed on the components'
    coordinates, as GANSpace does for models without a W: row j of the regression is how z
    moves per unit along component j. Then made orthonormal in order."""
    z = np.random.default_rng(seed).standard_normal((samples, generator.z_dim))
    features = torch.cat([generator.first_features(generator.to_tensor(part))
                          for part in torch.from_numpy(z).split(2048)]).double().cpu().numpy()
    centred = features - features.mean(axis=0)
    components = _top_components(centred, count, seed)  # (count, F)
    coordinates = centred @ components.T  # (samples, count)
    carried, *_ = np.linalg.lstsq(coordinates, z - z.mean(axis=0), rcond=None)  # (count, z_dim)
    q, _ = np.linalg.qr(carried.T)  # Gram-Schmidt in order: the strongest keeps its direction
    return _signed(q.T * np.sign(np.sum(q.T * carried, axis=1, keepdims=True)))


def _top_components(x: np.ndarray, count: int, seed: int, power: int = 4) -> np.ndarray:
    """The ``count`` leading right singular vectors of ``x`` by a randomised range finder with
    power iterations (Halko et al. 2011): thousands of features in a second, not minutes."""
    probe = np.random.default_rng(seed + 1).standard_normal((x.shape[1], count + 10))
    basis, _ = np.linalg.qr(x @ probe)
    for _ in range(power):
        basis, _ = np.linalg.qr(x @ (x.T @ basis))
    _, _, vt = np.linalg.svd(basis.T @ x, full_matrices=False)
    return vt[:count]


def _signed(directions: np.ndarray) -> np.ndarray:
    """Eigen- and singular vectors have no sign; fix one (largest entry positive) so a file is
    the same wherever it is computed."""
    largest = np.argmax(np.abs(directions), axis=1)
    signs = np.sign(directions[np.arange(len(directions)), largest])
    return np.ascontiguousarray(directions * signs[:, None])


def moved_faces(generator: Generator, axis: Axis, z: np.ndarray, amounts: list[float],
                truncation: float = 1.0) -> np.ndarray:
    """(len(amounts), H, W, 3) uint8: the face of ``z`` moved by each amount along ``axis``
    (in z on the prior's shell, in W on the axis's slots after truncation), as a show steers."""
    vector = axis.vector
    with torch.inference_mode():
        if axis.space == "z":
            latents = np.stack([steer_on_shell(z, amount * vector) for amount in amounts])
            return generator.frames(latents, truncation).cpu().numpy()
        w = generator.mapping(generator.to_tensor(np.repeat(z[None], len(amounts), axis=0)), truncation)
        first, last = axis.slots
        steps = torch.as_tensor(np.outer(amounts, vector), dtype=w.dtype, device=w.device)  # (A, w_dim)
        w[:, first:last] += steps[:, None, :]
        return generator.frames_from_w(w).cpu().numpy()


def direction_sheet(generator: Generator, found: Directions, seed: int = 0, reach: float = 3.0,
                    steps: int = 7, tile: int = 128) -> Image.Image:
    """A contact sheet: one row per direction, the face of ``seed`` moved from -reach to +reach."""
    z = latent_from_seed(seed, generator.z_dim)
    amounts = [float(a) for a in np.linspace(-reach, reach, steps)]
    images, labels = [], []
    for k, vector in enumerate(found.directions):
        images.extend(moved_faces(generator, Axis(vector, found.space, found.slots), z, amounts))
        labels.extend(f"#{k} {amount:+.1f}" for amount in amounts)
    return contact_sheet(images, labels, steps, tile)
