"""Model cards: ``models/NAME/model.toml`` says what a weights file is and where it came from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.generators.errors import ModelError
from engine.tomlread import TomlError, parse_toml

CARD_FILE = "model.toml"
MAX_LATENT = 8192
MAX_RESOLUTION = 4096  # pixels a side; a 12 kB file claiming 32768 would ask for gigabytes


@dataclass(frozen=True)
class ModelCard:
    """What the engine needs to know about a model, plus its provenance for people."""

    name: str
    architecture: str
    latent_dim: int
    resolution: int
    weights: str = "generator.safetensors"
    output_range: tuple[float, float] = (-1.0, 1.0)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        """Parse a card; any problem is a :class:`ModelError` naming the file (and line)."""
        try:
            data = parse_toml(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(path, "model card not found") from None
        except TomlError as exc:
            raise ModelError(path, f"line {exc.line}: not valid TOML ({exc.reason})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(path, f"cannot read model card ({exc})") from None
        missing = [k for k in ("name", "architecture", "latent_dim", "resolution") if k not in data]
        if missing:
            raise ModelError(path, f"model card lacks {', '.join(missing)}")
        try:
            low, high = data.get("output_range", (-1.0, 1.0))
            card = cls(
                name=str(data["name"]),
                architecture=str(data["architecture"]),
                latent_dim=int(data["latent_dim"]),
                resolution=int(data["resolution"]),
                weights=str(data.get("weights", "generator.safetensors")),
                output_range=(float(low), float(high)),
                extra={k: v for k, v in data.items() if k not in cls.__dataclass_fields__},
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelError(path, f"model card has a value of the wrong type ({exc})") from None
        problem = card.problem()
        if problem:
            raise ModelError(path, problem)
        return card

    def problem(self) -> str | None:
        """What in this card would make the model fail on first use (None: nothing)."""
        if not 1 <= self.latent_dim <= MAX_LATENT:
            return f"latent_dim must be 1 to {MAX_LATENT}, got {self.latent_dim}"
        if not 4 <= self.resolution <= MAX_RESOLUTION or self.resolution & (self.resolution - 1):
            return f"resolution must be a power of two from 4 to {MAX_RESOLUTION}, got {self.resolution}"
        low, high = self.output_range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            return f"output_range must be two finite numbers, low < high, got [{low:g}, {high:g}]"
        weights = Path(self.weights)
        if weights.is_absolute() or ".." in weights.parts or not self.weights:
            return f"weights must be a file in the model's folder, got {self.weights!r}"
        return None
