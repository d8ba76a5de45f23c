"""NVIDIA ``stylegan2-ada-pytorch`` / ``stylegan3`` (StyleGAN2 config) network pickles.

(StyleGAN3's own configs T and R are in :mod:`engine.generators.formats.nvidia_stylegan3`, which
shares the helpers here.)

The pickle's ``G_ema`` is read as data by :mod:`engine.generators.safe_pickle`; this module
maps NVIDIA's parameter names onto the canonical layout, using the gains each layer stored
(``weight_gain``, ``bias_gain``) so nothing is assumed about how the network was trained.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from engine.generators.safe_pickle import PersistentModule


def find_generator(data: Any) -> PersistentModule | None:
    """``G_ema`` (else ``G``) of a network pickle, or None if there is none."""
    if isinstance(data, dict):
        for key in ("G_ema", "G"):
            if isinstance(data.get(key), PersistentModule):
                return data[key]
    return None


def child(module: PersistentModule, name: str) -> PersistentModule:
    child = module.children.get(name)
    if not isinstance(child, PersistentModule):
        raise ValueError(f"network has no {name} module")
    return child


def _gain(module: PersistentModule, name: str, default: float) -> float:
    return float(module.state.get(name, default))


def linear(module: PersistentModule) -> tuple[torch.Tensor, torch.Tensor]:
    weight = module.parameters["weight"].float()
    bias = module.parameters["bias"].float()
    gain = _gain(module, "weight_gain", 1.0 / math.sqrt(weight.shape[1]))
    return weight * gain, bias * _gain(module, "bias_gain", 1.0)


def mapping_tensors(mapping: PersistentModule) -> dict[str, torch.Tensor]:
    """``mapping.{i}.weight/bias`` (gains folded) and ``w_avg``: the same in StyleGAN2 and 3."""
    if int(mapping.state.get("c_dim", 0) or 0) > 0:
        raise ValueError("conditional generators (c_dim > 0) are not supported")
    out: dict[str, torch.Tensor] = {}
    layers = sorted((k for k in mapping.children if k.startswith("fc")), key=lambda k: int(k[2:]))
    for i, name in enumerate(layers):
        out[f"mapping.{i}.weight"], out[f"mapping.{i}.bias"] = linear(child(mapping, name))
    out["w_avg"] = mapping.buffers["w_avg"].float()
    return out


def convert(generator: PersistentModule) -> tuple[dict[str, torch.Tensor], float | None, dict[str, Any]]:
    """Canonical tensors, the conv clamp, and the generator's init kwargs (for the card)."""
    if generator.class_name != "Generator":
        raise ValueError(f"expected a Generator, found {generator.class_name}")
    out = mapping_tensors(child(generator, "mapping"))
    synthesis = child(generator, "synthesis")
    resolutions = [int(r) for r in synthesis.state["block_resolutions"]]
    layer, clamp = 0, None
    for k, res in enumerate(resolutions):
        block = child(synthesis, f"b{res}")
        if res == 4:
            out["const"] = block.parameters["const"].float()
        for conv_name in ("conv0", "conv1"):
            if conv_name not in block.children:
                continue
            conv = child(block, conv_name)
            out[f"conv.{layer}.weight"] = conv.parameters["weight"].float()
            out[f"conv.{layer}.affine.weight"], out[f"conv.{layer}.affine.bias"] = linear(child(conv, "affine"))
            out[f"conv.{layer}.bias"] = conv.parameters["bias"].float()
            out[f"conv.{layer}.noise"] = conv.buffers["noise_const"].float()
            out[f"conv.{layer}.noise_strength"] = conv.parameters["noise_strength"].float().reshape(())
            clamp = conv.state.get("conv_clamp", clamp)
            layer += 1
        torgb = child(block, "torgb")
        weight = torgb.parameters["weight"].float()
        fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
        out[f"torgb.{k}.weight"] = weight * _gain(torgb, "weight_gain", 1.0 / math.sqrt(fan_in))
        out[f"torgb.{k}.affine.weight"], out[f"torgb.{k}.affine.bias"] = linear(child(torgb, "affine"))
        out[f"torgb.{k}.bias"] = torgb.parameters["bias"].float()
        out["resample_filter"] = block.buffers["resample_filter"].float()
    kwargs = dict(generator.state.get("_init_kwargs") or {})
    return out, (float(clamp) if clamp is not None else None), kwargs
