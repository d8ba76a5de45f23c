"""Wall clock -> show time, for installations that must be where the clock says after a restart.

With ``anchor`` set in [show], show time is the seconds elapsed since that moment, so a show
restarted at 15:42 after a power cut resumes exactly where it would have been. Callers pass
the wall time in; everything downstream is handed show time t.
"""

from __future__ import annotations

import datetime as dt

from engine.show.schema import Show, parse_anchor


def show_time_at(show: Show, wall: dt.datetime) -> float | None:
    """Seconds since the show's anchor at ``wall`` (local time if naive); None without anchor."""
    if show.settings.anchor is None:
        return None
    anchor = parse_anchor(show.settings.anchor)
    if (anchor.tzinfo is None) != (wall.tzinfo is None):
        anchor, wall = anchor.astimezone(), wall.astimezone()
    return (wall - anchor).total_seconds()
