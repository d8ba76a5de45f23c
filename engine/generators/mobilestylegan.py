"""MobileStyleGAN (Belousov 2021, arXiv 2104.04767), written from the paper, in one canonical layout.

A StyleGAN2 distilled into a network a CPU can run: the same mapping network and W, a constant
input and one full 3x3 styled convolution at 4x4, then blocks that each upsample by an inverse
Haar wavelet transform (the block's input read as LL/LH/HL/HH sub-bands of a quarter as many
channels) followed by two modulated *depthwise-separable* convolutions. Images leave the network
as wavelet coefficients (12 channels: LL, then LH/HL/HH of each colour) that one more inverse
transform turns into pixels, so a block at H x W makes a 2H x 2W picture.

Canonical names (``C`` channels, ``R`` a block's working size, ``i`` block index):

    mapping.{k}.weight (w_dim, in), mapping.{k}.bias      # as StyleGAN2's, gains folded in
    w_avg (w_dim,)                                        # truncation centre, estimated at install
    const (C, 4, 4)
    input.affine.weight (C, w_dim)  .affine.bias (C)      # modulation, its scale folded in
    input.weight (C, C, 3, 3)  input.noise (4, 4)  input.bias (C)
    block.{i}.up.affine.weight (C_in, w_dim)  .bias       # scales the sub-bands before the IDWT
    block.{i}.conv{1,2}.affine.weight/bias  .depthwise (C_in, 1, 3, 3)  .pointwise (C_out, C_in, 1, 1)
    block.{i}.conv{1,2}.noise (R, R)  .bias (C_out)       # demodulation folded into pointwise
    block.{i}.exit.weight (12, C, 1, 1)  .exit.bias (12)  # wavelet image out of block i
    block.{i}.exit.affine.weight/bias                     # only on the trained last block
    idwt (4, 2)                                           # low/high filters: columns, then rows

The released IR keeps only the last block's image output; the lower exits (a 256-px picture out
of block 4, ...) are fitted at install by least squares to the full output downscaled (see
:mod:`engine.generators.exits`), so a frame that needs 256 px stops after block 4.

W slots: slot 0 styles the input convolution; block i's up, conv1 and conv2 read slots 1 + 3i,
2 + 3i and 3 + 3i, and the last slot styles the trained image output (23 slots for FFHQ), so W+
and style mixing address each modulated layer, and every slot is read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from engine.generators.canonical import CanonicalTensors, MappedGenerator
from engine.generators.card import ModelCard
from engine.generators.device import Placement
from engine.generators.errors import ModelError
from engine.generators.openvino_runtime import ExitModule, OpenVINOSynthesis, openvino_wanted, tensors_digest

log = logging.getLogger(__name__)
LEAKY_SLOPE = 0.2
SLOTS_PER_BLOCK = 3


@dataclass(frozen=True)
class MobileStyleGANConfig:
    """Architecture, read from tensor shapes."""

    z_dim: int
    w_dim: int
    mapping_layers: int
    channels: tuple[int, ...]  # the input convolution's, then each block's output channels
    exits: tuple[int, ...]  # indices of blocks with an image output

    @property
    def blocks(self) -> int:
        return len(self.channels) - 1

    @property
    def num_ws(self) -> int:
        return 2 + SLOTS_PER_BLOCK * self.blocks  # the input layer, the blocks, the image output

    def exit_resolution(self, block: int) -> int:
        return 4 * 2 ** (block + 2)  # block i works at 8 * 2^i; its wavelet image is twice that


def config_from_tensors(tensors: dict[str, torch.Tensor]) -> MobileStyleGANConfig:
    mapping = sorted(int(m.group(1)) for k in tensors if (m := re.match(r"^mapping\.(\d+)\.weight$", k)))
    blocks = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"^block\.(\d+)\.conv1\.pointwise$", k))})
    if not mapping or not blocks or blocks != list(range(len(blocks))):
        raise ValueError("not a MobileStyleGAN layout (mapping or blocks missing)")
    exits = tuple(i for i in blocks if f"block.{i}.exit.weight" in tensors)
    if blocks[-1] not in exits:
        raise ValueError("the last block has no image output")
    return MobileStyleGANConfig(
        z_dim=int(tensors["mapping.0.weight"].shape[1]),
        w_dim=int(tensors[f"mapping.{mapping[-1]}.weight"].shape[0]),
        mapping_layers=len(mapping),
        channels=(int(tensors["input.weight"].shape[0]),
                  *(int(tensors[f"block.{i}.conv2.pointwise"].shape[0]) for i in blocks)),
        exits=exits,
    )


def inverse_haar(x: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """(B, 4C, H, W) sub-bands -> (B, C, 2H, 2W): channels [0, C) are LL, then (LH, HL, HH) per
    channel. Output pixel (2i+a, 2j+b) sums each band times its column tap a and row tap b."""
    b, c4, h, w = x.shape
    c = c4 // 4
    low = x[:, :c]  # (B, C, H, W)
    lh, hl, hh = x[:, c:].reshape(b, c, 3, h, w).unbind(2)
    col_low, col_high, row_low, row_high = (filters[k].to(x.dtype) for k in range(4))
    quads = []
    for a in range(2):
        for bb in range(2):
            quads.append(col_low[a] * row_low[bb] * low + col_high[a] * row_low[bb] * lh
                         + col_low[a] * row_high[bb] * hl + col_high[a] * row_high[bb] * hh)
    out = torch.stack(quads, dim=2).reshape(b, c, 2, 2, h, w)  # (B, C, a, b, H, W)
    return out.permute(0, 1, 4, 2, 5, 3).reshape(b, c, 2 * h, 2 * w)


def forward_haar(image: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """The transpose of :func:`inverse_haar` (its inverse, the filters being orthonormal):
    (B, C, 2H, 2W) -> (B, 4C, H, W) sub-bands."""
    b, c, h2, w2 = image.shape
    quads = image.reshape(b, c, h2 // 2, 2, w2 // 2, 2).permute(0, 1, 3, 5, 2, 4)  # (B, C, a, b, H, W)
    col_low, col_high, row_low, row_high = (filters[k].to(image.dtype) for k in range(4))
    bands = []
    for col, row in ((col_low, row_low), (col_high, row_low), (col_low, row_high), (col_high, row_high)):
        weight = col[:, None] * row[None, :]  # (a, b)
        bands.append((quads * weight[None, None, :, :, None, None]).sum(dim=(2, 3)))
    low, lh, hl, hh = bands
    high = torch.stack([lh, hl, hh], dim=2).reshape(b, 3 * c, h2 // 2, w2 // 2)
    return torch.cat([low, high], dim=1)


class MobileStyleGANNetwork(CanonicalTensors):
    """The generator network; parameters are registered under the canonical names."""

    def __init__(self, config: MobileStyleGANConfig, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__(tensors)
        self.config = config

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.map_z(z, self.config.mapping_layers)  # (B, w_dim)

    def style(self, w: torch.Tensor, prefix: str, dtype: torch.dtype) -> torch.Tensor:
        """(B, w_dim) -> (B, C, 1, 1): a layer's per-channel modulation."""
        s = F.linear(w.float(), self.p(f"{prefix}.affine.weight"), self.p(f"{prefix}.affine.bias"))
        return s.to(dtype)[:, :, None, None]

    def _activate(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        x = x + self.p(f"{prefix}.noise").to(x.dtype)  # (R, R), fixed: a frame depends only on its W
        return F.leaky_relu(x + self.p(f"{prefix}.bias").to(x.dtype)[None, :, None, None], LEAKY_SLOPE)

    def _separable(self, x: torch.Tensor, w: torch.Tensor, prefix: str) -> torch.Tensor:
        x = x * self.style(w, prefix, x.dtype)
        depthwise = self.p(f"{prefix}.depthwise").to(x.dtype)  # (C_in, 1, 3, 3)
        x = F.conv2d(x, depthwise, padding=1, groups=depthwise.shape[0])
        x = F.conv2d(x, self.p(f"{prefix}.pointwise").to(x.dtype))  # (B, C_out, R, R)
        return self._activate(x, prefix)

    def _image(self, x: torch.Tensor, w: torch.Tensor, block: int) -> torch.Tensor:
        """Block ``block``'s picture: wavelet coefficients, then pixels (B, 3, 2R, 2R) float32."""
        prefix = f"block.{block}.exit"
        if self.has(f"{prefix}.affine.weight"):
            x = x * self.style(w, prefix, x.dtype)
        coefficients = F.conv2d(x, self.p(f"{prefix}.weight").to(x.dtype), self.p(f"{prefix}.bias").to(x.dtype))
        return inverse_haar(coefficients.float(), self.p("idwt"))

    def features(self, ws: torch.Tensor, last_block: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Hidden activations after block ``last_block`` (B, C, R, R); -1 is the input layer."""
        batch = ws.shape[0]
        x = self.p("const").to(dtype)[None].repeat(batch, 1, 1, 1)  # (B, C, 4, 4)
        x = x * self.style(ws[:, 0], "input", dtype)
        x = self._activate(F.conv2d(x, self.p("input.weight").to(dtype), padding=1), "input")
        for i in range(last_block + 1):
            x = self.block(x, ws, i)
        return x

    def block(self, x: torch.Tensor, ws: torch.Tensor, i: int) -> torch.Tensor:
        """Block ``i``: (B, C, R, R) -> (B, C', 2R, 2R)."""
        slot = 1 + SLOTS_PER_BLOCK * i
        x = inverse_haar(x * self.style(ws[:, slot], f"block.{i}.up", x.dtype), self.p("idwt").to(x.dtype))
        x = self._separable(x, ws[:, slot + 1], f"block.{i}.conv1")
        return self._separable(x, ws[:, slot + 2], f"block.{i}.conv2")

    def synthesis(self, ws: torch.Tensor, exit_block: int | None = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(B, num_ws, w_dim) -> (B, 3, R, R) float32 out of block ``exit_block`` (default the last)."""
        block = self.config.blocks - 1 if exit_block is None else exit_block
        x = self.features(ws, block, dtype)
        return self._image(x, ws[:, -1], block)


class MobileStyleGANGenerator(MappedGenerator):
    """The engine's Generator interface over :class:`MobileStyleGANNetwork`.

    W is per layer, truncation pulls toward the stored average W. ``resolutions`` lists the
    exits; :meth:`use_resolution` picks the one synthesis stops at (the largest by default).
    On the CPU synthesis runs through OpenVINO where it is installed (see
    :mod:`engine.generators.openvino_runtime`), on CUDA through torch in fp16.
    """

    has_w_space = True

    def __init__(self, card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement,
                 source: str) -> None:
        self.card = card
        self.placement = placement
        try:
            self.config = config_from_tensors(tensors)
            self.net = MobileStyleGANNetwork(self.config, tensors).eval().to(placement.device)
        except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as exc:
            raise ModelError(source, f"not a complete MobileStyleGAN generator ({str(exc)[:160]})") from None
        if "w_avg" not in tensors:
            raise ModelError(source, "MobileStyleGAN weights lack w_avg (install the model again)")
        self.z_dim, self.w_dim, self.num_ws = self.config.z_dim, self.config.w_dim, self.config.num_ws
        self.resolutions = tuple(self.config.exit_resolution(i) for i in self.config.exits)
        self.resolution = self.resolutions[-1]
        self.check_size(source)
        self._openvino = openvino_wanted(placement.device) and placement.dtype == torch.float32
        self._digest = tensors_digest(tensors, Path(__file__)) if self._openvino else ""
        self._compiled: dict[int, OpenVINOSynthesis] = {}

    def describe(self) -> str:
        runtime = "OpenVINO" if self._openvino else "torch"
        return f"{self.placement.describe()}, {runtime}, {self.resolution}-px exit"

    def use_resolution(self, pixels: int) -> None:
        """Stop synthesis at the exit of ``pixels`` (one of :attr:`resolutions`)."""
        if pixels not in self.resolutions:
            raise ValueError(f"{pixels} px is not an exit of this model ({', '.join(map(str, self.resolutions))})")
        self.resolution = pixels

    def _exit_block(self) -> int:
        return self.config.exits[self.resolutions.index(self.resolution)]

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        block = self._exit_block()
        if self._openvino and block not in self._compiled:
            try:
                self._compiled[block] = OpenVINOSynthesis(ExitModule(self.net, block),
                                                          torch.zeros(1, self.num_ws, self.w_dim),
                                                          f"{self._digest}-exit{block}")
            except Exception as exc:  # noqa: BLE001 - any converter failure: torch makes the same pictures
                log.error("OpenVINO cannot run this model (%s); using torch", str(exc).splitlines()[0][:160])
                self._openvino = False
        if self._openvino:
            return self._compiled[block](w)
        with torch.autocast("cuda", enabled=False):
            return self.net.synthesis(w.to(self.device).float(), block, self.placement.dtype)

    def reading_weights(self, slots: tuple[int, int]) -> torch.Tensor:
        """(units, w_dim): the modulation rows that read W slots in ``slots`` (for SeFa)."""
        names = ["input"] + [f"block.{i}.{part}" for i in range(self.config.blocks)
                             for part in ("up", "conv1", "conv2")] + [f"block.{self.config.blocks - 1}.exit"]
        rows = [self.net.p(f"{name}.affine.weight") for slot, name in enumerate(names)
                if slots[0] <= slot < slots[1] and self.net.has(f"{name}.affine.weight")]
        return torch.cat(rows)
