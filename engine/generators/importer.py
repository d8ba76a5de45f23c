"""``vernissage models import FILE NAME``: any supported checkpoint -> ``models/NAME/``.

The imported folder holds canonical safetensors (gains folded, average W included, so it
loads without the original code or format quirks) and a ``model.toml`` card recording where
the weights came from. Licence and training data are left for the artist to fill in: the
engine cannot know them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import torch

from engine.generators.card import CARD_FILE
from engine.generators.checkpoints import read_checkpoint, sniff
from engine.generators.device import choose_placement
from engine.generators.errors import ModelError
from engine.generators.loading import build_generator
from engine.generators.weights_file import save_weights

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FORMATS = {"torch-zip": "PyTorch checkpoint", "pickle": "NVIDIA network pickle", "safetensors": "safetensors"}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string is a JSON string


def import_model(source: Path, name: str, models_root: Path) -> Path:
    """Convert ``source`` into ``models_root/name``; returns the new folder."""
    if not _NAME.match(name):
        raise ModelError(name, "model names are lower-case letters, digits, '.', '_' and '-'")
    tensors, card = read_checkpoint(source)
    folder = models_root / name
    if folder.exists():
        raise ModelError(folder, "already exists; choose another name or remove it first")
    build_generator(card, tensors, choose_placement("cpu"), str(source)).check(str(source))  # refuse what cannot play
    folder.mkdir(parents=True)
    weights = folder / "generator.safetensors"
    save_weights({k: v.to(torch.float32) for k, v in tensors.items()}, weights)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    lines = [
        f"# Model card written by `vernissage models import` on {dt.date.today().isoformat()}.",
        f"name = {_toml_value(name)}",
        f"architecture = {_toml_value(card.architecture)}",
        f"latent_dim = {card.latent_dim}",
        f"resolution = {card.resolution}",
        "output_range = [-1.0, 1.0]",
        'weights = "generator.safetensors"',
    ]
    lines += [f"{k} = {_toml_value(v)}" for k, v in card.extra.items()]
    lines += [
        "",
        "[source]",
        f"file = {_toml_value(source.name)}",
        f"format = {_toml_value(_FORMATS.get(sniff(source), 'unknown'))}",
        f"sha256 = {_toml_value(digest)}",
        "",
        "[licence]",
        'text = "unknown: state the licence of these weights here"',
        "",
        "[training_data]",
        'note = "unknown: describe what the model was trained on and its terms here"',
    ]
    (folder / CARD_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
