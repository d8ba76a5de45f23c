"""What every input that speaks once a frame is: commands for the frame about to be drawn."""

from __future__ import annotations

from typing import Protocol

from engine.commands import Command


class CommandSource(Protocol):
    """The music, a MIDI controller, an Ableton Link session: asked at the start of each frame."""

    def commands(self, tick: int) -> list[Command]:
        """What frame ``tick`` is told (nothing when there is nothing new)."""

    def close(self) -> None: ...
