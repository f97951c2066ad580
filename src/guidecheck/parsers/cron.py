"""Cron schedules: parse them as Kubernetes, Velero and friends do, and compute the worst-case gap.

Rules on backup cadence (8.a, 8.c) and key rotation (6.b) ask "how long can it be
between two runs of this schedule?".  The answer is the longest interval between
two consecutive firings over a full year, in real elapsed time, honouring the
schedule's time zone (DST included: ``0 */12 * * *`` in Europe/Madrid has an 11 h
and a 13 h gap on the two change-over days).

Firing times come from `cronsim <https://pypi.org/project/cronsim/>`_ (the
maintained cron iterator behind healthchecks.io: the day-of-month / day-of-week
OR rule, ``L``, ``#``, names).  Firings are computed as Kubernetes' CronJob
controller and Velero compute them (both use robfig/cron v3): in local time of
the zone, with no Debian-style DST fix-ups, so a firing inside the spring-forward
gap (``30 2 * * *`` in America/New_York on the change-over day) does not happen
and a firing in the repeated autumn hour happens twice.  cronsim behaves that
way for expressions with a seconds field, so the expression is always handed
to it with one.  This module only adds what cron syntax around it needs:

* the descriptors of robfig/cron (used by Kubernetes CronJobs and Velero):
  ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
  ``@hourly`` and ``@every <Go duration>`` (a fixed interval);
* a ``CRON_TZ=<zone>`` or ``TZ=<zone>`` prefix (robfig/cron; Kubernetes >= 1.27
  refuses it in a CronJob schedule in favour of ``spec.timeZone``, Velero
  accepts it), or a zone given by the caller (``spec.timeZone``);
* ``?`` as "any" in day fields (robfig/cron and Quartz style).

A schedule that never fires (``0 0 31 2 *``) or cannot be parsed raises
:class:`CronError` with a message fit for a finding.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo  # imported when a schedule names a zone (_zone)

__all__ = ["CronError", "Schedule", "parse", "worst_gap", "format_duration", "parse_go_duration"]

UTC = _dt.UTC
# The reference year: fixed so that results (and reports) are deterministic.
# 2026 has the usual EU/US DST change-overs and is not a leap year; the window
# is a full year plus the wrap-around to the first firing after it.
REFERENCE_START = _dt.datetime(2026, 1, 1)
YEAR = _dt.timedelta(days=365)

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class CronError(ValueError):
    """A schedule that cannot be parsed, or that never fires."""


def parse_go_duration(text: str) -> _dt.timedelta:
    """A Go ``time.Duration`` string (``6h``, ``1h30m``, ``90s``, ``720h``) as a timedelta."""
    s = text.strip()
    if not s:
        raise CronError("empty duration")
    pos, total = 0, 0.0
    for m in _GO_DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise CronError(f"invalid duration {text!r} (Go syntax such as 6h, 1h30m, 90s)")
    return _dt.timedelta(seconds=total)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: either a cron expression (with its zone) or a fixed ``@every`` interval."""

    text: str  # as written
    expr: str | None  # 5- (or 6-, with seconds) field cron expression, descriptors expanded
    tz: str | None  # IANA zone name; None = UTC (the Kubernetes controller's default)
    every: _dt.timedelta | None = None

    def worst_gap(self) -> _dt.timedelta:
        """Longest real-time interval between two consecutive firings over a year."""
        if self.every is not None:
            return self.every
        return _cron_worst_gap(self.expr, self.tz)

    def describe(self) -> str:
        zone = f" ({self.tz})" if self.tz else ""
        return f"{self.text}{zone}"


def parse(text: str, tz: str | None = None) -> Schedule:
    """Parse a schedule; ``tz`` is the zone given beside it (CronJob ``spec.timeZone``)."""
    if not isinstance(text, str):
        raise CronError(f"schedule is not a string ({type(text).__name__})")
    raw = " ".join(text.split())
    if not raw:
        raise CronError("empty schedule")
    zone = tz
    m = re.match(r"^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$", raw)
    if m:
        if tz and tz != m.group(1):
            raise CronError(f"schedule names time zone {m.group(1)} but timeZone is {tz}")
        zone, raw = m.group(1), m.group(2)
    if zone is not None:
        _zone(zone)  # validate early
    low = raw.lower()
    if low.startswith("@every"):
        rest = raw[len("@every") :].strip()
        every = parse_go_duration(rest)
        if every <= _dt.timedelta(0):
            raise CronError(f"@every needs a positive interval, got {rest!r}")
        return Schedule(text, None, zone, every)
    if low == "@reboot":
        raise CronError("@reboot runs only when the scheduler starts: it is not a periodic schedule")
    if low.startswith("@"):
        if low not in DESCRIPTORS:
            raise CronError(f"unknown descriptor {raw!r} (known: {', '.join(sorted(DESCRIPTORS))}, @every <duration>)")
        expr = DESCRIPTORS[low]
    else:
        fields = raw.split(" ")
        if len(fields) not in (5, 6):
            raise CronError(
                f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(fields)} in {text!r}"
            )
        # '?' means "no specific value" in robfig/cron and Quartz: the same as '*' in a day field
        if len(fields) == 5:
            fields = [f.replace("?", "*") if i in (2, 4) else f for i, f in enumerate(fields)]
        expr = " ".join(fields)
    _check_expr(expr)
    return Schedule(text, expr, zone, None)


def worst_gap(text: str, tz: str | None = None) -> _dt.timedelta:
    return parse(text, tz).worst_gap()


def format_duration(td: _dt.timedelta) -> str:
    """``12 h``, ``17 d``, ``1 d 6 h``, ``45 min``, ``30 s`` (as findings say it)."""
    secs = int(round(td.total_seconds()))
    if secs <= 0:
        return "0 s"
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    if seconds and not days and not hours:
        parts.append(f"{seconds} s")
    return " ".join(parts) or "0 s"


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {name!r}") from exc


def _check_expr(expr: str) -> None:
    from cronsim import CronSim, CronSimError

    try:
        it = CronSim(expr, REFERENCE_START.replace(tzinfo=UTC))
        next(it)
    except CronSimError as exc:
        raise CronError(f"invalid cron expression {expr!r}: {exc}") from None
    except StopIteration:
        raise CronError(f"cron expression {expr!r} never fires") from None


@functools.lru_cache(maxsize=512)
def _cron_worst_gap(expr: str, tz: str | None) -> _dt.timedelta:
    """Worst gap of a cron expression over the reference year, in real (UTC) time.

    Every-minute schedules fire half a million times a year; iterating them all
    is needlessly slow.  Within one firing hour the minutes (and seconds) are the
    same set M, so the schedule's gaps are the gaps inside M, and between hours:
    (next firing hour - this firing hour) - (max(M) - min(M)).  Iterating the
    schedule with its minute field set to min(M) gives those hours exactly
    (including DST shifts, which move whole hours).
    """
    from cronsim import CronSim, CronSimError

    zone = _zone(tz) if tz else UTC
    start = REFERENCE_START.replace(tzinfo=zone)
    try:
        probe = CronSim(expr, start)
    except CronSimError as exc:  # pragma: no cover - parse() validated it
        raise CronError(str(exc)) from None
    seconds = sorted(probe.seconds)
    minutes = sorted(probe.minutes)
    offsets = sorted(m * 60 + s for m in minutes for s in seconds)  # seconds into the hour
    spread = offsets[-1] - offsets[0]
    intra = max((b - a for a, b in zip(offsets, offsets[1:], strict=False)), default=0)
    parts = list(probe.parts)  # [seconds, minute, hour, dom, month, dow]
    parts[0] = str(seconds[0])
    parts[1] = str(minutes[0])
    hourly = " ".join(parts)
    it = CronSim(hourly, start - _dt.timedelta(seconds=1))
    end = start + YEAR
    worst = 0.0
    prev = None
    count = 0
    try:
        for fire in it:
            t = fire.astimezone(UTC).timestamp()
            if prev is not None:
                worst = max(worst, (t - prev) - spread)
            prev = t
            count += 1
            if fire >= end and count >= 2:
                break
    except CronSimError:
        pass
    if count < 2:
        raise CronError(f"cron expression {expr!r} never fires twice")
    return _dt.timedelta(seconds=max(worst, intra))
