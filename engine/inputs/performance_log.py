"""The performance log: every command applied live, with the frame (tick) it was applied at.

JSON lines: a header with what the frame function needs besides the commands (the program
played, frame rate, keyframe rate, start time, size), one line per applied command (with the
lead it was given: how many frames later it showed), one line per change of the keyframe
rate, lines for live frames that were late (skipped ticks) or improvised (a stand-in
keyframe), and an end line. ``vernissage render --replay LOG`` applies the same commands at
the same ticks and renders every tick: the performance, clean.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from engine.audio.analysis import AudioFeatures
from engine.commands import AudioFrame, Command, SetFader, SetKeyframeRate, Slew
from engine.inputs.addresses import ControlError, check

log = logging.getLogger(__name__)
FORMAT = "vernissage-performance/2"
MAX_LEAD = 10_000
MAX_LOG_BYTES = 256 << 20  # a night of heavy control is a few MB
LOGS_KEPT = 200  # default-named logs in performances/: the oldest go first


def prune_logs(folder: Path, keep: int = LOGS_KEPT) -> None:
    """Remove all but the newest ``keep`` performance logs from ``folder`` (an installation runs for months)."""
    try:
        logs = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        for old in logs[:-keep] if keep else logs:
            old.unlink()
    except OSError as exc:
        log.error("%s: cannot remove old performance logs (%s)", folder, exc.strerror or exc)


class PerformanceLogError(ValueError):
    """A log that cannot be replayed; ``str()`` is one line naming file:line."""


def rate_text(rate: Fraction) -> str:
    """A rate as the log writes it: exact ("60", "60000/1001")."""
    return str(Fraction(rate))


def parse_rate(value: object) -> Fraction:
    """A rate from the log (text or number), checked: positive, at most 1000 a second."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"a rate must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a rate must be finite, got {value}")
    rate = Fraction(value).limit_denominator(1_000_000) if isinstance(value, float) else Fraction(value)
    if not 0 < rate <= 1000:
        raise ValueError(f"a rate must be in (0, 1000], got {value}")
    return rate


class PerformanceLog:
    """Appends to ``path``; a write failure (disk full), or ``max_bytes`` reached, stops the log
    with one line, never the show."""

    def __init__(self, path: Path, header: dict[str, Any], max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._written = 0
        self._file: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            log.error("%s: cannot write the performance log (%s); playing without it", self.path, exc.strerror or exc)
            return
        self._write({"format": FORMAT, **header})
        log.info("performance log: %s", self.path)

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        if self._written + len(line) > self.max_bytes and "end" not in record:
            log.error("%s: the performance log reached %d MB; later commands are not logged (the show goes on)",
                      self.path, self.max_bytes >> 20)
            self._file.close()
            self._file = None
            return
        try:
            self._file.write(line)
            self._file.flush()
            self._written += len(line)
        except OSError as exc:
            log.error("%s: performance log stopped (%s); the show goes on", self.path, exc.strerror or exc)
            self._file = None

    def command(self, tick: int, command: Command, lead: int = 0, due_tick: int | None = None) -> None:
        record: dict[str, Any] = {"tick": tick, "address": command.address, "args": list(command.args)}
        if isinstance(command, SetFader) and command.smoothing:
            record["smoothing"] = command.smoothing
        if lead:
            record["lead"] = lead
        if due_tick is not None:
            record["due"] = due_tick
        self._write(record)

    def keyframe_rate(self, tick: int, rate: Fraction, lead: int = 0) -> None:
        self._write({"tick": tick, "keyframe_rate": rate_text(rate), "lead": lead})

    def slew(self, tick: int, slew: Slew, lead: int = 0) -> None:
        self._write({"tick": tick, "slew": slew.speed, "to": slew.to, "lead": lead})

    def audio(self, tick: int, frame: AudioFrame, lead: int = 0) -> None:
        """What the frame heard and the pace it set; the lead of a face change it made."""
        record: dict[str, Any] = {"tick": tick, "audio": list(frame.heard), "drive": frame.drive}
        if lead:
            record["lead"] = lead
        self._write(record)

    def frames(self, tick: int, skipped: int = 0, stand_in: bool = False) -> None:
        """Live frames the replay will not match: a stand-in at ``tick``, and the ``skipped`` ticks
        after it that were never shown (the frame at ``tick`` was late and took their place)."""
        if skipped:
            self._write({"tick": tick, "skipped": skipped})
        if stand_in:
            self._write({"tick": tick, "stand_in": True})

    def close(self, ticks: int) -> None:
        self._write({"end": ticks})
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True)
class LoggedCommand:
    tick: int
    command: Command
    lead: int = 0


@dataclass
class RecordedPerformance:
    """A read log: header, commands and keyframe-rate changes by tick, and which live frames
    were shown as planned."""

    header: dict[str, Any]
    commands: list[LoggedCommand] = field(default_factory=list)  # in the order applied, the loop's own too
    end: int = 0
    skipped: set[int] = field(default_factory=set)  # ticks never shown live
    stand_ins: set[int] = field(default_factory=set)  # ticks shown live with a stand-in keyframe

    @property
    def fps(self) -> Fraction:
        return parse_rate(self.header["fps"])

    @property
    def keyframe_rate(self) -> Fraction:
        return parse_rate(self.header["keyframe_rate"])

    def shown_ticks(self) -> list[int]:
        """The ticks the live run showed (and recorded), in order."""
        return [k for k in range(self.end) if k not in self.skipped]


def _tick(record: dict[str, Any], key: str = "tick") -> int:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**40:
        raise ValueError(f"'{key}' must be a frame number, got {value!r}")
    return value


def _header(record: object) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"not a performance log (expected format {FORMAT})")
    for key in ("program", "fps", "keyframe_rate", "start", "size"):
        if key not in record:
            raise ValueError(f"the header has no '{key}'")
    parse_rate(record["fps"])
    parse_rate(record["keyframe_rate"])
    if not isinstance(record["program"], dict):
        raise ValueError("the header's 'program' must be a table of the play options")
    start = record["start"]
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
        raise ValueError(f"the header's 'start' must be a number of seconds, got {start!r}")
    size = record["size"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 8192 for v in size)):
        raise ValueError(f"the header's 'size' must be [width, height], got {size!r}")
    return record


def _lead(record: dict[str, Any]) -> int:
    lead = record.get("lead", 0)
    if isinstance(lead, bool) or not isinstance(lead, int) or not 0 <= lead <= MAX_LEAD:
        raise ValueError(f"'lead' must be 0..{MAX_LEAD} frames, got {lead!r}")
    return lead


def _record(performance: RecordedPerformance, record: dict[str, Any]) -> None:
    if "end" in record:
        performance.end = _tick(record, "end")
    elif "keyframe_rate" in record:
        rate = SetKeyframeRate(parse_rate(record["keyframe_rate"]))
        performance.commands.append(LoggedCommand(_tick(record), rate, _lead(record)))
    elif "slew" in record:
        speed, to = record["slew"], record.get("to")
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.9 <= speed <= 1.1:
            raise ValueError(f"'slew' must be a speed near 1, got {speed!r}")
        if to is not None and (isinstance(to, bool) or not isinstance(to, (int, float)) or not math.isfinite(to)):
            raise ValueError(f"'to' must be a show time, got {to!r}")
        slew = Slew(float(speed), None if to is None else float(to))
        performance.commands.append(LoggedCommand(_tick(record), slew, _lead(record)))
    elif "audio" in record:
        performance.commands.append(LoggedCommand(_tick(record), _audio_frame(record), _lead(record)))
    elif "skipped" in record:
        tick, skipped = _tick(record), _tick(record, "skipped")
        performance.skipped.update(range(tick + 1, tick + 1 + skipped))
    elif "stand_in" in record:
        performance.stand_ins.add(_tick(record))
    else:
        if not isinstance(record.get("args"), list) or not isinstance(record.get("address"), str):
            raise ValueError("a command needs 'address' and 'args'")
        command = check(record["address"], record["args"])
        if command is None:
            raise ValueError(f"{record['address']} with arguments {record['args']} does nothing")
        smoothing = record.get("smoothing", 0.0)
        if smoothing:
            if not isinstance(command, SetFader) or not isinstance(smoothing, (int, float)) or not 0 < smoothing <= 60:
                raise ValueError(f"'smoothing' must be 0..60 seconds on a fader, got {smoothing!r}")
            command = SetFader(command.fader, command.value, float(smoothing))
        performance.commands.append(LoggedCommand(_tick(record), command, _lead(record)))


def _audio_frame(record: dict[str, Any]) -> AudioFrame:
    heard, drive = record["audio"], record.get("drive")
    if not isinstance(heard, list):
        raise ValueError(f"'audio' must list the features heard, got {heard!r}"[:120])
    features = AudioFeatures.from_values(heard)
    if isinstance(drive, bool) or not isinstance(drive, (int, float)) or not 1 / 16 <= drive <= 8:
        raise ValueError(f"'drive' must be a speed factor 1/16..8, got {drive!r}")
    return AudioFrame(float(drive), features.hit, features.beat, features.bpm, tuple(features.values()))


def read_performance(path: str | Path) -> RecordedPerformance:
    """The log at ``path``; PerformanceLogError (file:line) for anything that cannot be replayed."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise PerformanceLogError(f"{path}: cannot read ({exc.strerror or exc})") from None
    performance: RecordedPerformance | None = None
    number = 0
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if len(line) > 65536:
                    raise ValueError("a line of over 64 kB")
                record = json.loads(line)
                if performance is None:
                    performance = RecordedPerformance(_header(record))
                elif not isinstance(record, dict):
                    raise ValueError("each line must be a JSON object")
                else:
                    _record(performance, record)
        except (ValueError, KeyError, TypeError, ControlError, RecursionError, ZeroDivisionError) as exc:
            raise PerformanceLogError(f"{path}:{number}: {exc}"[:300]) from None
        except UnicodeDecodeError:
            raise PerformanceLogError(f"{path}:{number + 1}: not UTF-8 text") from None
    if performance is None:
        raise PerformanceLogError(f"{path}:1: empty; not a performance log")
    if not performance.end:
        performance.end = max((c.tick for c in performance.commands), default=0) + 1
        log.warning("%s: no end line (the live run was cut off); replaying to tick %d", path, performance.end)
    return performance
