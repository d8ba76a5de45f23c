"""A network whose parameters are the canonical tensors of its layout, by their dotted names.

Converters write each family's weights as a flat dict of canonical names (``conv.3.weight``,
``block.2.conv1.depthwise``); the network keeps them under those names (dots turned into the
``__`` a module name allows), so the forward pass reads ``p("conv.3.weight")`` and no format's
naming reaches it.
"""

from __future__ import annotations

import torch
from torch import nn


class CanonicalTensors(nn.Module):
    """Holds ``tensors`` as frozen float32 parameters under their canonical names."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.params = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v.float(), requires_grad=False)
                                        for k, v in tensors.items()})

    def p(self, name: str) -> torch.Tensor:
        return self.params[name.replace(".", "__")]

    def has(self, name: str) -> bool:
        return name.replace(".", "__") in self.params
