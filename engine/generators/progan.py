"""Progressive GAN (Karras et al. 2018, "Progressive Growing of GANs"), the network behind the
first "faces that never existed", in one canonical layout (``formats/gan_zoo.py`` converts the
pytorch_GAN_zoo checkpoints to it). Canonical names (``s`` a scale above 4x4):

    format.weight (16 * C0, z_dim) / .bias      # z -> a 4x4 map of C0 channels (He's constant folded in)
    scale0.weight (C0, C0, 3, 3) / .bias        # the 4x4 convolution
    block.{s}.{0,1}.weight / .bias              # two 3x3 convolutions after each nearest-neighbour doubling
    torgb.{i}.weight (3, C, 1, 1) / .bias       # one per scale; the last draws, the one before blends in
    settings (3,): alpha (the newest scale's blend, 0 when grown), leaky ReLU slope, pixel norm (0/1)

There is no mapping network: W is z itself, as in a DCGAN, so walks and directions stay in z.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from engine.generators.base import Generator
from engine.generators.canonical import CanonicalTensors
from engine.generators.card import ModelCard
from engine.generators.device import Placement
from engine.generators.errors import ModelError


def _pixel_norm(x: torch.Tensor) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()


def scale_count(tensors: dict[str, torch.Tensor]) -> int:
    return len({m.group(1) for k in tensors if (m := re.match(r"^block\.(\d+)\.0\.weight$", k))})


class ProGANNetwork(CanonicalTensors):
    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__({k: v for k, v in tensors.items() if k != "settings"})
        self.scales = scale_count(tensors)
        alpha, leak, normalize = (float(v) for v in tensors["settings"])
        self.alpha, self.leak, self.normalize = alpha, leak, normalize > 0.5

    def _conv(self, x: torch.Tensor, name: str, activate: bool = True) -> torch.Tensor:
        weight = self.p(f"{name}.weight")
        x = F.conv2d(x, weight.to(x.dtype), self.p(f"{name}.bias").to(x.dtype), padding=weight.shape[-1] // 2)
        if not activate:
            return x
        x = F.leaky_relu(x, self.leak)
        return _pixel_norm(x) if self.normalize else x

    def first_features(self, z: torch.Tensor) -> torch.Tensor:
        """(B, 16 * C0): the format layer's output after its leaky ReLU."""
        x = _pixel_norm(z.float()) if self.normalize else z.float()
        return F.leaky_relu(F.linear(x, self.p("format.weight"), self.p("format.bias")), self.leak)

    def forward(self, z: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        x = self.first_features(z)
        x = _pixel_norm(x.reshape(x.shape[0], -1, 4, 4)).to(dtype)  # the zoo normalises here unconditionally
        x = self._conv(x, "scale0")
        before = None
        if self.alpha > 0 and self.scales == 1:
            before = F.interpolate(self._conv(x, "torgb.0", activate=False), scale_factor=2, mode="nearest")
        for s in range(self.scales):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = self._conv(self._conv(x, f"block.{s}.0"), f"block.{s}.1")
            if self.alpha > 0 and s == self.scales - 2:  # the previous scale's picture, blended out as it grows
                before = F.interpolate(self._conv(x, f"torgb.{s + 1}", activate=False), scale_factor=2, mode="nearest")
        image = self._conv(x, f"torgb.{self.scales}", activate=False)
        if before is not None:
            image = self.alpha * before + (1.0 - self.alpha) * image
        return image.float()


class ProGANGenerator(Generator):
    """ProGAN with z -> image; W is z itself (one W vector), truncation scales toward 0."""

    has_w_space = False

    def __init__(self, card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement, source: str) -> None:
        self.card = card
        self.placement = placement
        try:
            self.net = ProGANNetwork(tensors).eval().to(placement.device)
            self.z_dim = int(tensors["format.weight"].shape[1])
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise ModelError(source, f"not a complete ProGAN generator ({str(exc)[:160]})") from None
        self.w_dim, self.num_ws = self.z_dim, 1
        self.resolution = 4 * 2 ** self.net.scales
        self.check_size(source)

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        return (z * truncation_psi)[:, None, :]  # (B, 1, z_dim); the prior's mean is 0

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        return self.net(w[:, 0].to(self.device), self.placement.dtype)  # (B, 3, R, R), roughly [-1, 1]

    def reading_weights(self, slots: tuple[int, int]) -> torch.Tensor:
        return self.net.p("format.weight").detach()  # (16 * C0, z_dim): the units that first read z

    def first_features(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.first_features(z.to(self.device))
