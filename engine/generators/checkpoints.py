"""Reading weights files without a model card, recognised by content, never by extension.

| content                                   | format                              |
| ----------------------------------------- | ----------------------------------- |
| safetensors header                        | canonical tensors (engine layout)   |
| PyTorch zip with ``g_ema``                | rosinality stylegan2-pytorch        |
| PyTorch zip with ``netG_state_dict``      | PyTorch-tutorial DCGAN              |
| PyTorch zip with ``config`` and ``avgG``  | pytorch_GAN_zoo progressive GAN      |
| pickle with ``G_ema`` persistent objects  | NVIDIA stylegan2-ada / stylegan3    |

PyTorch files go through ``torch.load(weights_only=True)``; pickles through the restricted
unpickler. Either way nothing in the file can run code.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from engine.generators.card import ModelCard
from engine.generators.dcgan import conv_indices
from engine.generators.errors import ModelError
from engine.generators.formats import gan_zoo, nvidia, nvidia_stylegan3, rosinality, tensorflow
from engine.generators.progan import scale_count
from engine.generators.safe_pickle import UnsafePickleError, safe_load
from engine.generators.stylegan2 import config_from_tensors, estimate_w_avg
from engine.generators.stylegan3 import config_from_tensors as stylegan3_config


def sniff(path: Path) -> str:
    """'safetensors', 'torch-zip', 'pickle' or 'unknown', from the first bytes of ``path``."""
    try:
        with path.open("rb") as f:
            head = f.read(9)
    except OSError as exc:
        raise ModelError(path, f"cannot read ({exc.strerror})") from None
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    if head[:4] == b"PK\x03\x04":
        return "torch-zip"
    if head[:1] == b"\x80":
        return "pickle"
    return "unknown"


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, with a clear line for missing or corrupt files."""
    if not path.exists():
        raise ModelError(path, "weights file not found")
    if sniff(path) != "safetensors":
        raise ModelError(path, "not a safetensors file (bad header)")
    with path.open("rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
    size = path.stat().st_size
    if 8 + header_len > size:
        raise ModelError(path, f"truncated: header says {header_len} bytes, file has {size}")
    try:
        return load_file(str(path))
    except SafetensorError as exc:
        raise ModelError(path, f"corrupt or truncated safetensors file ({exc})") from None


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], ModelCard]:
    """Canonical tensors and an inferred card from a bare weights file."""
    kind = sniff(path)
    if kind == "safetensors":
        tensors = read_safetensors(path)
    elif kind == "torch-zip":
        tensors = _from_torch(path)
    elif kind == "pickle":
        tensors, clamp = _from_network_pickle(path)
        return tensors, _card(path, tensors, clamp)
    else:
        raise ModelError(path, "unrecognised model file format; expected safetensors, a PyTorch "
                               "checkpoint or an NVIDIA network pickle")
    return tensors, _card(path, tensors, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _from_torch(path: Path) -> dict[str, torch.Tensor]:
    try:
        with torch.serialization.safe_globals([gan_zoo.ZooConfig]):  # a plain attribute holder
            data: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad archives: report, never crash
        raise ModelError(path, f"cannot load PyTorch checkpoint ({_first_line(exc)})") from None
    if isinstance(data, dict) and isinstance(data.get("g_ema"), dict):
        state = data["g_ema"]
        if not rosinality.is_rosinality(state):
            raise ModelError(path, "g_ema is not a rosinality StyleGAN2 generator")
        try:
            tensors = rosinality.convert(state)
        except KeyError as exc:
            raise ModelError(path, f"incomplete rosinality generator (missing {exc.args[0]})") from None
        average = data.get("latent_avg")
        tensors["w_avg"] = average.float().reshape(-1) if isinstance(average, torch.Tensor) else estimate_w_avg(tensors)
        return tensors
    if gan_zoo.is_zoo_checkpoint(data):
        try:
            return gan_zoo.convert(data)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            name = f"tensor {exc.args[0]} missing" if isinstance(exc, KeyError) else _first_line(exc)
            raise ModelError(path, f"unsupported pytorch_GAN_zoo checkpoint ({name})") from None
    if isinstance(data, dict) and isinstance(data.get("netG_state_dict"), dict):
        data = data["netG_state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(path, "checkpoint holds no generator state dict (g_ema or netG_state_dict)")
    return data


def _from_network_pickle(path: Path) -> tuple[dict[str, torch.Tensor], float | None]:
    try:
        with path.open("rb") as f:
            data = safe_load(f)
    except UnsafePickleError as exc:
        raise ModelError(path, f"unsafe pickle: {exc}; nothing in it was run") from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, RuntimeError, struct.error) as exc:
        raise ModelError(path, f"truncated or corrupt network pickle ({_first_line(exc)})") from None
    graph = tensorflow.find_generator(data)
    if graph is not None:
        try:
            return tensorflow.convert(graph)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            name = f"variable {exc.args[0]} missing" if isinstance(exc, KeyError) else _first_line(exc)
            raise ModelError(path, f"unsupported TensorFlow network in pickle ({name})") from None
    generator = nvidia.find_generator(data)
    if generator is None:
        raise ModelError(path, "pickle holds no G_ema or G network, nor a TensorFlow (G, D, Gs)")
    try:
        if nvidia_stylegan3.is_stylegan3(generator):
            tensors, _ = nvidia_stylegan3.convert(generator)
            return tensors, None
        tensors, clamp, _ = nvidia.convert(generator)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ModelError(path, f"unsupported network in pickle ({_first_line(exc)})") from None
    return tensors, clamp


def _card(path: Path, tensors: dict[str, torch.Tensor], clamp: float | None) -> ModelCard:
    if "format.weight" in tensors and "settings" in tensors:
        return ModelCard(name=path.stem, architecture="progan", latent_dim=int(tensors["format.weight"].shape[-1]),
                         resolution=4 * 2 ** scale_count(tensors), weights=path.name)
    indices = conv_indices(tensors)
    if indices:
        z_dim = int(tensors[f"main.{indices[0]}.weight"].shape[0])
        return ModelCard(name=path.stem, architecture="dcgan", latent_dim=z_dim,
                         resolution=4 * 2 ** (len(indices) - 1), weights=path.name)
    if "input.shape" in tensors:
        try:
            sg3 = stylegan3_config(tensors)
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelError(path, f"incomplete StyleGAN3 generator ({_first_line(exc)})") from None
        return ModelCard(name=path.stem, architecture="stylegan3", latent_dim=sg3.z_dim, resolution=sg3.resolution,
                         weights=path.name)
    try:
        config = config_from_tensors(tensors, clamp)
    except (KeyError, ValueError):
        raise ModelError(path, "unrecognised generator layout (neither DCGAN nor StyleGAN2 or 3)") from None
    extra = {"conv_clamp": clamp} if clamp is not None else {}
    return ModelCard(name=path.stem, architecture="stylegan2", latent_dim=config.z_dim,
                     resolution=config.resolution, weights=path.name, extra=extra)
