"""Finding and loading generators by name or path, without ever executing code from a file.

Formats are recognised by content, not extension: safetensors (with a model card beside it),
PyTorch zip checkpoints (read with ``weights_only=True``). Every failure is a one-line
:class:`ModelError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from engine.generators.base import Generator
from engine.generators.card import CARD_FILE, ModelCard
from engine.generators.dcgan import DCGANGenerator, conv_indices
from engine.generators.device import choose_placement
from engine.generators.errors import ModelError

DEFAULT_MODEL = "digiface-dcgan64"
_REPO_MODELS = Path(__file__).resolve().parents[2] / "models"
ARCHITECTURES = {"dcgan": DCGANGenerator}


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


def _build(card: ModelCard, tensors: dict[str, torch.Tensor], placement, source: str) -> Generator:
    architecture = ARCHITECTURES.get(card.architecture)
    if architecture is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ModelError(source, f"unknown architecture {card.architecture!r} (known: {known})")
    return architecture(card, tensors, placement, source)


def sniff(path: Path) -> str:
    """'safetensors', 'torch-zip', 'pickle' or 'unknown', from the first bytes of ``path``."""
    try:
        with path.open("rb") as f:
            head = f.read(9)
    except OSError as exc:
        raise ModelError(path, f"cannot read ({exc.strerror})") from None
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if head[:1] == b"\x80":
        return "pickle"
    return "unknown"


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, with a clear line for missing or corrupt files."""
    if not path.exists():
        raise ModelError(path, "weights file not found")
    if sniff(path) != "safetensors":
        raise ModelError(path, "not a safetensors file (bad header)")
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    try:
        return load_file(str(path))
    except SafetensorError as exc:
        size = path.stat().st_size
        if 8 + header_len > size:
            raise ModelError(path, f"truncated: header says {header_len} bytes, file has {size}") from None
        raise ModelError(path, f"corrupt or truncated safetensors file ({exc})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(path, f"cannot read safetensors file ({exc})") from None


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], ModelCard]:
    """Tensors and an inferred card from a bare weights file (no model card beside it)."""
    kind = sniff(path)
    if kind == "safetensors":
        tensors = read_safetensors(path)
    elif kind == "torch-zip":
        tensors = _torch_state_dict(path)
    else:
        raise ModelError(path, f"unrecognised model file format ({kind}); expected safetensors "
                               "or a PyTorch checkpoint")
    return tensors, infer_card(path, tensors)


def _torch_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad archives; report, never crash
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(path, f"cannot load PyTorch checkpoint ({first[:200]})") from None
    if isinstance(data, dict) and isinstance(data.get("netG_state_dict"), dict):
        data = data["netG_state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(path, "checkpoint holds no generator state dict")
    return data


def infer_card(path: Path, tensors: dict[str, torch.Tensor]) -> ModelCard:
    """A minimal card for weights that came without one, from tensor names and shapes."""
    indices = conv_indices(tensors)
    if indices:
        z_dim = int(tensors[f"main.{indices[0]}.weight"].shape[0])
        return ModelCard(name=path.stem, architecture="dcgan", latent_dim=z_dim,
                         resolution=4 * 2 ** (len(indices) - 1), weights=path.name)
    raise ModelError(path, "unrecognised generator layout (not DCGAN)")
