"""DCGAN generator (the PyTorch tutorial architecture), rebuilt from its tensors' shapes.

Layout of the state dict (``main.N.*``): transposed convolutions 4x4 (stride 1 from the 1x1
latent, then stride 2), each followed by BatchNorm + ReLU, the last by Tanh. Batch norms are
folded into the convolutions at load time (eval mode only), which is exact up to float
rounding and saves a pass over every activation.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from engine.generators.base import Generator
from engine.generators.card import MAX_RESOLUTION, ModelCard
from engine.generators.device import Placement
from engine.generators.errors import ModelError

BN_EPS = 1e-5
_CONV = re.compile(r"^main\.(\d+)\.weight$")


def conv_indices(tensors: dict[str, torch.Tensor]) -> list[int]:
    """Module indices of the transposed convolutions, in order."""
    found = [int(m.group(1)) for k, v in tensors.items() if (m := _CONV.match(k)) and v.ndim == 4]
    return sorted(found)


class DCGANGenerator(Generator):
    """DCGAN with z -> image; W is z itself (one W vector), truncation scales toward 0."""

    has_w_space = False

    def __init__(self, card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement,
                 source: str) -> None:
        self.card = card
        self.placement = placement
        indices = conv_indices(tensors)
        if not indices:
            raise ModelError(source, "no DCGAN layers (main.N.weight) in the weights")
        _check_chain(tensors, indices, source)
        layers: list[nn.Module] = []
        for position, index in enumerate(indices):
            weight = tensors[f"main.{index}.weight"].float()  # (C_in, C_out, 4, 4)
            bias = torch.zeros(weight.shape[1])
            last = position == len(indices) - 1
            if not last:
                weight, bias = _fold_batch_norm(tensors, index + 1, weight, source)
            conv = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], weight.shape[2],
                                      stride=1 if position == 0 else 2,
                                      padding=0 if position == 0 else 1)
            conv.weight.data.copy_(weight)
            conv.bias.data.copy_(bias)
            layers += [conv, nn.Tanh() if last else nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers).eval().requires_grad_(False)
        self.net.to(placement.device, placement.dtype)
        self.z_dim = self.w_dim = int(tensors[f"main.{indices[0]}.weight"].shape[0])
        self.num_ws = 1
        self.resolution = 4 * 2 ** (len(indices) - 1)
        self.check_size(source)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return (z * truncation_psi)[:, None, :]  # (B, 1, z_dim); the prior's mean is 0

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        x = w[:, 0, :, None, None].to(self.placement.dtype)  # (B, z_dim, 1, 1)
        return self.net(x)  # (B, 3, H, W) in [-1, 1]

    def reading_weights(self, slots: tuple[int, int]) -> torch.Tensor:
        weight = self.net[0].weight.detach()  # (z_dim, C, 4, 4), BatchNorm folded
        return weight.reshape(weight.shape[0], -1).T

    def first_features(self, z: torch.Tensor) -> torch.Tensor:
        """(B, F): the first layer's features after its ReLU, for directions regressed to z."""
        return self.net[:2](z.to(self.device, self.placement.dtype)[:, :, None, None]).flatten(1)


def _fold_batch_norm(tensors: dict[str, torch.Tensor], bn: int, weight: torch.Tensor,
                     source: str) -> tuple[torch.Tensor, torch.Tensor]:
    names = [f"main.{bn}.{p}" for p in ("weight", "bias", "running_mean", "running_var")]
    missing = [n for n in names if n not in tensors]
    if missing:
        raise ModelError(source, f"missing tensor {missing[0]}")
    gamma, beta, mean, var = (tensors[n].float() for n in names)
    if gamma.shape[0] != weight.shape[1]:
        raise ModelError(source, f"{names[0]} has {gamma.shape[0]} channels, expected {weight.shape[1]}")
    scale = gamma / torch.sqrt(var + BN_EPS)
    return weight * scale[None, :, None, None], beta - mean * scale


def _check_chain(tensors: dict[str, torch.Tensor], indices: list[int], source: str) -> None:
    """Each layer reads what the one before makes, the last makes RGB, the size is sane."""
    resolution = 4 * 2 ** (len(indices) - 1)
    if resolution > MAX_RESOLUTION:
        raise ModelError(source, f"{len(indices)} layers would make {resolution}-px images; at most {MAX_RESOLUTION}")
    shapes = [tuple(tensors[f"main.{i}.weight"].shape) for i in indices]
    for position, (inputs, outputs, height, width) in enumerate(shapes):
        if min(inputs, outputs) < 1 or (height, width) != (4, 4):
            raise ModelError(source, f"main.{indices[position]}.weight has shape {shapes[position]}, "
                                     "not (in, out, 4, 4)")
        if position and inputs != shapes[position - 1][1]:
            raise ModelError(source, f"main.{indices[position]}.weight reads {inputs} channels but the layer "
                                     f"before makes {shapes[position - 1][1]}")
    if shapes[-1][1] != 3:
        raise ModelError(source, f"the last layer makes {shapes[-1][1]} channels, not 3 (RGB)")

