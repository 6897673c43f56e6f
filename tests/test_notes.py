"""Notes that depend on the case: a note with a `when` (shown when its clause governs and the
condition holds on the facts and the clause's outputs), and clauses whose outcome is `inform`
(their words are a note of any answer while they apply, whichever clause governs). The fast
path gives the reference's answers; `check` type-checks a note's condition."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from policy_dsl.language import resources

DOC = """document:
  id: notes-test
  number: 济医保发〔2022〕2号
  title: 测试
  issuers: [济南市医疗保障局]
  level: city
  jurisdiction: "370100"
  issued: "2022-03-08"
  source: 000_f0abc4aefafc31ea.txt
  in_force:
    from: "2022-03-08"
  encoding:
    version: 1
    changelog:
      - {version: 1, date: "2026-11-24", change: test}
clauses:
  - id: late
    topic: resident_enrollment
    article: 三
    text: 错过集中缴费期后申请参保缴费的居民，补缴当年个人缴费部分后，待遇享受等待期为3个月
    when: paid_on >= start(month_of(benefit_year, 1))
    decide:
      waiting_months: 3
      benefit_start: start(month(paid_on) + waiting_months)
    notes:
      - when: WHEN
        zh: 等待期届满时该医疗年度已结束
        en: the benefit year is over when the waiting period ends
      - zh: 总是显示
        en: always shown

  - id: words
    topic: [resident_enrollment, first_enrollment]
    article: 五
    text: 全市各级医疗保障经办机构要按照规定的时间节点
    when: INFORM_WHEN
    inform:
      zh: 仅作说明
      en: for information only
"""


def _policies(tmp_path, when="year(benefit_start) > benefit_year", inform_when="low_income"):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "sources").mkdir()
    shutil.copy(resources.policies_dir() / "sources" / "000_f0abc4aefafc31ea.txt", folder / "sources")
    (folder / "doc.yaml").write_text(DOC.replace("INFORM_WHEN", inform_when).replace("WHEN", when), encoding="utf-8")
    return folder


def _eval(cli, folder, tmp_path, cases):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cases), encoding="utf-8")
    run = cli("eval", path, "--policies", folder, "--format", "json", "--lang", "en")
    return run.lines


def _case(paid_on, **more):
    return {"kind": "resident_enrollment", "region": "济南", "benefit_year": 2023, "paid_on": paid_on, **more}


def test_a_note_with_when_is_shown_only_when_it_holds(cli, tmp_path):
    folder = _policies(tmp_path)
    # the same template answered twice by the fast path, the third by the reference evaluator
    sept, late, again = _eval(cli, folder, tmp_path, [_case("2023-09-30"), _case("2023-10-01"), _case("2023-09-29")])
    for answer in (sept, again):
        assert answer["benefit_start"] == "2023-12-01"
        assert not any("over" in n for n in answer["notes"]) and any("always shown" in n for n in answer["notes"])
    assert late["benefit_start"] == "2024-01-01"
    assert [n for n in late["notes"] if "over" in n] == ["济医保发〔2022〕2号 › 三: the benefit year is over when the waiting period ends"]
    assert late["notes"].index(next(n for n in late["notes"] if "over" in n)) == 0  # in the order written


def test_inform_adds_words_whichever_clause_governs(cli, tmp_path):
    folder = _policies(tmp_path)
    decided, none, plain = _eval(cli, folder, tmp_path, [
        _case("2023-03-01", low_income=True),
        {"kind": "first_enrollment", "region": "济南", "worker": "employed", "paid_on": "2023-03-01", "low_income": True},
        _case("2023-03-01")])
    assert decided["status"] == "decided" and decided["governing"][0]["rule"] == "notes-test/late"
    assert decided["informing"] == [{"document": "济医保发〔2022〕2号", "article": "五", "level": "city", "rule": "notes-test/words"}]
    assert "济医保发〔2022〕2号 › 五: for information only" in decided["notes"]
    assert none["status"] == "no_rule" and none["governing"] == [] and none["informing"][0]["rule"] == "notes-test/words"
    assert "济医保发〔2022〕2号 › 五: for information only" in none["notes"]
    assert "informing" not in plain and not any("information" in n for n in plain["notes"])


def test_fast_path_agrees_with_the_reference(tmp_path):
    from policy_dsl.engine.cases import CaseValidator, RawCase
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.engine.results import result_json
    from policy_dsl.face.api import load_policy
    from policy_dsl.language.regions import default_registry

    from policy_dsl.fast.evaluator import FastEvaluator

    policy = load_policy([_policies(tmp_path)])
    fast, slow = FastEvaluator(Evaluator(policy)), Evaluator(policy)
    validator = CaseValidator(default_registry())
    answered_fast = 0
    for month in range(1, 13):
        for low in (False, True):
            case = validator.validate(RawCase(_case(f"2023-{month:02d}-15", low_income=low), None, "t"))
            answered_fast += fast.plans.evaluate(case) is not None
            assert result_json(fast.evaluate(case, explain=False), "zh", trace=False) == \
                result_json(slow.evaluate(case, explain=True), "zh", trace=False)
    assert answered_fast == 24  # conditional notes included (the fast backend evaluates them too)


def test_policy_test_reaches_an_informing_clause(cli, tmp_path):
    folder = _policies(tmp_path)
    (folder / "tests").mkdir()
    (folder / "tests" / "t.yaml").write_text("""tests:
  - case: {kind: resident_enrollment, region: 济南, benefit_year: 2023, paid_on: "2023-10-01", low_income: true}
    expect: {benefit_start: "2024-01-01", notes_include: 等待期届满时该医疗年度已结束}
  - case: {kind: first_enrollment, region: 济南, worker: flexible, paid_on: "2023-10-01", low_income: true}
    expect: {status: no_rule, notes_include: 仅作说明}
""", encoding="utf-8")
    run = cli("test", "--policies", folder)
    assert run.code == 0 and "2 个通过，0 个未通过" in run.out and "没有测试到达" not in run.out


@pytest.mark.parametrize("when,code", [("benefit_start", "E-TYPE"), ("benefit_start > 2023", "E-TYPE"),
                                       ("old_benefit_end == null", "E-UNKNOWN-FACT")])
def test_check_type_checks_a_notes_condition(cli, tmp_path, when, code):
    run = cli("check", _policies(tmp_path, when=when), "--format", "json")
    assert run.code == 1
    assert code in [d["code"] for d in run.json["diagnostics"]]


def test_fmt_keeps_when_first_in_a_note(cli, tmp_path):
    folder = _policies(tmp_path)
    assert cli("fmt", "--check", folder / "doc.yaml").code == 0


def test_a_long_note_folds_under_itself(cli, monkeypatch):
    """A note longer than the terminal is laid out with a hanging indent: its first line after the
    dot, every other line indented under it, none back at the margin (or left alone on the dot)."""
    monkeypatch.setenv("COLUMNS", "50")
    run = cli("eval", Path(__file__).resolve().parent.parent / "examples" / "arrears-jinan.yaml")
    assert run.code == 0
    lines = run.out.splitlines()
    start = lines.index("说明") + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("  "))
    note = lines[start:end]
    assert len(note) > 2 and note[0].startswith("  · 解读（gap_months）")
    assert all(line.startswith("    ") and line.strip() for line in note[1:])
