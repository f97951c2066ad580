"""The shared cron helper: worst-case gaps over a year, zones and DST, descriptors, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from guidecheck.parsers import cron

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.mark.parametrize(
    "expr, tz, gap",
    [
        ("0 */6 * * *", None, 6 * H),  # snapshots every 6 h: within 12 h
        ("0 0 * * *", None, 24 * H),  # daily: a 24 h gap (fails a 12 h rule)
        (
            "0 2 1,15 * *",
            None,
            17 * D,
        ),  # 15th -> 1st of next month: 17 days (Feb 15 -> Mar 1 is 14, Jan 15 -> Feb 1 17)
        ("0 */12 * * *", None, 12 * H),
        ("0 */12 * * *", "Europe/Madrid", 13 * H),  # the autumn change-over day has a 13 h interval
        ("0 0,12 * * *", "America/New_York", 13 * H),
        ("30 2 * * *", "America/New_York", 47 * H),  # 02:30 does not exist on the spring day: skipped (robfig/cron)
        ("CRON_TZ=America/New_York 30 2 * * *", None, 47 * H),
        ("TZ=UTC 0 */4 * * *", None, 4 * H),
        ("* * * * *", None, dt.timedelta(minutes=1)),
        ("*/5 1-3 * * *", None, 21 * H + dt.timedelta(minutes=5)),
        ("0 0 * * 1-5", None, 3 * D),  # weekdays only: Friday -> Monday
        ("0 0 1 * MON", None, 7 * D),  # day-of-month OR day-of-week, as cron does
        ("0 0 ? * *", None, 24 * H),  # '?' as in robfig/cron
        ("@daily", None, 24 * H),
        ("@hourly", None, H),
        ("@weekly", None, 7 * D),
        ("@every 6h", None, 6 * H),
        ("@every 1h30m", None, 90 * dt.timedelta(minutes=1)),
        ("0 0 29 2 *", None, 4 * 365 * D + D),  # leap days only
    ],
)
def test_worst_gap(expr, tz, gap):
    assert cron.worst_gap(expr, tz) == gap


@pytest.mark.parametrize(
    "expr, message",
    [
        ("0 0 31 2 *", "Bad day-of-month"),
        ("61 * * * *", "Bad minute"),
        ("* * *", "5 fields"),
        ("@reboot", "not a periodic schedule"),
        ("@fortnightly", "unknown descriptor"),
        ("@every soon", "invalid duration"),
        ("@every 0s", "positive"),
        ("TZ=Mars/Olympus 0 * * * *", "unknown time zone"),
        ("", "empty schedule"),
    ],
)
def test_errors(expr, message):
    with pytest.raises(cron.CronError, match=message):
        cron.worst_gap(expr)


def test_conflicting_zones():
    with pytest.raises(cron.CronError, match="timeZone"):
        cron.parse("CRON_TZ=Europe/Madrid 0 * * * *", "UTC")


def test_not_a_string():
    with pytest.raises(cron.CronError, match="not a string"):
        cron.parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "td, text",
    [
        (12 * H, "12 h"),
        (17 * D, "17 d"),
        (D + 6 * H, "1 d 6 h"),
        (dt.timedelta(minutes=45), "45 min"),
        (dt.timedelta(seconds=30), "30 s"),
        (H + dt.timedelta(minutes=30), "1 h 30 min"),
    ],
)
def test_format_duration(td, text):
    assert cron.format_duration(td) == text


def test_every_minute_is_fast():
    import time

    cron._cron_worst_gap.cache_clear()
    t0 = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
    assert cron.worst_gap("* * * * *", "Europe/Madrid") == dt.timedelta(minutes=1)
    assert time.process_time() - t0 < 1.0
