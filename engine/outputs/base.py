"""The one small interface every output has, and the list the frame loop hands frames to.

Hooks run on the frame thread in the order the loop calls them, once a frame, and must not
block: anything slow (encoding, writing files, sending) belongs on the output's own thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import moderngl
import numpy as np

from engine.commands import Command
from engine.status import Status


@dataclass(frozen=True)
class ShownFrame:
    """A frame just presented."""

    tick: int
    time: float  # show time
    interval: float  # seconds since the previous frame was shown
    skipped: int  # display ticks missed before it (it was late)
    stand_in: bool  # a keyframe was stood in for
    at: float  # perf_counter when it was shown


class Canvas(Protocol):
    def draw_overlay(self, pixels: np.ndarray, origin: tuple[int, int], flip: bool) -> None: ...


class Output:
    """Something shown frames go to. ``COMMANDS`` are the command types it handles."""

    COMMANDS: ClassVar[tuple[type[Command], ...]] = ()

    def capture(self, target: moderngl.Framebuffer, tick: int) -> None:
        """The clean frame, just drawn into ``target`` (before anything drawn for the screen only)."""

    def overlay(self, canvas: Canvas, tick: int) -> None:
        """Draw over the picture on the screen only (after every capture)."""

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        """After the frame was presented; ``status()`` builds the show's state if needed."""

    def handle(self, command: Command) -> None:
        """Act on one of ``COMMANDS``."""

    def resized(self, size: tuple[int, int]) -> None:
        """The display changed size."""

    def close(self) -> None:
        """Flush and release everything (the show is over)."""


class Outputs:
    """The outputs of one run, called in order."""

    def __init__(self, outputs: list[Output]) -> None:
        self.all = outputs

    def capture(self, target: moderngl.Framebuffer, tick: int) -> None:
        for output in self.all:
            output.capture(target, tick)

    def overlay(self, canvas: Canvas, tick: int) -> None:
        for output in self.all:
            output.overlay(canvas, tick)

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        for output in self.all:
            output.shown(frame, status)

    def resized(self, size: tuple[int, int]) -> None:
        for output in self.all:
            output.resized(size)

    def routes(self) -> dict[type[Command], Callable[[Command], None]]:
        """Command type -> the output that handles it (for the loop's one dispatch table)."""
        return {kind: output.handle for output in self.all for kind in output.COMMANDS}

    def close(self) -> None:
        errors = []
        for output in reversed(self.all):
            try:
                output.close()
            except Exception as exc:  # noqa: BLE001 - every output gets closed, whatever one does
                errors.append(exc)
        if errors:
            raise errors[0]
