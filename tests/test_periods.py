"""民法典 第二百零一条–第二百零三条 periods and working days on the State Council schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from policy_dsl.language import periods
from policy_dsl.language.errors import CalendarError

D = dt.date


@pytest.mark.parametrize("start,n,unit,nominal,extended", [
    (D(2022, 4, 1), 6, "months", D(2022, 10, 1), D(2022, 10, 8)),   # docs/readings.md example: 国庆 → working Saturday
    (D(2023, 3, 31), 6, "months", D(2023, 9, 30), D(2023, 10, 7)),  # no 31 September → last day; holiday
    (D(2023, 3, 15), 6, "months", D(2023, 9, 15), D(2023, 9, 15)),  # a Friday, a working day
    (D(2021, 3, 1), 90, "days", D(2021, 5, 30), D(2021, 5, 31)),    # Sunday → Monday
    (D(2024, 8, 31), 6, "months", D(2025, 2, 28), D(2025, 2, 28)),
    (D(2023, 8, 31), 6, "months", D(2024, 2, 29), D(2024, 2, 29)),  # leap year
])
def test_period_end(start, n, unit, nominal, extended):
    end = periods.period_end(start, n, unit)
    assert end.nominal == nominal
    assert end.extended == extended


def test_adjusted_working_weekend_counts():
    assert periods.is_workday(D(2023, 10, 7))  # Saturday, adjusted working day
    assert not periods.is_workday(D(2023, 9, 30))
    assert not periods.is_workday(D(2021, 5, 30))


def test_working_days_across_national_day():
    assert periods.working_days_after(D(2023, 9, 27), 9) == D(2023, 10, 16)
    assert periods.working_days_after(D(2023, 9, 27), 10) == D(2023, 10, 17)
    assert periods.working_days_after(D(2023, 9, 27), 1) == D(2023, 9, 28)


def test_outside_the_schedule_is_a_clear_error():
    first, last = periods.covered_years()
    with pytest.raises(CalendarError) as info:
        periods.is_workday(D(last + 1, 1, 1))
    assert f"{first}–{last}" in str(info.value)


def test_comparison_needs_no_schedule_on_or_before_the_nominal_day():
    first, last = periods.covered_years()
    end = periods.period_end(D(last, 12, 20), 6, "months")  # ends in a year the schedule lacks
    assert periods.compare_to_period("<=", D(last + 1, 6, 20), end) is True
    assert periods.compare_to_period(">", D(last + 1, 1, 5), end) is False
    with pytest.raises(CalendarError):
        periods.compare_to_period("<=", D(last + 1, 6, 21), end)


def test_newborn_beyond_the_schedule_is_answered_when_it_does_not_depend_on_it(cli, tmp_path):
    from conftest import case_file

    first, last = periods.covered_years()
    birth = D(last, 12, 1)
    ok = cli("eval", case_file(tmp_path, {"kind": "newborn", "region": "济南", "birth_date": birth.isoformat(),
                                         "paid_on": D(last + 1, 5, 1).isoformat()}), "--format", "json")
    assert ok.code == 0 and ok.json["benefit_start"] == birth.isoformat()
    late = cli("eval", case_file(tmp_path, {"kind": "newborn", "region": "济南", "birth_date": birth.isoformat(),
                                           "paid_on": D(last + 1, 6, 2).isoformat()}), "--format", "json")
    assert late.code == 2 and late.json["error"]["code"] == "E-CALENDAR-RANGE"
    assert str(last) in late.json["error"]["message"]
