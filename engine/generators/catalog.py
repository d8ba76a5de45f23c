"""Finding models by name or path and reading their cards, without importing torch.

``vernissage check`` and ``models list`` need to know which models exist and what latent
size each takes, and must answer at once; building a network is engine.generators.loading.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine.generators.card import CARD_FILE, ModelCard
from engine.generators.errors import ModelError
from engine.generators.families import FAMILIES, Family
from engine.resources import bundled

DEFAULT_MODEL = "default"  # the FFHQ faces where installed, else the bundled DigiFace model
FACES_MODEL = "mobilestylegan-ffhq"  # `vernissage models install mobilestylegan-ffhq` (install/setup.sh runs it)
FALLBACK_MODEL = "digiface-dcgan64"  # bundled in the package: there even with no registry


def user_models_dir() -> Path:
    """Where ``models install`` puts models: ``$XDG_DATA_HOME/vernissage/models`` (else ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vernissage" / "models"


def model_dirs() -> list[Path]:
    """Where named models are looked up: $VERNISSAGE_MODELS entries, ./models, the user's installed
    models, the bundled models."""
    extra = [Path(p) for p in os.environ.get("VERNISSAGE_MODELS", "").split(os.pathsep) if p]
    dirs = [*extra, Path.cwd() / "models", user_models_dir(), bundled("models")]
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


def default_model() -> str:
    """The model "default" names: $VERNISSAGE_DEFAULT_MODEL, else the FFHQ faces where installed,
    else the bundled DigiFace model."""
    chosen = os.environ.get("VERNISSAGE_DEFAULT_MODEL")
    if chosen:
        return chosen
    if any((root / FACES_MODEL / CARD_FILE).is_file() for root in model_dirs()):
        return FACES_MODEL
    return FALLBACK_MODEL


def resolve_model(path_or_name: str | Path) -> Path:
    """A model directory or weights file for a name or path; ModelError if there is none."""
    if str(path_or_name) == DEFAULT_MODEL:
        path_or_name = default_model()
    candidate = Path(path_or_name).expanduser()
    if candidate.exists():
        return candidate
    if candidate.name == str(path_or_name):  # a bare name: look in the model folders
        for root in model_dirs():
            if (root / candidate.name).is_dir():
                return root / candidate.name
    else:
        raise ModelError(path_or_name, f"no such model file or folder: {candidate.absolute()}")
    names = ", ".join(c.name for c in available_models()) or "none"
    raise ModelError(path_or_name, f"no such model file or name (available: {names})")


def _family_of(model: str | Path) -> Family | None:
    """The family a model's card names (no weights loaded); None for a bare file, an unknown
    family or a card that cannot be read (latent_dim_of names that problem)."""
    try:
        where = resolve_model(model)
        return FAMILIES.get(ModelCard.read(where / CARD_FILE).architecture) if where.is_dir() else None
    except ModelError:
        return None


def has_w_space_of(model: str | Path) -> bool:
    """Whether a model has a W space, from its card; True when unknown, so ``check`` leaves the
    question to the loaded model."""
    family = _family_of(model)
    return family is None or family.has_w_space


def has_input_transform_of(model: str | Path) -> bool:
    """Whether a model can turn and shift its picture, from its card; True when unknown (a bare
    file), so ``check`` leaves the question to the loaded model."""
    family = _family_of(model)
    return family is None or family.has_input_transform


def latent_dim_of(model: str | Path) -> int | None:
    """The latent size a model takes, from its card (no weights loaded): for ``vernissage check``.

    Raises LookupError (one line) when there is no such model or its card is unreadable;
    None for a bare weights file, whose size is known only once it is loaded.
    """
    try:
        where = resolve_model(model)
        if not where.is_dir():
            return None
        return ModelCard.read(where / CARD_FILE).latent_dim
    except ModelError as exc:
        names = ", ".join(c.name for c in available_models()) or "none"
        if exc.problem.startswith("no such model file or folder"):
            raise LookupError(exc.problem) from None
        reason = exc.problem if exc.problem != f"no such model file or name (available: {names})" else ""
        raise LookupError(f"unknown model '{model}' ({reason or 'available: ' + names})") from None


def model_identity(path_or_name: str | Path) -> tuple[str, str]:
    """(name, sha256 of the weights) of a model: what two machines compare before they render
    parts of one work (a render farm). ModelError if there is no such model."""
    where = resolve_model(path_or_name)
    if where.is_dir():
        card = ModelCard.read(where / CARD_FILE)
        name, weights = card.name, where / card.weights
    else:
        name, weights = where.stem, where
    digest = hashlib.sha256()
    try:
        with weights.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ModelError(weights, f"cannot read the weights ({exc.strerror or exc})") from None
    return name, digest.hexdigest()
