"""Opening hours on a controlled clock: boundaries, midnight, closed dates, DST, a clock that jumps."""

from __future__ import annotations

import datetime as dt
import textwrap
from zoneinfo import ZoneInfo

import pytest

from engine.show import ShowError, load_show
from engine.show.schedule import Schedule, parse_hours

BERLIN = ZoneInfo("Europe/Berlin")


def gallery(*hours: str, closed=(), timezone="Europe/Berlin") -> Schedule:
    return Schedule(tuple(parse_hours(h) for h in hours), frozenset(closed), timezone)


def at(*fields) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=BERLIN)


def test_open_and_closed_at_the_boundaries():
    s = gallery("Tue-Sun 10:00-18:00", "Thu 10:00-21:00")
    assert not s.is_open(at(2026, 12, 1, 9, 59, 59))  # a Tuesday
    assert s.is_open(at(2026, 12, 1, 10, 0)) and s.is_open(at(2026, 12, 1, 17, 59, 59))
    assert not s.is_open(at(2026, 12, 1, 18, 0))
    assert s.is_open(at(2026, 12, 3, 20, 30)) and not s.is_open(at(2026, 12, 3, 21, 0))  # late Thursday
    assert not s.is_open(at(2026, 11, 30, 12, 0))  # shut on Mondays
    assert s.next_change(at(2026, 11, 30, 12, 0)) == at(2026, 12, 1, 10, 0)
    assert s.next_change(at(2026, 12, 3, 12, 0)) == at(2026, 12, 3, 21, 0)


def test_hours_over_midnight_and_until_24():
    s = gallery("Fri,Sat 22:00-02:00", "Sun 18:00-24:00")
    assert s.is_open(at(2026, 12, 4, 23, 0)) and s.is_open(at(2026, 12, 5, 1, 59))  # Friday night into Saturday
    assert not s.is_open(at(2026, 12, 5, 2, 0)) and s.is_open(at(2026, 12, 6, 1, 0))  # Saturday night
    assert s.is_open(at(2026, 12, 6, 23, 59, 59)) and not s.is_open(at(2026, 12, 7, 0, 0))
    assert gallery("Sat-Mon 10:00-12:00").is_open(at(2026, 12, 7, 11, 0))  # a range across the week's end


def test_closed_dates_win_whatever_the_hours():
    s = gallery("daily 10:00-18:00", "Wed 22:00-02:00", closed={dt.date(2026, 12, 24), dt.date(2026, 12, 25)})
    assert not s.is_open(at(2026, 12, 24, 12, 0)) and not s.is_open(at(2026, 12, 25, 12, 0))
    assert s.is_open(at(2026, 12, 23, 23, 0)) and not s.is_open(at(2026, 12, 24, 0, 30))  # cut at midnight
    assert s.is_open(at(2026, 12, 26, 10, 0))
    assert s.next_change(at(2026, 12, 23, 19, 0)) == at(2026, 12, 23, 22, 0)
    assert s.next_change(at(2026, 12, 24, 12, 0)) == at(2026, 12, 26, 10, 0)


def test_across_a_daylight_saving_change():
    s = gallery("daily 01:00-03:30")
    # Berlin, 29 March 2026: 02:00 becomes 03:00 (an hour is missing)
    assert s.is_open(at(2026, 3, 29, 1, 30)) and s.is_open(at(2026, 3, 29, 3, 15))
    assert not s.is_open(at(2026, 3, 29, 3, 30))
    utc = dt.timezone.utc
    # 25 October 2026: 03:00 becomes 02:00 again; 10:00 local is 09:00 UTC in winter, 08:00 in summer
    museum = gallery("daily 10:00-18:00")
    assert museum.is_open(dt.datetime(2026, 10, 24, 8, 0, tzinfo=utc))  # summer time
    assert not museum.is_open(dt.datetime(2026, 10, 25, 8, 30, tzinfo=utc))  # winter: 09:30 local
    assert museum.is_open(dt.datetime(2026, 10, 25, 9, 0, tzinfo=utc))
    assert museum.next_change(dt.datetime(2026, 10, 25, 6, 0, tzinfo=utc)) == at(2026, 10, 25, 10, 0)


def test_next_open_and_close_are_real_future_instants_around_daylight_saving():
    """In the autumn's repeated hour next_close lay in the past (the first pass of 02:45 named
    while the clock read the second 02:15); in the spring's gap next_open named 02:30, a time
    that does not exist. Both are now the instants the state changes."""
    utc = dt.timezone.utc
    night = gallery("daily 20:00-02:45")
    # 25 October 2026: the clock reads 02:15 twice; the second time is 01:15 UTC
    second_pass = dt.datetime(2026, 10, 25, 1, 15, tzinfo=utc)
    assert night.is_open(second_pass)
    close = night.next_change(second_pass)
    assert close > second_pass and close.astimezone(utc) == dt.datetime(2026, 10, 25, 1, 45, tzinfo=utc)
    early = gallery("daily 02:30-20:00")
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 never happens
    before = dt.datetime(2026, 3, 29, 0, 50, tzinfo=utc)  # 01:50 CET
    opens = early.next_change(before)
    assert opens.astimezone(utc) == dt.datetime(2026, 3, 29, 1, 0, tzinfo=utc)  # 03:00 CEST, when it jumps
    assert opens.astimezone(BERLIN).replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 0)  # a time that exists
    assert early.is_open(opens) and not early.is_open(opens.astimezone(utc) - dt.timedelta(seconds=1))


def test_a_clock_that_jumps_is_just_the_next_answer():
    s = gallery("daily 10:00-18:00")
    seen = []
    for moment in (at(2026, 12, 1, 17, 59), at(2026, 12, 1, 18, 1), at(2026, 12, 1, 12, 0), at(2026, 12, 2, 9, 0)):
        seen.append(s.is_open(moment))  # the wall clock set back by NTP, then forward a night
    assert seen == [True, False, True, False]


def test_the_machines_own_timezone_by_default(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    import time

    time.tzset()
    try:
        s = gallery("daily 10:00-18:00", timezone=None)
        assert s.is_open(dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.timezone.utc))  # 11:00 in New York
        assert not s.is_open(dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.timezone.utc))  # 09:00
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("body,line,message", [
    ('hours = ["Tue-Sun 25:99-18:00"]', 2, "'25:99' is not a time of day"),
    ('hours = ["Someday 10:00-18:00"]', 2, "'someday' is not a day"),
    ('hours = ["Tue-Sun 10:00 to 18:00"]', 2, "is not DAYS HH:MM-HH:MM"),
    ('timezone = "Mars/Olympus"\nhours = ["daily 10:00-18:00"]', 2, "unknown timezone 'Mars/Olympus'"),
    ('hours = ["daily 10:00-18:00"]\nclosed = ["24.12.2026"]', 3, "'closed' lists dates"),
    ('hours = ["daily 10:00-18:00"]\non_open = "xset dpms force on"', 3, "'on_open' must be a list"),
    ('hours = ["daily 10:00-18:00"]\nfade = -1', 3, "'fade' must be zero or more"),
    ('hours = []', 2, "'hours' must list opening hours"),
    ('hourz = ["daily 10:00-18:00"]', 2, "unknown key 'hourz' in [schedule] (did you mean 'hours'?)"),
])
def test_bad_schedules_name_their_line(tmp_path, body, line, message):
    path = tmp_path / "show.toml"
    path.write_text(f"[schedule]\n{body}\n" + textwrap.dedent('''
        [[cue]]
        kind = "hold"
        duration = 5
        '''))
    with pytest.raises(ShowError) as exc:
        load_show(path)
    assert str(exc.value).startswith(f"{path}:{line}:") and message in str(exc.value), str(exc.value)


def test_check_says_whether_the_show_is_open_now(tmp_path, capsys):
    from engine.cli import main

    path = tmp_path / "show.toml"
    today = dt.date.today().isoformat()
    path.write_text(f'[schedule]\nhours = ["daily 00:00-24:00"]\nclosed = ["{today}"]\n[[cue]]\nkind = "wander"\n')
    assert main(["check", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert lines[1].startswith(f"  closed now, opens {tomorrow}T00:00")  # the next local midnight
