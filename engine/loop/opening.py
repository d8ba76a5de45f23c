"""The gallery opens and closes: the schedule (or staff) decides, the loop fades and idles.

Once a second the loop asks :meth:`OpeningHours.update` with the wall clock's time. At closing
time the picture fades to black over the schedule's ``fade``; then the loop idles: no
generation, no upscaling, a black frame a second so the window stays black and the watchdog
hears the show is alive (a few percent of one core). An anchored show's clock goes on with the
wall clock, so it opens where the clock says; any other show takes up where it closed. Staff
can open early or close for an event (``/vernissage/schedule/override open|closed|auto``).
The ``on_open``/``on_close`` commands (display power: DPMS, HDMI CEC, PJLink) run on a thread
of their own, in order, with a timeout, their failures one line each
(:mod:`engine.outputs.power_hooks`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.outputs.power_hooks import PowerHooks
from engine.show.schedule import Schedule

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
        self.hooks = PowerHooks()

    def decide(self, now: dt.datetime) -> Opening:
        """Open or closed at ``now`` (aware), with the override applied, and the next change."""
        if self.schedule is None:
            return Opening(self.override != "closed", None, None)
        scheduled = self.schedule.is_open(now)
        is_open = scheduled if self.override == "auto" else self.override == "open"
        change = self.schedule.next_change(now) if self.override == "auto" else None
        return Opening(is_open, change if not is_open else None, change if is_open else None)

    def run_hook(self, opened: bool) -> None:
        """Ask for ``on_open``/``on_close`` (never run on the frame thread; in order, the newest wins)."""
        argv = (self.schedule.on_open if opened else self.schedule.on_close) if self.schedule else ()
        if argv:
            self.hooks.request(argv)
