"""Keys of the live window as commands: pressed keys go through the same path as OSC.

The window reports key names (pygame's); this table says what each asks for. Relative
requests (faster, slower) are resolved when applied and logged as the absolute change.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.commands import (
    Command,
    NextFace,
    Pause,
    Quit,
    ScaleSpeed,
    Snapshot,
    ToggleFullscreen,
    ToggleRecording,
)

SPEED_STEP = 1.25

KEYS: dict[str, Callable[[], Command]] = {
    "space": Pause,
    "right": lambda: ScaleSpeed(SPEED_STEP),
    "up": lambda: ScaleSpeed(SPEED_STEP),
    "left": lambda: ScaleSpeed(1 / SPEED_STEP),
    "down": lambda: ScaleSpeed(1 / SPEED_STEP),
    "n": NextFace,
    "s": Snapshot,
    "r": ToggleRecording,
    "f": ToggleFullscreen,
    "q": Quit,
    "escape": Quit,
    "quit": Quit,  # the window's close button
}


def key_commands(names: list[str]) -> list[Command]:
    """The commands for ``names`` (unknown keys do nothing)."""
    return [KEYS[name]() for name in names if name in KEYS]
