"""Finding and loading generators by name or path, without ever executing code from a file.

A model directory holds ``model.toml`` and safetensors weights; a bare file is recognised
by content (see :mod:`engine.generators.checkpoints`). Every failure is a one-line
:class:`ModelError` naming the file and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.generators.base import Generator
from engine.generators.card import CARD_FILE, ModelCard
from engine.generators.catalog import DEFAULT_MODEL, resolve_model
from engine.generators.checkpoints import read_checkpoint, read_safetensors
from engine.generators.device import Placement, choose_placement
from engine.generators.errors import ModelError
from engine.generators.families import FAMILIES


def load_generator(path_or_name: str | Path = DEFAULT_MODEL, device: str | torch.device | None = None,
                   fp16: bool | None = None) -> Generator:
    """Load a generator from a model name, a model directory, or a weights file.

    Args:
        path_or_name: e.g. ``"default"``, ``"digiface-dcgan64"``, ``"models/digiface-dcgan64"``, ``"G.pt"``.
        device: torch device; default CUDA when present, else CPU.
        fp16: half precision; default on for CUDA, off for CPU.
    """
    placement = choose_placement(device, fp16)
    where = resolve_model(path_or_name)
    if where.is_dir():
        card = ModelCard.read(where / CARD_FILE)
        weights = (where / card.weights).resolve()
        if not weights.is_relative_to(where.resolve()):
            raise ModelError(where / CARD_FILE, f"weights {card.weights!r} lead out of the model's folder")
        tensors = read_safetensors(weights)
        return build_generator(card, tensors, placement, str(weights))
    tensors, card = read_checkpoint(where)
    generator = build_generator(card, tensors, placement, str(where))
    generator.check(str(where))  # a bare file was never checked by `models import`: fail here, in one line
    return generator


def build_generator(card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement, source: str) -> Generator:
    family = FAMILIES.get(card.architecture)
    if family is None:
        known = ", ".join(sorted(FAMILIES))
        raise ModelError(source, f"unknown architecture {card.architecture!r} (known: {known})")
    architecture = family.generator_class()
    problem = card.problem()
    if problem:
        raise ModelError(source, problem)
    broken = next((name for name, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())), None)
    if broken is not None:  # it would draw black or noise, and only on screen
        raise ModelError(source, f"tensor {broken} holds NaN or infinite values")
    try:
        return architecture(card, tensors, placement, source)
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:  # shapes torch cannot put together
        raise ModelError(source, f"the weights do not fit together ({str(exc).splitlines()[0][:160]})") from None
