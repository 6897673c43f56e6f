"""Nothing about the law is decided in Python: change one clause in a copy of the policies and
the answer changes."""

from __future__ import annotations

import re

from conftest import case_file

LATE_RESIDENT = {"kind": "resident_enrollment", "region": "济南", "benefit_year": 2024, "paid_on": "2024-03-05"}
ARREARS = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}


def _edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_changing_an_outcome_changes_the_answer(cli, tmp_path, policies_copy):
    case = case_file(tmp_path, LATE_RESIDENT)
    assert cli("eval", case, "--format", "json", "--policies", policies_copy).json["benefit_start"] == "2024-06-01"
    jn = policies_copy / "jn-2022-2.yaml"
    text = jn.read_text(encoding="utf-8")
    block = text[text.index("id: resident-late"):]
    new_block = block.replace("waiting_months: 3", "waiting_months: 4", 1)
    jn.write_text(text.replace(block, new_block), encoding="utf-8")
    result = cli("eval", case, "--format", "json", "--policies", policies_copy).json
    assert result["benefit_start"] == "2024-07-01" and result["waiting_months"] == 4


def test_changing_a_date_changes_the_answer(cli, tmp_path, policies_copy):
    case = case_file(tmp_path, ARREARS)
    before = cli("eval", case, "--format", "json", "--policies", policies_copy).json
    assert before["governing"][0]["document"] == "济医保发〔2022〕2号"
    jn = policies_copy / "jn-2022-2.yaml"
    text = jn.read_text(encoding="utf-8")
    text = re.sub(r'from: "2022-04-01"', 'from: "2022-12-01"', text)
    jn.write_text(text, encoding="utf-8")
    after = cli("eval", case, "--format", "json", "--policies", policies_copy).json
    assert after["governing"][0]["document"] == "鲁医保发〔2021〕54号"
    assert after["benefit_start"] == before["benefit_start"]  # the province says the same


def test_changing_precedence_changes_the_answer(cli, tmp_path, policies_copy):
    """Dropping 济2号's level to the province's makes it a later provincial-rank rule: still wins,
    by a different reason."""
    case = case_file(tmp_path, LATE_RESIDENT)
    _edit(policies_copy / "jn-2022-2.yaml", "level: city", "level: province")
    _edit(policies_copy / "jn-2022-2.yaml", "lower_deadline", "lower_deadline", 0)
    result = cli("eval", case, "--format", "json", "--policies", policies_copy).json
    reasons = {d["rule"]: d["reason"] for d in result["displaced"]}
    assert reasons["lu-2021-54/resident-late"] == "later_rule"


def test_yielding_to_a_later_superior_adjustment(cli, tmp_path, policies_copy):
    """A later provincial notice on late resident payers displaces 济2号 三 (it yields)."""
    new = (policies_copy / "lu-2021-54.yaml").read_text(encoding="utf-8")
    new = new.replace("id: lu-2021-54", "id: lu-2023-99").replace("鲁医保发〔2021〕54号", "鲁医保发〔2023〕99号")
    new = new.replace('issued: "2021-12-15"', 'issued: "2023-06-01"').replace('from: "2021-12-15"', 'from: "2023-06-01"')
    new = new.replace('from: "2022-01-01"', 'from: "2023-06-01"').replace('lower_deadline: "2023-01-01"', 'lower_deadline: "2023-06-01"')
    new = new.replace('lower_deadline: "2022-04-01"', 'lower_deadline: "2023-06-01"')
    new = re.sub(r"\n      adoptions:\n(        - .*\n(          .*\n)*)", "\n", new)
    (policies_copy / "lu-2023-99.yaml").write_text(new, encoding="utf-8")
    result = cli("eval", case_file(tmp_path, LATE_RESIDENT), "--format", "json", "--policies", policies_copy).json
    assert result["governing"][0]["document"] == "鲁医保发〔2023〕99号", result["governing"]
    reasons = {d["rule"]: d["reason"] for d in result["displaced"]}
    assert reasons["jn-2022-2/resident-late"] == "yields_to_superior"
