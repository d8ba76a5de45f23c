"""rosinality ``stylegan2-pytorch`` checkpoints (``{"g_ema": state_dict, "latent_avg": ...}``).

That code stores raw parameters and applies its equalised-learning-rate scales at run time:
1/sqrt(fan_in) for convolutions and modulations, lr_mul/sqrt(fan_in) and lr_mul for the
mapping network (lr_mul = 0.01 unless trained otherwise; it is not stored in the file).
Here those scales are folded into the tensors once.
"""

from __future__ import annotations

import math
import re

import torch

from engine.generators.stylegan2 import resample_filter

DEFAULT_LR_MLP = 0.01


def is_rosinality(state: dict[str, torch.Tensor]) -> bool:
    return "input.input" in state and "conv1.conv.weight" in state and "style.1.weight" in state


def _layer_names(state: dict[str, torch.Tensor]) -> list[str]:
    """rosinality module prefixes in canonical conv order: conv1, convs.0, convs.1, ..."""
    count = len({int(m.group(1)) for k in state if (m := re.match(r"^convs\.(\d+)\.", k))})
    return ["conv1"] + [f"convs.{i}" for i in range(count)]


def convert(state: dict[str, torch.Tensor], lr_mlp: float = DEFAULT_LR_MLP) -> dict[str, torch.Tensor]:
    """Canonical tensors (see engine.generators.stylegan2) from a rosinality ``g_ema``."""
    out: dict[str, torch.Tensor] = {}
    mapping = sorted(int(m.group(1)) for k in state if (m := re.match(r"^style\.(\d+)\.weight$", k)))
    for i, index in enumerate(mapping):
        weight = state[f"style.{index}.weight"].float()
        out[f"mapping.{i}.weight"] = weight * (lr_mlp / math.sqrt(weight.shape[1]))
        out[f"mapping.{i}.bias"] = state[f"style.{index}.bias"].float() * lr_mlp
    out["const"] = state["input.input"].float()[0]
    for layer, name in enumerate(_layer_names(state)):
        _modulated(state, f"{name}.conv", f"conv.{layer}", out)
        out[f"conv.{layer}.bias"] = state[f"{name}.activate.bias"].float()
        out[f"conv.{layer}.noise_strength"] = state[f"{name}.noise.weight"].float().reshape(())
    rgb_names = ["to_rgb1"] + [f"to_rgbs.{i}" for i in range(len(_layer_names(state)) // 2)]
    for k, name in enumerate(rgb_names):
        _modulated(state, f"{name}.conv", f"torgb.{k}", out)
        out[f"torgb.{k}.bias"] = state[f"{name}.bias"].float().reshape(-1)
    for layer in range(len(_layer_names(state))):
        out[f"conv.{layer}.noise"] = state[f"noises.noise_{layer}"].float()[0, 0]
    out["resample_filter"] = resample_filter()
    return out


def _modulated(state: dict[str, torch.Tensor], source: str, target: str, out: dict[str, torch.Tensor]) -> None:
    weight = state[f"{source}.weight"].float()[0]  # (O, I, k, k)
    fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
    out[f"{target}.weight"] = weight / math.sqrt(fan_in)
    modulation = state[f"{source}.modulation.weight"].float()  # (I, w_dim)
    out[f"{target}.affine.weight"] = modulation / math.sqrt(modulation.shape[1])
    out[f"{target}.affine.bias"] = state[f"{source}.modulation.bias"].float()
