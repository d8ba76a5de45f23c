"""/vernissage/show/load: show files read, checked and built off the frame thread.

Names resolve inside the shows folder and may never leave it. Reading a show means parsing
TOML and perhaps latent files: live, that happens on a thread of its own, one file at a
time, and a flood of requests coalesces into the latest one, so a controller sending loads
in a loop costs the show nothing. The built show is handed back to the loop as a
:class:`~engine.commands.ShowLoaded` command, applied (and logged) at the next frame.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine.commands import Command, ShowLoaded
from engine.loop.show_state import CommandRefused
from engine.ratelimit import RateLimitedLog
from engine.show import ShowError

log = logging.getLogger(__name__)
MIN_INTERVAL = 0.25  # seconds between two loads: a flood of requests reads one file in four a second

Build = Callable[[Path, str], ShowLoaded]  # (the resolved file, the name asked for) -> the show, ready


class ShowLoader:
    def __init__(self, folder: Path, build: Build, post: Callable[[Command], None]) -> None:
        self.folder = folder
        self.failed = 0
        self._root = folder.resolve()
        self._build = build
        self._post = post
        self._pending: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._problems = RateLimitedLog(log)

    def resolve(self, name: str) -> Path:
        """The show file ``name`` names inside the folder; CommandRefused for anything else."""
        try:
            path = (self._root / name).resolve()
            inside = path.is_relative_to(self._root) and path.suffix.lower() == ".toml"
            exists = inside and path.is_file()
        except (OSError, RuntimeError, ValueError) as exc:  # a name too long, a loop of links, a NUL
            raise CommandRefused(f"/vernissage/show/load: {name[:80]!r} is not a usable file name "
                                 f"({getattr(exc, 'strerror', None) or exc})") from None
        if not inside:
            raise CommandRefused(f"/vernissage/show/load: {name[:80]!r} is not a .toml show inside {self.folder}")
        if not exists:
            raise CommandRefused(f"/vernissage/show/load: no show {name[:80]!r} in {self.folder}")
        return path

    def load_now(self, name: str) -> ShowLoaded:
        """Read and build at once (replays, which wait for everything)."""
        path = self.resolve(name)
        try:
            return self._build(path, name)
        except ShowError as exc:
            raise CommandRefused(f"/vernissage/show/load: {exc}") from None

    def request(self, name: str) -> None:
        """Read ``name`` on the loader's thread; the latest request wins."""
        self.resolve(name)  # refused at once, in one line, when the name is no good
        with self._lock:
            self._pending = name
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="show-loader", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                name, self._pending = self._pending, None
            if name is None or self._stop:
                continue
            try:
                self._post(self._build(self.resolve(name), name))
            except (ShowError, CommandRefused) as exc:
                self._fail(f"/vernissage/show/load: {exc}")
            except Exception as exc:  # noqa: BLE001 - a bad file must never end the loader
                self._fail(f"/vernissage/show/load {name[:80]!r} failed ({type(exc).__name__}: {exc})")
            time.sleep(MIN_INTERVAL)

    def _fail(self, message: str) -> None:
        self.failed += 1
        self._problems.warning("failed", message)

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
