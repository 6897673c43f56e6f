"""A delegation of some outputs (``delegate.outputs``): the delegating clause leaves those outputs to
the lower level and the clauses below still decide the others (医保办发〔2021〕43号 第十一条 leaves the
benefits to the pooling region while 第十二条 adds the contribution years up). The answer is
``delegated`` with the bounds, the undelegated outputs filled, the delegating clause governing
first; the fast backend gives the reference's answer; an improving exception over it keeps them."""

from __future__ import annotations

import shutil

import pytest

from policy_dsl.language import resources

DOC = """document:
  id: part-test
  number: 医保办发〔2021〕43号
  title: 测试
  issuers: [国家医疗保障局办公室]
  level: national
  jurisdiction: "000000"
  issued: "2021-11-01"
  source: 000_f0abc4aefafc31ea.txt
  in_force:
    from: "2021-12-01"
  encoding:
    version: 1
    changelog:
      - {version: 1, date: "2026-12-01", change: test}
clauses:
  - id: long-gap
    topic: transfer
    article: 第十一条第一款
    text: 中断缴费3个月以上的，基本医疗保险待遇按各统筹地区规定执行，原则上待遇享受等待期不超过6个月。
    when: month(paid_on) - last_paid_month - 1 > 3
    delegate:
      to: 统筹地区
      outputs: DELEGATED
      bounds: {max_waiting_months: 6, soft: true}

  - id: short-gap
    topic: transfer
    article: 第十一条第一款
    text: 补缴后不设待遇享受等待期，缴费当月即可在转入地按规定享受待遇
    when: month(paid_on) - last_paid_month - 1 <= 3
    decide:
      waiting_months: 0
      benefit_start: start(month(paid_on))

  - id: years
    topic: transfer
    article: 第十二条
    text: 参加职工基本医疗保险的个人，基本医疗保险关系转移接续时，基本医疗保险缴费年限累计计算。
    decide:
      years_accumulate: true
"""


def _folder(tmp_path, delegated="[benefit_start, waiting_months, gap_covered]"):
    folder = tmp_path / "p"
    (folder / "sources").mkdir(parents=True)
    shutil.copy(resources.policies_dir() / "sources" / "000_f0abc4aefafc31ea.txt", folder / "sources")
    (folder / "doc.yaml").write_text(DOC.replace("DELEGATED", delegated), encoding="utf-8")
    return folder


def _case(paid_on, **more):
    return {"kind": "transfer", "region": "南京", "from_region": "广州", "last_paid_month": "2023-01",
            "removed_in": "2023-02", "paid_on": paid_on, "back_paid": False, **more}


def _answers(tmp_path, folder, cases):
    from policy_dsl.engine.cases import CaseValidator, RawCase
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.engine.results import result_json
    from policy_dsl.face.api import load_policy
    from policy_dsl.fast.evaluator import FastEvaluator
    from policy_dsl.language.regions import default_registry

    policy = load_policy([folder])
    reference = Evaluator(policy)
    fast = FastEvaluator(Evaluator(policy))
    validator = CaseValidator(default_registry(), vocab=policy.vocab)
    out = []
    for c in cases:
        case = validator.validate(RawCase(c, None, "t"))
        want = result_json(reference.evaluate(case, explain=True), "en", trace=False)
        got = result_json(fast.evaluate(case), "en", trace=False)
        assert got == want
        out.append((want, fast.plans.evaluate(case) is not None))
    return out


def test_the_undelegated_outputs_are_decided_below(tmp_path):
    (long_gap, fast1), (short_gap, fast2) = _answers(tmp_path, _folder(tmp_path), [_case("2023-08-15"), _case("2023-03-15")])
    assert fast1 and fast2  # the fast backend answers both itself
    assert long_gap["status"] == "delegated" and long_gap["benefit_start"] is None
    assert long_gap["years_accumulate"] is True
    assert long_gap["bounds"]["max_waiting_months"] == 6
    assert [g["rule"] for g in long_gap["governing"]] == ["part-test/long-gap", "part-test/years"]
    assert long_gap["governing"][1]["outputs"] == ["years_accumulate"]
    assert short_gap["status"] == "decided" and short_gap["benefit_start"] == "2023-03-01"
    assert short_gap["years_accumulate"] is True


def test_a_delegation_of_every_output_still_conflicts_with_a_tied_decision(cli, tmp_path):
    folder = _folder(tmp_path, "[benefit_start, waiting_months, gap_covered, years_accumulate]")
    path = tmp_path / "c.json"
    import json

    path.write_text(json.dumps(_case("2023-08-15"), ensure_ascii=False), encoding="utf-8")
    run = cli("eval", path, "--policies", folder, "--format", "json")
    assert run.code == 1 and "E-CONFLICT" in run.out + run.err


@pytest.mark.parametrize("outputs,code", [("[benefit_strat]", "E-UNKNOWN-OUTPUT")])
def test_check_knows_the_outputs(cli, tmp_path, outputs, code):
    run = cli("check", _folder(tmp_path, outputs), "--format", "json")
    assert run.code == 1 and code in [d["code"] for d in run.json["diagnostics"]]
