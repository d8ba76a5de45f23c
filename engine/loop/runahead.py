"""Generation ahead of display: the keyframes the next frames need, made on a worker thread.

Keyframe (epoch, grid, j) is that epoch's source at the grid's ``origin + j / rate`` (see
engine.loop.clock). The frame thread says which tick it is drawing (and which keyframes are
worth making before anyone asks: the next face, the next cue); the worker reads the show's
published :class:`~engine.loop.show_state.Plan`, works out what the next frames need, makes
what is missing in batches and caches it. Live, the frame thread never waits: a keyframe
that is not ready is stood in for. Offline and in replays (``exact``) it waits for each.

The cache is the only structure both threads touch, always under one condition variable;
the worker is told about new work through the same condition, never by polling.

The worker is the generator's one owner while the show runs: other threads that need the model
(a reloaded show's steering vectors, made from example faces) hand it an errand and wait for the
answer, so the network never runs on two threads at once.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import numpy as np

from engine.generators.base import Generator
from engine.generators.speed import seconds_per_frame
from engine.loop.clock import Key, keys_for
from engine.loop.generation import FaceImages, MappedW, generate_images
from engine.loop.show_state import Plan

log = logging.getLogger(__name__)
T = TypeVar("T")
URGENT_KEYFRAMES = 4  # the first keyframes after a change: made in a small batch of their own
SPECULATIVE_PATIENCE = 1.0  # seconds what will be asked next may wait behind a generator that is behind
SMALL_BATCH = URGENT_KEYFRAMES // 2
BATCH_LIMIT = 32
SAMPLES = 5  # timings kept per batch size
MAX_PUSH_KEYS = 64  # keyframes made beyond the look-ahead for the music's pushes, at most
MAX_LOOKAHEAD_TICKS = 2400  # 40 s at 60 fps: the sparsest keyframes still get a next one


class BatchSizer:
    """The bulk batch size, chosen by measurement rather than fixed.

    It starts small and doubles while a frame gets at least 10 % cheaper per frame, then
    settles on the cheapest size seen: large for a small model (a batch of 8 makes a 64-px
    DCGAN frame 2.5 times cheaper on a CPU), 1 for a heavy one, where a batch only adds
    latency and memory.
    """

    def __init__(self, limit: int = BATCH_LIMIT, size: int | None = None) -> None:
        """``size`` fixes the batch size instead of measuring for one."""
        self.size = size or 1
        self.limit = limit
        self.settled = size is not None
        self._cost: dict[int, deque[float]] = {}

    def cost(self, size: int | None = None) -> float | None:
        """Median seconds per frame at ``size`` (the current size by default)."""
        samples = self._cost.get(self.size if size is None else size)
        return statistics.median(samples) if samples else None

    def record(self, size: int, seconds: float) -> None:
        self._cost.setdefault(size, deque(maxlen=SAMPLES)).append(seconds / size)
        if self.settled or size != self.size or len(self._cost[size]) < 2:
            return
        smaller = self.cost(size // 2) if size > 1 else None
        here = self.cost(size)
        if (smaller is not None and here is not None and here > 0.9 * smaller) or size * 2 > self.limit:
            self.size = min(self._cost, key=lambda s: self.cost(s) or math.inf)
            self.settled = True
            log.debug("generation batch size %d (%.1f ms a frame)", self.size, 1000 * (self.cost() or 0.0))
        else:
            self.size *= 2


class RunAhead:
    """Keeps the keyframes of the next ``lookahead`` frames made and cached.

    Args:
        plan: the show's latest published plan (read by the worker, never changed by it).
        exact: offline and replays: work ahead whenever anything is missing, never stand in.
        now: the clock the speculative keyframes' patience is measured on (tests pass theirs).
    """

    def __init__(self, generator: Generator, plan: Callable[[], Plan], lookahead: int, exact: bool,
                 sizer: BatchSizer | None = None, end: int | None = None,
                 now: Callable[[], float] = time.perf_counter) -> None:
        self.generator = generator
        self._now = now
        self._ahead_since: float | None = None  # when what will be asked next began to wait
        self.exact = exact
        self.end = end  # no frame is drawn at or after this tick: nothing is made for it
        # Exact runs make one face at a time: on a CPU with several threads, a face's pixels can
        # differ by a level with the size of the batch it was made in, and an exact run's batches
        # follow its timing; alone, a face comes out as it does live (measured best for heavy
        # models anyway; light ones are bound by the encoder offline).
        self.sizer = sizer or (BatchSizer(size=1) if exact else BatchSizer())
        self.error: str | None = None
        self._plan = plan
        self._lookahead = lookahead
        self._wanted: tuple[int, tuple[Key, ...]] = (0, ())  # (tick drawn, speculative keys): replaced whole
        self._cache: dict[Key, np.ndarray] = {}
        self._errands: deque[tuple[Callable[[Generator], object], Future]] = deque()
        self._faces = FaceImages()  # the worker's own
        self._mapped = MappedW()  # and the W of the z that paths in W pass through
        self._condition = threading.Condition()
        self._small_last = False
        self._stop = False
        self._resting = False  # closed (opening hours): the worker sleeps until woken, not every 50 ms
        self._batch_seconds: deque[float] = deque(maxlen=SAMPLES)  # bulk batches (the worker's own)
        self._small_seconds: deque[float] = deque(maxlen=SAMPLES)
        self._keyframe_seconds: deque[float] = deque(maxlen=4 * SAMPLES)  # per keyframe, faces known or not
        self._face_seconds: deque[float] = deque(maxlen=4 * SAMPLES)  # per face through the network
        # what the worker measured, published as plain floats for the frame thread to read
        self._latency = 0.05  # seconds: a bulk batch that may be running, then a small batch
        self._capacity = math.inf  # keyframes a second while working
        self._network_rate = 0.0  # faces a second through the network (0: none measured yet)
        self._thread = threading.Thread(target=self._run, name="generate-ahead", daemon=True)

    # --- the frame thread's side ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def calibrate(self) -> float:
        """Seconds per frame of a small batch, measured before the show starts (warm-up included)."""
        spf = seconds_per_frame(self.generator, SMALL_BATCH, SMALL_BATCH)
        self._small_seconds.append(spf * SMALL_BATCH)
        self._face_seconds.append(spf)
        self._publish()
        return spf

    def rest(self, resting: bool) -> None:
        """Outside opening hours nothing is made: the worker sleeps until told to work again."""
        with self._condition:
            self._resting = resting
            self._condition.notify_all()

    def advance(self, tick: int, speculative: list[Key] | tuple[Key, ...] = ()) -> None:
        """The frame thread is drawing ``tick``; ``speculative`` keyframes are worth making when idle."""
        with self._condition:
            self._wanted = (tick, tuple(speculative))
            self._condition.notify_all()

    def errand(self, task: Callable[[Generator], T], timeout: float = 600.0) -> T:
        """``task(generator)`` run by the worker between batches, its answer (or its exception)
        handed back; run here when the worker is not running (before the show, after it)."""
        done: Future = Future()
        with self._condition:
            queued = self._thread.is_alive() and not self._stop and threading.current_thread() is not self._thread
            if queued:
                self._errands.append((task, done))
                self._condition.notify_all()
        return done.result(timeout) if queued else task(self.generator)

    def _run_errands(self) -> None:
        while True:
            with self._condition:
                if not self._errands:
                    return
                task, done = self._errands.popleft()
            try:
                done.set_result(task(self.generator))
            except Exception as exc:  # noqa: BLE001 - the asker gets it, the worker goes on
                done.set_exception(exc)

    def get(self, key: Key) -> np.ndarray | None:
        with self._condition:
            return self._cache.get(key)

    def wait_for(self, key: Key, timeout: float = 600.0) -> np.ndarray | None:
        """Block until ``key`` is made (exact renders: every frame as planned, however slow)."""
        with self._condition:
            self._condition.wait_for(lambda: key in self._cache or self.error is not None or self._stop, timeout)
            return self._cache.get(key)

    def for_keys(self, keys: list[Key]) -> int:
        """Lead for a change that needs ``keys`` at once: 0 when they are all made (or when the
        run is exact: its frames wait for their keyframes anyway)."""
        if self.exact:
            return 0
        with self._condition:
            ready = all(key in self._cache for key in keys)
        return 0 if ready else self.measured()

    def measured(self) -> int:
        """Frames from asking for a new keyframe to having it: a bulk batch that may be running,
        then a small batch, with a fifth more for the unexpected (none when the run is exact)."""
        if self.exact:
            return 0
        return max(1, math.ceil(1.2 * self._latency * float(self._plan().fps)))

    def capacity(self) -> float:
        """Keyframes a second the worker makes while it works (recent batches, known faces included:
        a held portrait costs nothing, so this is what the keyframe rate can ask, not a speed)."""
        return self._capacity

    def network_rate(self) -> float:
        """Faces a second through the network, from batches that ran it (0 before any did): the
        generator's speed, as the log and ``--stats-json`` report it."""
        return self._network_rate

    def wait_ready(self, tick: int, timeout: float) -> bool:
        """Block until the look-ahead from ``tick`` is as full as the worker keeps it (start-up).

        Starting the display with only the first few keyframes made the worker's catch-up burst
        compete with the first second of display: every missed frame of a 30 s run fell there.
        """
        deadline = time.perf_counter() + timeout
        self.advance(tick)
        with self._condition:
            while self.error is None:
                needed = self._needed(tick)
                missing = [k for k in needed if k not in self._cache]
                if not missing or (not self._next_batch(needed, missing) and needed[0] in self._cache):
                    return True
                left = deadline - time.perf_counter()
                if left <= 0:
                    return False
                self._condition.wait(min(left, 0.1))
        return False

    def close(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify_all()
        if self._thread.is_alive():  # a generator stuck in a kernel cannot be waited for: it is a daemon
            self._thread.join(timeout=2.0)

    # --- the worker ----------------------------------------------------------------------------------

    @property
    def lookahead(self) -> int:
        """Frames ahead kept made: live, what was asked; exact, two batches to overlap with drawing."""
        return max(8, 2 * self.sizer.size) if self.exact else self._lookahead

    def _needed(self, tick: int) -> list[Key]:
        plan = self._plan()
        count = self.lookahead
        if not self.exact:  # at least two keyframes ahead, and what the generator takes to make one
            latest = plan.segments[-1]
            interval = float(plan.fps / latest.keyframe_rate) / max(latest.speed, 1.0 / 16.0)
            count = max(count, min(MAX_LOOKAHEAD_TICKS, math.ceil(2 * interval) + self.measured()))
        if self.end is not None:
            count = max(1, min(count, self.end - tick))
        needed = keys_for(plan.segments, plan.fps, tick, count)
        last = plan.segments[-1]
        if not self.exact and plan.ahead > last.speed > 0.0:  # and, after them, where a push of the music reaches
            end = max(tick, last.tick) + count
            epoch, grid, stride = last.epoch, last.grid, last.stride
            first = grid.bracket(last.time_at(end, plan.fps), stride)[0] + stride
            reach = grid.bracket(last.time + plan.ahead * float((end - last.tick) / plan.fps), stride)[0] + stride
            needed += [(epoch, grid, j) for j in range(first, min(reach, first + MAX_PUSH_KEYS * stride) + 1, stride)]
        return needed

    def _run(self) -> None:
        while True:
            with self._condition:
                if self._stop:
                    break
                if not self._errands:
                    self._condition.wait(None if self._resting else 0.05)
                if self._stop:
                    break
            self._run_errands()
            if self._resting:
                continue
            try:
                while self._fill_once():
                    self._run_errands()
            except Exception as exc:  # noqa: BLE001 - a failing generator must not take the show down
                if self.error is None:
                    log.error("generation failed: %s (showing the last good frames)", exc)
                with self._condition:
                    self.error = str(exc) or type(exc).__name__
                    self._condition.notify_all()
                time.sleep(1.0)
        self._run_errands()  # asked before the stop: answered, not left waiting

    def _next_batch(self, needed: list[Key], missing: list[Key]) -> list[Key]:
        """The keyframes to make next; none while the look-ahead is full enough.

        A seek or a new latent needs its first keyframes within a few frames: a small batch
        makes those first. Never two small batches running: a generator that is behind would
        chase the display two keyframes at a time, at a rate below the display's, forever.
        """
        if not missing:
            return []
        size = self.sizer.size
        if self.exact:  # the frame thread waits for the first; otherwise, whole batches only
            return missing[:size] if missing[0] == needed[0] or len(missing) >= size else []
        urgent = needed.index(missing[0]) < URGENT_KEYFRAMES
        if urgent and not self._small_last and size > SMALL_BATCH:
            return missing[:SMALL_BATCH]
        if not urgent and len(missing) < min(size, len(needed) // 2):
            # Topping up one keyframe per displayed frame costs 2.5x the CPU per keyframe of a
            # whole batch and keeps the generator running beside every frame; wait for a batch.
            return []
        return missing[:size]

    def _fill_once(self) -> bool:
        """Make one batch of missing (else speculative) keyframes; False when there is nothing to do."""
        with self._condition:
            if self._stop:
                return False
            tick, speculative = self._wanted
            needed = self._needed(tick)
            missing = [k for k in needed if k not in self._cache]
            ahead = [k for k in speculative if k not in self._cache][:URGENT_KEYFRAMES]
            urgent = bool(missing) and needed.index(missing[0]) < URGENT_KEYFRAMES
            now = self._now()
            if not ahead:
                self._ahead_since = None
            elif self._ahead_since is None:
                self._ahead_since = now
            # while the generator is behind, what will be asked next still gets a turn once it has
            # waited SPECULATIVE_PATIENCE: a press of N then shows within a second or so, instead
            # of queueing behind keyframes that are late anyway
            overdue = bool(ahead) and self._ahead_since is not None and now - self._ahead_since >= SPECULATIVE_PATIENCE
            # what will be asked next comes right after what is needed now: the rest of the
            # look-ahead has half a second of slack, a press of N has none
            batch = ahead if ahead and (not urgent or overdue) else (self._next_batch(needed, missing) or ahead)
            if batch is ahead:
                self._ahead_since = None
            keep = set(needed) | set(speculative)
            for key in [key for key in self._cache if key not in keep]:  # shown already, or moot
                del self._cache[key]
        plan = self._plan()
        made = [(key, spec) for key in batch if (spec := plan.spec(key)) is not None]
        if not made:
            return False
        began = time.perf_counter()
        images, generated = generate_images(self.generator, [spec for _, spec in made], self._faces, self._mapped)
        seconds = time.perf_counter() - began
        self._account(len(made), generated, seconds)
        with self._condition:
            self._cache.update(zip((key for key, _ in made), images))
            self._condition.notify_all()
        return True

    def _account(self, count: int, generated: int, seconds: float) -> None:
        """``count`` keyframes made in ``seconds``, ``generated`` faces of them through the network
        (the rest were known: a held portrait, a title card)."""
        self._small_last = 0 < count <= SMALL_BATCH < self.sizer.size
        if count <= SMALL_BATCH and count < self.sizer.size:
            self._small_seconds.append(seconds)
        else:
            self._batch_seconds.append(seconds)
        if generated == self.sizer.size:  # only a full network batch says what a batch of that size costs
            self.sizer.record(generated, seconds)
        self._keyframe_seconds.append(seconds / count)
        if generated == count:  # every keyframe went through the network: seconds per face
            self._face_seconds.append(seconds / count)
        self._publish()

    def _publish(self) -> None:
        """Measurements as floats: one assignment each, so the frame thread never sees a half-made one."""
        bulk = statistics.median(self._batch_seconds) if self._batch_seconds else 0.0
        small = statistics.median(self._small_seconds) if self._small_seconds else 0.05
        self._latency = bulk + small
        cost = statistics.median(self._keyframe_seconds) if self._keyframe_seconds else (
            small / SMALL_BATCH if self._small_seconds else None)
        self._capacity = 1.0 / cost if cost else math.inf
        faces = statistics.median(self._face_seconds) if self._face_seconds else 0.0
        self._network_rate = 1.0 / faces if faces > 0 else 0.0
