"""The worked examples of the entitlement issue, through the CLI with --format json."""

from __future__ import annotations

import pytest

from conftest import case_file

EXAMPLES = [
    ("arrears-3-months",
     {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"},
     {"status": "decided", "benefit_start": "2022-11-01", "waiting_months": 0, "suspended_from": "2022-08-01",
      "gap_covered": False},
     ["济医保发〔2022〕2号 一", "鲁医保发〔2021〕54号 一(二)"]),
    ("arrears-4-months",
     {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"},
     {"status": "decided", "benefit_start": "2023-02-01", "waiting_months": 3}, None),
    ("newborn-within-6-months",
     {"kind": "newborn", "region": "济南", "birth_date": "2023-03-15", "paid_on": "2023-09-15"},
     {"status": "decided", "benefit_start": "2023-03-15"}, ["鲁医保发〔2021〕54号 二(五)"]),
    ("newborn-6-months-extended-to-working-saturday",
     {"kind": "newborn", "region": "济南", "birth_date": "2023-03-31", "paid_on": "2023-10-07"},
     {"status": "decided", "benefit_start": "2023-03-31"}, None),
    ("newborn-day-after-extension",
     {"kind": "newborn", "region": "济南", "birth_date": "2023-03-31", "paid_on": "2023-10-08"},
     {"status": "decided", "benefit_start": "2023-11-01"}, None),
    ("newborn-90-days-moved-to-monday",
     {"kind": "newborn", "region": "南京", "birth_date": "2021-03-01", "paid_on": "2021-05-31"},
     {"status": "decided", "benefit_start": "2021-03-01"}, ["医保发〔2020〕33号 三(三)"]),
    ("resident-late-payer",
     {"kind": "resident_enrollment", "region": "济南", "benefit_year": 2024, "paid_on": "2024-03-05"},
     {"status": "decided", "benefit_start": "2024-06-01", "waiting_months": 3}, ["济医保发〔2022〕2号 三"]),
    ("transfer-from-zibo",
     {"kind": "transfer", "region": "济南", "from_region": "淄博", "last_paid_month": "2023-02",
      "removed_in": "2023-03", "paid_on": "2023-05-10", "back_paid": True},
     {"status": "decided", "benefit_start": "2023-05-01", "gap_covered": True}, ["济医保发〔2022〕2号 二"]),
    ("switch-delegated",
     {"kind": "switch_scheme", "region": "济南", "from_scheme": "employee", "to_scheme": "resident",
      "continuous_years": 4, "last_paid_month": "2023-08", "paid_on": "2024-01-12", "back_paid": True},
     {"status": "delegated"}, ["济医保发〔2022〕2号 四"]),
    ("deadline-across-national-day",
     {"kind": "deadline", "region": "济南", "scope": "intra_province", "accepted_on": "2023-09-27"},
     {"status": "decided", "deadline": "2023-10-16"}, None),
    ("no-rule-pending",
     {"kind": "first_enrollment", "region": "枣庄", "worker": "employed", "paid_on": "2022-03-20"},
     {"status": "no_rule", "benefit_start": None}, None),
]


@pytest.mark.parametrize("name,case,expected,governing", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_worked_example(cli, tmp_path, name, case, expected, governing):
    run = cli("eval", case_file(tmp_path, case), "--format", "json")
    assert run.code == 0, run.err
    result = run.json
    for key, value in expected.items():
        assert result[key] == value, key
    if governing:
        got = [f"{g['document']} {g['article']}" for g in result["governing"]]
        assert got[: len(governing)] == governing


def test_switch_delegation_carries_the_national_soft_bound(cli, tmp_path):
    case = EXAMPLES[8][1]
    result = cli("eval", case_file(tmp_path, case), "--format", "json").json
    assert result["bounds"]["max_waiting_months"] == 6
    assert result["bounds"]["soft"] is True
    assert result["bounds"]["set_by"][0]["document"] == "医保办发〔2021〕43号"


def test_no_rule_names_the_pending_document(cli, tmp_path):
    result = cli("eval", case_file(tmp_path, EXAMPLES[-1][1]), "--format", "json").json
    assert [p["document"] for p in result["pending"]] == ["鲁医保发〔2021〕54号"]
    assert result["pending"][0]["in_force_from"] == "2022-04-01"


def test_a_batch_answers_every_case_and_marks_bad_ones(cli, tmp_path):
    lines = [EXAMPLES[0][1], {"kind": "arrears", "region": "济南", "worker": "flexible",
                              "last_paid_month": "2022-06", "paid_on": "2022-02-30", "id": "bad"}, EXAMPLES[2][1]]
    path = tmp_path / "cases.jsonl"
    import json

    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in lines), encoding="utf-8")
    run = cli("eval", path, "--format", "json")
    assert run.code == 2
    out = run.lines
    assert len(out) == 3
    assert out[0]["benefit_start"] == "2022-11-01"
    assert out[1]["id"] == "bad" and out[1]["error"]["code"] == "E-CASE-DATE"
    assert out[2]["benefit_start"] == "2023-03-15"
