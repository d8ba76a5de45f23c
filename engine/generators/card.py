"""Model cards: ``models/NAME/model.toml`` says what a weights file is and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.generators.errors import ModelError
from engine.tomlread import TomlError, parse_toml

CARD_FILE = "model.toml"


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
            return cls(
                name=str(data["name"]),
                architecture=str(data["architecture"]),
                latent_dim=int(data["latent_dim"]),
                resolution=int(data["resolution"]),
                weights=str(data.get("weights", "generator.safetensors")),
                output_range=(float(low), float(high)),
                extra={k: v for k, v in data.items() if k not in cls.__dataclass_fields__},
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(path, f"model card has a value of the wrong type ({exc})") from None
