"""Commands into the frame loop, and the show's state back out.

Each frame starts by taking what is due: OSC messages (timed bundles at the frame whose
time they name), keys, or a replayed log's commands for this tick. Each is applied through
:class:`~engine.live.performance.Performance`, written to the performance log, and timed
from arrival to the first frame that shows it. After the frame is shown, controllers that
asked get /vernissage/status, and everyone subscribed gets it on change and once a second.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from engine.control.addresses import Command, ControlError
from engine.control.performance_log import PerformanceLog
from engine.control.ratelimit import RateLimitedLog
from engine.control.server import Incoming, OscServer
from engine.live.performance import Performance

log = logging.getLogger(__name__)
FEEDBACK_EVERY = 1.0
LATENCIES_KEPT = 100_000


class LiveControl:
    """Feeds ``performance`` from an OSC server, keys, or a replayed performance."""

    def __init__(self, performance: Performance, server: OscServer | None = None,
                 replay: list[tuple[int, Command]] | None = None, record: PerformanceLog | None = None) -> None:
        self.performance = performance
        self.server = server
        self.record = record
        self.rejected = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)  # address -> seconds, arrival to first frame showing it
        self._replay: dict[int, list[Command]] = defaultdict(list)
        for tick, command in replay or ():
            self._replay[tick].append(command)
        self._keys: list[Command] = []
        self._waiting: list[tuple[int, float, str]] = []  # (tick it shows from, arrival, address)
        self._problems = RateLimitedLog(log)
        self._last_status: tuple | None = None
        self._status_sent = 0.0

    def key(self, command: Command) -> None:
        """A key press, as the command it stands for (applied and logged like OSC)."""
        self._keys.append(command)

    def begin_frame(self, tick: int, shown_at: float) -> None:
        """Apply everything due by the frame ``tick``, which will be shown at ``shown_at`` (perf_counter)."""
        incoming = self.server.queue.take(shown_at) if self.server is not None else []
        for item in incoming:
            due_tick = tick if item.due is not None else None
            self._apply(tick, item.command, item, due_tick)
        for command in self._keys:
            self._apply(tick, command)
        self._keys.clear()
        for command in self._replay.pop(tick, ()):
            self._apply(tick, command)
        self.performance.step(tick)

    def _apply(self, tick: int, command: Command, item: Incoming | None = None, due_tick: int | None = None) -> None:
        try:
            shows_from = self.performance.apply(tick, command)
        except ControlError as exc:
            self.rejected += 1
            self._problems.warning(f"apply {command.address}", f"OSC: ignored {exc}")
            return
        if self.server is not None and item is not None:
            self.server.counters.applied += 1
            self._waiting.append((shows_from, item.received, command.address))
        if self.record is not None and command.spec.replayed:
            self.record.command(tick, command, due_tick)

    def frame_shown(self, tick: int, now: float, skipped: int, stand_in: bool,
                    status: Callable[[], dict[str, object]]) -> None:
        """After frame ``tick`` was shown at ``now``: latencies, the log's frame notes, feedback."""
        if self._waiting:
            still = []
            for shows_from, received, address in self._waiting:
                if tick >= shows_from:
                    if len(self.latencies[address]) < LATENCIES_KEPT:
                        self.latencies[address].append(now - received)
                else:
                    still.append((shows_from, received, address))
            self._waiting = still
        if self.record is not None and (skipped or stand_in):
            self.record.frames(tick, skipped, stand_in)
        if self.server is None:
            return
        state = status()
        self.server.answer_requests(state)
        discrete = tuple(state[k] for k in ("cue", "paused", "recording", "locked"))
        if discrete != self._last_status or now - self._status_sent >= FEEDBACK_EVERY:
            self._last_status, self._status_sent = discrete, now
            self.server.broadcast(state)

    def latency_summary(self, fps: float) -> dict[str, dict]:
        """OSC arrival -> first frame showing the effect, per address: count, p50/p99 in ms and frames."""
        summary = {}
        for address, seconds in sorted(self.latencies.items()):
            p50, p99 = np.percentile(np.array(seconds) * 1000.0, [50, 99])
            summary[address] = {"count": len(seconds), "p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2),
                                "p50_frames": round(float(p50) * fps / 1000, 2),
                                "p99_frames": round(float(p99) * fps / 1000, 2)}
        return {"osc_latency": summary} if summary else {}

    def close(self, ticks: int) -> None:
        if self.record is not None:
            self.record.close(ticks)
        if self.server is not None:
            self.server.close()

    def counters(self) -> dict[str, int]:
        if self.server is None:
            return {"rejected": self.rejected}
        c = self.server.counters
        return {"received": c.received, "applied": c.applied, "rejected": c.rejected + self.rejected,
                "malformed": c.malformed, "refused": c.refused, "flooded": c.flooded}
