"""The gallery opens and closes: the schedule (or staff) decides, the loop fades and idles.

Once a second the loop asks :meth:`OpeningHours.update` with the wall clock's time. At closing
time the picture fades to black over the schedule's ``fade``; then the loop idles: no
generation, no upscaling, a black frame a second so the window stays black and the watchdog
hears the show is alive (a few percent of one core). An anchored show's clock goes on with the
wall clock, so it opens where the clock says; any other show takes up where it closed. Staff
can open early or close for an event (``/vernissage/schedule/override open|closed|auto``).
The ``on_open``/``on_close`` commands (display power: DPMS, HDMI CEC, PJLink) run on a thread
of their own with a timeout, their failures one line each.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import threading
from dataclasses import dataclass

from engine.show.schedule import Schedule

log = logging.getLogger(__name__)
HOOK_TIMEOUT = 30.0
OVERRIDES = ("open", "closed", "auto")


@dataclass(frozen=True)
class Opening:
    """What the loop should do now: be open or closed, and when the next change is due."""

    open: bool
    next_open: dt.datetime | None
    next_close: dt.datetime | None


class OpeningHours:
    def __init__(self, schedule: Schedule | None) -> None:
        self.schedule = schedule
        self.override = "auto"
        self._hooks: threading.Thread | None = None

    def decide(self, now: dt.datetime) -> Opening:
        """Open or closed at ``now`` (aware), with the override applied, and the next change."""
        if self.schedule is None:
            return Opening(self.override != "closed", None, None)
        scheduled = self.schedule.is_open(now)
        is_open = scheduled if self.override == "auto" else self.override == "open"
        change = self.schedule.next_change(now) if self.override == "auto" else None
        return Opening(is_open, change if not is_open else None, change if is_open else None)

    def run_hook(self, opened: bool) -> None:
        """Run ``on_open``/``on_close`` on a thread (never the frame thread)."""
        argv = (self.schedule.on_open if opened else self.schedule.on_close) if self.schedule else ()
        if not argv:
            return
        self._hooks = threading.Thread(target=_run, args=(argv,), name="opening-hook", daemon=True)
        self._hooks.start()


def _run(argv: tuple[str, ...]) -> None:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=HOOK_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("%s failed (%s)", argv[0], getattr(exc, "strerror", None) or exc)
        return
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        log.error("%s exited with %d (%s)", " ".join(argv), done.returncode, last[0][:200])
