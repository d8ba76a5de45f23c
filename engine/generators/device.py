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


class DeviceError(ValueError):
    """A device that is not here; ``str()`` is one line saying what is."""


def choose_placement(device: str | torch.device | None = None, fp16: bool | None = None) -> Placement:
    """CUDA + fp16 when available, else CPU + fp32; ``device``/``fp16`` override the choice."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise DeviceError(f"--device {device!r} is not a device: cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(f"--device {device}: torch sees no CUDA device here (use cpu)")
        if (dev.index or 0) >= count:
            raise DeviceError(f"--device {device}: there are {count} CUDA device(s), numbered from 0")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"--device {device}: no Apple GPU here (use cpu)")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"--device {device!r} is not a device: cpu, cuda or cuda:N")
    if fp16 is None:
        fp16 = dev.type == "cuda"
    return Placement(dev, torch.float16 if fp16 else torch.float32)
