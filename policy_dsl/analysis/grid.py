"""Generated cases for probing a policy set: for a kind, a region and a decision date, facts at
and around the boundaries the circulars draw (gaps of 3 vs 4 months, 90 days, 6 and 12 months,
2 years, 1 year, the collection period…). Used by the checker (conflicts), by diffs and by
benchmarks. It produces questions, never answers."""

from __future__ import annotations

import datetime as dt
import itertools

from policy_dsl.language.values import Month

FLAG_SETS = ({}, {"low_income": True}, {"poverty_registered": True}, {"veteran": True})
OTHER_REGIONS = ("370102", "370200", "370400", "320100", "440100")


def _m(day: dt.date, minus: int) -> Month:
    return Month.of_date(day) - minus


def facts_for(kind: str, day: dt.date, region_code: str) -> list[dict]:
    """Fact dicts (without kind/region) for ``kind`` decided on ``day``."""
    return list(iter_facts(kind, day, region_code))


def iter_facts(kind: str, day: dt.date, region_code: str):
    """The facts of ``facts_for``, in the same order, made one at a time (a prober that stops at
    the first it needs makes no more)."""
    if kind == "first_enrollment":
        for w in ("employed", "flexible"):
            yield {"worker": w, "paid_on": day}
    elif kind == "arrears":
        this = Month.of_date(day)
        for w in ("employed", "flexible"):
            for k in range(0, 8):
                yield {"worker": w, "last_paid_month": this - (k + 1), "paid_on": day}
    elif kind == "transfer":
        this = Month.of_date(day)
        for frm, k, r, back, flags in itertools.product(
                OTHER_REGIONS + (region_code,), (0, 2, 3, 4, 6), (0, 2, 3), (True, False), FLAG_SETS[:1] + FLAG_SETS[2:]):
            yield {"from_region": frm, "last_paid_month": this - (k + 1), "removed_in": this - r,
                   "paid_on": day, "back_paid": back, **flags}
    elif kind == "switch_scheme":
        this = Month.of_date(day)
        for years, k, back, flags, (a, b) in itertools.product(
                (1, 1.5, 2, 3), (0, 2, 3, 4, 7), (True, False), FLAG_SETS[:1] + FLAG_SETS[2:],
                (("employee", "resident"), ("resident", "employee"))):
            yield {"from_scheme": a, "to_scheme": b, "continuous_years": years,
                   "last_paid_month": this - (k + 1), "paid_on": day, "back_paid": back, **flags}
    elif kind == "resident_enrollment":
        for year, flags in itertools.product((day.year, day.year + 1), FLAG_SETS[:2]):
            if day >= dt.date(year - 1, 9, 1) and day <= dt.date(year, 12, 31):
                yield {"benefit_year": year, "paid_on": day, **flags}
    elif kind == "newborn":
        offsets = [1, 60, 89, 90, 91, 92, 95, 150]
        for months, extra in itertools.product((6, 12), (-2, -1, 0, 1, 2, 5, 9)):
            start = _shift_months(day, -months)
            offsets.append((day - start).days + extra)
        offsets += [400, 500]
        for off, flags in itertools.product(sorted(set(o for o in offsets if o > 0)), FLAG_SETS[:2]):
            yield {"birth_date": day - dt.timedelta(days=off), "paid_on": day, **flags}
    elif kind == "refund":
        for scheme, reason, year in itertools.product(
                ("resident", "employee"),
                ("death", "military", "employment", "hukou_transfer", "school_transfer", "duplicate"),
                (day.year, day.year + 1)):
            yield {"scheme": scheme, "benefit_year": year, "paid_on": min(day, dt.date(year - 1, 10, 1)),
                   "reason": reason, "event_date": day}
    elif kind == "duplicate_enrollment":
        options = [{"scheme": s, "basis": b, "continuous_employee_years": y, "region": region_code}
                   for s, b, y in itertools.product(("employee", "resident"),
                                                    ("employment", "residence", "school", "flexible"), (0.5, 1, 2))]
        for a, b in itertools.product(options, options):
            if a["scheme"] == "resident" and a["continuous_employee_years"] != 1:
                continue
            if b["scheme"] == "resident" and b["continuous_employee_years"] != 1:
                continue
            yield {"enrollments": [a, b], "date": day}
    elif kind == "retirement_min_years":
        for s in ("male", "female"):
            for y in (20, 24, 25, 26, 29, 30, 31):
                yield {"sex": s, "retire_on": day, "contribution_years": y}
    elif kind == "deadline":
        for s in ("intra_province", "cross_province"):
            yield {"scope": s, "accepted_on": day}
    elif kind == "contribution_base":
        month = Month.of_date(day)
        for k in (-2, -1, 0, 1):
            for d in (0, 14):
                yield {"announced_on": (month + k).first_day() + dt.timedelta(days=d), "contribution_month": month}
    elif kind == "transfer_years":
        for r in OTHER_REGIONS:
            yield {"from_region": r, "date": day}


def _shift_months(day: dt.date, n: int) -> dt.date:
    from policy_dsl.language.periods import add_months

    return add_months(day, n)


def decision_dates(policy, extra: list[dt.date] = ()) -> list[dt.date]:
    """Each date on which any clause starts or ends, the day before, and the given extras."""
    days = set(extra)
    for d in policy.documents:
        for c in d.clauses:
            f = c.in_force
            for x in [f.start, f.lower_deadline, d.issued, *(a for a, _ in f.adoptions.values())]:
                if x:
                    days |= {x, x - dt.timedelta(days=1)}
            if f.until:
                days |= {f.until, f.until + dt.timedelta(days=1)}
    return sorted(days)
