"""Dates under the State Council holiday schedule (the ``chinesecalendar`` package), and
periods counted by 民法典 第二百零一条 to 第二百零三条."""

from __future__ import annotations

import datetime as dt
import functools

from policy_dsl.language.errors import CalendarError, Diagnostic, Where
from policy_dsl.language.messages import t


@functools.cache
def covered_years() -> tuple[int, int]:
    """The first and last year the installed holiday schedule covers."""
    return _schedule()[2]


def _refuse(day: dt.date) -> CalendarError:
    first, last = covered_years()
    return CalendarError(Diagnostic(
        "E-CALENDAR-RANGE",
        t("periods.outside_schedule", day=day.isoformat(), first=first, last=last),
        Where(),
        t("periods.outside_schedule.hint"),
    ))


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    """True on a working day of the official schedule (adjusted working weekends count)."""
    first, last = covered_years()
    if not first <= day.year <= last:
        raise _refuse(day)
    holidays, workdays, _ = _schedule()
    # chinese_calendar.is_workday, without its range check (done above) that scans the whole table each time
    return day in workdays or (day.weekday() <= 4 and day not in holidays)


@functools.cache
def _schedule() -> tuple[frozenset, frozenset, tuple[int, int]]:
    """The days off, the adjusted working days and the years of the installed schedule. Read from
    the ``chinesecalendar`` package — or, as it was read last time, from the user's cache
    (policy_dsl.language.cache), keyed by the size and time of the package's files: importing it costs
    more than an answer."""
    import os
    import sys

    def read():
        import chinese_calendar

        years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
        return frozenset(chinese_calendar.holidays), frozenset(chinese_calendar.workdays), (years[0], years[-1])

    stamp = []
    for entry in sys.path:  # where the import would find it: the first folder that has it
        folder = os.path.join(entry or ".", "chinese_calendar")
        try:
            for name in ("__init__.py", "constants.py", "utils.py"):
                st = os.stat(os.path.join(folder, name))
                stamp.append(f"{os.path.abspath(folder)}/{name}\0{st.st_size}\0{st.st_mtime_ns}")
            break
        except OSError:
            stamp = []
    if not stamp:
        return read()
    from policy_dsl.language import cache

    return cache.cached("schedule", stamp, read, tuple)


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
    if month == 2:  # the month's last day (calendar.monthrange, without importing calendar and locale)
        last = 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    else:
        last = 30 if month in (4, 6, 9, 11) else 31
    return dt.date(year, month, min(day.day, last))


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
            return t("periods.extension_unknown", day=self.nominal.isoformat())
        if ext != self.nominal:
            return t("periods.extended", day=ext.isoformat(), nominal=self.nominal.isoformat())
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
