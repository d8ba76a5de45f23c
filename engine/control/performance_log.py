"""The performance log: every command applied live, with the frame (tick) it was applied at.

JSON lines: a header with what the frame function needs besides the commands (the play
command line, frame rate, keyframe rate, start time, size), one line per applied command,
lines for live frames that were late (skipped ticks) or improvised (a stand-in keyframe),
and an end line. ``vernissage render --replay LOG`` applies the same commands at the same
ticks and renders every tick: the performance, clean.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from engine.control.addresses import Command, ControlError, check

log = logging.getLogger(__name__)
FORMAT = "vernissage-performance/1"


class PerformanceLogError(ValueError):
    """A log that cannot be replayed; ``str()`` is one line naming file:line."""


class PerformanceLog:
    """Appends to ``path``; a write failure (disk full) stops the log with one line, never the show."""

    def __init__(self, path: Path, header: dict) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            log.error("%s: cannot write the performance log (%s); playing without it", self.path, exc.strerror or exc)
            return
        self._write({"format": FORMAT, **header})
        log.info("performance log: %s", self.path)

    def _write(self, record: dict) -> None:
        if self._file is None:
            return
        try:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as exc:
            log.error("%s: performance log stopped (%s); the show goes on", self.path, exc.strerror or exc)
            self._file = None

    def command(self, tick: int, command: Command, due_tick: int | None = None) -> None:
        record = {"tick": tick, "address": command.address, "args": list(command.args)}
        if command.smoothing:
            record["smoothing"] = command.smoothing
        if due_tick is not None:
            record["due"] = due_tick
        self._write(record)

    def frames(self, tick: int, skipped: int = 0, stand_in: bool = False) -> None:
        """Live frames the replay will not match: ``skipped`` ticks before ``tick``, or a stand-in at it."""
        if skipped:
            self._write({"tick": tick, "skipped": skipped})
        if stand_in:
            self._write({"tick": tick, "stand_in": True})

    def close(self, ticks: int) -> None:
        self._write({"end": ticks})
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class Performance:
    """A read log: header, commands by tick, and which live frames were shown as planned."""

    header: dict
    commands: list[tuple[int, Command]] = field(default_factory=list)
    end: int = 0
    skipped: set[int] = field(default_factory=set)  # ticks never shown live
    stand_ins: set[int] = field(default_factory=set)  # ticks shown live with a stand-in keyframe

    def shown_ticks(self) -> list[int]:
        """The ticks the live run showed (and recorded), in order."""
        return [k for k in range(self.end) if k not in self.skipped]


def read_performance(path: str | Path) -> Performance:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PerformanceLogError(f"{path}: cannot read ({exc.strerror or exc})") from None
    performance: Performance | None = None
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            if performance is None:
                if not isinstance(record, dict) or record.get("format") != FORMAT:
                    raise ValueError(f"not a performance log (expected format {FORMAT})")
                performance = Performance(record)
            elif "end" in record:
                performance.end = int(record["end"])
            elif "skipped" in record:
                tick = int(record["tick"])
                performance.skipped.update(range(tick - int(record["skipped"]), tick))
            elif "stand_in" in record:
                performance.stand_ins.add(int(record["tick"]))
            else:
                command = check(record["address"], record["args"])
                if command is None:
                    raise ValueError(f"{record['address']} with arguments {record['args']} does nothing")
                smoothing = float(record.get("smoothing", 0.0))
                if smoothing:
                    command = Command(command.address, command.args, smoothing)
                performance.commands.append((int(record["tick"]), command))
        except (ValueError, KeyError, TypeError, ControlError) as exc:
            raise PerformanceLogError(f"{path}:{number}: {exc}") from None
    if performance is None:
        raise PerformanceLogError(f"{path}:1: empty; not a performance log")
    if not performance.end:
        performance.end = max((tick for tick, _ in performance.commands), default=0) + 1
        log.warning("%s: no end line (the live run was cut off); replaying to tick %d", path, performance.end)
    return performance
