"""``play --followers HOST:PORT[,...]``: the leader of a video wall sends what it is told on.

Every command the leader takes from its controllers (OSC, keys, MIDI, Link, its music) that is
part of the show goes to each follower as one OSC bundle time-tagged ``margin`` seconds ahead on
the wall clock, and the leader applies it itself at that same moment (engine.loop.intake).
Followers are plain players listening for OSC, which already apply a timed bundle at the first
frame at or after its tag, so seeks, portrait changes, fades and pauses land at the same wall
time on every screen; the shared clock (NTP, PTP) and the leader's ``/vernissage/wall/sync``
keep show time the same there. UDP: a follower that is down misses what was sent meanwhile and
meets the leader's clock again when it comes back; a name that does not resolve is one line,
and the show goes on without it.

The margin is a setting (100 ms by default), or measured (``--follower-margin auto``): the
relay asks each follower ``/vernissage/status`` a few times and takes the slowest answer, plus
the two frames a follower may need to draw the frame a command lands on.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from engine.commands import Command
from engine.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)
MARGIN = 0.1  # seconds ahead: the network and the followers' frame, with room to spare on a LAN
MARGIN_RANGE = (0.02, 5.0)  # a measured margin stays within these
PROBES = 5  # status queries to each follower when measuring
PROBE_SPACING = 0.3  # seconds between them (a player answers one address at most every 0.25 s)
PROBE_PATIENCE = 1.0  # seconds an answer is waited for


class FollowerRelay:
    """Sends commands to followers as time-tagged bundles; counts what went and what failed."""

    def __init__(self, followers: tuple[tuple[str, int], ...], margin: float = MARGIN) -> None:
        self.margin = margin
        self.sent = 0
        self.failed = 0
        self._targets: list[tuple[socket.socket, tuple]] = []
        self._problems = RateLimitedLog(log)
        for host, port in followers:
            try:
                family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            except (socket.gaierror, UnicodeError) as exc:
                log.error("--followers: %s:%d cannot be reached (%s); playing on without it", host, port, exc)
                continue
            self._targets.append((socket.socket(family, socket.SOCK_DGRAM), address))

    @property
    def followers(self) -> int:
        return len(self._targets)

    def measure_margin(self, fps: float) -> threading.Thread:
        """Measure the margin on a thread of its own (the show starts meanwhile, at the current
        margin): the slowest round trip to any follower, plus two of their frames, within
        :data:`MARGIN_RANGE`. Followers that never answer are one line; with none, it stays."""
        thread = threading.Thread(target=self._measure, args=(fps,), name="follower-margin", daemon=True)
        thread.start()
        return thread

    def _measure(self, fps: float) -> None:
        slowest: float | None = None
        for sock, address in list(self._targets):
            trips = self._round_trips(sock.family, address)
            if not trips:
                log.error("--follower-margin auto: %s:%d never answered /vernissage/status; is it playing with "
                          "--osc %d?", address[0], address[1], address[1])
                continue
            slowest = max(slowest or 0.0, max(trips))
        if slowest is None:
            log.warning("--follower-margin auto: no follower answered; commands go %.0f ms ahead", 1000 * self.margin)
            return
        low, high = MARGIN_RANGE
        self.margin = min(high, max(low, slowest + 2.0 / fps))
        log.info("followers answer within %.1f ms: commands go %.0f ms ahead", 1000 * slowest, 1000 * self.margin)

    @staticmethod
    def _round_trips(family: socket.AddressFamily, address: tuple) -> list[float]:
        """Seconds from each status query to its answer (queries not answered are left out); a
        socket of its own, so answers never reach the one bundles go out on."""
        trips = []
        query = OscMessageBuilder("/vernissage/status").build().dgram
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            for _ in range(PROBES):
                asked = time.perf_counter()
                try:
                    sock.settimeout(PROBE_PATIENCE)
                    sock.sendto(query, address)
                    sock.recvfrom(65536)
                    trips.append(time.perf_counter() - asked)
                except OSError:  # no answer in time, refused, no route
                    pass
                _drain(sock)  # the rest of the answer, and anything pushed since
                time.sleep(max(0.0, PROBE_SPACING - (time.perf_counter() - asked)))
        return trips

    def send(self, commands: list[Command], tag: float) -> None:
        """``commands`` as one bundle due at ``tag`` (seconds since the epoch) to every follower."""
        if not commands or not self._targets:
            return
        bundle = OscBundleBuilder(tag)
        for command in commands:
            assert command.address is not None
            message = OscMessageBuilder(command.address)
            for arg in command.args:  # doubles: a show time months into an anchored show needs them
                message.add_arg(arg, "d" if isinstance(arg, float) else None)
            bundle.add_content(message.build())
        data = bundle.build().dgram
        for sock, address in self._targets:
            try:
                sock.sendto(data, address)
                self.sent += 1
            except OSError as exc:  # a full buffer, no route: this bundle is lost, the show goes on
                self.failed += 1
                self._problems.warning(f"follower {address}", f"--followers: cannot send to {address[0]}:{address[1]} "
                                       f"({exc.strerror or exc})")

    def close(self) -> None:
        for sock, _ in self._targets:
            sock.close()
        self._targets.clear()


def _drain(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recvfrom(65536)
    except OSError:
        return
