"""The original NVlabs/stylegan2 TensorFlow pickles -> the StyleGAN2 canonical layout (and, by
their variables, the original ProGAN's: :mod:`engine.generators.formats.tensorflow_progan`).

Such a pickle is a tuple (G, D, Gs) of ``dnnlib.tflib.network.Network`` states: ``version``,
``static_kwargs``, ``components`` (sub-networks) and ``variables`` (name, numpy array), plus the
TensorFlow source that built it, which is never run (:mod:`engine.generators.safe_pickle` reads
the states as data; TensorFlow is not needed). Gs, the averaged generator, is what plays. The
variables are mapped as NVIDIA's ``legacy.py`` maps them to its PyTorch networks, with the
equalised-learning-rate gains those networks apply at run time folded in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from engine.generators.formats import tensorflow_progan
from engine.generators.safe_pickle import TFNetwork
from engine.generators.stylegan2 import resample_filter

# Every static kwarg a StyleGAN2 generator of the TensorFlow code may carry (as legacy.py lists them).
KNOWN_KWARGS = {"latent_size", "label_size", "dlatent_size", "resolution", "num_channels", "fmap_base", "fmap_max",
                "num_fp16_res", "conv_clamp", "architecture", "resample_kernel", "use_noise", "nonlinearity",
                "mapping_layers", "label_fmaps", "mapping_fmaps", "mapping_nonlinearity", "mapping_lrmul",
                "w_avg_beta", "truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure",
                "conditioning", "fused_modconv"}
MAX_LAYERS = 32


def find_generator(data: Any) -> TFNetwork | None:
    """Gs of a (G, D, Gs) tuple, or None when ``data`` is not one."""
    if isinstance(data, tuple) and len(data) == 3 and all(isinstance(n, TFNetwork) for n in data):
        return data[2]
    return None


def _variables(network: TFNetwork, prefix: str = "", depth: int = 0) -> dict[str, np.ndarray]:
    if depth > 4:
        raise ValueError("sub-networks nest deeper than StyleGAN2's")
    out: dict[str, np.ndarray] = {}
    for entry in network.state.get("variables") or []:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError("a variable that is not (name, array)")
        name, value = entry
        if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind != "f":
            raise ValueError(f"variable {prefix}{name} is not an array of numbers")
        out[prefix + name] = np.asarray(value)
    for name, component in (network.state.get("components") or {}).items():
        if not isinstance(component, TFNetwork):
            raise ValueError(f"component {name!r} is not a network")
        out |= _variables(component, f"{prefix}{name}/", depth + 1)
    return out


def _kwargs(network: TFNetwork) -> dict[str, Any]:
    version = network.state.get("version")
    if not isinstance(version, int) or version < 4:
        raise ValueError(f"network version {version!r}; StyleGAN2's pickles are version 4 or later")
    kwargs = network.static_kwargs(KNOWN_KWARGS, "StyleGAN2")
    wanted = {"label_size": 0, "architecture": "skip", "nonlinearity": "lrelu", "mapping_nonlinearity": "lrelu",
              "resample_kernel": [1, 3, 3, 1], "num_channels": 3}
    for key, expected in wanted.items():
        if kwargs.get(key) is not None and kwargs[key] != expected:
            raise ValueError(f"{key} = {str(kwargs[key])[:40]!r}; only {expected!r} plays here")
    return kwargs


def convert(network: TFNetwork) -> tuple[dict[str, torch.Tensor], float | None]:
    """Canonical tensors of Gs (StyleGAN2's, or ProGAN's: engine.generators.formats.tensorflow_progan),
    and its conv clamp."""
    tf = _variables(network)
    if tensorflow_progan.is_progan(tf):
        return tensorflow_progan.convert(network, tf), None
    kwargs = _kwargs(network)
    t = lambda name: torch.from_numpy(np.ascontiguousarray(tf[name], dtype=np.float32))  # noqa: E731
    lrmul = float(kwargs.get("mapping_lrmul") or 0.01)
    out: dict[str, torch.Tensor] = {}
    dense = sorted(int(k.split("/")[1][5:]) for k in tf if k.startswith("mapping/Dense") and k.endswith("/weight"))
    if not dense or dense != list(range(len(dense))) or len(dense) > MAX_LAYERS:
        raise ValueError("no mapping network (mapping/Dense0 ...)")
    for i in dense:
        weight = t(f"mapping/Dense{i}/weight").t()  # TF keeps (in, out)
        out[f"mapping.{i}.weight"] = weight * (lrmul / math.sqrt(weight.shape[1]))
        out[f"mapping.{i}.bias"] = t(f"mapping/Dense{i}/bias") * lrmul
    out["w_avg"] = t("dlatent_avg").reshape(-1)
    w_dim = out["w_avg"].shape[0]
    out["const"] = t("synthesis/4x4/Const/const")[0]

    def modulated(prefix: str, canonical: str, flip: bool = False) -> None:
        weight = t(f"{prefix}/weight")  # (k, k, in, out)
        if flip:  # TF's transposed convolution runs the kernel the other way round
            weight = weight.flip([0, 1])
        out[f"{canonical}.weight"] = weight.permute(3, 2, 0, 1).contiguous()
        out[f"{canonical}.affine.weight"] = t(f"{prefix}/mod_weight").t() / math.sqrt(w_dim)
        out[f"{canonical}.affine.bias"] = t(f"{prefix}/mod_bias") + 1.0
        out[f"{canonical}.bias"] = t(f"{prefix}/bias").reshape(-1)

    def conv(prefix: str, layer: int, noise: int, flip: bool = False) -> None:
        modulated(prefix, f"conv.{layer}", flip)
        out[f"conv.{layer}.noise"] = t(f"synthesis/noise{noise}")[0, 0]
        out[f"conv.{layer}.noise_strength"] = t(f"{prefix}/noise_strength").reshape(())

    def torgb(prefix: str, k: int) -> None:
        modulated(prefix, f"torgb.{k}")
        fan_in = out[f"torgb.{k}.weight"][0].numel()
        out[f"torgb.{k}.weight"] = out[f"torgb.{k}.weight"] / math.sqrt(fan_in)

    conv("synthesis/4x4/Conv", 0, 0)
    torgb("synthesis/4x4/ToRGB", 0)
    resolution = int(kwargs.get("resolution") or 1024)
    if resolution < 8 or resolution & (resolution - 1) or resolution > 4096:
        raise ValueError(f"resolution {resolution}; a power of two from 8 to 4096")
    for k in range(1, int(math.log2(resolution)) - 1):
        r = 4 * 2 ** k
        conv(f"synthesis/{r}x{r}/Conv0_up", 2 * k - 1, 2 * k - 1, flip=True)  # noise i feeds layer i
        conv(f"synthesis/{r}x{r}/Conv1", 2 * k, 2 * k)
        torgb(f"synthesis/{r}x{r}/ToRGB", k)
    out["resample_filter"] = resample_filter()
    clamp = kwargs.get("conv_clamp")
    return out, (float(clamp) if clamp is not None else None)
