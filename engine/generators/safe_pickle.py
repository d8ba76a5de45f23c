"""A restricted unpickler for NVIDIA network pickles (PyTorch and TensorFlow): tensors, arrays and plain containers only.

NVIDIA's pickles embed their networks' Python source and their loader executes it. This
unpickler resolves a short allow-list of globals to harmless constructors, rebuilds each
persistent network as inert data (:class:`PersistentModule`), and refuses anything else
(``os.system``, ``builtins.eval``...) before it can run. Nested tensor storages, which
``torch.storage._load_from_bytes`` would unpickle with the *unrestricted* unpickler, are
loaded with ``torch.load(weights_only=True)`` instead.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import torch


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for a global outside the allow-list."""


@dataclass
class PersistentModule:
    """A network from a persistence pickle, as data: class name and the module's __dict__."""

    class_name: str
    state: dict[str, Any]

    @property
    def parameters(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state.get("_parameters", {}).items() if v is not None}

    @property
    def buffers(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state.get("_buffers", {}).items() if v is not None}

    @property
    def children(self) -> dict[str, Any]:
        return self.state.get("_modules", {})


class TFNetwork:
    """A ``dnnlib.tflib.network.Network`` (StyleGAN2) or ``tfutil.Network`` (ProGAN) of the TensorFlow code, as data: its
    state (``version``, ``static_kwargs``, ``components``, ``variables``...). The
    ``build_module_src`` in it is TensorFlow source that is never looked at."""

    state: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise UnsafePickleError("a TensorFlow network whose state is not a table")
        self.state = state

    def static_kwargs(self, known: set[str], family: str) -> dict[str, Any]:
        """The network's build arguments; ValueError naming the first one ``known`` lacks (a
        network this engine would build wrongly is refused rather than guessed at)."""
        kwargs = self.state.get("static_kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ValueError("static_kwargs is not a table")
        unknown = sorted(str(k) for k in kwargs if k not in known)
        if unknown:
            raise ValueError(f"unknown static kwarg {unknown[0]!r}: not a {family} generator this engine knows")
        return kwargs


class AttrDict(dict):
    """Stands in for ``dnnlib.util.EasyDict``: a plain dict (its attribute access is not needed)."""


def _persistent(meta: dict[str, Any]) -> PersistentModule:
    # meta["module_src"] is deliberately never looked at, let alone executed.
    return PersistentModule(str(meta.get("class_name", "?")), dict(meta.get("state") or {}))


def _storage_from_bytes(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _numpy_scalar(dtype: np.dtype, data: bytes | None = None) -> Any:
    if dtype.hasobject:
        raise UnsafePickleError("refuses a numpy object scalar")
    return np.frombuffer(data or b"", dtype=dtype)[0] if data else dtype.type(0)


def _numpy_dtype(spec: str, align: bool = False, copy: bool = False) -> np.dtype:
    dtype = np.dtype(spec, align=align)
    if dtype.hasobject:
        raise UnsafePickleError("refuses a numpy object dtype")
    return dtype


class _NumpyArrayType:
    """Stands for ``numpy.ndarray`` in a pickle: only :func:`_numpy_array` accepts it (calling it
    fails), so a pickle cannot build arrays any other way."""


def _numpy_array(kind: Any, shape: Any, code: Any) -> np.ndarray:
    """An empty array that the pickle's BUILD then fills from raw bytes (StyleGAN3 keeps layer
    sizes as small arrays). The dtype BUILD gives comes through :func:`_numpy_dtype`, which
    refuses object dtypes, so filling it copies bytes and unpickles nothing."""
    if kind is not _NumpyArrayType or tuple(shape) != (0,):  # numpy pickles an empty array, then its state
        raise UnsafePickleError("refuses a numpy array that is not a plain ndarray")
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent,
    ("dnnlib.util", "EasyDict"): AttrDict,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("tfutil", "Network"): TFNetwork,  # ProGAN's
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy", "ndarray"): _NumpyArrayType,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_array,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_array,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refuses global {module}.{name} (only tensors and plain "
                                    "containers are allowed)") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refuses persistent ids outside a torch archive")


def safe_load(stream: BinaryIO) -> Any:
    """Unpickle ``stream`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(stream).load()
