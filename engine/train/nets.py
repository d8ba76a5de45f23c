"""DCGAN networks to train, laid out as the engine loads them (``main.N.*``: transposed
convolutions, batch norm, ReLU, tanh), so the exported weights play through
engine.generators.dcgan unchanged. A VAE's decoder is the same generator, and its encoder the
discriminator's convolutions ending in a mean and a log-variance per latent dimension."""

from __future__ import annotations

import math

import torch
from torch import nn

SIZES = (32, 64, 128, 256)


class Generator(nn.Module):
    """z (B, z_dim) -> (B, 3, size, size) in [-1, 1]; its layers under ``main``."""

    def __init__(self, main: nn.Sequential) -> None:
        super().__init__()
        self.main = main

    def forward(self, z: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """``rng`` is there so both architectures train through one call: a DCGAN draws no
        randomness of its own (StyleGAN2's noise inputs and style mixing do)."""
        return self.main(z[:, :, None, None])


def generator(size: int, z_dim: int = 100, width: int = 64) -> Generator:
    """A DCGAN generator from 4 px doubled up to ``size``."""
    ups = int(math.log2(size)) - 2
    channels = [min(width * 2 ** (ups - 1 - i), 512) for i in range(ups)]
    layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, channels[0], 4, 1, 0, bias=False),
                               nn.BatchNorm2d(channels[0]), nn.ReLU(True)]
    for a, b in zip(channels, channels[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(channels[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
    net = Generator(nn.Sequential(*layers))
    _init(net)
    return net


def discriminator(size: int, width: int = 64, batch_norm: bool = True) -> nn.Module:
    """(B, 3, size, size) -> (B,) scores; no batch norm for WGAN-GP (its penalty is per sample)."""
    downs = int(math.log2(size)) - 2
    channels = [min(width * 2 ** i, 512) for i in range(downs)]
    layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for a, b in zip(channels, channels[1:]):
        layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False)]
        layers += [nn.BatchNorm2d(b)] if batch_norm else []
        layers += [nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(channels[-1], 1, 4, 1, 0, bias=False), nn.Flatten(0)]
    return _init(nn.Sequential(*layers))


class Encoder(nn.Module):
    """(B, 3, size, size) -> (mean, log-variance), each (B, z_dim): q(z | x) of a VAE."""

    def __init__(self, size: int, z_dim: int, width: int = 64) -> None:
        super().__init__()
        downs = int(math.log2(size)) - 2
        channels = [min(width * 2 ** i, 512) for i in range(downs)]
        layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for a, b in zip(channels, channels[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        self.features = _init(nn.Sequential(*layers, nn.Flatten(1)))
        self.moments = nn.Linear(channels[-1] * 16, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.moments(self.features(x)).chunk(2, dim=1)
        return mean, log_variance.clamp(-30.0, 20.0)  # exp() stays finite in float32


def _init(net: nn.Module) -> nn.Module:
    """The DCGAN paper's initialisation: weights N(0, 0.02), batch norm scales N(1, 0.02)."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
    return net


def exported(net: nn.Module) -> dict[str, torch.Tensor]:
    """The generator's tensors as the engine loads them (batch-norm counters left out)."""
    return {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()
            if not k.endswith("num_batches_tracked")}
