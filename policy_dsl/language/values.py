"""Runtime values of the expression language that Python has no type for: months and periods."""

from __future__ import annotations

import datetime as dt
import re

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class Month(int):
    """A calendar month, stored as ``year * 12 + month - 1``. Month ± Int is a Month;
    Month − Month is the Int number of months between them."""

    __slots__ = ()

    @classmethod
    def of(cls, year: int, month: int) -> "Month":
        return cls(year * 12 + month - 1)

    @classmethod
    def of_date(cls, day: dt.date) -> "Month":
        return cls(day.year * 12 + day.month - 1)

    @property
    def year(self) -> int:
        return int(self) // 12

    @property
    def month(self) -> int:
        return int(self) % 12 + 1

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    def last_day(self) -> dt.date:
        return (Month(self + 1).first_day()) - dt.timedelta(days=1)

    def __add__(self, other):
        if isinstance(other, Month):
            return NotImplemented
        return Month(int(self) + int(other))

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Month):
            return int(self) - int(other)
        return Month(int(self) - int(other))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    __repr__ = __str__


def parse_month(text: str) -> Month | None:
    m = _MONTH_RE.match(text)
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 1:
        return None
    return Month.of(year, month)


def parse_date(text: str) -> dt.date | None:
    m = _DATE_RE.match(text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


class Duration:
    """A length of time in months or days (``6 months``, ``90 days``)."""

    __slots__ = ("n", "unit")

    def __init__(self, n: int, unit: str):
        self.n = n
        self.unit = unit

    def __eq__(self, other):
        return isinstance(other, Duration) and (self.n, self.unit) == (other.n, other.unit)

    def __hash__(self):
        return hash((self.n, self.unit))

    def __str__(self) -> str:
        return f"{self.n} {self.unit}"

    __repr__ = __str__


def to_json(value):
    """A value as JSON data: dates and months as ISO text."""
    if isinstance(value, (dt.date, Month)):
        return str(value) if isinstance(value, Month) else value.isoformat()
    if hasattr(value, "code") and hasattr(value, "name"):
        return value.code
    if isinstance(value, (frozenset, set)):  # a list written out in a policy file: its items, sorted
        return sorted(to_json(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value
