"""Steering a face: offsets along named axes, in z (kept on the prior's shell) or in W slots.

An axis is a vector in the model's space with the W slots it acts on: a direction found in the
model (engine.steer.directions) or a difference of example faces (a ``[[vector]]`` in a show).
Values per axis come from the show's ``steer`` and from live faders; the sum of value x vector
is the offset. In z the offset is added and the result scaled back to the face's own norm, so
a steered face stays on the shell where the prior puts faces (never a washed-out average,
however far it is pushed); in W it is added after truncation, on the axis's slots only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MAX_VALUE = 10.0  # steering values are clamped to +-this (a few units already change a face a lot)


@dataclass(frozen=True)
class Axis:
    vector: np.ndarray  # (D,): the offset at value 1
    space: str = "z"  # "z" or "w"
    slots: tuple[int, int] = (0, 1)  # W slots [first, last) a "w" axis acts on


@dataclass(frozen=True)
class Steering:
    """The axes a show can steer along, by name, for a model with ``num_ws`` W slots."""

    axes: Mapping[str, Axis]
    num_ws: int = 1

    def offsets(self, values: Mapping[str, float]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(z offset (D,), W offset (num_ws, w_dim)) for ``values``; None where nothing steers."""
        z_offset = w_offset = None
        for name, value in sorted(values.items()):
            axis = self.axes.get(name)
            value = float(np.clip(value, -MAX_VALUE, MAX_VALUE)) if np.isfinite(value) else 0.0
            if axis is None or value == 0.0:
                continue
            if axis.space == "z":
                z_offset = value * axis.vector if z_offset is None else z_offset + value * axis.vector
            else:
                if w_offset is None:
                    w_offset = np.zeros((self.num_ws, len(axis.vector)))
                w_offset[axis.slots[0]:axis.slots[1]] += value * axis.vector
        return z_offset, w_offset


def steer_on_shell(z: np.ndarray, offset: np.ndarray | None) -> np.ndarray:
    """``z`` moved by ``offset`` and scaled back to ``z``'s norm."""
    if offset is None:
        return z
    moved = z + offset
    norm = float(np.linalg.norm(moved))
    return z if norm < 1e-12 else moved * (float(np.linalg.norm(z)) / norm)
