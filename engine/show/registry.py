"""The never-repeat registry: how far an exhibition has got, kept across restarts.

Portrait n of a show is a pure function of (show seed, n) (engine.show.portraits), so the
registry only needs to know how far the show got: the furthest show time reached and the
portraits shown. A restarted installation resumes there, past every face it already showed.
It is a few bytes, written atomically (temporary file, fsync, rename, fsync of the folder),
and the previous version is kept beside it (``.prev``): a power cut leaves the old file or
the new one, and a lost or corrupt file falls back to the one before. Anything unreadable,
valid JSON or not, is moved aside (``.bad``) with one line, never a traceback at every start.

Registries written by the first version listed every seed shown; on first read those seeds
are kept, once, in ``<show>.registry-excluded.json``, and never picked again.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.resources import state_beside
from engine.show.portraits import PortraitSequence

log = logging.getLogger(__name__)
VERSION = 2
MAX_PORTRAITS = 2**59
MAX_SHOW_TIME = 1e12


def atomic_write_json(path: Path, data: object, keep_previous: bool = False) -> None:
    """Replace ``path`` with ``data`` as JSON so that readers see the old or the new file only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    if keep_previous and path.exists():
        os.replace(path, path.with_name(path.name + ".prev"))
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass(frozen=True)
class Progress:
    """What a registry file says, checked."""

    shown: int
    show_time: float
    excluded: tuple[int, ...] = ()  # seeds shown under version 1


def _whole(value: Any, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < high:
        raise ValueError(f"'{name}' must be a whole number from 0, got {value!r}"[:120])
    return value


def parse_registry(data: Any, show_seed: int, dim: int) -> Progress:
    """The progress in a registry document; ValueError (one line) for anything else."""
    if not isinstance(data, dict):
        raise ValueError(f"not a registry (a {type(data).__name__})")
    if data.get("version") not in (1, VERSION):
        raise ValueError(f"unknown version {data.get('version')!r}"[:80])
    if data.get("show_seed") != show_seed or data.get("dim") != dim:
        raise ValueError("made for another seed or model")
    shown = _whole(data.get("shown"), "shown", MAX_PORTRAITS)
    show_time = data.get("show_time")
    if isinstance(show_time, bool) or not isinstance(show_time, (int, float)) or not math.isfinite(show_time) \
            or not 0 <= show_time <= MAX_SHOW_TIME:
        raise ValueError(f"'show_time' must be seconds from 0, got {show_time!r}"[:120])
    excluded: tuple[int, ...] = ()
    if data["version"] == 1:
        accepted = data.get("accepted", [])
        if not isinstance(accepted, list) or len(accepted) > 10_000_000:
            raise ValueError("'accepted' must be a list of seeds")
        excluded = tuple(_whole(s, "accepted", 2**63) for s in accepted)
    return Progress(shown, float(show_time), excluded)


class Registry:
    """The registry file next to a show: ``<show>.registry.json``."""

    def __init__(self, path: Path, sequence: PortraitSequence, shown: int = 0, show_time: float = 0.0) -> None:
        self.path = path
        self.sequence = sequence
        self.shown = shown  # portraits 0 .. shown-1 have been on screen
        self.show_time = show_time  # furthest show time reached
        self._changed = False
        self._lock = threading.Lock()  # the frame thread marks, the housekeeping thread saves

    @classmethod
    def for_show(cls, show_path: Path, show_seed: int, dim: int, min_distance: float) -> Registry:
        """Open (or start) the registry of ``show_path``; what cannot be read is kept aside, not lost."""
        path = state_beside(show_path, show_path.stem + ".registry.json")
        excluded_path = path.with_name(show_path.stem + ".registry-excluded.json")
        excluded = _read_excluded(excluded_path)
        for candidate in (path, path.with_name(path.name + ".prev")):
            try:
                progress = parse_registry(json.loads(candidate.read_text(encoding="utf-8")), show_seed, dim)
            except FileNotFoundError:
                continue
            except (ValueError, TypeError, RecursionError, UnicodeDecodeError, OSError) as exc:
                aside = candidate.with_name(candidate.name + ".bad")
                try:
                    os.replace(candidate, aside)
                except OSError:
                    aside = candidate
                log.error("%s: unreadable registry (%s); kept as %s", candidate, str(exc)[:120], aside.name)
                continue
            if progress.excluded:
                excluded = excluded | set(progress.excluded)
                atomic_write_json(excluded_path, sorted(excluded))
                log.info("%s: %d faces shown by the first registry format are kept out for good", path,
                         len(progress.excluded))
            registry = cls(path, PortraitSequence(show_seed, dim, min_distance, excluded),
                           progress.shown, progress.show_time)
            if candidate != path or progress.excluded:
                registry.save()  # in today's format, in its place
            return registry
        return cls(path, PortraitSequence(show_seed, dim, min_distance, excluded))

    def mark(self, portrait: int, show_time: float) -> bool:
        """Record that ``portrait`` is on screen at ``show_time``; True if that was news."""
        with self._lock:
            changed = portrait + 1 > self.shown or show_time > self.show_time
            self.shown = max(self.shown, portrait + 1)
            self.show_time = max(self.show_time, show_time)
            self._changed |= changed
            return changed

    def save_if_changed(self) -> None:
        with self._lock:
            changed, self._changed = self._changed, False
        if changed:
            self.save()

    def save(self) -> None:
        with self._lock:
            shown, show_time = self.shown, self.show_time
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, {"version": VERSION, "show_seed": self.sequence.show_seed,
                                      "dim": self.sequence.dim, "shown": shown, "show_time": show_time},
                          keep_previous=True)


def _read_excluded(path: Path) -> set[int]:
    try:
        seeds = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(seeds, list):
            raise ValueError("not a list of seeds")
        return {_whole(s, "seed", 2**63) for s in seeds}
    except FileNotFoundError:
        return set()
    except (ValueError, TypeError, RecursionError, UnicodeDecodeError, OSError) as exc:
        log.error("%s: unreadable list of faces kept out (%s); they may be shown again", path, str(exc)[:120])
        return set()
