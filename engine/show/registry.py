"""The never-repeat registry: every portrait an exhibition has shown, kept across restarts.

Portrait n of a show is a pure function of (show seed, n): candidates are drawn from a
seeded stream and any candidate within ``min_distance`` of an earlier portrait is skipped.
The registry persists that sequence and how far the show has got, so a restarted
installation resumes past every face it already showed. Writes are atomic (temporary
file, fsync, rename, fsync of the folder): a power cut leaves the old file or the new one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from engine.latent import latent_from_seed

log = logging.getLogger(__name__)
_CANDIDATE_STREAM = 7_000_001  # keeps portrait candidates apart from the show's other seeds


def atomic_write_json(path: Path, data: object) -> None:
    """Replace ``path`` with ``data`` as JSON so that readers see the old or the new file only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class PortraitSequence:
    """Seeds of portraits 0, 1, 2, ... for one show; never the same face, never too close."""

    def __init__(self, show_seed: int, dim: int, min_distance: float = 0.0, accepted: list[int] | None = None,
                 skipped: int = 0) -> None:
        self.show_seed, self.dim, self.min_distance = show_seed, dim, min_distance
        self.accepted: list[int] = list(accepted or [])
        self.skipped = skipped  # candidates rejected so far (too close or already shown)
        self._latents = [latent_from_seed(s, dim) for s in self.accepted]
        self._lock = threading.Lock()

    def _candidate(self, j: int) -> int:
        rng = np.random.Generator(np.random.PCG64([self.show_seed, _CANDIDATE_STREAM, j]))
        return int(rng.integers(0, 2**31))

    def seed(self, n: int) -> int:
        """Seed of portrait ``n`` (extends the sequence as needed)."""
        with self._lock:
            while len(self.accepted) <= n:
                seed = self._candidate(len(self.accepted) + self.skipped)
                z = latent_from_seed(seed, self.dim)
                if seed in self.accepted or self._too_close(z):
                    self.skipped += 1
                    continue
                self.accepted.append(seed)
                self._latents.append(z)
            return self.accepted[n]

    def _too_close(self, z: np.ndarray) -> bool:
        if self.min_distance <= 0 or not self._latents:
            return False
        shown = np.asarray(self._latents)
        return bool(np.min(np.linalg.norm(shown - z, axis=1)) < self.min_distance)


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
        """Open (or start) the registry of ``show_path``; a corrupt file is kept aside, not lost."""
        path = show_path.with_name(show_path.stem + ".registry.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("show_seed") != show_seed or data.get("dim") != dim:
                raise ValueError("made for another seed or model")
            sequence = PortraitSequence(show_seed, dim, min_distance, [int(s) for s in data["accepted"]],
                                        int(data.get("skipped", 0)))
            return cls(path, sequence, int(data["shown"]), float(data["show_time"]))
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            aside = path.with_name(path.name + ".bad")
            os.replace(path, aside)
            log.error("%s: unreadable registry (%s); kept as %s, starting a new one", path, exc, aside.name)
        return cls(path, PortraitSequence(show_seed, dim, min_distance))

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
        self.sequence.seed(max(shown - 1, 0))
        atomic_write_json(self.path, {
            "version": 1, "show_seed": self.sequence.show_seed, "dim": self.sequence.dim,
            "shown": shown, "show_time": show_time,
            "skipped": self.sequence.skipped,
            "accepted": self.sequence.accepted,
        })
