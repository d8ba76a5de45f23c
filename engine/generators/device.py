"""Choosing where generators run: CUDA with fp16 when present, CPU with fp32 otherwise."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Placement:
    """A device and the compute dtype to use on it."""

    device: torch.device
    dtype: torch.dtype

    def describe(self) -> str:
        if self.device.type == "cuda":
            name = torch.cuda.get_device_name(self.device)
            return f"cuda ({name}), {str(self.dtype).removeprefix('torch.')}"
        return f"cpu ({torch.get_num_threads()} threads), {str(self.dtype).removeprefix('torch.')}"


def choose_placement(device: str | torch.device | None = None, fp16: bool | None = None) -> Placement:
    """CUDA + fp16 when available, else CPU + fp32; ``device``/``fp16`` override the choice."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if fp16 is None:
        fp16 = dev.type == "cuda"
    return Placement(dev, torch.float16 if fp16 else torch.float32)
