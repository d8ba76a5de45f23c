"""MobileStyleGAN's OpenVINO IR (the ``random-face`` package) -> the canonical layout.

The exporter traced the network once, so the IR holds it with three things folded in: each
convolution's demodulation (fixed, since the release demodulates with a stored style, not the
current one) and weight scale in its weights, each modulation's scale in a following multiply,
and each layer's noise as a constant map (weight x the noise drawn at export). Constants keep
their PyTorch names where the exporter kept them (``m.layers.6.conv1.conv.weight_dw``); the
folded ones are found by their place in the graph. See :mod:`engine.generators.mobilestylegan`
for the canonical names.
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch

from engine.generators.errors import ModelError
from engine.generators.formats.openvino_ir import IRGraph, Layer

LEAKY_SLOPE = 0.2
_MODULATION = re.compile(r"^m\.(?:conv1\.conv|layers\.(\d+)\.(up|conv1\.conv|conv2\.conv|to_img\.conv))\.modulation\.weight$")
_DEPTHWISE = re.compile(r"^m\.layers\.(\d+)\.(conv[12])\.conv\.weight_dw$")
_TO_IMG = re.compile(r"^m\.layers\.(\d+)\.to_img\.conv\.weight$")


def _check_close(graph: IRGraph, value: np.ndarray, expected: float, what: str) -> None:
    if value.size != 1 or not math.isclose(float(value.reshape(-1)[0]), expected, rel_tol=1e-6):
        raise ModelError(graph.xml_path, f"{what} is {value.reshape(-1)[:4].tolist()}, expected {expected:g}: "
                                         "not the MobileStyleGAN this reader knows")


def mapping_tensors(graph: IRGraph) -> dict[str, torch.Tensor]:
    """``mapping.{i}.weight/bias`` from the mapping network's IR (pixel norm, 8 fused-lrelu layers)."""
    out: dict[str, torch.Tensor] = {}
    for i, matmul in enumerate(graph.of_type("MatMul")):
        weight = graph.constant_input(matmul, 1)  # (out, in): the exporter kept transpose_b
        if matmul.data.get("transpose_b") != "true" or weight.ndim != 2:
            raise ModelError(graph.xml_path, f"mapping layer {i} is not a dense layer this reader knows")
        add = graph.consumer(matmul, "Add")
        bias = graph.constant_input(add, 1).reshape(-1)
        act = graph.consumer(add, "PReLU")
        _check_close(graph, graph.constant_input(act, 1), LEAKY_SLOPE, f"mapping layer {i}'s slope")
        _check_close(graph, graph.constant_input(graph.consumer(act, "Multiply"), 1), math.sqrt(2.0),
                     f"mapping layer {i}'s gain")
        out[f"mapping.{i}.weight"] = torch.from_numpy(weight)
        out[f"mapping.{i}.bias"] = torch.from_numpy(bias)
    if not out:
        raise ModelError(graph.xml_path, "no dense layers: not a mapping network")
    return out


def _modulation_prefix(match: re.Match[str]) -> str:
    block, part = match.group(1), match.group(2)
    if block is None:
        return "input"
    return f"block.{block}." + {"up": "up", "conv1.conv": "conv1", "conv2.conv": "conv2", "to_img.conv": "exit"}[part]


def _modulations(graph: IRGraph) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for matmul in graph.of_type("MatMul"):
        name = graph.producer(matmul, 1).name
        match = _MODULATION.match(name)
        if match is None:
            raise ModelError(graph.xml_path, f"unexpected dense layer {name!r}")
        weight = graph.constant_input(matmul, 1)  # (C, w_dim)
        add = graph.consumer(matmul, "Add")
        bias = graph.constant_input(add, 1).reshape(-1)  # (C,)
        reshape = graph.consumer(add, "Reshape")
        multiply = graph.consumer(reshape, "Multiply")
        other = graph.producer(multiply, 1 if graph.producer(multiply, 0).id == reshape.id else 0)
        scale = float(graph.constant(other).reshape(-1)[0]) if other.type == "Const" else 1.0
        prefix = _modulation_prefix(match)
        out[f"{prefix}.affine.weight"] = torch.from_numpy(weight * scale)
        out[f"{prefix}.affine.bias"] = torch.from_numpy(bias * scale)
    return out


def _noise_and_bias(graph: IRGraph, conv: Layer, prefix: str, out: dict[str, torch.Tensor]) -> None:
    """The two additions after a styled convolution: the constant noise map, then the bias."""
    noise_add = graph.consumer(conv, "Add")
    noise = graph.constant_input(noise_add, 1)  # (1, 1, R, R)
    bias_add = graph.consumer(noise_add, "Add")
    act = graph.consumer(bias_add, "PReLU")
    _check_close(graph, graph.constant_input(act, 1), LEAKY_SLOPE, f"{prefix}'s slope")
    out[f"{prefix}.noise"] = torch.from_numpy(noise.reshape(noise.shape[-2:]))
    out[f"{prefix}.bias"] = torch.from_numpy(graph.constant_input(bias_add, 1).reshape(-1))


def _idwt_filters(graph: IRGraph) -> torch.Tensor:
    """(4, 2): the inverse wavelet's low and high filters down columns, then along rows."""
    columns, rows = set(), set()
    for layer in graph.of_type("GroupConvolutionBackpropData"):
        taps = graph.constant_input(layer, 1)  # (C, 1, 1, 2, 1) or (C, 1, 1, 1, 2)
        flat = taps.reshape(taps.shape[0], -1)
        if flat.shape[1] != 2 or not np.all(flat == flat[:1]):
            raise ModelError(graph.xml_path, f"{layer.name!r} is not a two-tap wavelet filter")
        (columns if taps.shape[-2] == 2 else rows).add(tuple(float(v) for v in flat[0]))
    filters = []
    for found, axis in ((columns, "column"), (rows, "row")):
        low = [f for f in found if abs(f[0] + f[1]) > 1e-3]
        high = [f for f in found if abs(f[0] + f[1]) <= 1e-3]
        if len(low) != 1 or len(high) != 1:
            raise ModelError(graph.xml_path, f"expected one low and one high {axis} filter, found {sorted(found)}")
        filters += [low[0], high[0]]
    return torch.tensor([filters[0], filters[1], filters[2], filters[3]], dtype=torch.float32)


def synthesis_tensors(graph: IRGraph) -> dict[str, torch.Tensor]:
    """The synthesis network's canonical tensors (no ``w_avg``; no exits but the last block's)."""
    out = _modulations(graph)
    const = [layer for layer in graph.of_type("Const") if layer.name == "m.input.input"]
    if len(const) != 1:
        raise ModelError(graph.xml_path, "no constant input 'm.input.input': not a MobileStyleGAN synthesis network")
    out["const"] = torch.from_numpy(graph.constant(const[0])[0])  # (C, 4, 4)
    for conv in graph.of_type("Convolution"):
        weight_layer = graph.producer(conv, 1)
        weight = graph.constant_input(conv, 1)
        source = graph.producer(conv, 0)
        if (match := _TO_IMG.match(weight_layer.name)) is not None:
            prefix = f"block.{match.group(1)}.exit"
            out[f"{prefix}.weight"] = torch.from_numpy(weight)
            out[f"{prefix}.bias"] = torch.from_numpy(graph.constant_input(graph.consumer(conv, "Add"), 1).reshape(-1))
        elif source.type == "GroupConvolution":
            match = _DEPTHWISE.match(graph.producer(source, 1).name)
            if match is None:
                raise ModelError(graph.xml_path, f"unexpected depthwise convolution {source.name!r}")
            prefix = f"block.{match.group(1)}.{match.group(2)}"
            depthwise = graph.constant_input(source, 1)  # (C, 1, 1, 3, 3)
            out[f"{prefix}.depthwise"] = torch.from_numpy(depthwise.reshape(depthwise.shape[0], 1, *depthwise.shape[-2:]))
            out[f"{prefix}.pointwise"] = torch.from_numpy(weight)
            _noise_and_bias(graph, conv, prefix, out)
        else:
            out["input.weight"] = torch.from_numpy(weight)
            _noise_and_bias(graph, conv, "input", out)
    out["idwt"] = _idwt_filters(graph)
    return out
