"""One log line per kind of problem per interval: a flood of bad packets must not flood the log."""

from __future__ import annotations

import logging
import time


class RateLimitedLog:
    """Logs the first message of each key, then at most one per ``interval`` with a count of the rest."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0, now=time.monotonic) -> None:
        self._logger = logger
        self._interval = interval
        self._now = now
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, message: str) -> None:
        now = self._now()
        if now - self._last.get(key, -1e18) < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        more = self._suppressed.pop(key, 0)
        self._last[key] = now
        if len(self._last) > 1024:  # keys come from senders' addresses: bound the memory
            self._last = {key: now}
            self._suppressed.clear()
        self._logger.warning("%s%s", message, f" (and {more} more like it)" if more else "")
