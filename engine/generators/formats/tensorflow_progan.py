"""The original ProGAN TensorFlow pickles (tkarras/progressive_growing_of_gans) -> the ProGAN canonical layout.

Such a pickle is a tuple (G, D, Gs) of ``tfutil.Network`` states (version 2): ``static_kwargs``
and flat ``variables`` (``4x4/Dense/weight``, ``8x8/Conv0_up/weight``, ``ToRGB_lod0/bias``...),
read as data (the TensorFlow source in them never runs). The variables follow that project's
``networks.G_paper``: the equalised learning rate's run-time scale (He's constant; sqrt(2)/4 for
the first dense layer, 1 for ToRGB) is folded into the weights (its biases are not scaled), the
first layer's per-channel bias is spread over its 4x4 positions, and the fused upsampling
convolution (a stride-2 transposed convolution of the 3x3 kernel summed over four shifts) is
rewritten as what it equals: nearest-neighbour doubling, then the kernel flipped, as a 3x3
convolution. Only finished networks play (``lod`` 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from engine.generators.safe_pickle import TFNetwork

KNOWN_KWARGS = {"num_channels", "resolution", "label_size", "fmap_base", "fmap_decay", "fmap_max", "latent_size",
                "normalize_latents", "use_wscale", "use_pixelnorm", "pixelnorm_epsilon", "use_leakyrelu", "dtype",
                "fused_scale", "structure", "is_template_graph"}


def is_progan(variables: dict[str, np.ndarray]) -> bool:
    return "4x4/Dense/weight" in variables


def _kwargs(network: TFNetwork) -> dict[str, Any]:
    kwargs = network.static_kwargs(KNOWN_KWARGS, "ProGAN")
    if kwargs.get("label_size", 0) or kwargs.get("num_channels", 3) != 3:
        raise ValueError("only unconditional RGB generators play (label_size 0, num_channels 3)")
    if not kwargs.get("use_wscale", True):
        raise ValueError("use_wscale false: networks without the equalised learning rate are not supported")
    if kwargs.get("normalize_latents", True) != kwargs.get("use_pixelnorm", True):
        raise ValueError("normalize_latents and use_pixelnorm differ; only networks with both or neither play")
    return kwargs


def convert(network: TFNetwork, variables: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    kwargs = _kwargs(network)
    lod = float(np.asarray(variables.get("lod", 0.0)))
    if lod != 0.0:
        raise ValueError(f"lod {lod:g}: a network caught growing; play a finished one (lod 0)")
    t = lambda name: torch.from_numpy(np.ascontiguousarray(variables[name], dtype=np.float32))  # noqa: E731
    out: dict[str, torch.Tensor] = {}
    dense = t("4x4/Dense/weight")  # (latent, channels * 16)
    out["format.weight"] = dense.t().contiguous() * (math.sqrt(2) / 4 / math.sqrt(dense.shape[0]))
    out["format.bias"] = t("4x4/Dense/bias").repeat_interleave(16)  # a bias per channel, at each of 4x4

    def conv(name: str, canonical: str, gain: float = math.sqrt(2)) -> None:
        weight = t(f"{name}/weight")  # (k, k, in, out)
        out[f"{canonical}.weight"] = weight.permute(3, 2, 0, 1).contiguous() * (gain / math.sqrt(weight[..., 0].numel()))
        out[f"{canonical}.bias"] = t(f"{name}/bias")

    conv("4x4/Conv", "scale0")
    steps = int(math.log2(int(kwargs.get("resolution") or 32))) - 2
    if not 0 <= steps <= 9:
        raise ValueError(f"resolution {kwargs.get('resolution')!r}; a power of two from 4 to 2048")
    for s in range(steps):
        size = 8 * 2 ** s
        if f"{size}x{size}/Conv0_up/weight" in variables:  # fused: (k, k, out, in) of a transposed convolution
            weight = t(f"{size}x{size}/Conv0_up/weight")
            scale = math.sqrt(2) / math.sqrt(weight.shape[0] * weight.shape[1] * weight.shape[3])
            out[f"block.{s}.0.weight"] = weight.flip([0, 1]).permute(2, 3, 0, 1).contiguous() * scale
            out[f"block.{s}.0.bias"] = t(f"{size}x{size}/Conv0_up/bias")
        else:
            conv(f"{size}x{size}/Conv0", f"block.{s}.0")
        conv(f"{size}x{size}/Conv1", f"block.{s}.1")
    for i in range(steps + 1):
        conv(f"ToRGB_lod{steps - i}", f"torgb.{i}", gain=1.0)
    leak = 0.2 if kwargs.get("use_leakyrelu", True) else 0.0
    out["settings"] = torch.tensor([0.0, leak, float(bool(kwargs.get("use_pixelnorm", True)))])
    return out
