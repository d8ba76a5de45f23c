"""File work the frame thread must never wait on: hot reload of the show file, the registry.

Once a second, on a thread of its own: if the show file changed, it is read, checked and
built here, and handed to the loop as a :class:`~engine.commands.ReloadShow` command; a
broken edit of any kind is one line (``file:line``) and the last good show plays on. The
never-repeat registry, marked by the frame thread as portraits go by, is saved every ten
seconds when it changed, and once more at the end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from engine.commands import Command, ReloadShow
from engine.frames import FrameSource
from engine.ratelimit import RateLimitedLog
from engine.memory import trim
from engine.show import Show
from engine.show.registry import Registry
from engine.show.reload import ShowWatcher

log = logging.getLogger(__name__)
POLL_EVERY = 1.0
SAVE_EVERY = 10.0
TRIM_EVERY = 600.0  # seconds between giving freed heap pages back (engine.memory): months without ageing


class Housekeeping:
    def __init__(self, watcher: ShowWatcher | None, build: Callable[[Show], FrameSource],
                 post: Callable[[Command], None], registry: Registry | None) -> None:
        self.watcher = watcher
        self.registry = registry
        self._build = build
        self._post = post
        self._stop = threading.Event()
        self._reload_now = threading.Event()
        self._problems = RateLimitedLog(log, interval=600.0)
        self._saved_at = 0.0
        self._trimmed_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)

    def start(self) -> None:
        if self.watcher is not None or self.registry is not None:
            self._thread.start()

    def reload(self) -> None:
        """Read the show file again now, changed or not (SIGHUP). Safe from any thread."""
        self._reload_now.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            forced = self._reload_now.wait(POLL_EVERY)
            self._reload_now.clear()
            if self._stop.is_set():
                return
            self._reload(force=forced)
            if self.registry is not None and time.monotonic() - self._saved_at >= SAVE_EVERY:
                self._save()
            if time.monotonic() - self._trimmed_at >= TRIM_EVERY:
                self._trimmed_at = time.monotonic()
                trim()

    def _reload(self, force: bool = False) -> None:
        if self.watcher is None:
            return
        try:
            show = self.watcher.poll(force=force)
            if show is not None:
                self._post(ReloadShow(self._build(show)))
        except Exception as exc:  # noqa: BLE001 - a broken edit never stops the show
            log.error("%s: reload failed (%s: %s); still playing the last good version", self.watcher.path,
                      type(exc).__name__, exc)

    def _save(self) -> None:
        self._saved_at = time.monotonic()
        assert self.registry is not None
        try:
            self.registry.save_if_changed()
        except OSError as exc:  # a full disk would say so every ten seconds for months: once in ten minutes
            self._problems.warning("save", f"{self.registry.path}: cannot save the portrait registry "
                                           f"({exc.strerror or exc})")

    def close(self) -> None:
        self._stop.set()
        self._reload_now.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10.0)
        if self.registry is not None:
            self._save()
