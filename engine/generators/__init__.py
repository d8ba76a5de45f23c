"""GAN generators behind one interface: load by name or path, map z to W, synthesise images."""

from engine.generators.base import Generator
from engine.generators.card import ModelCard
from engine.generators.device import Placement, choose_placement
from engine.generators.errors import ModelError
from engine.generators.loading import (
    DEFAULT_MODEL,
    available_models,
    load_generator,
    model_dirs,
)

__all__ = [
    "DEFAULT_MODEL",
    "Generator",
    "ModelCard",
    "ModelError",
    "Placement",
    "available_models",
    "choose_placement",
    "load_generator",
    "model_dirs",
]
