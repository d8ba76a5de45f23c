"""The generator families the engine plays: one row each, read without importing torch.

Adding a family is its module in ``generators/`` and a row here. The row names the class and
says what the family can do (a W space, an input transform), so ``vernissage check`` can answer
from a model's card alone; the class says the same in its attributes (a test holds them equal).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.generators.base import Generator


@dataclass(frozen=True)
class Family:
    module: str
    cls: str
    has_w_space: bool = True  # False where W is z itself: walks and directions stay in z
    has_input_transform: bool = False  # the picture turns and shifts (StyleGAN3)

    def generator_class(self) -> type[Generator]:
        return getattr(importlib.import_module(self.module), self.cls)


FAMILIES: dict[str, Family] = {
    "dcgan": Family("engine.generators.dcgan", "DCGANGenerator", has_w_space=False),
    "progan": Family("engine.generators.progan", "ProGANGenerator", has_w_space=False),
    "stylegan2": Family("engine.generators.stylegan2", "StyleGAN2Generator"),
    "stylegan3": Family("engine.generators.stylegan3", "StyleGAN3Generator", has_input_transform=True),
    "mobilestylegan": Family("engine.generators.mobilestylegan", "MobileStyleGANGenerator"),
}
