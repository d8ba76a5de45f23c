"""systemd's notify protocol, written directly: one datagram per message to ``$NOTIFY_SOCKET``.

``READY=1`` once the first frame is shown; ``WATCHDOG=1`` every half ``$WATCHDOG_USEC``, but
only while the show is healthy (frames coming, keyframes fresh), so a hung GPU or a stuck
generator is restarted by systemd; ``STATUS=`` a line for ``systemctl status``; ``STOPPING=1``
when the show ends. Without ``$NOTIFY_SOCKET`` (not run by systemd) it does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from engine.outputs.base import Output, ShownFrame
from engine.outputs.health import HealthOutput
from engine.status import Status

log = logging.getLogger(__name__)
STATUS_EVERY = 5.0


class SystemdNotify(Output):
    def __init__(self, health: HealthOutput, environ: dict[str, str] | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if environ is None else environ
        self.health = health
        self._now = now
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._socket: socket.socket | None = None
        if self._address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        watchdog_pid = env.get("WATCHDOG_PID")
        usec = env.get("WATCHDOG_USEC", "")
        mine = watchdog_pid is None or watchdog_pid == str(os.getpid())
        self.ping_every = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 and mine else None
        self._ready = False
        self._pinged = self._status_at = -1e9
        self._was_state = "healthy"

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, message: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError as exc:  # systemd gone (shutdown): nothing to tell
            log.debug("notify: %s", exc)

    def shown(self, frame: ShownFrame, status: Callable[[], Status]) -> None:
        if self._socket is None:
            return
        now = self._now()
        if not self._ready:
            self._ready = True
            self.send("READY=1")
        health = self.health.current()
        # a degraded show (too slow) is alive: a restart would not make it faster
        if self.ping_every is not None and now - self._pinged >= self.ping_every and health.state != "unhealthy":
            self._pinged = now
            self.send("WATCHDOG=1")
        # A change of health is told at once: `systemctl status` should say why pings stopped
        # before systemd acts on it, not up to STATUS_EVERY later.
        if now - self._status_at >= STATUS_EVERY or health.state != self._was_state:
            self._status_at = now
            self._was_state = health.state
            s = status()
            self.send(f"STATUS={s.cue}, {s.fps:.0f} fps, missed {s.missed}" +
                      (f", recording {s.recording}" if s.recording else "") +
                      ("" if health.healthy else f"; {health.state.upper()}: {health.reason}"))

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def close(self) -> None:
        if self._socket is not None:
            self.stopping()
            self._socket.close()
            self._socket = None


def _address(value: str) -> str | bytes | None:
    """The socket address in ``$NOTIFY_SOCKET``: a path, or ``@name`` in the abstract namespace."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value if value.startswith("/") else None
