"""The show's state as controllers and people see it: one typed value, built once a frame.

The order of the fields is the order of the arguments of the OSC ``/vernissage/status``
message (documented in the README), so it is fixed here and nowhere else.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields


@dataclass(frozen=True)
class Status:
    cue: str  # cue name, or "walk" (a live walk: "walk <seed>")
    time: float  # show seconds
    paused: int
    speed: float
    bpm: float
    locked: int
    fps: float
    missed: int
    recording: str  # path, or "" when not recording
    errors: int  # messages ignored
    open: int = 1  # within opening hours (1 without a schedule)

    def items(self) -> list[tuple[str, object]]:
        """(field, value) in the documented order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def values(self) -> tuple[object, ...]:
        return astuple(self)

    @property
    def discrete(self) -> tuple[object, ...]:
        """The fields whose change is sent to subscribers at once (the rest once a second)."""
        return (self.cue, self.paused, self.recording, self.locked, self.open)
