"""Opening hours: when the installation is open, from the local time in the show's timezone.

A ``[schedule]`` table says on which days and hours the gallery is open and which dates it is
closed all day. Whether it is open is a pure function of a moment: the loop asks once a
second with the wall clock's time, converted to local time in the show's timezone, so a
change to or from daylight saving time, or the clock jumping (NTP), is simply the next answer;
nothing sleeps until a moment computed in advance. Hours are local wall-clock times: "10:00"
is ten in the morning in winter and in summer; a period may run past midnight
("22:00-02:00"); "24:00" ends a day. A closed date is closed from its midnight to the next,
whatever the hours say.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 16  # how far next_change looks (a closed fortnight still says when it opens)
_HOURS = re.compile(r"^\s*(?P<days>[A-Za-z, -]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


class ScheduleError(ValueError):
    """A schedule line that cannot be read; ``str()`` says what and what is expected."""


@dataclass(frozen=True)
class Period:
    """Open on ``days`` (0 = Monday) from ``start`` to ``end`` minutes after midnight; an end at
    or before the start runs into the next day."""

    days: frozenset[int]
    start: int
    end: int

    def spans(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The local (naive) interval this period opens starting on ``day``, if it does."""
        if day.weekday() not in self.days:
            return None
        begin = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=self.start)
        end = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=self.end)
        return begin, end if end > begin else end + dt.timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    periods: tuple[Period, ...]
    closed: frozenset[dt.date] = frozenset()
    timezone: str | None = None  # IANA name; None: the machine's local time (with its own DST rules)
    fade: float = 5.0
    on_open: tuple[str, ...] = ()
    on_close: tuple[str, ...] = ()

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` (aware) as a naive local wall-clock time in the schedule's timezone."""
        if self.timezone is None:
            return dt.datetime.fromtimestamp(moment.timestamp())
        return moment.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)

    def open_at(self, local: dt.datetime) -> bool:
        """Whether the gallery is open at the local wall-clock time ``local``."""
        if local.date() in self.closed:
            return False
        for period in self.periods:
            for day in (local.date(), local.date() - dt.timedelta(days=1)):
                span = period.spans(day)
                if span is not None and span[0] <= local < span[1]:
                    return True
        return False

    def is_open(self, moment: dt.datetime) -> bool:
        return self.open_at(self.local(moment))

    def next_change(self, moment: dt.datetime) -> dt.datetime | None:
        """When the gallery next opens or closes after ``moment`` (aware), within two weeks.

        Compared as instants, not wall-clock times: in the autumn's repeated hour a wall time
        names two instants (the later one can be the next change), and in the spring's gap a
        wall time names none (the change is when the clocks jump past it).
        """
        now = self.local(moment)
        state = self.open_at(now)
        candidates: set[dt.datetime] = set()
        for offset in range(-1, LOOKAHEAD_DAYS):
            day = now.date() + dt.timedelta(days=offset)
            candidates.add(dt.datetime.combine(day, dt.time()))
            for period in self.periods:
                span = period.spans(day)
                if span is not None:
                    candidates.update(span)
        after = moment.timestamp()
        instants = sorted({t for c in candidates for t in self._instants(c) if t > after})
        for instant in instants:
            if self.open_at(self._local_at(instant)) != state:
                return self._aware_at(instant)
        return None

    def _local_at(self, timestamp: float) -> dt.datetime:
        return self.local(dt.datetime.fromtimestamp(timestamp, dt.timezone.utc))

    def _aware_at(self, timestamp: float) -> dt.datetime:
        moment = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
        return moment.astimezone() if self.timezone is None else moment.astimezone(ZoneInfo(self.timezone))

    def _instants(self, local: dt.datetime) -> list[float]:
        """The instants (timestamps) at which the wall clock reads ``local``: two in a repeated
        hour; in a gap, none, so the instant the clock jumps past it."""
        tz = None if self.timezone is None else ZoneInfo(self.timezone)
        stamps = {(local.replace(fold=fold) if tz is None else local.replace(tzinfo=tz, fold=fold)).timestamp()
                  for fold in (0, 1)}
        valid = [t for t in stamps if self._local_at(t) == local]
        if valid:
            return valid
        low, high = min(stamps), max(stamps)  # the gap lies between the two readings
        for _ in range(40):  # to well under a second
            middle = (low + high) / 2
            low, high = (middle, high) if self._local_at(middle) < local else (low, middle)
        return [float(math.ceil(high))]


def _minutes(text: str, what: str, end: bool) -> int:
    hours, minutes = (int(v) for v in text.split(":"))
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (end and hours == 24 and minutes == 0))):
        raise ScheduleError(f"{text!r} is not a time of day for {what} (HH:MM, 00:00 to 24:00)")
    return hours * 60 + minutes


def _days(text: str) -> frozenset[int]:
    spec = text.strip().lower()
    if spec in ("daily", "every day"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in spec.split(","):
        bounds = [b.strip()[:3] for b in part.split("-")]
        if len(bounds) > 2 or not all(b in DAYS for b in bounds):
            raise ScheduleError(f"{part.strip()!r} is not a day or a range of days (Mon..Sun, e.g. Tue-Sun)")
        first, last = DAYS.index(bounds[0]), DAYS.index(bounds[-1])
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def parse_hours(line: str) -> Period:
    """'Tue-Sun 10:00-18:00', 'Thu 10:00-21:00', 'Fri,Sat 22:00-02:00', 'daily 10:00-18:00'."""
    match = _HOURS.match(line)
    if match is None:
        raise ScheduleError(f"{line!r} is not DAYS HH:MM-HH:MM, e.g. \"Tue-Sun 10:00-18:00\"")
    start = _minutes(match["start"], "an opening", end=False)
    end = _minutes(match["end"], "a closing", end=True)
    if start == end:
        raise ScheduleError(f"{line!r} opens and closes at the same time")
    return Period(_days(match["days"]), start, end)


def parse_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {name!r} (an IANA name like Europe/Berlin)") from None
    return name
