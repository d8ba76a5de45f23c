"""Hot reload: a saved edit takes effect at the next frame; a broken edit never stops the show.

The loop's housekeeping thread calls :meth:`ShowWatcher.poll` once a second. It costs one
``stat``; only when the file's modification time or size changed is it read and validated.
A broken edit is reported once as ``file:line: ...`` and the last good show keeps playing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from engine.show.errors import ShowError
from engine.show.schema import Show, load_show

log = logging.getLogger(__name__)


class ShowWatcher:
    """Watches one show file and hands out the newest *valid* version of it."""

    def __init__(self, path: Path, loader: Callable[[Path], Show] = load_show) -> None:
        self.path = path
        self.loader = loader
        self.show = loader(path)  # the first load must succeed: there is no last good show yet
        self.error: str | None = None
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def poll(self, force: bool = False) -> Show | None:
        """The new show if the file changed (or ``force``) and is valid; None if unchanged or broken."""
        stamp = self._stat()
        if stamp == self._stamp and not force:
            return None
        self._stamp = stamp
        try:
            show = self.loader(self.path)
        except ShowError as exc:
            self.error = str(exc)
            log.error("%s (still playing the last good version)", exc)
            return None
        self.error = None
        self.show = show
        log.info("%s: reloaded (%d cues)", self.path, len(show.cues))
        return show
