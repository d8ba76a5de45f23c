"""StyleGAN2 networks to train (Karras et al. 2020, config F).

The generator *is* the engine's :class:`StyleGAN2Network`, whose forward pass plays every
StyleGAN2 model, with its canonical tensors made trainable: what trains is what plays, and
export is only folding each tensor's equalised-learning-rate gain in. Training differs from
playing in two ways, both switched on by passing a random generator to ``forward``: fresh
per-pixel noise instead of the stored maps, and style mixing (two faces' W, swapped at a
random layer, nine batches in ten). The discriminator is the paper's residual one with a
minibatch standard deviation at 4 px. The path-length penalty (the trainer applies it every 4
steps) keeps a step in W the same size of change in the picture wherever it is taken: what makes
a walk through W look even, which is what this engine plays.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine.generators.stylegan2 import SQRT2, StyleGAN2Config, StyleGAN2Network, resample_filter, upfirdn2d

MAPPING_LR = 0.01  # the mapping network learns 100x slower (the paper's lr multiplier)
W_AVG_BETA = 0.995  # the moving average of W that truncation pulls toward
MIXING = 0.9
PL_DECAY = 0.01  # how fast the expected path length follows the measured one
MAX_CHANNELS = 512


def channels_at(resolution: int, size: int, width: int) -> int:
    """``width`` channels at the output size, doubling each halving of the resolution, up to 512."""
    return min(MAX_CHANNELS, width * size // resolution)


def config(size: int, width: int) -> StyleGAN2Config:
    """z and W of 512 and eight mapping layers for the paper's widths; 256 and two for small nets."""
    latent = 512 if width * size >= 8192 else 256
    resolutions = [4] + [r for r in (8, 16, 32, 64, 128, 256, 512, 1024) if r <= size for _ in range(2)]
    return StyleGAN2Config(z_dim=latent, w_dim=latent, mapping_layers=8 if latent == 512 else 2,
                           resolution=size, channels=tuple(channels_at(r, size, width) for r in resolutions))


class TrainableStyleGAN2(StyleGAN2Network):
    """The canonical network with unit-variance parameters and per-tensor gains (equalised
    learning rate); ``tensors()`` gives the canonical tensors, gains folded in."""

    def __init__(self, cfg: StyleGAN2Config, generator: torch.Generator) -> None:
        raw, self.gains = _initial(cfg, generator)
        super().__init__(cfg, raw)
        self._rng: torch.Generator | None = None  # set for the length of a training forward pass
        for name in raw:
            self.params[name.replace(".", "__")].requires_grad_(not _fixed(name))

    def p(self, name: str) -> torch.Tensor:
        tensor = self.params[name.replace(".", "__")]
        gain = self.gains.get(name, 1.0)
        return tensor * gain if gain != 1.0 else tensor

    def tensors(self) -> dict[str, torch.Tensor]:
        names = (key.replace("__", ".") for key in self.params)
        return {name: self.p(name).detach().float().cpu().contiguous() for name in names}

    def forward(self, z: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """(B, z_dim) -> (B, 3, R, R); with ``rng`` as in training (fresh noise, style mixing,
        the average W tracked), without it exactly as the engine plays the exported model."""
        return self.draw(self.styles(z, rng), rng)

    def styles(self, z: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """(B, z_dim) -> (B, num_ws, w_dim); with ``rng``, two faces' W mixed at a random layer."""
        w = self.mapping(z)
        ws = w[:, None, :].repeat(1, self.config.num_ws, 1)
        if rng is not None:
            with torch.no_grad():
                self.p("w_avg").lerp_(w.detach().float().mean(dim=0), 1.0 - W_AVG_BETA)
            if float(torch.rand((), generator=rng, device=rng.device)) < MIXING:
                cutoff = int(torch.randint(1, self.config.num_ws, (), generator=rng, device=rng.device))
                other = torch.randn(z.shape, generator=rng, device=rng.device)
                ws[:, cutoff:] = self.mapping(other)[:, None, :]
        return ws

    def draw(self, ws: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """(B, num_ws, w_dim) -> (B, 3, R, R); with ``rng``, fresh noise instead of the stored maps."""
        self._rng = rng
        try:
            return self.synthesis(ws)
        finally:
            self._rng = None

    def noise(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        if self._rng is None:
            return super().noise(layer, x)
        fresh = torch.randn((x.shape[0], 1, x.shape[2], x.shape[3]), generator=self._rng, device=self._rng.device)
        return fresh * self.p(f"conv.{layer}.noise_strength")


def path_length_penalty(g: TrainableStyleGAN2, z: torch.Tensor, rng: torch.Generator,
                        expected: torch.Tensor) -> torch.Tensor:
    """(|J_w^T y| - a)^2 over a batch, y random images of unit variance per pixel, J the
    Jacobian of the image with respect to W, and ``a`` (``expected``, updated in place) the
    running mean of those lengths: every direction in W moves the picture about equally."""
    ws = g.styles(z, rng)
    image = g.draw(ws, rng)
    pixels = image.shape[2] * image.shape[3]
    probe = torch.randn(image.shape, generator=rng, device=rng.device) / math.sqrt(pixels)
    grad, = torch.autograd.grad((image * probe).sum(), ws, create_graph=True)
    lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()  # (B,)
    with torch.no_grad():
        expected.lerp_(lengths.mean().detach(), PL_DECAY)
    return (lengths - expected).square().mean()


def _fixed(name: str) -> bool:
    """Tensors that are not learned: the averaged W, the stored noise maps, the blur filter."""
    return name in ("w_avg", "resample_filter") or name.endswith(".noise")


def _initial(cfg: StyleGAN2Config, generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Unit-variance tensors and the gains that scale them at run time (He's constant per layer)."""
    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator)

    raw: dict[str, torch.Tensor] = {}
    gains: dict[str, float] = {}
    width = cfg.z_dim
    for i in range(cfg.mapping_layers):
        raw[f"mapping.{i}.weight"] = normal(cfg.w_dim, width) / MAPPING_LR
        raw[f"mapping.{i}.bias"] = torch.zeros(cfg.w_dim)
        gains[f"mapping.{i}.weight"], gains[f"mapping.{i}.bias"] = MAPPING_LR / math.sqrt(width), MAPPING_LR
        width = cfg.w_dim
    raw["w_avg"] = torch.zeros(cfg.w_dim)
    raw["const"] = normal(cfg.channels[0], 4, 4)
    inputs = cfg.channels[0]
    for layer, outputs in enumerate(cfg.channels):
        size = 4 * 2 ** ((layer + 1) // 2)
        prefix = f"conv.{layer}"
        raw[f"{prefix}.weight"] = normal(outputs, inputs, 3, 3)  # demodulated: no gain needed
        _affine(raw, gains, prefix, inputs, cfg.w_dim, normal)
        raw[f"{prefix}.bias"] = torch.zeros(outputs)
        raw[f"{prefix}.noise"] = normal(size, size)
        raw[f"{prefix}.noise_strength"] = torch.zeros(())
        inputs = outputs
    for k in range(len(cfg.channels) // 2 + 1):
        inputs = cfg.channels[max(0, 2 * k)]
        prefix = f"torgb.{k}"
        raw[f"{prefix}.weight"] = normal(3, inputs, 1, 1)
        gains[f"{prefix}.weight"] = 1.0 / math.sqrt(inputs)
        _affine(raw, gains, prefix, inputs, cfg.w_dim, normal)
        raw[f"{prefix}.bias"] = torch.zeros(3)
    raw["resample_filter"] = resample_filter()
    return raw, gains


def _affine(raw: dict[str, torch.Tensor], gains: dict[str, float], prefix: str, inputs: int, w_dim: int,
            normal: Callable[..., torch.Tensor]) -> None:
    raw[f"{prefix}.affine.weight"] = normal(inputs, w_dim)
    raw[f"{prefix}.affine.bias"] = torch.ones(inputs)  # styles start at 1: modulation starts neutral
    gains[f"{prefix}.affine.weight"] = 1.0 / math.sqrt(w_dim)


# --- the discriminator ------------------------------------------------------------------------

class EqualConv(nn.Module):
    """A convolution with equalised learning rate; ``down`` blurs ([1,3,3,1]) before striding."""

    def __init__(self, inputs: int, outputs: int, kernel: int, bias: bool = True, down: bool = False,
                 activate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(outputs, inputs, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(outputs)) if bias else None
        self.gain = 1.0 / math.sqrt(inputs * kernel * kernel)
        self.down, self.activate, self.kernel = down, activate, kernel
        self.register_buffer("blur", resample_filter(), persistent=False)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        weight = self.weight * self.gain
        if self.down:  # blur, then stride 2 with the padding folded into the blur's
            pad = self.kernel // 2 + 1
            x = F.conv2d(upfirdn2d(x, self.blur, up=1, pad=(pad, pad), gain=1.0), weight, stride=2)
        else:
            x = F.conv2d(x, weight, padding=self.kernel // 2)
        if self.bias is not None:
            x = x + self.bias[None, :, None, None]
        return (F.leaky_relu(x, 0.2) * SQRT2 if self.activate else x) * gain


class EqualLinear(nn.Module):
    def __init__(self, inputs: int, outputs: int, activate: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(outputs, inputs))
        self.bias = nn.Parameter(torch.zeros(outputs))
        self.gain, self.activate = 1.0 / math.sqrt(inputs), activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.gain, self.bias)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.activate else x


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions, the second halving the size, beside a 1x1 skip; summed at unit variance."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.conv0 = EqualConv(inputs, inputs, 3)
        self.conv1 = EqualConv(inputs, outputs, 3, down=True)
        self.skip = EqualConv(inputs, outputs, 1, bias=False, down=True, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = math.sqrt(0.5)
        return self.skip(x, gain=half) + self.conv1(self.conv0(x), gain=half)


class Discriminator(nn.Module):
    """(B, 3, S, S) -> (B,) scores: RGB in at full size, residual blocks down to 4 px, then the
    minibatch standard deviation (groups of 4), a 3x3 convolution and two dense layers."""

    def __init__(self, size: int, width: int) -> None:
        super().__init__()
        resolutions = [size // 2 ** i for i in range(int(math.log2(size)) - 1)]  # size .. 4
        self.from_rgb = EqualConv(3, channels_at(size, size, width), 1)
        self.blocks = nn.Sequential(*[ResidualBlock(channels_at(r, size, width), channels_at(r // 2, size, width))
                                      for r in resolutions[:-1]])
        last = channels_at(4, size, width)
        self.conv = EqualConv(last + 1, last, 3)
        self.dense = EqualLinear(last * 16, last)
        self.out = EqualLinear(last, 1, activate=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.from_rgb(image))
        x = torch.cat([x, _minibatch_std(x)], dim=1)
        return self.out(self.dense(self.conv(x).flatten(1))).flatten()


def _minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """One feature map: the standard deviation across each group of samples, averaged (the
    discriminator sees how varied a batch is, which pushes the generator away from collapse)."""
    b, c, h, w = x.shape
    g = math.gcd(group, b)
    y = x.float().reshape(g, b // g, c, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()  # (B/g, C, H, W)
    y = y.mean(dim=[1, 2, 3]).reshape(1, b // g, 1, 1, 1).repeat(g, 1, 1, h, w)
    return y.reshape(b, 1, h, w).to(x.dtype)
