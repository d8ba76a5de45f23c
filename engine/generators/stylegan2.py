"""StyleGAN2 (Karras et al. 2020), written from the paper, in one canonical parameter layout.

Both checkpoint families (rosinality ``stylegan2-pytorch`` and NVIDIA ``stylegan2-ada``/
``stylegan3``) are converted to this layout on load (see ``formats/``), with every
equalised-learning-rate gain already folded into the tensors, so the forward pass has no
per-format branches. Canonical names (``B`` batch, ``L`` layer index, ``R`` resolution):

    mapping.{i}.weight (out, in), mapping.{i}.bias      # gains and lr multiplier folded in
    w_avg (w_dim,)                                      # truncation centre
    const (C, 4, 4)
    conv.{L}.weight (out, in, 3, 3)  conv.{L}.affine.weight (in, w_dim)  .affine.bias (in)
    conv.{L}.bias (out)  conv.{L}.noise (R, R)  conv.{L}.noise_strength ()
    torgb.{k}.weight (3, in, 1, 1)   torgb.{k}.affine.weight/bias   torgb.{k}.bias (3,)
    resample_filter (4, 4)                              # [1,3,3,1] outer product, sum 1

Layer L = 0 is the 4x4 convolution; then two per resolution, the first of each pair upsampling.
W slot i feeds conv.i, and torgb.k reads slot 2k + 1 (StyleGAN's shared-slot convention).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.generators.canonical import CanonicalTensors, MappedGenerator
from engine.generators.card import ModelCard
from engine.generators.device import Placement
from engine.generators.errors import ModelError

SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class StyleGAN2Config:
    """Architecture, read from tensor shapes (never assumed)."""

    z_dim: int
    w_dim: int
    mapping_layers: int
    resolution: int
    channels: tuple[int, ...]  # output channels of conv.0, conv.1, ...
    conv_clamp: float | None = None

    @property
    def num_ws(self) -> int:
        return len(self.channels) + 1


def config_from_tensors(tensors: dict[str, torch.Tensor], conv_clamp: float | None) -> StyleGAN2Config:
    mapping = sorted(int(m.group(1)) for k in tensors if (m := re.match(r"^mapping\.(\d+)\.weight$", k)))
    convs = sorted(int(m.group(1)) for k in tensors if (m := re.match(r"^conv\.(\d+)\.weight$", k)))
    if not mapping or not convs or len(convs) % 2 == 0:
        raise ValueError("not a StyleGAN2 layout (mapping or convolution layers missing)")
    return StyleGAN2Config(
        z_dim=int(tensors["mapping.0.weight"].shape[1]),
        w_dim=int(tensors[f"mapping.{mapping[-1]}.weight"].shape[0]),
        mapping_layers=len(mapping),
        resolution=4 * 2 ** (len(convs) // 2),
        channels=tuple(int(tensors[f"conv.{i}.weight"].shape[0]) for i in convs),
        conv_clamp=conv_clamp,
    )


def resample_filter() -> torch.Tensor:
    """StyleGAN's [1, 3, 3, 1] filter as the 4x4 kernel (sum 1) that up- and downsampling blur with."""
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    return torch.outer(taps, taps) / taps.sum() ** 2


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int, pad: tuple[int, int], gain: float) -> torch.Tensor:
    """Upsample by zero insertion, pad (before, after) on both axes, FIR-filter (depthwise)."""
    b, c, h, w = x.shape  # (B, C, H, W)
    if up > 1:
        spread = x.new_zeros(b, c, h * up, w * up)
        spread[:, :, ::up, ::up] = x
        x = spread
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = (kernel * gain).flip([0, 1]).to(x.dtype)[None, None].repeat(c, 1, 1, 1)  # (C, 1, kh, kw)
    return F.conv2d(x, k, groups=c)


class StyleGAN2Network(CanonicalTensors):
    """The generator network; parameters are registered under the canonical names."""

    def __init__(self, config: StyleGAN2Config, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__(tensors)
        self.config = config

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.map_z(z, self.config.mapping_layers)  # (B, w_dim)

    def _modulated_conv(self, x: torch.Tensor, w: torch.Tensor, prefix: str, demodulate: bool,
                        up: bool) -> torch.Tensor:
        """Modulate activations instead of weights (one shared weight for the whole batch)."""
        weight = self.p(f"{prefix}.weight").to(x.dtype)  # (O, I, k, k)
        styles = F.linear(w.float(), self.p(f"{prefix}.affine.weight"), self.p(f"{prefix}.affine.bias"))  # (B, I)
        if x.dtype == torch.float16 and demodulate:  # keep fp16 in range; demodulation cancels it
            weight = weight / weight.abs().amax(dim=[1, 2, 3], keepdim=True)
            styles = styles / styles.abs().amax(dim=1, keepdim=True)
        x = x * styles.to(x.dtype)[:, :, None, None]
        if up:
            x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)  # (B, O, 2H+1, 2W+1)
            x = upfirdn2d(x, self.p("resample_filter"), up=1, pad=(1, 1), gain=4.0)  # (B, O, 2H, 2W)
        else:
            x = F.conv2d(x, weight, padding=weight.shape[-1] // 2)
        if demodulate:
            modulated = weight.float()[None] * styles[:, None, :, None, None]  # (B, O, I, k, k)
            scale = torch.rsqrt(modulated.square().sum(dim=[2, 3, 4]) + 1e-8)  # (B, O)
            x = x * scale.to(x.dtype)[:, :, None, None]
        return x

    def _conv(self, x: torch.Tensor, w: torch.Tensor, layer: int) -> torch.Tensor:
        prefix = f"conv.{layer}"
        up = layer % 2 == 1
        x = self._modulated_conv(x, w, prefix, demodulate=True, up=up)
        x = x + self.noise(layer, x).to(x.dtype)
        x = F.leaky_relu(x + self.p(f"{prefix}.bias").to(x.dtype)[None, :, None, None], 0.2) * SQRT2
        return self._clamp(x)

    def noise(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """conv.{layer}'s noise input: the stored map, the same for every frame (a frame depends
        only on its W); training draws fresh noise instead (engine.train.stylegan2_nets)."""
        return self.p(f"conv.{layer}.noise") * self.p(f"conv.{layer}.noise_strength")  # (R, R)

    def _torgb(self, x: torch.Tensor, w: torch.Tensor, index: int) -> torch.Tensor:
        prefix = f"torgb.{index}"
        y = self._modulated_conv(x, w, prefix, demodulate=False, up=False)
        return self._clamp(y + self.p(f"{prefix}.bias").to(y.dtype)[None, :, None, None])

    def _clamp(self, x: torch.Tensor) -> torch.Tensor:
        clamp = self.config.conv_clamp
        return x.clamp(-clamp, clamp) if clamp is not None else x

    def synthesis(self, ws: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(B, num_ws, w_dim) -> (B, 3, R, R) float32."""
        batch = ws.shape[0]
        x = self.p("const").to(dtype)[None].repeat(batch, 1, 1, 1)  # (B, C, 4, 4)
        x = self._conv(x, ws[:, 0], 0)
        image = self._torgb(x, ws[:, 1], 0).float()  # (B, 3, 4, 4)
        for k in range(1, len(self.config.channels) // 2 + 1):
            x = self._conv(x, ws[:, 2 * k - 1], 2 * k - 1)
            x = self._conv(x, ws[:, 2 * k], 2 * k)
            image = upfirdn2d(image, self.p("resample_filter"), up=2, pad=(2, 1), gain=4.0)
            image = image + self._torgb(x, ws[:, 2 * k + 1], k).float()
        return image


class StyleGAN2Generator(MappedGenerator):
    """The engine's Generator interface over :class:`StyleGAN2Network`.

    W is per layer (``(B, num_ws, w_dim)``), truncation pulls toward the stored average W, and
    on CUDA synthesis runs in fp16 with channels-last activations.
    """

    def __init__(self, card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement,
                 source: str) -> None:
        self.card = card
        self.placement = placement
        clamp = card.extra.get("conv_clamp")
        try:
            self.config = config_from_tensors(tensors, float(clamp) if clamp is not None else None)
            self.net = StyleGAN2Network(self.config, tensors).eval().to(placement.device)
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise ModelError(source, f"not a complete StyleGAN2 generator ({str(exc)[:160]})") from None
        if "w_avg" not in tensors:
            raise ModelError(source, "StyleGAN2 weights lack w_avg (re-import the checkpoint)")
        self.z_dim, self.w_dim = self.config.z_dim, self.config.w_dim
        self.num_ws, self.resolution = self.config.num_ws, self.config.resolution
        self.check_size(source)

    def reading_weights(self, slots: tuple[int, int]) -> torch.Tensor:
        # W slot i feeds conv.i (where there is one) and slot 2k + 1 also torgb.k
        names = [f"conv.{slot}" for slot in range(*slots)] + [f"torgb.{(slot - 1) // 2}" for slot in range(*slots) if slot % 2]
        return torch.cat([self.net.p(f"{n}.affine.weight") for n in names if self.net.has(f"{n}.affine.weight")])

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        memory = torch.channels_last if self.device.type == "cuda" else torch.contiguous_format
        with torch.autocast("cuda", enabled=False):
            image = self.net.synthesis(w.to(self.device).float(), self.placement.dtype)
        return image.contiguous(memory_format=memory)  # (B, 3, R, R) f32, roughly [-1, 1]


@torch.inference_mode()
def estimate_w_avg(tensors: dict[str, torch.Tensor], samples: int = 10_000, seed: int = 0) -> torch.Tensor:
    """Mean W over ``samples`` seeded z, for checkpoints stored without one."""
    config = config_from_tensors(tensors, None)
    net = StyleGAN2Network(config, tensors)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, config.z_dim, generator=generator)
    return net.mapping(z).mean(dim=0)
