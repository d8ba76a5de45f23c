"""Portraits that never existed, and never come back: portrait n's face in constant time.

Portrait n of a show picks its seed among ``CANDIDATES`` candidates, and candidate i of
portrait n is ``permute(n * CANDIDATES + i)``, where ``permute`` is a keyed permutation of
[0, 2^62) (a Feistel network keyed by the show's seed). A permutation never maps two numbers
to the same seed, and no two portraits share a candidate number, so no face can ever be
shown twice; and portrait n costs the same at n = 10^9 as at n = 0, with nothing to remember
between runs.

``min_distance`` keeps a portrait at least that far in latent space from every portrait in the
``WINDOW`` before it: portrait n takes its first candidate that is that far from *every*
candidate of those portraits (so whichever they took), else the candidate that is farthest.
No near-twins in sequence, in bounded time whatever n is.

Seeds listed in ``excluded`` (a curator's ``exclude`` in the show, and faces shown by an older
version of the engine) are never picked: the portrait takes its next candidate, and past its
own eight, spare candidates from the upper half of the permutation's domain that no portrait
owns. The window compares against every candidate of the portraits before, excluded or not,
so excluding one face changes that portrait alone: every other number keeps its face.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from collections.abc import Collection

import numpy as np

from engine.latent import latent_from_seed

CANDIDATES = 8
WINDOW = 16
HALF = 31  # bits in each half of a 62-bit Feistel block
MASK = (1 << HALF) - 1
ROUNDS = 6
CACHED = 4096  # portraits and latents remembered (what a live show revisits)
SPARE = 1 << 61  # numbers from here are spare candidates: portrait n's are SPARE + n * SPARES + j
SPARES = 1 << 10  # spare candidates per portrait (portraits n < 2^51 have them: 10^8 years at 10 s each)


def _round(key: bytes, number: int, half: int) -> int:
    digest = hashlib.blake2b(struct.pack(">BQ", number, half), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") & MASK


def permute(key: bytes, x: int) -> int:
    """A bijection of [0, 2^62) chosen by ``key``: distinct numbers give distinct results."""
    left, right = x >> HALF, x & MASK
    for number in range(ROUNDS):
        left, right = right, left ^ _round(key, number, right)
    return (left << HALF) | right


class _Cache(OrderedDict):
    """A small LRU, for values any thread may compute (a race only computes one twice)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or(self, key, make):
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = make()
        with self.lock:
            self[key] = value
            if len(self) > self.size:
                self.popitem(last=False)
        return value


class PortraitSequence:
    """Seeds of portraits 0, 1, 2, ... of one show; never the same face, never too close."""

    def __init__(self, show_seed: int, dim: int, min_distance: float = 0.0, excluded: Collection[int] = ()) -> None:
        self.show_seed, self.dim, self.min_distance = show_seed, dim, min_distance
        self.excluded = frozenset(excluded)
        if len(self.excluded) >= SPARES:
            raise ValueError(f"at most {SPARES - 1} seeds can be excluded, got {len(self.excluded)}")
        self._key = hashlib.blake2b(struct.pack(">Q", show_seed & (2**64 - 1)), digest_size=16,
                                    person=b"vernissage-ptrt").digest()
        self._seeds = _Cache(CACHED)
        self._latents = _Cache(CACHED)

    def excluding(self, seeds: Collection[int]) -> PortraitSequence:
        """This sequence with ``seeds`` kept out as well (itself when they already are)."""
        if self.excluded.issuperset(seeds):
            return self
        return PortraitSequence(self.show_seed, self.dim, self.min_distance, self.excluded | frozenset(seeds))

    def _own(self, n: int) -> list[int]:
        """Portrait ``n``'s own candidates, excluded or not (what the window compares against)."""
        if n < 0:
            raise ValueError(f"portrait numbers start at 0, got {n}")
        return [permute(self._key, n * CANDIDATES + i) for i in range(CANDIDATES)]

    def candidates(self, n: int) -> list[int]:
        """The seeds portrait ``n`` may take, in order of preference (excluded ones left out;
        when all eight are, the first spare that is not)."""
        kept = [s for s in self._own(n) if s not in self.excluded]
        if kept:
            return kept
        # Fewer than SPARES seeds are excluded, so one of the first SPARES spares is free.
        return [next(seed for j in range(SPARES)
                     if (seed := permute(self._key, SPARE + n * SPARES + j)) not in self.excluded)]

    def seed(self, n: int) -> int:
        """Seed of portrait ``n``: the same whenever and wherever it is asked for."""
        return self._seeds.get_or(n, lambda: self._choose(n))

    def _latent(self, seed: int) -> np.ndarray:
        return self._latents.get_or(seed, lambda: latent_from_seed(seed, self.dim))

    def _choose(self, n: int) -> int:
        options = self.candidates(n)
        if self.min_distance <= 0.0 or n == 0:
            return options[0]
        earlier = [s for m in range(max(0, n - WINDOW), n) for s in self._own(m)]
        shown = np.stack([self._latent(s) for s in earlier])
        nearest = [float(np.min(np.linalg.norm(shown - self._latent(s), axis=1))) for s in options]
        for seed, distance in zip(options, nearest):
            if distance >= self.min_distance:
                return seed
        return options[int(np.argmax(nearest))]
