"""Dates under the State Council holiday schedule (the ``chinesecalendar`` package), and
periods counted by 民法典 第二百零一条 to 第二百零三条."""

from __future__ import annotations

import datetime as dt
import functools

from policy_dsl.errors import CalendarError, Diagnostic, Where


@functools.cache
def covered_years() -> tuple[int, int]:
    """The first and last year the installed holiday schedule covers."""
    import chinese_calendar  # imported when a date needs the schedule, not before

    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return years[0], years[-1]


def _refuse(day: dt.date) -> CalendarError:
    first, last = covered_years()
    return CalendarError(Diagnostic(
        "E-CALENDAR-RANGE",
        f"{day.isoformat()} is outside the State Council holiday schedule this installation has ({first}–{last})",
        Where(),
        "upgrade the `chinesecalendar` package once the State Council publishes that year's schedule",
    ))


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    """True on a working day of the official schedule (adjusted working weekends count)."""
    first, last = covered_years()
    if not first <= day.year <= last:
        raise _refuse(day)
    holidays, workdays = _schedule()
    # chinese_calendar.is_workday, without its range check (done above) that scans the whole table each time
    return day in workdays or (day.weekday() <= 4 and day not in holidays)


@functools.cache
def _schedule() -> tuple[frozenset, frozenset]:
    """The days off and the adjusted working days of the installed schedule."""
    import chinese_calendar

    return frozenset(chinese_calendar.holidays), frozenset(chinese_calendar.workdays)


def next_workday(day: dt.date) -> dt.date:
    """``day`` itself if it is a working day, else the next working day."""
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


@functools.lru_cache(maxsize=65536)
def working_days_after(start: dt.date, n: int) -> dt.date:
    """The n-th working day after ``start`` (the start day itself is not counted)."""
    day = start
    counted = 0
    while counted < n:
        day += dt.timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def add_months(day: dt.date, n: int) -> dt.date:
    """The corresponding day n months later, or that month's last day if it has none (第二百零二条)."""
    index = day.year * 12 + day.month - 1 + n
    year, month = divmod(index, 12)
    month += 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class PeriodEnd:
    """The last day of a period counted from an event. ``nominal`` is the unextended last day;
    ``extended`` moves it to the next working day (第二百零三条) and needs the schedule, so
    comparisons consult it only when the nominal day does not already decide them."""

    __slots__ = ("nominal", "_extended")

    def __init__(self, nominal: dt.date):
        self.nominal = nominal
        self._extended = None

    @property
    def extended(self) -> dt.date:
        if self._extended is None:
            self._extended = next_workday(self.nominal)
        return self._extended

    def __str__(self) -> str:
        try:
            ext = self.extended
        except CalendarError:
            return f"{self.nominal.isoformat()} (holiday extension unknown)"
        if ext != self.nominal:
            return f"{ext.isoformat()} (nominal {self.nominal.isoformat()}, not a working day)"
        return ext.isoformat()


def period_end(start: dt.date, n: int, unit: str) -> PeriodEnd:
    """The last day of an n-month or n-day period from ``start``; the start day is not counted."""
    if unit.startswith("month"):
        return PeriodEnd(add_months(start, n))
    return PeriodEnd(start + dt.timedelta(days=n))


def compare_to_period(op: str, day: dt.date, end: PeriodEnd) -> bool:
    """``day op end`` for op in ``<= < > >= == !=``, consulting the schedule only when needed."""
    if op in ("<=", ">") and day <= end.nominal:
        return op == "<="
    if op in ("<", ">=") and day < end.nominal:
        return op == "<"
    other = end.extended
    return _OPS[op](day, other)


import operator as _op  # noqa: E402

_OPS = {"<": _op.lt, "<=": _op.le, ">": _op.gt, ">=": _op.ge, "==": _op.eq, "!=": _op.ne}
