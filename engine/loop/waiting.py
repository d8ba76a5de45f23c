"""Never a desktop: while the show cannot start, a black screen (or a still image), and retries.

A model missing or corrupt after an update, a show file broken at boot: ``play`` does not exit
to a desktop in front of visitors. It keeps its window, black or showing ``--fallback``,
reports unhealthy (/health 503 with the reason, systemd's STATUS line) while telling systemd it
is alive, says what is wrong once per problem, and tries again every few seconds: the show
starts as soon as what it needs is there.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from engine.commands import Quit
from engine.frames import Look
from engine.inputs.keys import key_commands
from engine.outputs.base import ShownFrame
from engine.outputs.display import Display
from engine.outputs.health import Health, HealthOutput
from engine.outputs.health_server import HealthServer
from engine.outputs.notify import SystemdNotify
from engine.render.renderer import Renderer
from engine.render.settings import RenderSettings
from engine.status import Status

log = logging.getLogger(__name__)
RETRY_EVERY = 5.0
T = TypeVar("T")


class Waiting:
    """The screen, health and watchdog while the show cannot start."""

    def __init__(self, display: Display, health: tuple[str, int] | None, fallback: Path | None) -> None:
        self.display = display
        self.problem = "starting"
        self._quit = threading.Event()
        self._started = time.monotonic()
        self._said: set[str] = set()
        self._health = HealthOutput(self._facts)
        self._notify = SystemdNotify(self._health)
        self._address = health
        self._server: HealthServer | None = None
        self.serve_health()
        self._still = _still(fallback)
        self._renderer: Renderer | None = None
        if self._still is not None:
            self._renderer = Renderer(display.ctx, RenderSettings(*display.size), self._still.shape[1::-1])
            self._renderer.upload(self._still)

    def serve_health(self) -> None:
        """Answer /health (503 with the problem) on the show's address."""
        if self._address is not None and self._server is None:
            try:
                self._server = HealthServer(*self._address, self._current)
            except OSError as exc:
                log.error("cannot serve health on %s:%d (%s)", *self._address, exc)
                return
            self._server.start()

    def release_health(self) -> None:
        """Free the address for the show, which serves its own health once it starts."""
        if self._server is not None:
            self._server.close()
            self._server = None

    def _facts(self) -> dict:
        return {"frames": 0, "missed_late": 0, "missed_stand_in": 0, "model": "", "device": "", "keyframe_rate": 0.0,
                "osc_received": 0, "recording_bytes": 0, "frame_buckets": (), "frame_seconds": 0.0}

    def _current(self) -> Health:
        health = self._health.current()
        return dataclasses.replace(health, healthy=False, reason=f"cannot start the show: {self.problem}",
                                   uptime=round(time.monotonic() - self._started, 1))

    def fail(self, problem: str) -> None:
        """What is wrong now: said once per problem, not every retry."""
        self.problem = problem
        if problem not in self._said:
            self._said.add(problem)
            log.error("%s (showing %s; trying again every %g s)", problem,
                      "the fallback image" if self._still is not None else "black", RETRY_EVERY)

    def wait(self, seconds: float) -> bool:
        """Keep the screen and the watchdog for ``seconds``; False once quitting was asked."""
        until = time.monotonic() + seconds
        status = Status("waiting", 0.0, 0, 1.0, 0.0, 0, 0.0, 0, "", 0)
        while time.monotonic() < until and not self._quit.is_set():
            if any(isinstance(c, Quit) for c in key_commands(self.display.keys())):
                self._quit.set()
                break
            target = self.display.target
            if self._renderer is not None:
                self._renderer.render(Look(), 0, target, self.display.flipped)
            else:
                target.use()
                target.clear(0.0, 0.0, 0.0, 1.0)
            self.display.present()
            shown = ShownFrame(0, 0.0, 0.0, 0, False, time.perf_counter())
            self._health.shown(shown, lambda: status)
            self._notify.shown(shown, lambda: dataclasses.replace(status, cue=f"waiting: {self.problem}"[:200]))
            time.sleep(0.25)
        return not self._quit.is_set()

    def quit(self) -> None:
        self._quit.set()

    def close(self) -> None:
        self.release_health()
        if self._renderer is not None:
            self._renderer.close()
        self._notify.close()


def _still(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as exc:
        log.error("%s: cannot show the fallback image (%s); showing black", path, exc)
        return None


def when_ready(make: Callable[[], T], problems: tuple[type[BaseException], ...], display: Display,
               health: tuple[str, int] | None, fallback: Path | None) -> T | None:
    """``make()`` as soon as it works; meanwhile :class:`Waiting`. None when told to quit first."""
    try:
        return make()
    except problems as exc:
        return keep_trying(make, problems, str(exc), display, health, fallback)


def keep_trying(make: Callable[[], T], problems: tuple[type[BaseException], ...], first: str, display: Display,
                health: tuple[str, int] | None, fallback: Path | None, seconds: float | None = None) -> T | None:
    """After ``make()`` failed with ``first``: wait on ``display``, unhealthy, and try again every
    :data:`RETRY_EVERY` seconds until it works (None when told to quit first, or when ``seconds``
    of wall time have passed: ``--duration`` counts the waiting too)."""
    waiting = Waiting(display, health, fallback)
    stop = _on_stop(waiting)
    until = None if seconds is None else time.monotonic() + seconds
    try:
        waiting.fail(first)
        while waiting.wait(RETRY_EVERY if until is None else max(0.0, min(RETRY_EVERY, until - time.monotonic()))):
            if until is not None and time.monotonic() >= until:
                return None
            waiting.release_health()
            try:
                made = make()
            except problems as exc:
                waiting.serve_health()
                waiting.fail(str(exc))
                continue
            log.info("the show can start now")
            return made
        return None
    finally:
        stop()
        waiting.close()


def _on_stop(waiting: Waiting) -> Callable[[], None]:
    """SIGTERM and Ctrl-C end the waiting (the main thread only); returns what undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGINT)}
    for number in before:
        signal.signal(number, lambda signum, frame: waiting.quit())

    def restore() -> None:
        for number, handler in before.items():
            signal.signal(number, handler)

    return restore
