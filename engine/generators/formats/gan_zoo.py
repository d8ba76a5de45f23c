"""facebookresearch/pytorch_GAN_zoo progressive GAN (PGAN) checkpoints -> the ProGAN canonical layout.

The zoo saves ``torch.save({"config": BaseConfig, "netG": ..., "netD": ..., "avgG": ...})`` (its
``torch.hub`` models are loaded from such files). The file is read with
``torch.load(weights_only=True)``, the zoo's ``BaseConfig`` allowed as a plain attribute holder
(:class:`ZooConfig`): nothing in it runs. The averaged generator ``avgG`` plays where there is
one (the zoo advises it), else ``netG``. Its equalised layers scale weight and bias at run time
by He's constant; that is folded into the tensors.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch


class ZooConfig:
    """Stands for ``models.utils.config.BaseConfig``: its attributes, as data."""


ZooConfig.__module__, ZooConfig.__qualname__ = "models.utils.config", "BaseConfig"
MAX_SCALES = 10  # 4 px * 2^9 = 2048 px


def is_zoo_checkpoint(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("config"), ZooConfig) and (
        isinstance(data.get("avgG"), dict) or isinstance(data.get("netG"), dict))


def _settings(config: ZooConfig) -> tuple[float, float, bool, bool]:
    """alpha (the newest scale's blend), leak, pixel norm, equalised learning rate."""
    values = vars(config)
    alpha, leak = float(values.get("alpha", 0.0)), float(values.get("leakyReluLeak", 0.2))
    if not (0.0 <= alpha <= 1.0 and 0.0 <= leak < 1.0):
        raise ValueError(f"alpha {alpha} or leak {leak} out of range")
    if values.get("dimOutput", 3) != 3 or values.get("categoryVectorDim", 0):
        raise ValueError("only unconditional RGB generators play (dimOutput 3, no categories)")
    return alpha, leak, bool(values.get("perChannelNormalization", True)), bool(values.get("equalizedlR", True))


def convert(data: dict[str, Any]) -> dict[str, torch.Tensor]:
    alpha, leak, normalize, equalized = _settings(data["config"])
    state = data["avgG"] if isinstance(data.get("avgG"), dict) else data["netG"]
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the generator's state holds something other than tensors")

    def layer(prefix: str, canonical: str, out: dict[str, torch.Tensor]) -> None:
        weight = state[f"{prefix}.module.weight"].float()
        gain = math.sqrt(2.0 / weight[0].numel()) if equalized else 1.0  # He's constant, applied after the bias too
        out[f"{canonical}.weight"] = weight * gain
        out[f"{canonical}.bias"] = state[f"{prefix}.module.bias"].float() * gain

    out: dict[str, torch.Tensor] = {}
    layer("formatLayer", "format", out)
    layer("groupScale0.0", "scale0", out)
    scales = sorted({int(m.group(1)) for k in state if (m := re.match(r"^scaleLayers\.(\d+)\.", k))})
    if scales != list(range(len(scales))) or len(scales) >= MAX_SCALES:
        raise ValueError(f"scale layers {scales[:12]} are not 0, 1, 2 ... (at most {MAX_SCALES - 1})")
    for s in scales:
        for j in (0, 1):
            layer(f"scaleLayers.{s}.{j}", f"block.{s}.{j}", out)
    for s in range(len(scales) + 1):
        layer(f"toRGBLayers.{s}", f"torgb.{s}", out)
    out["settings"] = torch.tensor([alpha, leak, float(normalize)])
    return out
