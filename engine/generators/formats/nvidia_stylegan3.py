"""NVIDIA ``stylegan3`` network pickles (configs T and R) -> the StyleGAN3 canonical layout.

The pickle's networks are read as data (:mod:`engine.generators.safe_pickle`). Each layer's
geometry (up/down factors, padding, sizes) and its designed filters are what NVIDIA's code
computed when the network was built; they are taken from the layer as stored, not designed
again, so a network built with other hyper-parameters loads the same way. Gains are folded
into the tensors (see :mod:`engine.generators.stylegan3` for the names).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from engine.generators.formats.nvidia import child, linear, mapping_tensors
from engine.generators.safe_pickle import PersistentModule

MAX_LAYERS = 64
MAX_SIDE = 4096  # pixels a side of any layer's feature map (a 1024-px model's largest is 1044)


def is_stylegan3(generator: PersistentModule) -> bool:
    synthesis = generator.children.get("synthesis")
    return isinstance(synthesis, PersistentModule) and "input" in synthesis.children


def _int(value: Any, what: str, low: int, high: int) -> int:
    number = value.reshape(-1)[0] if isinstance(value, np.ndarray) and value.size else value
    if isinstance(number, (bool, np.bool_)) or not isinstance(number, (int, np.integer)):
        raise ValueError(f"{what} is {str(value)[:40]!r}, not a whole number")
    if not low <= int(number) <= high:
        raise ValueError(f"{what} is {int(number)}, not in {low}..{high}")
    return int(number)


def _size(value: Any, what: str) -> tuple[int, int]:
    """NVIDIA keeps sizes as [width, height] arrays (a bare int in older networks)."""
    values = np.broadcast_to(np.asarray(value), [2])
    return _int(values[0], f"{what} width", 1, MAX_SIDE), _int(values[1], f"{what} height", 1, MAX_SIDE)


def _float(value: Any, what: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{what} is {value!r}, not a positive number")
    return number


def _input(module: PersistentModule, out: dict[str, torch.Tensor]) -> None:
    channels = _int(module.state.get("channels"), "input channels", 1, 65536)
    width, height = _size(module.state.get("size"), "input size")
    out["input.affine.weight"], out["input.affine.bias"] = linear(child(module, "affine"))
    out["input.weight"] = module.parameters["weight"].float() / math.sqrt(channels)
    out["input.freqs"] = module.buffers["freqs"].float()
    out["input.phases"] = module.buffers["phases"].float()
    out["input.transform"] = module.buffers["transform"].float()
    out["input.shape"] = torch.tensor([width, height, _float(module.state.get("sampling_rate"), "sampling rate"),
                                       _float(module.state.get("bandwidth"), "bandwidth")], dtype=torch.float64)


def _layer(module: PersistentModule, index: int, out: dict[str, torch.Tensor]) -> None:
    prefix = f"layer.{index}"
    torgb = bool(module.state.get("is_torgb"))
    weight = module.parameters["weight"].float()
    affine_weight, affine_bias = linear(child(module, "affine"))
    if torgb:  # NVIDIA scales the styles of its ToRGB layer at run time: fold it in
        gain = 1.0 / math.sqrt(weight.shape[1] * weight.shape[2] * weight.shape[3])
        affine_weight, affine_bias = affine_weight * gain, affine_bias * gain
    out[f"{prefix}.weight"] = weight
    out[f"{prefix}.bias"] = module.parameters["bias"].float()
    out[f"{prefix}.affine.weight"], out[f"{prefix}.affine.bias"] = affine_weight, affine_bias
    out[f"{prefix}.input_gain"] = module.buffers["magnitude_ema"].float().reshape(()).rsqrt()
    for name in ("up_filter", "down_filter"):
        if name in module.buffers:
            out[f"{prefix}.{name}"] = module.buffers[name].float()
    padding = module.state.get("padding")
    if not isinstance(padding, (list, tuple)) or len(padding) != 4:
        raise ValueError(f"{prefix} padding is {padding!r}, not four numbers")
    pads = [_int(p, f"{prefix} padding", -MAX_SIDE, MAX_SIDE) for p in padding]
    out_w, out_h = _size(module.state.get("out_size"), f"{prefix} output size")
    clamp = module.state.get("conv_clamp")
    out[f"{prefix}.shape"] = torch.tensor(
        [_int(module.state.get("up_factor"), f"{prefix} up factor", 1, 16),
         _int(module.state.get("down_factor"), f"{prefix} down factor", 1, 16), *pads, out_w, out_h, int(torgb),
         -1.0 if clamp is None else _float(clamp, f"{prefix} conv clamp")], dtype=torch.float64)


def convert(generator: PersistentModule) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Canonical tensors and the generator's init kwargs (for the card)."""
    if generator.class_name != "Generator":
        raise ValueError(f"expected a Generator, found {generator.class_name}")
    out = mapping_tensors(child(generator, "mapping"))
    synthesis = child(generator, "synthesis")
    names = synthesis.state.get("layer_names")
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_LAYERS or not all(isinstance(n, str) for n in names):
        raise ValueError("synthesis has no list of layer names")
    _input(child(synthesis, "input"), out)
    for index, name in enumerate(names):
        _layer(child(synthesis, name), index, out)
    out["output_scale"] = torch.tensor(_float(synthesis.state.get("output_scale", 1.0), "output scale"),
                                       dtype=torch.float64)
    return out, dict(generator.state.get("_init_kwargs") or {})
