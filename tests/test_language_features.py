"""Two language features, on fictional policy sets under tests/language/ (never the shipped ones):

- improving exceptions (``improves: true``, "a floor, never a loss"): the outputs may read
  ``excepted``, the answer of the rules the exception excepts, without it; ``governing`` names the
  exception for what it changed and the general clauses for what it kept;
- sub-answers (``answer(kind, fact = expr, ...)``): another kind's answer for facts built from
  this case, in the same region, decided like a case of that kind on its own decision fact (on
  the asking case's day under ``--as-of``).

Both are checked statically (``check``), shown in the trace, and answered by the reference
evaluator (the fast path declines them, by name)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import case_file

HERE = Path(__file__).resolve().parent / "language"
FLOOR, CHAIN, SUB = HERE / "floor", HERE / "floor_chain", HERE / "subanswer"


def _switch(region="广州", years=3, last="2022-06", paid="2022-08-15", **flags):
    return {"kind": "switch_scheme", "region": region, "from_scheme": "employee", "to_scheme": "resident",
            "continuous_years": years, "last_paid_month": last, "paid_on": paid, "back_paid": True, **flags}


def _refund(paid, event, **flags):
    return {"kind": "refund", "region": "济南", "scheme": "resident", "benefit_year": 2023, "paid_on": paid,
            "reason": "employment", "event_date": event, **flags}


@pytest.fixture
def answer(cli, tmp_path):
    """``eval --format json`` of one case against a fictional policy set."""

    def run(folder, case, *more):
        got = cli("eval", case_file(tmp_path, case), "--policies", folder, "--format", "json", *more)
        assert got.code == 0, got.out + got.err
        return got.json

    return run


def _gov(data):
    return [(g["rule"], g["outputs"]) for g in data["governing"]]


def _disp(data):
    return [(d["rule"], d["reason"], d["by"]) for d in data["displaced"]]


# -- improving exceptions ---------------------------------------------------------------------
def test_floor_that_changes_nothing_leaves_the_general_rule_governing(answer):
    # the general rule gives the first day of the payment month, earlier than the payment itself
    data = answer(FLOOR, _switch(poverty_registered=True))
    assert (data["status"], data["benefit_start"], data["waiting_months"], data["gap_covered"]) == (
        "decided", "2022-08-01", 0, True)
    assert _gov(data) == [("t-floor/short-gap", ["waiting_months", "benefit_start", "gap_covered"])]
    assert data["improving_exceptions"] == [{"document": "试医保发〔2020〕1号", "article": "三", "level": "national",
                                             "rule": "t-floor/poverty-floor", "changed": []}]
    assert data["notes"] == ["试医保发〔2020〕1号 › 三：适用于本案，但未改变一般规定的答案"]
    assert _disp(data) == []


def test_floor_that_changes_names_itself_first_then_the_general_clause_it_kept(answer):
    # 济南's (fictional) city rule: from the next month, waiting 1, gap not covered
    data = answer(FLOOR, _switch(region="济南", poverty_registered=True))
    assert (data["benefit_start"], data["waiting_months"], data["gap_covered"]) == ("2022-08-15", 0, False)
    assert _gov(data) == [("t-floor/poverty-floor", ["benefit_start", "waiting_months"]),
                          ("t-city/short-gap", ["gap_covered"])]
    assert [g["changed"] for g in data["improving_exceptions"]] == [["benefit_start", "waiting_months"]]
    # the national rule stays displaced for the reason the general rules give (the city is more specific)
    assert _disp(data) == [("t-floor/short-gap", "specificity", "t-city/short-gap")]
    assert data["notes"] == []


def test_without_the_flag_the_general_rule_alone(answer):
    data = answer(FLOOR, _switch(region="济南"))
    assert (data["benefit_start"], data["waiting_months"], data["gap_covered"]) == ("2022-09-01", 1, False)
    assert "improving_exceptions" not in data
    assert _gov(data) == [("t-city/short-gap", ["benefit_start", "waiting_months", "gap_covered"])]


def test_floor_decides_alone_where_the_general_rules_delegate(answer):
    data = answer(FLOOR, _switch(last="2022-01", poverty_registered=True))  # gap of 6 months: delegated
    assert (data["status"], data["benefit_start"], data["waiting_months"], data["gap_covered"]) == (
        "decided", "2022-08-15", 0, None)
    assert _gov(data) == [("t-floor/poverty-floor", ["benefit_start", "waiting_months"])]
    assert data["bounds"] is None
    assert _disp(data) == [("t-floor/long-gap", "exception", "t-floor/poverty-floor")]


def test_floor_decides_alone_where_the_general_rules_have_no_rule(answer):
    data = answer(FLOOR, _switch(years=1, poverty_registered=True))
    assert (data["status"], data["benefit_start"], data["waiting_months"]) == ("decided", "2022-08-15", 0)


def test_two_floors_that_agree_the_first_governs_the_other_is_a_tie(answer):
    data = answer(FLOOR, _switch(region="济南", poverty_registered=True, veteran=True))
    assert (data["benefit_start"], data["waiting_months"], data["gap_covered"]) == ("2022-08-15", 0, False)
    assert _gov(data) == [("t-floor/poverty-floor", ["benefit_start", "waiting_months"]),
                          ("t-city/short-gap", ["gap_covered"])]
    assert [(g["rule"], g["changed"]) for g in data["improving_exceptions"]] == [
        ("t-floor/poverty-floor", ["benefit_start", "waiting_months"]),
        ("t-floor/veteran-floor", ["benefit_start", "waiting_months"])]
    assert ("t-floor/veteran-floor", "tie", "t-floor/poverty-floor") in _disp(data)


def test_two_floors_that_differ_are_a_conflict(cli, tmp_path):
    folder = tmp_path / "floor"
    shutil.copytree(FLOOR, folder)
    text = (folder / "national.yaml").read_text(encoding="utf-8")
    veteran = text.index("  - id: veteran-floor")  # its waiting period: 1 month instead of none
    (folder / "national.yaml").write_text(text[:veteran] + text[veteran:].replace("waiting_months: 0", "waiting_months: 1"),
                                          encoding="utf-8")
    run = cli("eval", case_file(tmp_path, _switch(region="济南", poverty_registered=True, veteran=True)),
              "--policies", folder, "--format", "json")
    assert run.code == 1
    assert run.json["error"]["code"] == "E-CONFLICT"
    assert "waiting_months" in run.json["error"]["message"]


def test_an_improving_exception_to_another_reads_its_improved_answer(answer):
    data = answer(CHAIN, _switch(years=0.5, poverty_registered=True, veteran=True))
    # the two floors give the payment day (no general rule for under 2 years); 五 improves on them
    assert (data["benefit_start"], data["waiting_months"]) == ("2022-08-01", 0)
    assert _gov(data) == [("t-floor/poor-veteran", ["benefit_start"]), ("t-floor/poverty-floor", ["waiting_months"])]
    assert [(g["rule"], g["changed"]) for g in data["improving_exceptions"]] == [("t-floor/poor-veteran",
                                                                                  ["benefit_start"])]
    assert _disp(data) == [("t-floor/veteran-floor", "tie", "t-floor/poverty-floor")]


def test_floor_trace_shows_the_excepted_answer(answer):
    data = answer(FLOOR, _switch(region="济南", poverty_registered=True), "--explain")
    trace = "\n".join(data["trace"])
    assert "改进性例外；不适用本条时的一般规定答案如下" in trace
    assert "excepted = decided (benefit_start = 2022-09-01, waiting_months = 1, gap_covered = false)" in trace
    en = answer(FLOOR, _switch(region="济南", poverty_registered=True), "--explain", "--lang", "en")
    assert any("an improving exception; the general rules' answer without it follows" in t for t in en["trace"])
    # answers do not depend on the trace
    plain = answer(FLOOR, _switch(region="济南", poverty_registered=True))
    assert {k: v for k, v in data.items() if k != "trace"} == {k: v for k, v in plain.items() if k != "trace"}


def test_floor_for_people_in_chinese(cli, tmp_path):
    run = cli("eval", case_file(tmp_path, _switch(poverty_registered=True)), "--policies", FLOOR)
    assert run.code == 0
    assert "改进性例外（不低于一般规定）" in run.out
    assert "试医保发〔2020〕1号 › 三：未改变一般规定的答案" in run.out


# -- sub-answers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("paid,event,flags,refundable", [
    ("2022-10-10", "2022-12-31", {}, True),    # paid in the period: benefits from 2023-01-01
    ("2022-10-10", "2023-01-01", {}, False),   # the day the benefit period starts
    ("2023-02-10", "2023-03-15", {}, True),    # a late payer: own start 2023-05-01
    ("2023-02-10", "2023-04-30", {}, True),
    ("2023-02-10", "2023-05-01", {}, False),
    ("2023-02-10", "2023-03-15", {"low_income": True}, False),  # no waiting: own start is the payment day
])
def test_refund_against_the_persons_own_benefit_start(answer, paid, event, flags, refundable):
    data = answer(SUB, _refund(paid, event, **flags))
    assert (data["status"], data["refundable"]) == ("decided", refundable)
    assert _gov(data) == [("t-res/refund-before-start", ["refundable"])]


def test_sub_answer_status_is_readable_and_its_outputs_null_when_not_decided(answer):
    data = answer(SUB, _refund("2024-02-10", "2024-03-15"))  # paid in a later year: no resident rule
    assert data["status"] == "delegated"
    assert _gov(data) == [("t-res/refund-start-unknown", [])]


def test_sub_answer_in_the_trace_once_with_its_own_trace(answer):
    data = answer(SUB, _refund("2023-02-10", "2023-03-15"), "--explain")
    subs = [t for t in data["trace"] if "子答案" in t]
    assert subs == ["  子答案 answer(resident_enrollment, benefit_year = 2023, paid_on = 2023-02-10) = "
                    "decided (benefit_start = 2023-05-01, waiting_months = 3)"]
    at = data["trace"].index(subs[0])
    assert data["trace"][at + 1].startswith("    地区链：济南市 370100")  # its own trace, nested
    assert any("试医保发〔2022〕3号 › 二：benefit_start = start(month(paid_on) + 3) = 2023-05-01" in t
               for t in data["trace"][at:])


def test_sub_answer_in_the_same_region_decided_on_its_own_decision_fact(answer):
    # the refund is decided on the event date (2023-03-15), the sub-case on its own paid_on
    data = answer(SUB, {**_refund("2023-02-10", "2023-03-15"), "region": "历下区"}, "--explain")
    sub = next(i for i, t in enumerate(data["trace"]) if "子答案" in t)
    assert data["trace"][0].endswith("决定日期 2023-03-15")
    assert data["trace"][sub + 1] == "    地区链：历下区 370102 → 济南市 370100 → 山东省 370000 → 全国 000000；决定日期 2023-02-10"


@pytest.mark.parametrize("paid,as_of,status,refundable", [
    ("2022-01-09", None, "delegated", None),        # paid the day before the document is in force: no start
    ("2022-01-10", None, "decided", True),          # paid the day it comes into force: late, own start 2022-04-01
    ("2022-01-09", "2022-03-01", "decided", True),  # decided as of 2022-03-01: the payment too
])
def test_sub_answer_under_the_rules_in_force_on_its_own_day(cli, tmp_path, paid, as_of, status, refundable):
    case = {**_refund(paid, "2022-03-01"), "benefit_year": 2022}
    more = ("--as-of", as_of) if as_of else ()
    got = cli("eval", case_file(tmp_path, case), "--policies", SUB, "--format", "json", *more)
    assert got.code == 0, got.out + got.err
    assert (got.json["status"], got.json["refundable"]) == (status, refundable)


@pytest.mark.parametrize("folder,case", [
    (FLOOR, _switch(poverty_registered=True)),
    (FLOOR, _switch(region="济南", poverty_registered=True, veteran=True)),
    (FLOOR, _switch(last="2022-01", poverty_registered=True)),
    (CHAIN, _switch(years=0.5, poverty_registered=True, veteran=True)),
    (SUB, _refund("2023-02-10", "2023-03-15")),
    (SUB, _refund("2024-02-10", "2024-03-15")),
    (SUB, {**_refund("2022-01-09", "2022-03-01"), "benefit_year": 2022}),  # the sub-case on its own day
])
def test_the_fast_backend_compiles_both_features_to_the_same_answers(folder, case):
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.engine.results import result_json
    from policy_dsl.face.api import Answerer, load_policy
    from policy_dsl.fast.plans import Plans

    answerer = Answerer(load_policy([folder]))
    reference = answerer.result(case, explain=True)
    validated = answerer.validator.validate(
        __import__("policy_dsl.engine.cases", fromlist=["RawCase"]).RawCase(case, None, "c"))
    plans = Plans(Evaluator(answerer.policy))
    fast = plans.evaluate(validated)
    if folder is CHAIN:  # an improving exception over another one: the reference's (plans.DECLINED "improving")
        assert fast is None and plans.declined == {"improving": 1}
        return
    assert fast is not None, plans.declined
    assert result_json(fast, trace=False) == result_json(reference, trace=False)


# -- static checks -------------------------------------------------------------------------------
def _edited(tmp_path, folder: Path, file: str, old: str, new: str) -> Path:
    dest = tmp_path / folder.name
    shutil.copytree(folder, dest)
    text = (dest / file).read_text(encoding="utf-8")
    assert old in text
    (dest / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return dest


@pytest.mark.parametrize("folder,file,old,new,code,message", [
    (FLOOR, "national.yaml", "    when: poverty_registered\n", "    when: poverty_registered and excepted.waiting_months > 0\n",
     "E-TYPE", "`excepted` is read outside the outputs of an improving exception"),
    (FLOOR, "city.yaml", 'gap_covered: "false"', "gap_covered: excepted.gap_covered",
     "E-TYPE", "`excepted` is read outside the outputs of an improving exception"),
    (FLOOR, "national.yaml", "    exception_to: all\n    improves: true\n\n  - id: veteran-floor",
     "    improves: true\n\n  - id: veteran-floor", "E-IMPROVES", "`improves: true` without `exception_to`"),
    (FLOOR, "national.yaml", "gap_covered: excepted.gap_covered", "gap_covered: excepted.gap_coverd",
     "E-UNKNOWN-FACT", "no field `gap_coverd`"),
    (FLOOR, "national.yaml", "      waiting_months: 0\n    exception_to: all\n    improves: true\n\n  - id: veteran",
     "      waiting_months: excepted.status\n    exception_to: all\n    improves: true\n\n  - id: veteran",
     "E-TYPE", "output `waiting_months` is a int"),
    (SUB, "resident.yaml", "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on).status == \"decided\"",
     "and answer(resident_enrolment, benefit_year = benefit_year, paid_on = paid_on).status == \"decided\"",
     "E-UNKNOWN-KIND", "unknown kind `resident_enrolment`"),
    (SUB, "resident.yaml", "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on).status == \"decided\"",
     "and answer(resident_enrollment, benefit_year = benefit_year).status == \"decided\"",
     "E-TYPE", "answer(resident_enrollment, ...) needs fact `paid_on`"),
    (SUB, "resident.yaml", "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on).status == \"decided\"",
     "and answer(resident_enrollment, benefit_year = paid_on, paid_on = paid_on).status == \"decided\"",
     "E-TYPE", "fact `benefit_year` of resident_enrollment is a int, but `paid_on` is a date"),
    (SUB, "resident.yaml", "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on).status == \"decided\"",
     "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on, payed = 1).status == \"decided\"",
     "E-UNKNOWN-FACT", "resident_enrollment has no fact `payed`"),
    (SUB, "resident.yaml", "low_income = low_income).benefit_start",
     "low_income = low_income).refundable", "E-UNKNOWN-FACT", "no field `refundable`"),
    (SUB, "resident.yaml", "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on).status == \"decided\"",
     "and answer(resident_enrollment, benefit_year = benefit_year, paid_on = paid_on).status == \"decide\"",
     "E-ENUM-VALUE", '"decide" is not one of decided|delegated|no_rule'),
])
def test_checked_statically(cli, tmp_path, folder, file, old, new, code, message):
    dest = _edited(tmp_path, folder, file, old, new)
    run = cli("check", dest, "--format", "json", "--lang", "en")
    found = [(d["code"], d["message"]) for d in run.json["diagnostics"] if d["severity"] == "error"]
    assert run.code == 1, found
    assert any(c == code and message in m for c, m in found), found
    # and no answer is given from such a set
    run = cli("eval", case_file(tmp_path, _switch()), "--policies", dest, "--format", "json")
    assert run.code == 1


def test_a_kind_that_asks_for_its_own_answer_is_a_cycle(cli, tmp_path):
    dest = _edited(tmp_path, SUB, "resident.yaml", "    when: paid_on < start(month_of(benefit_year, 1))\n",
                   "    when: paid_on < start(month_of(benefit_year, 1)) and answer(resident_enrollment, "
                   "benefit_year = benefit_year, paid_on = paid_on).status == \"no_rule\"\n")
    run = cli("check", dest, "--format", "json", "--lang", "en")
    found = [d["message"] for d in run.json["diagnostics"] if d["code"] == "E-CYCLE"]
    assert found == ["answer(...) goes round between kinds: resident_enrollment → resident_enrollment "
                     "(t-res/in-period); the answer would ask for itself"]


def test_excepted_in_a_condition_has_a_hint(cli, tmp_path):
    dest = _edited(tmp_path, FLOOR, "national.yaml", "    when: poverty_registered\n",
                   "    when: poverty_registered and excepted.waiting_months > 0\n")
    run = cli("check", dest, "--format", "json")
    d = next(d for d in run.json["diagnostics"] if d["code"] == "E-TYPE")
    assert "improves: true" in d["hint"]
    assert d["where"].endswith("national.yaml:42:34"), d["where"]


def test_answer_syntax_round_trips_and_rejects_a_double_equals():
    from policy_dsl.language.expr.parse import ExprSyntaxError, parse_expression
    from policy_dsl.language.expr.printer import to_text

    text = "answer(resident_enrollment, benefit_year = benefit_year - 1, paid_on = paid_on).benefit_start"
    assert to_text(parse_expression(text)) == text
    with pytest.raises(ExprSyntaxError, match="用一个 `=` 给出"):
        parse_expression("answer(resident_enrollment, benefit_year == 2023)")


def test_min_and_max():
    import datetime as dt

    from policy_dsl.language.expr.compile import compile_expr
    from policy_dsl.language.expr.parse import parse_expression

    env = {"a": dt.date(2022, 8, 15), "b": dt.date(2022, 8, 1)}
    assert compile_expr(parse_expression("min(a, b)"))(env) == dt.date(2022, 8, 1)
    assert compile_expr(parse_expression("max(a, b)"))(env) == dt.date(2022, 8, 15)
    assert compile_expr(parse_expression("max(2, 3)"))({}) == 3
