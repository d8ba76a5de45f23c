"""Commands into the frame loop: everything that asks for a change, applied as a frame starts.

Each frame starts by taking what is due: OSC messages (timed bundles at the frame whose time
they name), keys, a replayed log's commands for this tick, and what the loop's own threads
produced (a show file loaded or reloaded, a new keyframe rate). Each goes through one
dispatch table by its type: show commands to the show state, side effects to the outputs,
quitting and fullscreen to the loop. Applied commands are written to the performance log
and timed from arrival to the first frame that shows them. A command that fails, whatever
the reason, is one line and a count: the show goes on.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.commands import AudioFrame, Command, LoadShow, SetKeyframeRate, Slew, WallSync
from engine.inputs.addresses import ControlError
from engine.inputs.base import CommandSource
from engine.inputs.keys import key_commands
from engine.inputs.osc_server import OscServer
from engine.inputs.performance_log import LoggedCommand, PerformanceLog, RecordedPerformance
from engine.loop.show_loader import ShowLoader
from engine.loop.show_state import Applied, CommandRefused, ShowState
from engine.outputs.followers import FollowerRelay
from engine.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)
LATENCIES_KEPT = 100_000
SYNC_EVERY = 1.0  # seconds between a leader's /vernissage/wall/sync to its followers
Route = Callable[[Command], None]


@dataclass
class _Waiting:
    shows_from: int
    received: float
    address: str


class CommandIntake:
    """Feeds the show state and the outputs from OSC, keys, a replayed log and the loop's threads.

    Args:
        routes: command type -> handler, for what the show state does not apply (outputs, the loop).
        keys: the display's pressed keys since the last call.
        replay: a recorded performance to apply at its ticks (render --replay).
        record: where applied commands are logged (play --performance-log).
        loader: reads /vernissage/show/load files (off the frame thread live, at once in replays).
        sources: asked in turn at each frame: the music (play --audio, render --audio; a farm's
            chunk: what the client heard), a MIDI controller (play --midi), an Ableton Link
            session (play --link).
        relay: a video wall's followers (play --followers): what the controllers ask is sent on
            time-tagged ``relay.margin`` ahead and applied here at that same moment.
    """

    def __init__(self, state: ShowState, routes: dict[type, Route] | None = None, server: OscServer | None = None,
                 keys: Callable[[], list[str]] = list, replay: RecordedPerformance | None = None,
                 record: PerformanceLog | None = None, loader: ShowLoader | None = None,
                 sources: tuple[CommandSource, ...] = (), relay: FollowerRelay | None = None) -> None:
        self.state = state
        self.relay = relay
        self._held: list[tuple[float, Command, float | None]] = []  # (due, command, received): sent on, applied then
        self._next_sync = 0.0
        self.sources = sources
        self.server = server
        self.record = record
        self.loader = loader
        self.rejected = 0
        self.applied = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)  # address -> seconds, arrival to shown
        self._routes = dict(routes or {})
        self._keys = keys
        self._posted: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._replay: dict[int, list[LoggedCommand]] = defaultdict(list)  # in the order they were applied
        if replay is not None:
            for logged in replay.commands:
                self._replay[logged.tick].append(logged)
        self._waiting: list[_Waiting] = []
        self._problems = RateLimitedLog(log)

    def add_routes(self, routes: dict[type, Route]) -> None:
        """More of the dispatch table: outputs and the loop register what they handle."""
        self._routes.update(routes)

    def post(self, command: Command) -> None:
        """From any thread: apply ``command`` at the start of the next frame."""
        self._posted.put(command)

    def take(self, tick: int, shown_at: float) -> None:
        """Apply everything due by the frame ``tick``, which will be shown at ``shown_at`` (perf_counter)."""
        relayed: list[Command] = []
        if self.server is not None:
            for item in self.server.queue.take(shown_at):
                self._take_live(tick, item.command, relayed, item.received, due=item.due is not None)
        for command in key_commands(self._keys()):
            self._take_live(tick, command, relayed)
        while True:
            try:
                command = self._posted.get_nowait()
            except queue.Empty:
                break
            self._apply(tick, command)
        for source in self.sources:
            for command in source.commands(tick):
                self._take_live(tick, command, relayed)
        if self.relay is not None:
            self.relay.send(relayed, time.time() + self.relay.margin)
            self._apply_held(tick, shown_at)
            self._sync_followers(tick, shown_at)
        for logged in self._replay.pop(tick, ()):
            self._apply(tick, logged.command, lead=logged.lead)
        self.state.step(tick)

    def _take_live(self, tick: int, command: Command, relayed: list[Command], received: float | None = None,
                   due: bool = False) -> None:
        """A command from the controllers: applied now, or, on a video wall's leader, when it is
        part of the show, sent on to the followers (``relayed``) and held to be applied here at
        the same moment."""
        if self.relay is None or not command.REPLAYED or command.address is None:
            self._apply(tick, command, received=received, due=due)
            return
        relayed.append(command)
        self._held.append((time.perf_counter() + self.relay.margin, command, received))

    def _sync_followers(self, tick: int, shown_at: float) -> None:
        """Once a second: the show time of a frame a margin ahead, tagged with the wall time it
        will be shown at, so followers that drifted, started late or restarted meet it."""
        assert self.relay is not None
        now = time.perf_counter()
        if now < self._next_sync:
            return
        self._next_sync = now + SYNC_EVERY
        fps = float(self.state.clock.fps)
        ahead = max(1, math.ceil(self.relay.margin * fps))
        tag = time.time() + (shown_at - now) + ahead / fps
        self.relay.send([WallSync(self.state.clock.time_at(tick + ahead))], tag)

    def _apply_held(self, tick: int, shown_at: float) -> None:
        due = [held for held in self._held if held[0] <= shown_at]
        if due:
            self._held = [held for held in self._held if held[0] > shown_at]
            for _, command, received in due:
                self._apply(tick, command, received=received, due=True)

    def _apply(self, tick: int, command: Command, received: float | None = None, due: bool = False,
               lead: int | None = None) -> None:
        try:
            if isinstance(command, LoadShow):
                if self.loader is None:
                    raise CommandRefused("/vernissage/show/load: no shows folder (play a show, or pass --shows)")
                if lead is None:  # live: read on the loader's thread, applied when ready
                    self.loader.request(command.file)
                    return
                command = self.loader.load_now(command.file)
            route = self._routes.get(type(command))
            if route is not None:  # a side effect (recording, snapshot, the loop's own): shown at once
                route(command)  # logged if REPLAYED (a schedule override: its fades are logged too)
                applied = Applied(tick, command if command.REPLAYED else None)
            else:
                applied = self.state.apply(tick, command, lead)
        except (CommandRefused, ControlError) as exc:
            self._refused(f"refused {type(command).__name__}", f"ignored {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - no command may end the show
            self._refused(f"failed {type(command).__name__}",
                          f"{command.address or type(command).__name__} failed ({type(exc).__name__}: {exc})")
            return
        self.applied += 1
        self._log(tick, command, applied, due)
        if received is not None and command.address:
            self._waiting.append(_Waiting(applied.shows_from, received, command.address))

    def _refused(self, key: str, message: str) -> None:
        self.rejected += 1
        self._problems.warning(key, message)

    def _log(self, tick: int, command: Command, applied: Applied, due: bool) -> None:
        if self.record is None or applied.logged is None:
            return
        if isinstance(applied.logged, SetKeyframeRate):
            self.record.keyframe_rate(tick, applied.logged.rate, applied.lead)
        elif isinstance(applied.logged, Slew):
            self.record.slew(tick, applied.logged, applied.lead)
        elif isinstance(applied.logged, AudioFrame):
            self.record.audio(tick, applied.logged, applied.lead)
        elif applied.logged.REPLAYED and applied.logged.address:
            self.record.command(tick, applied.logged, applied.lead, tick if due else None)

    def frame_shown(self, tick: int, now: float, skipped: int, stand_in: bool) -> None:
        """After frame ``tick`` was shown at ``now``: latencies, and the log's notes on frames
        a replay will not match."""
        if self._waiting:
            still = []
            for waiting in self._waiting:
                if tick >= waiting.shows_from:
                    if len(self.latencies[waiting.address]) < LATENCIES_KEPT:
                        self.latencies[waiting.address].append(now - waiting.received)
                else:
                    still.append(waiting)
            self._waiting = still
        if self.record is not None and (skipped or stand_in):
            self.record.frames(tick, skipped, stand_in)

    def latency_summary(self, fps: float) -> dict[str, dict]:
        """OSC arrival -> first frame showing the effect, per address: count, p50/p99 in ms and frames."""
        summary = {}
        for address, seconds in sorted(self.latencies.items()):
            p50, p99 = np.percentile(np.array(seconds) * 1000.0, [50, 99])
            summary[address] = {"count": len(seconds), "p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2),
                                "p50_frames": round(float(p50) * fps / 1000, 2),
                                "p99_frames": round(float(p99) * fps / 1000, 2)}
        return {"osc_latency": summary} if summary else {}

    def counters(self) -> dict[str, int]:
        rejected = self.rejected + (self.loader.failed if self.loader is not None else 0)
        if self.server is None:
            return {"applied": self.applied, "rejected": rejected}
        c = self.server.counters
        return {"received": c.received, "applied": self.applied, "rejected": c.rejected + rejected,
                "malformed": c.malformed, "refused": c.refused, "flooded": c.flooded}

    @property
    def errors(self) -> int:
        """Messages and commands ignored, for /vernissage/status."""
        return self.counters()["rejected"]

    def close(self, ticks: int) -> None:
        if self.relay is not None:
            self.relay.close()
        if self.loader is not None:
            self.loader.close()
        if self.record is not None:
            self.record.close(ticks)
        if self.server is not None:
            self.server.close()
