"""Finding and loading generators by name or path, without ever executing code from a file.

A model directory holds ``model.toml`` and safetensors weights; a bare file is recognised
by content (see :mod:`engine.generators.checkpoints`). Every failure is a one-line
:class:`ModelError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from engine.generators.base import Generator
from engine.generators.card import CARD_FILE, ModelCard
from engine.generators.checkpoints import read_checkpoint, read_safetensors
from engine.generators.dcgan import DCGANGenerator
from engine.generators.device import Placement, choose_placement
from engine.generators.errors import ModelError
from engine.generators.stylegan2 import StyleGAN2Generator

DEFAULT_MODEL = "digiface-dcgan64"
_REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
ARCHITECTURES: dict[str, type[Generator]] = {"dcgan": DCGANGenerator, "stylegan2": StyleGAN2Generator}


def model_dirs() -> list[Path]:
    """Where named models are looked up: $VERNISSAGE_MODELS entries, the repo's models/, ./models."""
    extra = [Path(p) for p in os.environ.get("VERNISSAGE_MODELS", "").split(os.pathsep) if p]
    dirs = [*extra, _REPO_MODELS, Path.cwd() / "models"]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def available_models() -> list[ModelCard]:
    """Cards of every readable model in :func:`model_dirs`, by name."""
    cards: dict[str, ModelCard] = {}
    for root in model_dirs():
        for card_path in sorted(root.glob(f"*/{CARD_FILE}")):
            try:
                cards.setdefault(card_path.parent.name, ModelCard.read(card_path))
            except ModelError:
                continue
    return [cards[k] for k in sorted(cards)]


def resolve_model(path_or_name: str | Path) -> Path:
    """A model directory or weights file for a name or path; ModelError if there is none."""
    candidate = Path(path_or_name).expanduser()
    if candidate.exists():
        return candidate
    if candidate.name == str(path_or_name):  # a bare name: look in the model folders
        for root in model_dirs():
            if (root / candidate.name).is_dir():
                return root / candidate.name
    names = ", ".join(c.name for c in available_models()) or "none"
    raise ModelError(path_or_name, f"no such model file or name (available: {names})")


def load_generator(path_or_name: str | Path = DEFAULT_MODEL, device: str | torch.device | None = None,
                   fp16: bool | None = None) -> Generator:
    """Load a generator from a model name, a model directory, or a weights file.

    Args:
        path_or_name: e.g. ``"digiface-dcgan64"``, ``"models/digiface-dcgan64"``, ``"G.pt"``.
        device: torch device; default CUDA when present, else CPU.
        fp16: half precision; default on for CUDA, off for CPU.
    """
    placement = choose_placement(device, fp16)
    where = resolve_model(path_or_name)
    if where.is_dir():
        card = ModelCard.read(where / CARD_FILE)
        weights = where / card.weights
        tensors = read_safetensors(weights)
        return _build(card, tensors, placement, str(weights))
    tensors, card = read_checkpoint(where)
    return _build(card, tensors, placement, str(where))


def _build(card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement, source: str) -> Generator:
    architecture = ARCHITECTURES.get(card.architecture)
    if architecture is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelError(source, f"unknown architecture {card.architecture!r} (known: {known})")
    return architecture(card, tensors, placement, source)
