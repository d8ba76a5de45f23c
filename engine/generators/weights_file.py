"""Writing a model's safetensors as readable as any other file the user makes.

safetensors writes its files with mode 0600 whatever the umask, so a model imported or trained
with sudo could not be read by the account the gallery runs as. Every weights file the engine
writes goes through :func:`save_weights`, which gives it the umask's mode (0644 under the usual
022), as ``open()`` would.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import save_file


def umask_mode(base: int = 0o666) -> int:
    """``base`` less the process's umask (read without a window where it is changed for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return base & ~mask


def save_weights(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    path.chmod(umask_mode())
