"""Bad case files: exit 2, a message naming the problem, never a traceback."""

from __future__ import annotations

import pytest

from conftest import case_file

GOOD = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}


@pytest.mark.parametrize("change,code,words", [
    ({"kind": "arrear"}, "E-CASE-KIND", ["arrear", "arrears"]),
    ({"paid_on": None}, "E-CASE-MISSING-KEY", ["paid_on"]),
    ({"paid_on": "2022-02-30"}, "E-CASE-DATE", ["paid_on", "2022-02-30"]),
    ({"region": "火星"}, "E-REGION-UNKNOWN", ["火星"]),
    ({"worker": "freelance"}, "E-CASE-VALUE", ["worker", "employed|flexible"]),
    ({"last_paid_month": "2022-13"}, "E-CASE-MONTH", ["last_paid_month"]),
    ({"paied_on": "2022-10-20"}, "E-CASE-UNKNOWN-KEY", ["paied_on", "paid_on"]),
    ({"low_income": "yes"}, "E-CASE-TYPE", ["low_income"]),
])
def test_bad_case(cli, tmp_path, change, code, words):
    case = {**GOOD, **change}
    case = {k: v for k, v in case.items() if v is not None}
    run = cli("eval", case_file(tmp_path, case), "--format", "json")
    assert run.code == 2
    assert "Traceback" not in run.err
    data = run.json
    error = data["error"] if "error" in data else data[0]["error"]
    assert error["code"] == code
    for w in words:
        assert w in error["message"] + error.get("hint", "")


def test_yaml_on_key_is_refused(cli, tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text("kind: arrears\nregion: 济南\nworker: flexible\nlast_paid_month: 2022-06\npaid_on: 2022-10-20\non: true\n",
                 encoding="utf-8")
    run = cli("eval", p, "--format", "json")
    assert run.code == 2
    assert run.json["error"]["code"] == "E-YAML-BOOL-KEY"
    assert "`on`" in run.json["error"]["message"]
    assert run.json["error"]["where"].endswith(":6:1")


def test_yaml_case_with_unquoted_dates(cli, tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text("kind: arrears\nregion: 济南\nworker: flexible\nlast_paid_month: 2022-06\npaid_on: 2022-10-20\n",
                 encoding="utf-8")
    assert cli("eval", p, "--format", "json").json["benefit_start"] == "2022-11-01"


def test_missing_case_file(cli, tmp_path):
    run = cli("eval", tmp_path / "nope.yaml")
    assert run.code == 2 and "nope.yaml" in run.err


def test_usage_error_is_exit_2(cli):
    run = cli("eval")
    assert run.code == 2 and "Traceback" not in run.err


def test_as_of_decides_under_earlier_rules(cli, tmp_path):
    path = case_file(tmp_path, GOOD)
    now = cli("eval", path, "--format", "json").json
    before = cli("eval", path, "--format", "json", "--as-of", "2022-03-31").json
    assert now["governing"][0]["document"] == "济医保发〔2022〕2号"
    assert before["status"] == "no_rule"
    assert {p["document"] for p in before["pending"]} == {"鲁医保发〔2021〕54号", "济医保发〔2022〕2号"}


def test_invalid_under_a_clause_is_exit_2(cli, tmp_path):
    case = {"kind": "resident_enrollment", "region": "济南", "benefit_year": 2024, "paid_on": "2023-08-31"}
    run = cli("eval", case_file(tmp_path, case), "--format", "json")
    assert run.code == 2 and run.json["error"]["code"] == "E-CASE-INVALID"
