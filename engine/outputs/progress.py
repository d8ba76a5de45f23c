"""A progress bar for offline renders (frames done, frames a second, time left)."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from engine.outputs.base import Output, ShownFrame
from engine.status import Status


class ProgressOutput(Output):
    def __init__(self, frames: int, name: str, enabled: bool = True) -> None:
        self._bar = tqdm(total=frames, unit="frame", disable=not enabled, desc=name)

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
