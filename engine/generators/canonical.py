"""A network whose parameters are the canonical tensors of its layout, by their dotted names.

Converters write each family's weights as a flat dict of canonical names (``conv.3.weight``,
``block.2.conv1.depthwise``); the network keeps them under those names (dots turned into the
``__`` a module name allows), so the forward pass reads ``p("conv.3.weight")`` and no format's
naming reaches it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engine.generators.base import Generator


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

    def map_z(self, z: torch.Tensor, layers: int) -> torch.Tensor:
        """StyleGAN's mapping network (2, 2-ADA, 3 and its distillations alike): z normalised to
        the sphere, then ``layers`` of ``mapping.{i}`` with leaky ReLU; (B, z_dim) -> (B, w_dim)."""
        x = z.float()
        x = x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)  # pixel norm
        for i in range(layers):
            x = F.leaky_relu(F.linear(x, self.p(f"mapping.{i}.weight"), self.p(f"mapping.{i}.bias")), 0.2) * math.sqrt(2.0)
        return x


class MappedGenerator(Generator):
    """A generator with StyleGAN's W: one W vector broadcast to every slot, truncated toward the
    stored average. ``net`` holds ``w_avg`` and has ``mapping(z) -> (B, w_dim)``."""

    net: CanonicalTensors

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return self.truncated_w(self.net.mapping(z.to(self.device)), truncation_psi)

    def truncated_w(self, w: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        w = w.to(self.device).float()
        if truncation_psi != 1.0:
            avg = self.net.p("w_avg")
            w = avg + truncation_psi * (w - avg)
        return w[:, None, :].repeat(1, self.num_ws, 1)  # (B, num_ws, w_dim)
