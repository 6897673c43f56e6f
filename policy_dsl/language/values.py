"""Runtime values of the expression language that Python has no type for: months and periods."""

from __future__ import annotations

import datetime as dt
import re

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})\Z")  # \Z, not $: "2022-01\n" is not a month
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")


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
    """A date written YYYY-MM-DD (as policy files write them), or None."""
    m = _DATE_RE.match(text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


# How people type dates and months: 2022-04-01, 2022-4-1, 2022/4/1, 2022.4.1, 2022年4月1日 (spaces
# allowed around the parts), with ASCII or full-width digits and separators.
_WIDE = str.maketrans("０１２３４５６７８９－／．：　", "0123456789-/.: ")
# compiled when first used (re's own cache): most text is ISO and never needs them
_TYPED_DATE = r"^\s*(\d{4})\s*(?:([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})|年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?)\s*$"
_TYPED_MONTH = r"^\s*(\d{4})\s*(?:[-/.]\s*(\d{1,2})|年\s*(\d{1,2})\s*月?)\s*$"

DATE_FORMS = "2022-04-01, 2022/4/1 or 2022年4月1日"
MONTH_FORMS = "2022-04, 2022/4 or 2022年4月"


def typed_date(text: str) -> tuple[dt.date | None, str | None]:
    """A date as people type it: ``(date, None)``, or ``(None, "format")`` when the text is not
    written as a date, or ``(None, "exists")`` when it is (2022-02-30) but no such day exists."""
    if not isinstance(text, str) or len(text) > 40:
        return None, "format"
    fast = parse_date(text)
    if fast is not None:
        return fast, None
    m = re.match(_TYPED_DATE, text.translate(_WIDE))
    if not m:
        return None, "format"
    year, month, day = m.group(1), m.group(3) or m.group(5), m.group(4) or m.group(6)
    try:
        return dt.date(int(year), int(month), int(day)), None
    except ValueError:
        return None, "exists"


def typed_month(text: str) -> tuple[Month | None, str | None]:
    """A month as people type it: ``(month, None)`` or ``(None, "format" | "exists")``."""
    if not isinstance(text, str) or len(text) > 40:
        return None, "format"
    fast = parse_month(text)
    if fast is not None:
        return fast, None
    m = re.match(_TYPED_MONTH, text.translate(_WIDE))
    if not m:
        return None, "format"
    year, month = int(m.group(1)), int(m.group(2) or m.group(3))
    if not 1 <= month <= 12 or year < 1:
        return None, "exists"
    return Month.of(year, month), None


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
