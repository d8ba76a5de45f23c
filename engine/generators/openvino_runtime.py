"""A generator's synthesis run by OpenVINO on the CPU: the same network, 3.5-4.5x torch's speed here.

``benchmarks/mobilestylegan.py`` measures torch, OpenVINO and ONNX Runtime on the FFHQ model;
OpenVINO wins on the CPU by more than the 1.3x that makes a second runtime worth having, with
the same output (max difference 4e-5 at 1024 px). The network is the engine's own torch
module, converted once per exit (about 15 s at 1024 px) and kept as IR in the user's cache
folder, so later starts compile in a second. Inference is pinned to float32 (OpenVINO would
pick bfloat16 on CPUs that have it, 0.3 off), and is batch-invariant: a face is the same
whether it was generated alone or in a batch, so frames stay bit-identical run to run.
``VERNISSAGE_RUNTIME=torch`` turns it off; on CUDA torch (fp16) runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger("vernissage")


def openvino_wanted(device: torch.device) -> bool:
    """OpenVINO for CPU synthesis when it is installed and not turned off."""
    if device.type != "cpu" or os.environ.get("VERNISSAGE_RUNTIME", "").lower() == "torch":
        return False
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vernissage" / "openvino"


def tensors_digest(tensors: dict[str, torch.Tensor], network_source: Path) -> str:
    """A cache key for a converted network: its weights and the code that defines it."""
    digest = hashlib.sha256(network_source.read_bytes())
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


class OpenVINOSynthesis:
    """Compiled synthesis for one exit: ``(B, num_ws, w_dim)`` float32 -> ``(B, 3, R, R)``."""

    def __init__(self, module: torch.nn.Module, example: torch.Tensor, key: str) -> None:
        import openvino as ov

        core = ov.Core()
        cached = cache_dir() / f"{key}-ov{ov.__version__.split('-')[0]}.xml"
        model = None
        if cached.is_file():
            try:
                model = core.read_model(str(cached))
            except RuntimeError as exc:  # a cache from a killed run: convert again
                log.info("OpenVINO cache %s unreadable (%s); converting again", cached, str(exc).splitlines()[0][:80])
        if model is None:
            log.info("converting the generator for OpenVINO (once per model and exit)")
            model = ov.convert_model(module, example_input=example,
                                     input=[ov.PartialShape([-1, *example.shape[1:]])])
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_suffix(f".{os.getpid()}.xml")
                ov.save_model(model, str(partial), compress_to_fp16=False)
                partial.with_suffix(".bin").replace(cached.with_suffix(".bin"))
                partial.replace(cached)
            except OSError as exc:  # no cache: slower starts, same frames
                log.info("cannot cache the OpenVINO model in %s (%s)", cached.parent, exc.strerror)
        # as many threads as torch was given: live on a software rasteriser that leaves a core to GL
        self.compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                          "INFERENCE_NUM_THREADS": torch.get_num_threads()})
        self.lock = threading.Lock()  # one infer request; the generate-ahead worker is its main user

    def __call__(self, ws: torch.Tensor) -> torch.Tensor:
        with self.lock:
            out = self.compiled(np.ascontiguousarray(ws.detach().float().cpu().numpy()))[0]
        return torch.from_numpy(np.array(out))


class ExitModule(torch.nn.Module):
    """A network's ``synthesis(ws, block)`` at one exit, as a module of one input for conversion."""

    def __init__(self, net: torch.nn.Module, block: int) -> None:
        super().__init__()
        self.net = net
        self.block = block

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return self.net.synthesis(ws, self.block)  # type: ignore[operator]
