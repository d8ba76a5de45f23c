"""StyleGAN3 (Karras et al. 2021, "Alias-Free Generative Adversarial Networks"), configs T and R,
written from the paper in one canonical layout (``formats/nvidia_stylegan3.py`` converts NVIDIA's
pickles to it). Canonical names (``B`` batch, ``L`` layer index):

    mapping.{i}.weight/bias, w_avg                       # as StyleGAN2's, gains folded in
    input.affine.weight (4, w_dim) / .bias (4)           # W -> the learned rotation and translation
    input.weight (C, C)                                  # 1/sqrt(C) folded in
    input.freqs (C, 2)  input.phases (C)  input.transform (3, 3)
    input.shape (4,): width, height, sampling rate, bandwidth of the Fourier features
    layer.{L}.weight (O, I, k, k)  .bias (O)  .affine.weight (I, w_dim) / .bias (I)
    layer.{L}.input_gain ()                              # 1/sqrt of the stored input magnitude
    layer.{L}.up_filter (n)  layer.{L}.down_filter (n) or (n, n) (radial, config R); absent = none
    layer.{L}.shape (10,): up, down, padding x0 x1 y0 y1, output width, height, is ToRGB, clamp (-1: none)
    output_scale ()

W slot 0 feeds the input's transform, slot L + 1 feeds layer L (the last layer is ToRGB). The
ops are NVIDIA's fp32 reference ops (upfirdn2d, filtered leaky ReLU), batch-invariant: the
modulation is normalised per image (NVIDIA normalises over the batch, which demodulation then
cancels, so the two differ by rounding only), and a frame never depends on the others made with it.

The input transform is StyleGAN3's signature: ``synthesis(w, rotate=DEGREES, translate=(X, Y))``
turns and shifts the picture's coordinate frame as NVIDIA's ``gen_images.py --rotate/--translate``
does (the inverse of that matrix goes into the Fourier features), so a face turns and drifts
without aliasing, and every angle is a pure function of its value: loops stay exact.
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

Motion = float | torch.Tensor  # one value for the batch, or one per image


@dataclass(frozen=True)
class LayerShape:
    up: int
    down: int
    padding: tuple[int, int, int, int]  # x before, x after, y before, y after (negative: crop)
    size: tuple[int, int]  # output width, height
    torgb: bool
    clamp: float | None


@dataclass(frozen=True)
class StyleGAN3Config:
    """Architecture, read from tensor names and the stored shapes (never assumed)."""

    z_dim: int
    w_dim: int
    mapping_layers: int
    resolution: int
    input_size: tuple[int, int]
    sampling_rate: float
    bandwidth: float
    layers: tuple[LayerShape, ...]
    output_scale: float

    @property
    def num_ws(self) -> int:
        return len(self.layers) + 1


def _layer_shape(values: torch.Tensor, index: int) -> LayerShape:
    v = [float(x) for x in values.reshape(-1)]
    if len(v) != 10 or not all(math.isfinite(x) for x in v):
        raise ValueError(f"layer.{index}.shape holds {len(v)} values, not 10 finite ones")
    up, down, *pads = (round(x) for x in v[:6])
    return LayerShape(up, down, tuple(pads), (round(v[6]), round(v[7])), v[8] > 0.5,  # type: ignore[arg-type]
                      None if v[9] < 0 else v[9])


def config_from_tensors(tensors: dict[str, torch.Tensor]) -> StyleGAN3Config:
    mapping = sorted(int(m.group(1)) for k in tensors if (m := re.match(r"^mapping\.(\d+)\.weight$", k)))
    layers = sorted(int(m.group(1)) for k in tensors if (m := re.match(r"^layer\.(\d+)\.shape$", k)))
    if not mapping or not layers or layers != list(range(len(layers))) or "input.shape" not in tensors:
        raise ValueError("not a StyleGAN3 layout (mapping, input or layers missing)")
    shapes = tuple(_layer_shape(tensors[f"layer.{i}.shape"], i) for i in layers)
    if not shapes[-1].torgb or any(s.torgb for s in shapes[:-1]):
        raise ValueError("the last layer, and only it, must be the ToRGB layer")
    if shapes[-1].size[0] != shapes[-1].size[1]:
        raise ValueError(f"the image is {shapes[-1].size[0]}x{shapes[-1].size[1]}, not square")
    width, height, rate, bandwidth = (float(x) for x in tensors["input.shape"].reshape(-1))
    return StyleGAN3Config(
        z_dim=int(tensors["mapping.0.weight"].shape[1]), w_dim=int(tensors[f"mapping.{mapping[-1]}.weight"].shape[0]),
        mapping_layers=len(mapping), resolution=shapes[-1].size[0], input_size=(round(width), round(height)),
        sampling_rate=rate, bandwidth=bandwidth, layers=shapes, output_scale=float(tensors["output_scale"]))


def upfirdn(x: torch.Tensor, kernel: torch.Tensor | None, up: int = 1, down: int = 1,
            padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """NVIDIA's upfirdn2d: upsample by zero insertion, pad (negative crops), convolve with the
    filter (1-D: separably, each pass with sqrt(gain); 2-D: at once), keep every ``down``-th pixel."""
    b, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(b, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    x0, x1, y0, y1 = padding
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    if kernel is None:
        x = x * gain
    elif kernel.ndim == 1:
        taps = (kernel * gain ** 0.5).flip(0).to(x.dtype)
        x = F.conv2d(x, taps[None, None, None, :].repeat(c, 1, 1, 1), groups=c)
        x = F.conv2d(x, taps[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    else:
        taps = (kernel * gain).flip([0, 1]).to(x.dtype)
        x = F.conv2d(x, taps[None, None].repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def input_transforms(rotate: Motion, translate: tuple[Motion, Motion] | torch.Tensor, batch: int) -> torch.Tensor:
    """(B, 3, 3): the inverse of gen_images.py's ``make_transform(translate, rotate)`` per image,
    in float64 (as NVIDIA inverts it in numpy) and then float32."""
    angle = torch.as_tensor(rotate, dtype=torch.float64).reshape(-1).expand(batch) * (math.pi / 180.0)
    shift = torch.as_tensor(translate if isinstance(translate, torch.Tensor) else
                            torch.stack([torch.as_tensor(t, dtype=torch.float64).reshape(-1) for t in translate], -1),
                            dtype=torch.float64).reshape(-1, 2).expand(batch, 2)
    c, s = torch.cos(angle), torch.sin(angle)
    m = torch.zeros(batch, 3, 3, dtype=torch.float64)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1], m[:, 2, 2] = c, -s, s, c, 1.0  # the rotation's inverse
    m[:, 0, 2] = -(c * shift[:, 0] - s * shift[:, 1])  # minus the inverse rotation of the shift
    m[:, 1, 2] = -(s * shift[:, 0] + c * shift[:, 1])
    return m.float()


class StyleGAN3Network(CanonicalTensors):
    """The generator network; parameters are registered under the canonical names."""

    def __init__(self, config: StyleGAN3Config, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__({k: v for k, v in tensors.items() if not k.endswith(".shape")})
        self.config = config
        width, height = config.input_size
        theta = torch.tensor([[0.5 * width / config.sampling_rate, 0.0, 0.0],
                              [0.0, 0.5 * height / config.sampling_rate, 0.0]])
        grid = F.affine_grid(theta[None], [1, 1, height, width], align_corners=False)  # (1, H, W, 2)
        self.register_buffer("grid", grid, persistent=False)

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.map_z(z, self.config.mapping_layers)  # (B, w_dim)

    def _fourier_features(self, w: torch.Tensor, user: torch.Tensor) -> torch.Tensor:
        """(B, w_dim), (B, 3, 3) -> (B, C, H, W): the input, turned by W's learned transform and
        then the user's (the stored transform first)."""
        batch = w.shape[0]
        t = F.linear(w, self.p("input.affine.weight"), self.p("input.affine.bias"))  # (B, 4)
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        rotation = torch.eye(3, device=w.device).repeat(batch, 1, 1)
        rotation[:, 0, 0], rotation[:, 0, 1], rotation[:, 1, 0], rotation[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        translation = torch.eye(3, device=w.device).repeat(batch, 1, 1)
        translation[:, 0, 2], translation[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = rotation @ translation @ (self.p("input.transform")[None] @ user.to(w.device))
        freqs = self.p("input.freqs")[None]  # (1, C, 2)
        phases = self.p("input.phases")[None] + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # (B, C)
        freqs = freqs @ transforms[:, :2, :2]  # (B, C, 2)
        bandwidth, rate = self.config.bandwidth, self.config.sampling_rate
        amplitudes = (1 - (freqs.norm(dim=2) - bandwidth) / (rate / 2 - bandwidth)).clamp(0, 1)  # out-of-band damped
        x = (self.grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # (B, H, W, C)
        x = torch.sin((x + phases[:, None, None]) * (2 * math.pi)) * amplitudes[:, None, None]
        return (x @ self.p("input.weight").t()).permute(0, 3, 1, 2)

    def _layer(self, x: torch.Tensor, w: torch.Tensor, index: int) -> torch.Tensor:
        prefix, shape = f"layer.{index}", self.config.layers[index]
        weight = self.p(f"{prefix}.weight")  # (O, I, k, k)
        styles = F.linear(w, self.p(f"{prefix}.affine.weight"), self.p(f"{prefix}.affine.bias"))  # (B, I)
        gain = self.p(f"{prefix}.input_gain")
        if shape.torgb:
            x = F.conv2d(x * styles[:, :, None, None], weight) * gain
        else:  # modulate the activations, demodulate the output: one shared weight for the batch
            weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
            x = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] - 1)
            demodulation = ((weight[None] * styles[:, None, :, None, None]).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
            x = x * (demodulation * gain)[:, :, None, None]
        up_filter = self.p(f"{prefix}.up_filter") if self.has(f"{prefix}.up_filter") else None
        down_filter = self.p(f"{prefix}.down_filter") if self.has(f"{prefix}.down_filter") else None
        x = x + self.p(f"{prefix}.bias")[None, :, None, None]
        x = upfirdn(x, up_filter, up=shape.up, padding=shape.padding, gain=shape.up ** 2)
        if not shape.torgb:
            x = F.leaky_relu(x, 0.2) * math.sqrt(2.0)
        if shape.clamp is not None:
            x = x.clamp(-shape.clamp, shape.clamp)
        return upfirdn(x, down_filter, down=shape.down)

    def synthesis(self, ws: torch.Tensor, user: torch.Tensor) -> torch.Tensor:
        """(B, num_ws, w_dim), (B, 3, 3) -> (B, 3, R, R) float32."""
        x = self._fourier_features(ws[:, 0], user)
        for index in range(len(self.config.layers)):
            x = self._layer(x, ws[:, index + 1], index)
        return x * self.config.output_scale


class StyleGAN3Generator(MappedGenerator):
    """The engine's Generator interface over :class:`StyleGAN3Network`, with the input transform.

    Synthesis runs in float32 on every device: NVIDIA's fp16 path relies on its fused CUDA
    kernels' internal clamping, which the reference ops here do not have.
    """

    has_input_transform = True

    def __init__(self, card: ModelCard, tensors: dict[str, torch.Tensor], placement: Placement, source: str) -> None:
        self.card = card
        self.placement = placement
        try:
            self.config = config_from_tensors(tensors)
            self.net = StyleGAN3Network(self.config, tensors).eval().to(placement.device)
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise ModelError(source, f"not a complete StyleGAN3 generator ({str(exc)[:160]})") from None
        if "w_avg" not in tensors:
            raise ModelError(source, "StyleGAN3 weights lack w_avg (re-import the checkpoint)")
        self.z_dim, self.w_dim = self.config.z_dim, self.config.w_dim
        self.num_ws, self.resolution = self.config.num_ws, self.config.resolution
        self.check_size(source)

    def reading_weights(self, slots: tuple[int, int]) -> torch.Tensor:
        # slot 0 turns and shifts the input (four numbers, a geometry, not a style): left out
        layers = [slot - 1 for slot in range(*slots) if slot >= 1]
        if not layers:
            raise ValueError("StyleGAN3's W slot 0 sets the input's rotation and translation; directions start at slot 1")
        return torch.cat([self.net.p(f"layer.{i}.affine.weight") for i in layers])

    def synthesis(self, w: torch.Tensor, rotate: Motion = 0.0,
                  translate: tuple[Motion, Motion] | torch.Tensor = (0.0, 0.0)) -> torch.Tensor:
        """(B, num_ws, w_dim) -> (B, 3, R, R) f32; ``rotate`` in degrees, ``translate`` in image
        widths (a value for the batch, or one per image), as gen_images.py --rotate/--translate."""
        user = input_transforms(rotate, translate, w.shape[0])
        return self.net.synthesis(w.to(self.device).float(), user)

