"""Calendar tables for the columnar backend: the State Council schedule and 民法典 period ends as
arrays over the days of the years the installed schedule covers, each entry computed once by
``language/periods.py`` (the rule is never written here, only looked up).

Days are numbers of days since 1970-01-01 (Arrow's ``date32``). A lookup outside the tables, or
one whose answer ``periods`` cannot give (a CalendarError: a working day beyond the schedule), is
``OUT`` (-1): the rows that need it go to the reference evaluator, which reports or settles them."""

from __future__ import annotations

import datetime as dt

import numpy as np

from policy_dsl.language import periods
from policy_dsl.language.errors import CalendarError

EPOCH = dt.date(1970, 1, 1)
OUT = -1
UNKNOWN = -2  # an entry not computed yet


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


class DayTables:
    """Tables over ``first``..``last`` (day numbers, the covered years of the schedule):
    ``workday`` (bool) and ``next_workday`` (``PeriodEnd.extended`` of a nominal end), built on
    first use; ``working_days_after(n)`` and ``add_months(n)`` for each ``n`` asked, filled day by
    day as days are asked for (each entry is the value ``periods`` gives for that day)."""

    def __init__(self):
        first, last = periods.covered_years()
        self.first = day_number(dt.date(first, 1, 1))
        self.last = day_number(dt.date(last, 12, 31))
        self._workday = None
        self._next = None
        self._after: dict = {}
        self._months: dict = {}

    def _day(self, n: int) -> dt.date:
        return EPOCH + dt.timedelta(days=n)

    def _fill(self, table: np.ndarray, days: np.ndarray, fn) -> np.ndarray:
        """``table`` at ``days`` (inside the tables), its entries not computed yet computed now."""
        idx = days - self.first
        got = table[idx]
        unknown = got == UNKNOWN
        if unknown.any():
            for i in np.unique(idx[unknown]).tolist():
                try:
                    table[i] = day_number(fn(self._day(self.first + i)))
                except (CalendarError, ValueError, OverflowError):  # beyond the schedule, or the calendar
                    table[i] = OUT
            got = table[idx]
        return got

    def _new(self) -> np.ndarray:
        return np.full(self.last - self.first + 1, UNKNOWN, dtype=np.int64)

    def lookup(self, table: np.ndarray, days, fn) -> np.ndarray:
        """``fn(day)`` for each of ``days`` (an array) through ``table``; OUT outside the tables."""
        days = np.atleast_1d(np.asarray(days, dtype=np.int64))
        inside = (days >= self.first) & (days <= self.last)
        out = np.full(days.shape, OUT, dtype=np.int64)
        out[inside] = self._fill(table, days[inside], fn)
        return out

    @property
    def workday(self) -> np.ndarray:
        if self._workday is None:
            self._workday = np.array([periods.is_workday(self._day(d)) for d in range(self.first, self.last + 1)],
                                     dtype=bool)
        return self._workday

    def next_workday(self, days) -> np.ndarray:
        if self._next is None:
            self._next = self._new()
        return self.lookup(self._next, days, periods.next_workday)

    def is_workday(self, days) -> tuple[np.ndarray, np.ndarray]:
        """(whether each day is a working day, where the schedule does not say)."""
        days = np.atleast_1d(np.asarray(days, dtype=np.int64))
        inside = (days >= self.first) & (days <= self.last)
        return self.workday[np.where(inside, days - self.first, 0)] & inside, ~inside

    def working_days_after(self, days, n) -> np.ndarray:
        """``periods.working_days_after(day, n)`` for each day and its ``n`` (an int or an array)."""
        days, ns = np.broadcast_arrays(np.atleast_1d(np.asarray(days, dtype=np.int64)),
                                       np.atleast_1d(np.asarray(n, dtype=np.int64)))
        out = np.full(days.shape, OUT, dtype=np.int64)
        for value in np.unique(ns).tolist():
            table = self._after.get(value)
            if table is None:
                table = self._after[value] = self._new()
            rows = ns == value
            out[rows] = self.lookup(table, days[rows], lambda d, k=value: periods.working_days_after(d, k))
        return out

    def add_months(self, days, n: int) -> np.ndarray:
        """``periods.add_months(day, n)`` (the nominal end of an n-month period) for each day."""
        table = self._months.get(n)
        if table is None:
            table = self._months[n] = self._new()
        return self.lookup(table, days, lambda d: periods.add_months(d, n))


_TABLES: DayTables | None = None


def tables() -> DayTables:
    """The tables of this process (built once)."""
    global _TABLES
    if _TABLES is None:
        _TABLES = DayTables()
    return _TABLES
