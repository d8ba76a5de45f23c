"""The directions file: directions in a model's latent space, as ``vernissage directions``
writes them (engine.steer.directions) and shows and faders read them. Plain arrays in an
``.npz`` (no pickles): ``directions`` (K x D, unit orthonormal rows, strongest first),
``space`` (``z`` or ``w``), ``slots`` (the W slots [first, last) they act on), ``method`` and
``model``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_COUNT = 512
ORTHONORMAL = 1e-4  # how far from orthonormal a loaded file may be


class DirectionsError(ValueError):
    """A directions file or request that cannot be used; ``str()`` is one line."""


@dataclass(frozen=True)
class Directions:
    directions: np.ndarray  # (K, D) float64, orthonormal rows, strongest first
    space: str  # "z" or "w"
    slots: tuple[int, int]  # W slots [first, last) a "w" direction acts on ((0, 1) for z)
    method: str
    model: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as file:
            np.savez(file, directions=self.directions.astype(np.float64), space=np.array(self.space),
                     slots=np.array(self.slots, dtype=np.int64), method=np.array(self.method),
                     model=np.array(self.model))


def load_directions(path: Path) -> Directions:
    """A directions file, checked: arrays only (no pickles), unit orthonormal rows, a known space."""
    try:
        with np.load(path, allow_pickle=False) as data:
            directions = np.asarray(data["directions"], dtype=np.float64)
            space, method, model = (str(data[k]) for k in ("space", "method", "model"))
            slots = tuple(int(v) for v in np.asarray(data["slots"]).reshape(-1))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DirectionsError(f"{path}: not a directions file ({str(exc).splitlines()[0][:120]})") from None
    if directions.ndim != 2 or not 1 <= directions.shape[0] <= MAX_COUNT or not 1 <= directions.shape[1] <= 4096:
        raise DirectionsError(f"{path}: directions must be K x D (K 1..{MAX_COUNT}), got shape {directions.shape}")
    if not np.all(np.isfinite(directions)):
        raise DirectionsError(f"{path}: directions hold NaN or inf")
    gram = directions @ directions.T
    if np.abs(gram - np.eye(len(directions))).max() > ORTHONORMAL:
        raise DirectionsError(f"{path}: directions are not unit and orthonormal")
    if space not in ("z", "w") or len(slots) != 2 or not 0 <= slots[0] < slots[1] <= 64:
        raise DirectionsError(f"{path}: space must be z or w with slots [first, last), got {space} {slots}")
    return Directions(directions, space, (slots[0], slots[1]), method, model)
