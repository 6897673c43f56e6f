"""The probe grid comes from the policy set and its kinds table, never from code: a new city's
notice, or a new kind in a policy folder's own kinds table, is probed by diff, check (coverage,
conflicts), report and timeline with no change to Python."""

from __future__ import annotations

import ast
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from policy_dsl.analysis.grid import Grid, grid_of
from policy_dsl.face.api import load_policy
from policy_dsl.language.regions import default_registry
from policy_dsl.language.values import Month

D = dt.date


# -- the grid of the shipped set ----------------------------------------------------------
def test_regions_come_from_the_documents(policy):
    g = grid_of(policy)
    roles = {r.code: g.roles[r.code] for r in g.regions}
    reg = default_registry()
    jinan = reg.get("370100")
    # 济南 has its own document; its first district; a 山东 city with none; a city outside 山东
    assert roles["370100"] == "document"
    district = [c for c, role in roles.items() if role == "district"]
    assert len(district) == 1 and reg.get(district[0]).city == jinan
    inside = [c for c, role in roles.items() if role == "no document"]
    assert len(inside) == 1 and reg.get(inside[0]).within("370000") and inside[0] != "370100"
    outside = [c for c, role in roles.items() if role == "outside"]
    assert len(outside) == 1 and not reg.get(outside[0]).within("370000")
    assert all(r.valid_on(g.first) and r.valid_on(g.last) for r in g.regions)


def test_dates_are_the_days_something_starts_or_ends(policy):
    g = grid_of(policy)
    assert g.years[0] == min(d.issued for d in policy.documents).year
    for c in policy.clauses.values():
        for day in (c.in_force.start, c.in_force.lower_deadline, *(a for a, _ in c.in_force.adoptions.values())):
            if day:
                assert day in g.dates and day - dt.timedelta(days=1) in g.dates
    # the collection period the resident clauses write (month_of(y, 9) … month_of(y, 12))
    days = g.days("resident_enrollment")
    assert {D(2023, 8, 31), D(2023, 9, 1), D(2023, 12, 31), D(2024, 1, 1)} <= set(days)
    assert D(2023, 8, 31) not in g.days("deadline")  # a kind whose expressions name no calendar month


def _sampled_by_definition(g, kind, region, days):
    """``Grid.sample_days`` by its definition: of the days, in order, each valid day whose
    (standing of the kind's clauses there, calendar phase) no earlier day had."""
    from policy_dsl.engine import resolve

    seen, out = set(), []
    for day in days:
        if region.valid_on(day):
            key = (tuple(resolve.standing(c, region, day).state for c in g.here(kind, region)), g.phase(kind, day))
            if key not in seen:
                seen.add(key)
                out.append(day)
    return out


@pytest.mark.parametrize("qingdao", [False, True])
def test_sampled_days_are_those_of_the_definition(policy, qingdao, request):
    """``sample_days`` looks only at the days where the phase, the standing or the region's
    validity changes; it gives what looking at every day gives — for every kind and probe region,
    the days of one year (as coverage asks), and regions created or abolished inside the grid's years."""
    if qingdao:
        policy = load_policy([request.getfixturevalue("with_qingdao")])
    g = grid_of(policy)
    reg = default_registry()
    changing = [r for r in reg.by_code.values() if r.level in ("city", "district")
                and any(x is not None and g.first < x < g.last for x in (r.valid_from, r.valid_to))][:40]
    assert changing and any(r.valid_to for r in changing) and any(r.valid_from for r in changing)
    for kind in g.kinds:
        days = g.days(kind)
        for region in [*g.regions, *changing]:
            assert g.sample_days(kind, region) == _sampled_by_definition(g, kind, region, days), (kind, region.code)
            some = [d for d in days if d.year == g.years[len(g.years) // 2]]
            assert g.sample_days(kind, region, some) == _sampled_by_definition(g, kind, region, some)


def test_values_come_from_the_expressions(policy):
    g = grid_of(policy)
    jinan = default_registry().get("370100")
    day = D(2023, 5, 10)
    gaps = {Month.of_date(day) - f["last_paid_month"] - 1 for f in g.facts("arrears", jinan, day)}
    assert {3, 4} <= gaps  # gap_months <= 3 vs > 3
    years = {f["continuous_years"] for f in g.facts("switch_scheme", jinan, day)}
    assert {1.5, 2, 2.5} <= years  # continuous_years >= 2
    contribution = {f["contribution_years"] for f in g.facts("retirement_min_years", jinan, day)}
    assert {24.5, 25, 29.5, 30} <= contribution  # 30 years for men, 25 for women
    births = {f["birth_date"] for f in g.facts("newborn", jinan, day)}
    assert {D(2023, 2, 9), D(2023, 2, 8), D(2022, 11, 10), D(2022, 11, 9), D(2022, 5, 10), D(2022, 5, 9)} <= births
    assert all(b <= day for b in births)  # birth_date: before paid_on
    flags = {k for f in g.facts("transfer", jinan, day) for k in f if k not in ("from_region", "last_paid_month",
                                                                             "removed_in", "paid_on", "back_paid")}
    # the person facts the transfer clauses read, and retired (optional: absent or a value)
    assert flags == {"poverty_registered", "veteran", "military", "military_event_on", "retired"}
    assert {f["worker"] for f in g.facts("first_enrollment", jinan, day)} == {"employed", "flexible"}


def test_no_probe_breaks_a_constraint_of_the_kinds_table(policy):
    from policy_dsl.engine.cases import CaseValidator, RawCase
    from policy_dsl.analysis.grid import case_json

    g = grid_of(policy)
    validator = CaseValidator(default_registry(), vocab=policy.vocab)
    for kind in policy.vocab.kinds:
        for region in g.regions:
            for day in g.days(kind)[::5]:
                for facts in g.facts(kind, region, day)[::7]:
                    validator.validate(RawCase(case_json(kind, region, facts), None, "probe"))


def _pairs(path: tuple) -> set:
    placed = list(enumerate(path))
    return {(a, b) for i, a in enumerate(placed) for b in placed[i + 1:]}


@pytest.mark.parametrize("kind, code, day", [("transfer", "370100", D(2022, 8, 15)),
                                             ("switch_scheme", "370200", D(2022, 3, 7)),
                                             ("refund", "370100", D(2023, 3, 15))])
def test_covering_rows_meet_every_pair_the_whole_product_has(policy, kind, code, day):
    """Each value of each fact meets each value of each other fact in some probe, wherever some
    combination the constraints allow has the pair; and far fewer probes than the product."""
    g = grid_of(policy)
    region = default_registry().get(code)
    whole = list(g.iter_facts(kind, region, day, paths=True))
    possible = set().union(*(_pairs(path) for path, _ in whole))
    rows = g.covering_rows(kind, region, day)
    assert possible <= set().union(*(_pairs(path) for path, _ in rows))
    assert all(g.facts_at(kind, region, day, path) == facts for path, facts in rows)  # each a combination of the product
    probes = g.facts(kind, region, day)
    assert len(probes) < len(whole) / (1 if kind == "refund" else 10), (len(probes), len(whole))  # refund: its own facts


def test_the_ordinary_product_has_every_required_value_with_the_others_absent(policy):
    g = grid_of(policy)
    jinan = default_registry().get("370100")
    day = D(2022, 8, 15)
    ordinary = list(g.iter_facts("transfer", jinan, day, vary=g._ordinary("transfer")))
    assert not any("military" in f or f.get("retired") or "poverty_registered" in f for f in ordinary)
    assert len({f["last_paid_month"] for f in ordinary}) == len({f["last_paid_month"] for f in g.facts("transfer", jinan, day)})
    duplicates = list(g.iter_facts("duplicate_enrollment", jinan, day, vary=g._ordinary("duplicate_enrollment")))
    assert {(e[0]["scheme"], e[0]["basis"], e[1]["scheme"], e[1]["basis"]) for e in (f["enrollments"] for f in duplicates)} \
        == {(a, b, c, d) for a in ("employee", "resident") for c in ("employee", "resident")
            for b in ("employment", "residence", "hukou", "school", "flexible", "seasonal")
            for d in ("employment", "residence", "hukou", "school", "flexible", "seasonal")}
    assert {e["land_requisitioned"] for f in duplicates for e in f["enrollments"]} == {False}  # a defaulted field: its first


def test_check_probe_count_is_bounded(policy):
    from policy_dsl.analysis import passes

    n = sum(len(ps) for *_, ps in passes.batches(policy))
    # docs/performance.md: how many probes each command uses (the person facts of the 2026-12-01
    # revision — military with its date, retired — multiply transfer's and switch_scheme's)
    assert 1_000 < n < 300_000, n


# -- a new city's notice --------------------------------------------------------------------
QINGDAO_SOURCE = """青岛市医疗保障局 青岛市财政局 国家税务总局青岛市税务局

青医保发〔2022〕9号

关于调整灵活就业人员中断缴费和新生儿参保待遇有关问题的通知（测试用虚构文件）

各区、市医疗保障部门、财政部门、税务部门：

为落实鲁医保发〔2021〕54号文件，结合我市实际，现就有关问题通知如下：

一、自2022年7月1日起，灵活就业人员中断缴费3个月以上的，设置4个月的待遇享受等待期（含缴费当月）。

二、自2022年7月1日起，新生儿自出生之日起12个月内办理基本医疗保险参保手续并缴费的，自出生之日起享受基本医疗保险待遇。

青岛市医疗保障局
2022年6月15日
"""

QINGDAO = """document:
  id: qd-2022-9
  number: 青医保发〔2022〕9号
  aliases: []
  title: 关于调整灵活就业人员中断缴费和新生儿参保待遇有关问题的通知
  issuers: [青岛市医疗保障局, 青岛市财政局, 国家税务总局青岛市税务局]
  level: city
  jurisdiction: "370200"
  issued: "2022-06-15"
  issued_precision: day
  source: qd-2022-9.txt
  forwards: []
  in_force:
    from: "2022-07-01"
    text: 自2022年7月1日起
  encoding:
    version: 1
    changelog:
      - {version: 1, date: "2026-12-01", change: 测试用虚构文件}
clauses:
  - id: arrears-flexible-long-gap
    topic: arrears
    article: 一
    text: 自2022年7月1日起，灵活就业人员中断缴费3个月以上的，设置4个月的待遇享受等待期（含缴费当月）。
    when: worker == "flexible" and gap_months > 3
    decide:
      suspended_from: start(last_paid_month + 2)
      waiting_months: 4
      benefit_start: start(month(paid_on) + waiting_months)
      gap_covered: false
  - id: newborn-within-12-months
    topic: newborn
    article: 二
    text: 自2022年7月1日起，新生儿自出生之日起12个月内办理基本医疗保险参保手续并缴费的，自出生之日起享受基本医疗保险待遇。
    when: paid_on <= period_end(birth_date, 12 months)
    decide:
      waiting_months: 0
      benefit_start: birth_date
"""


@pytest.fixture
def with_qingdao(policies_copy) -> Path:
    (policies_copy / "sources" / "qd-2022-9.txt").write_text(QINGDAO_SOURCE, encoding="utf-8")
    (policies_copy / "qd-2022-9.yaml").write_text(QINGDAO, encoding="utf-8")
    return policies_copy


def test_qingdao_notice_changes_exactly_qingdao(cli, with_qingdao):
    from policy_dsl.language.resources import policies_dir

    run = cli("diff", policies_dir(), with_qingdao, "--format", "json")
    assert run.code == 0, run.err
    beh = run.json["behavioural"]
    assert "370200" in beh["regions"] and beh["changed"] > 0
    qingdao = default_registry().get("370200")
    kinds, rules = set(), set()
    for group in beh["groups"]:
        for code in group["regions"]:  # all in 青岛 and its districts
            assert default_registry().get(code).city == qingdao, group
        assert group["examples"] and group["count"] >= len(group["examples"])
        for ex in group["examples"]:
            assert ex["case"]["region"] in group["regions"] and ex["before"] != ex["after"]
        kinds |= set(group["kinds"])
        rules |= set(group["clauses"])
    assert kinds == {"arrears", "newborn"}
    assert {"qd-2022-9/arrears-flexible-long-gap", "qd-2022-9/newborn-within-12-months"} <= rules
    arrears = next(g for g in beh["groups"] if "qd-2022-9/arrears-flexible-long-gap" in g["clauses"])
    ex = arrears["examples"][0]
    assert ex["before"]["waiting_months"] == 3 and ex["after"]["waiting_months"] == 4
    assert ex["case"]["paid_on"] >= "2022-07-01"
    # the same answer through eval, as the example says (it can be rerun)
    import json

    case = with_qingdao.parent / "case.json"
    case.write_text(json.dumps(ex["case"], ensure_ascii=False), encoding="utf-8")
    assert cli("eval", "--policies", with_qingdao, case, "--format", "json").json["waiting_months"] == 4
    assert cli("eval", "--policies", policies_dir(), case, "--format", "json").json["waiting_months"] == 3


def test_qingdao_notice_in_coverage_and_report(cli, with_qingdao, tmp_path):
    run = cli("check", with_qingdao, "--coverage", "--format", "json")
    assert run.code == 0, run.out
    rows = {r["code"]: r for r in run.json["coverage"]["regions"]}
    assert rows["370200"]["role"] == "document"
    cells = run.json["coverage"]["topics"]["arrears"]["370200"]
    assert cells["2023"]["status"] == "decided"
    text = cli("check", with_qingdao, "--coverage").out
    assert re.search(r"青岛市 370200 +", text)
    out = tmp_path / "site"
    assert cli("report", "--policies", with_qingdao, "--out", out).code == 0
    page = (out / "region-370200.html").read_text(encoding="utf-8")
    assert "青医保发〔2022〕9号" in page


# -- a new kind in the policy folder's own kinds table --------------------------------------
CARE_SOURCE = """济南市医疗保障局

济医保发〔2023〕99号

关于开展长期护理保险的通知（测试用虚构文件）

一、参保满2年、经评估为重度失能的，自评估之日的次月起享受长期护理保险待遇。

二、其他情形，不享受长期护理保险待遇。

济南市医疗保障局
2023年1月10日
"""

CARE = """document:
  id: ltc-2023-99
  number: 济医保发〔2023〕99号
  aliases: []
  title: 关于开展长期护理保险的通知
  issuers: [济南市医疗保障局]
  level: city
  jurisdiction: "370100"
  issued: "2023-01-10"
  issued_precision: day
  source: ltc-2023-99.txt
  forwards: []
  in_force:
    from: "2023-02-01"
  encoding:
    version: 1
    changelog:
      - {version: 1, date: "2026-12-01", change: 测试用虚构文件}
clauses:
  - id: severe
    topic: long_term_care
    article: 一
    text: 参保满2年、经评估为重度失能的，自评估之日的次月起享受长期护理保险待遇。
    when: care_level == "severe" and insured_years >= 2
    decide:
      eligible: true
      benefit_start: start(month(assessed_on) + 1)
  - id: others
    topic: long_term_care
    article: 二
    text: 其他情形，不享受长期护理保险待遇。
    when: not (care_level == "severe" and insured_years >= 2)
    decide:
      eligible: false
"""

CARE_TESTS = """tests:
  - name: 重度失能、参保满2年 → 次月起享受
    case: {kind: long_term_care, region: 济南, care_level: severe, insured_years: 2, assessed_on: "2023-03-15"}
    expect: {status: decided, eligible: true, benefit_start: "2023-04-01"}
  - name: 参保不满2年 → 不享受
    case: {kind: long_term_care, region: 济南, care_level: severe, insured_years: 1.5, assessed_on: "2023-03-15"}
    expect: {status: decided, eligible: false}
"""


@pytest.fixture
def with_new_kind(policies_copy) -> Path:
    kinds = yaml.safe_load((REPO / "policy_dsl" / "data" / "kinds.yaml").read_text(encoding="utf-8"))
    kinds["kinds"]["long_term_care"] = {
        "zh": "长期护理保险待遇", "en": "long-term care benefits",
        "facts": {"care_level": {"type": "enum", "values": ["mild", "moderate", "severe"]},
                  "insured_years": {"type": "number", "range": [0, 40]},
                  "assessed_on": {"type": "date"}},
        "decided_on": "assessed_on", "outputs": ["benefit_start", "eligible"]}
    (policies_copy / "kinds.yaml").write_text(yaml.safe_dump(kinds, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (policies_copy / "sources" / "ltc-2023-99.txt").write_text(CARE_SOURCE, encoding="utf-8")
    (policies_copy / "ltc-2023-99.yaml").write_text(CARE, encoding="utf-8")
    (policies_copy / "tests" / "long_term_care.yaml").write_text(CARE_TESTS, encoding="utf-8")
    return policies_copy


def test_new_kind_is_probed_tested_and_covered(cli, with_new_kind):
    policy = load_policy([with_new_kind])
    g = grid_of(policy)
    jinan = default_registry().get("370100")
    facts = g.facts("long_term_care", jinan, D(2023, 6, 1))
    assert {f["care_level"] for f in facts} == {"mild", "moderate", "severe"}
    assert {1.5, 2, 2.5} <= {f["insured_years"] for f in facts}
    assert D(2023, 2, 1) in g.days("long_term_care") and D(2023, 1, 31) in g.days("long_term_care")
    run = cli("test", "--policies", with_new_kind, "--format", "json")
    assert run.code == 0, run.out
    run = cli("check", with_new_kind, "--coverage", "--format", "json")
    assert run.code == 0 and run.json["errors"] == 0
    cells = run.json["coverage"]["topics"]["long_term_care"]
    assert cells["370100"]["2022"]["status"] == "none" and cells["370100"]["2024"]["status"] == "decided"
    assert [s["from"] for s in cells["370100"]["2023"]["segments"]][-1] == "2023-02-01"
    assert all(cells[code]["2024"]["status"] == "none" for code in cells if code != "370100")


def test_new_kind_conflicts_are_found(cli, with_new_kind):
    text = (with_new_kind / "ltc-2023-99.yaml").read_text(encoding="utf-8")
    (with_new_kind / "ltc-2023-99.yaml").write_text(text.replace(
        'when: not (care_level == "severe" and insured_years >= 2)', 'when: insured_years < 3'), encoding="utf-8")
    run = cli("check", with_new_kind, "--format", "json")
    conflicts = [d for d in run.json["diagnostics"] if d["code"] == "E-CONFLICT"]
    assert run.code == 1 and conflicts, run.json["diagnostics"]
    assert '"kind": "long_term_care"' in conflicts[0]["message"] and "insured_years" in conflicts[0]["message"]


def test_new_kind_diff(cli, with_new_kind, tmp_path):
    after = tmp_path / "after"
    shutil.copytree(with_new_kind, after)
    text = (after / "ltc-2023-99.yaml").read_text(encoding="utf-8")
    (after / "ltc-2023-99.yaml").write_text(text.replace("insured_years >= 2", "insured_years >= 3"), encoding="utf-8")
    run = cli("diff", with_new_kind, after, "--format", "json")
    assert run.json["affected_kinds"] == ["long_term_care"]
    beh = run.json["behavioural"]
    assert beh["changed"] > 0
    for group in beh["groups"]:
        assert group["kinds"] == ["long_term_care"] and group["regions"] == ["370100"] or \
            all(default_registry().get(c).city.code == "370100" for c in group["regions"])
        for ex in group["examples"]:
            assert ex["case"]["care_level"] == "severe" and 2 <= ex["case"]["insured_years"] < 3
            assert ex["before"]["eligible"] is True and ex["after"]["eligible"] is False


# -- a union grid for diff ------------------------------------------------------------------
def test_diff_grid_is_the_union_plus_changed_jurisdictions(policy, with_qingdao):
    new = load_policy([with_qingdao])
    g = Grid([policy, new], extra_regions=["370200"])
    codes = [r.code for r in g.regions]
    assert "370200" in codes and "370100" in codes
    assert {g.roles[c] for c in codes} >= {"document", "district", "no document", "outside"}
    assert D(2022, 7, 1) in g.dates and D(2022, 6, 30) in g.dates  # the new notice's first day


# -- nothing in the code names a region, a year, a circular or a kind -----------------------
def _constants(tree):
    """Each constant of the module with how it is used: (node, "date-call" | "constant" | "")."""
    docstrings, used = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("date", "datetime", "fromisoformat", "parse_date", "parse_month", "Month", "of"):
                for arg in node.args[:1]:
                    used[id(arg)] = "date-call"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if names and all(n.isupper() for n in names) and node.value is not None:
                for n in ast.walk(node.value):
                    used.setdefault(id(n), "constant")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            yield node, used.get(id(node), "")


# the root of the GB/T 2260 tree, the country itself, in the registry module that reads the codes
ALLOWED = {("language/regions.py", "000000")}
GIT_MODES = {"100644", "100755", "120000", "040000", "160000"}  # six digits that are no region
# words the code uses for its own things that a kind also uses as a fact's name: the case's region,
# a date, the reason one clause displaces another
GENERAL_WORDS = {"region", "date", "reason"}


def test_code_names_no_region_year_circular_or_kind():
    """policy_dsl/ holds no 6-digit region code, no year used as data (a date built from it, a
    module constant), no circular's number or id, and no kind or fact name of the kinds table as a
    string of its own (hints and examples inside longer messages are words, not data)."""
    table = yaml.safe_load((REPO / "policy_dsl" / "data" / "kinds.yaml").read_text(encoding="utf-8"))
    names = set(table["kinds"]) | {f for k in table["kinds"].values() for f in k["facts"]}
    names |= {f for k in table["kinds"].values() for s in k["facts"].values() for f in (s.get("items") or {})}
    names -= GENERAL_WORDS
    ids = {yaml.safe_load(p.read_text(encoding="utf-8"))["document"]["id"]
           for p in (REPO / "policies").glob("*.yaml") if "document:" in p.read_text(encoding="utf-8")}
    found = []
    for path in sorted((REPO / "policy_dsl").rglob("*.py")):
        rel = path.relative_to(REPO / "policy_dsl").as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, use in _constants(tree):
            v = node.value
            where = f"{rel}:{node.lineno}"
            if isinstance(v, str):
                if re.fullmatch(r"\d{6}", v) and (rel, v) not in ALLOWED and v not in GIT_MODES:
                    found.append(f"{where}: region code {v!r}")
                elif use and re.fullmatch(r"(19|20)\d\d(-\d\d(-\d\d)?)?", v):
                    found.append(f"{where}: date {v!r}")
                elif v in names:
                    found.append(f"{where}: kind or fact name {v!r}")
                elif v in ids or re.fullmatch(r"\S*〔\d{4}〕\d+号\S*", v):
                    found.append(f"{where}: circular {v!r}")
            elif isinstance(v, int) and not isinstance(v, bool) and 1990 <= v <= 2099 and use:
                found.append(f"{where}: year {v}")
    assert not found, "\n".join(found)


def test_the_clauses_that_apply_in_a_region_are_found_through_the_index(policy):
    """``resolve.applying``: exactly the clauses of a topic whose document's jurisdiction the region
    lies within, in the set's order (an index by jurisdiction, not every clause tried)."""
    from policy_dsl.engine import resolve

    g = grid_of(policy)
    for topic, clauses in policy.by_topic.items():
        for region in g.regions:
            assert resolve.applying(policy, topic, region) == tuple(c for c in clauses if c.applies_to_region(region))


def test_a_region_fact_takes_one_probe_region_for_each_way_regions_are_told_apart(policy):
    """``_region_values`` (made in time linear in the probe regions) gives what its definition
    gives, tried region by region: the first probe region, in grid order, for each way the
    expressions there can tell regions apart."""
    g = grid_of(policy)

    def by_definition(kind, region, day):
        regions = g.regions_on(day) or [region]
        codes = g._region_codes(kind, region)
        if codes is None:
            return list(regions)
        seen, out = set(), []
        for x in regions:
            key = (x == region, x.city == region.city, x.province == region.province, x.level, x.municipality,
                   x.city == x, x.province == x, tuple(x.within(c) for c in codes),
                   tuple(x.city.code == c or x.province.code == c for c in codes))
            if key not in seen:
                seen.add(key)
                out.append(x)
        return out

    n = 0
    for kind in policy.by_topic:
        if kind not in policy.vocab.kinds:
            continue
        for region in g.regions:
            for day in g.sample_days(kind, region)[:2] + [g.first, g.last]:
                assert g._region_values(kind, region, day) == by_definition(kind, region, day), (kind, region.code, day)
                n += 1
    assert n > 100


def test_a_district_answered_as_its_city_gets_what_it_would_get_itself(policy):
    """``passes.probes`` answers a district that nothing tells from its city (``passes._twin``)
    with its city's probes put to the district: on the shipped set the same facts and the same
    answers as evaluating the district's own probes, for kinds with and without a region fact."""
    from policy_dsl.analysis import passes

    g = grid_of(policy)
    district = next(r for r in g.regions if g.roles[r.code] == "district")
    n = 0
    for kind in ("transfer", "duplicate_enrollment", "newborn", "refund"):
        for day in g.sample_days(kind, district)[:2]:
            if passes._twin(policy, kind, district, day) is None:
                continue
            made, own = passes.probes(policy, kind, district, day), passes.evaluated(policy, kind, district, day)
            assert [(p.region, p.facts, p.status, p.holding, p.pending, p.governing, p.displaced, p.top, p.failure)
                    for p in made] == [(p.region, p.facts, p.status, p.holding, p.pending, p.governing, p.displaced, p.top,
                                        p.failure) for p in own], (kind, day)
            n += len(made)
    assert n > 100


def test_a_region_answered_as_an_earlier_one_gets_what_it_would_get_itself(policy):
    """``passes.probes`` answers a region as an earlier probe region (``passes._alike``) when the
    kind and the kinds it asks have the same clauses in both, none of their expressions reads
    ``region``, and the standings agree: on the shipped set the same facts and the same answers
    as evaluating the region's own probes; a kind whose clauses read ``region`` is never answered so."""
    from policy_dsl.analysis import passes

    g = grid_of(policy)
    n, kinds = 0, set()
    for kind in policy.by_topic:
        for region in g.regions:
            alike = passes._alike(policy, g, kind, region)
            if alike is None:
                continue
            assert kind not in ("transfer", "resident_transfer", "transfer_years"), kind  # they read `region`
            for day in g.sample_days(kind, region):
                twin = passes._twin(policy, kind, region, day)
                if twin is None or twin[0] is region.city:
                    continue
                assert twin[0] is alike[0]
                made, own = passes.probes(policy, kind, region, day), passes.evaluated(policy, kind, region, day)
                assert [(p.region, p.facts, p.status, p.holding, p.pending, p.governing, p.displaced, p.top, p.failure)
                        for p in made] == [(p.region, p.facts, p.status, p.holding, p.pending, p.governing, p.displaced,
                                            p.top, p.failure) for p in own], (kind, region.code, day)
                n += len(made)
                kinds.add(kind)
    assert "duplicate_enrollment" in kinds and n > 1000, (kinds, n)


SHIJIAZHUANG_SOURCE = """石家庄市医疗保障局

石医保发〔2018〕1号

关于城乡居民基本医疗保险待遇享受时间的通知（测试用虚构文件）

一、自2019年1月1日起，城乡居民在医疗年度内缴费参保的，自缴费次月起享受基本医疗保险待遇。

石家庄市医疗保障局
2018年12月1日
"""

# a city outside 山东 with a resident contribution rule of its own: a refund there asks for answers
# that differ from those of the other regions outside 山东 for some payments, not for others
SHIJIAZHUANG = """document:
  id: sjz-2018-1
  number: 石医保发〔2018〕1号
  aliases: []
  title: 关于城乡居民基本医疗保险待遇享受时间的通知
  issuers: [石家庄市医疗保障局]
  level: city
  jurisdiction: "130100"
  issued: "2018-12-01"
  issued_precision: day
  source: sjz-2018-1.txt
  forwards: []
  in_force:
    from: "2019-01-01"
    text: 自2019年1月1日起
  encoding:
    version: 1
    changelog:
      - {version: 1, date: "2026-12-02", change: 测试用虚构文件}
clauses:
  - id: resident-next-month
    topic: resident_enrollment
    article: 一
    text: 城乡居民在医疗年度内缴费参保的，自缴费次月起享受基本医疗保险待遇。
    when: paid_on >= start(month_of(benefit_year, 1)) and paid_on <= end(month_of(benefit_year, 12))
    decide:
      waiting_months: 1
      benefit_start: start(month(paid_on) + waiting_months)
"""


@pytest.fixture
def with_shijiazhuang(policies_copy) -> Path:
    (policies_copy / "sources" / "sjz-2018-1.txt").write_text(SHIJIAZHUANG_SOURCE, encoding="utf-8")
    (policies_copy / "sjz-2018-1.yaml").write_text(SHIJIAZHUANG, encoding="utf-8")
    return policies_copy


def _kin_sets(request) -> list:
    return [load_policy(), load_policy([request.getfixturevalue("with_shijiazhuang")])]


def test_a_region_answered_as_another_but_for_its_sub_answers_gets_what_it_would_get_itself(request):
    """``passes.probes`` answers a region as an earlier probe region but for the sub-answers its
    kind's definitions ask and the kinds its clauses go on to (``passes._kin``: refunds ask the
    resident contribution rules, a newborn paid for late is answered by them, and they differ
    between regions): each probe whose sub-answers are the same in both and that did not go on
    to another kind takes the other's answer, the others are evaluated. On the shipped set
    (青岛's refunds and newborns as 济南's: the resident rules differ, not on what the refunds
    ask — every probe taken, ``Moved`` — but on the newborns that go on to them) and with a city
    outside 山东 whose own resident rule answers some payments otherwise, the same facts and
    answers as evaluating the region's own probes."""
    from policy_dsl.analysis import passes

    seen = {"moved": 0, "mixed": 0, "taken": 0, "evaluated": 0}
    for policy in _kin_sets(request):
        g = grid_of(policy)
        for kind in policy.by_topic:
            for region in g.regions:
                kin = passes._kin(policy, g, kind, region)
                if kin is None:
                    continue
                assert passes._alike(policy, g, kind, region) is None and kin[0] is not region
                for day in g.sample_days(kind, region):
                    if passes._twin(policy, kind, region, day) is not None or passes._kin_on(policy, kind, region, day) is None:
                        continue
                    made = passes._made(policy, kind, region, day, lambda source: passes.probes(policy, kind, source, day))
                    own = passes.evaluated(policy, kind, region, day)
                    assert [(p.region, p.facts, p.status, p.holding, p.pending, p.governing, p.displaced, p.top, p.failure)
                            for p in made] == [(p.region, p.facts, p.status, p.holding, p.pending, p.governing, p.displaced,
                                                p.top, p.failure) for p in own], (kind, region.code, day)
                    if isinstance(made, passes.Moved):
                        seen["moved"] += 1
                    else:
                        seen["mixed"] += 1
                        source = passes.probes(policy, kind, kin[0], day)
                        taken = sum(p.governing is q.governing for p, q in zip(made, source))
                        seen["taken"] += taken
                        seen["evaluated"] += len(made) - taken
    assert all(seen.values()), seen


@pytest.mark.parametrize("with_kin", [False, True])
def test_the_grid_passes_take_again_from_the_probes_a_region_is_put_from_what_they_take_from_its_own(request, with_kin):
    """A batch of probes put from another region's (``passes.Moved``) is not made: each grid pass
    takes again what it took from the probes it was put from (``Probes.replay``). The findings
    and every count they show are those the passes find on the probes made one by one."""
    from policy_dsl.analysis import passes
    from policy_dsl.analysis.conflicts import Conflicts
    from policy_dsl.analysis.hierarchy import Hierarchy

    def fed(made: bool) -> dict:
        consumers = {"probe_failures": passes._ProbeFailures(policy), "conflicts": Conflicts(policy),
                     "bounds": passes._Bounds(policy), "shadowed": passes._Shadowed(policy),
                     "hierarchy": Hierarchy(policy, passes._evaluator(policy))}
        moved = 0
        for topic, region, day, ps in passes.batches(policy):
            if isinstance(ps, passes.Moved):
                moved += 1
                if made:
                    ps = ps.made()
            for consumer in consumers.values():
                consumer.feed(topic, region, day, ps)
        assert moved > 20
        shadowed, hierarchy = consumers["shadowed"], consumers["hierarchy"]
        counts = (dict(shadowed.applies), dict(shadowed.governs), {c: dict(w) for c, w in shadowed.beaten_by.items()},
                  {pair: n for pair, (n, _, _) in hierarchy.found.items()})
        return {name: [(d.code, str(d.message), str(d.where)) for d in c.finish()] for name, c in consumers.items()}, counts

    policy = load_policy([request.getfixturevalue("with_shijiazhuang")]) if with_kin else request.getfixturevalue("policy")
    (replayed, replayed_counts), (made, made_counts) = fed(False), fed(True)
    assert replayed == made
    assert replayed_counts == made_counts
    assert replayed_counts[0] and replayed_counts[3]


def _ltc_in_province(folder: Path, others_when: str, others_eligible: str) -> object:
    """The fictional long-term care notice made a 山东 document (probed in 济南, its district and
    青岛) whose second clause holds ``others_when`` and decides ``eligible: others_eligible``."""
    text = (folder / "ltc-2023-99.yaml").read_text(encoding="utf-8")
    text = text.replace('level: city\n  jurisdiction: "370100"', 'level: province\n  jurisdiction: "370000"')
    text = text.replace('when: not (care_level == "severe" and insured_years >= 2)\n    decide:\n      eligible: false',
                        f"when: {others_when}\n    decide:\n      eligible: {others_eligible}")
    (folder / "ltc-2023-99.yaml").write_text(text, encoding="utf-8")
    return load_policy([folder])


def _fed_conflicts(policy, topic: str, blind: bool = True):
    from policy_dsl.analysis import passes
    from policy_dsl.analysis.conflicts import Conflicts

    found = Conflicts(policy)
    if not blind:
        found.blind = lambda topic, clause: False  # every probe tried in every region
    g = grid_of(policy)
    for region in g.regions:
        for day in g.sample_days(topic, region):
            found.feed(topic, region, day, passes.probes(policy, topic, region, day))
    return found


@pytest.mark.parametrize("eligible", ["true", "false"])
def test_a_probe_that_shows_no_conflict_in_one_region_shows_none_in_another(with_new_kind, eligible):
    """``Conflicts`` does not try again, in another region, a probe on which a pair of clauses that
    cannot tell regions apart (``Conflicts.blind``) both hold and did not differ: it finds what
    trying every probe in every region finds, and on each probe the pair gives the same outputs in
    every region where both hold."""
    from policy_dsl.analysis import passes
    from policy_dsl.engine.evaluate import Evaluator

    policy = _ltc_in_province(with_new_kind, "insured_years < 3", eligible)
    shared, own = _fed_conflicts(policy, "long_term_care"), _fed_conflicts(policy, "long_term_care", blind=False)
    shown = [(d.code, str(d.message), str(d.where)) for d in shared.finish()]
    assert shown == [(d.code, str(d.message), str(d.where)) for d in own.finish()]
    assert len(shown) == (1 if eligible == "false" else 0)
    (a, b), = shared.pairs["long_term_care"]
    assert shared.blind("long_term_care", a) and shared.blind("long_term_care", b)
    g, ev = grid_of(policy), Evaluator(policy)
    regions = [r for r in g.regions if r.within("370000")]
    assert len(regions) == 3
    if eligible == "true":
        assert any(any(seen) for seen in shared.shown_none.values())  # probes were not tried again
    for day in g.sample_days("long_term_care", regions[0]):
        outputs: dict = {}  # place in the day's probes -> what each region's probe gives
        for region in regions:
            for i, p in enumerate(passes.probes(policy, "long_term_care", region, day)):
                if a in p.holding and b in p.holding:
                    outputs.setdefault(i, set()).add((repr(sorted(p.facts.items(), key=str)), repr(ev.clause_outputs(p.case, a)),
                                                      repr(ev.clause_outputs(p.case, b))))
        assert all(len(v) == 1 for v in outputs.values()), day


def test_probes_put_to_a_region_of_the_same_shape_are_those_made_there(policy):
    """``Grid._put``: the probes of a kind with a region fact made at one region and put to
    another of the same shape (``Grid._region_shape``) are, in order, the probes the grid makes
    at that region itself — the same places and the same values."""
    g, fresh = Grid([policy]), Grid([policy])  # g: a grid of its own (the set's may hold probes made before)
    put = n = 0
    for kind in g.kinds:
        if not g._regional(kind):
            continue
        for region in g.regions:
            for day in g.sample_days(kind, region):
                shape = g._region_shape(kind, region, day)
                made = g._probes.get(shape) if shape is not None else None
                put += made is not None and made[0] is not region and (kind, region.code, day) not in g._probes
                mine = g.probe_paths(kind, region, day)
                own = fresh._made_paths(kind, region, day, (kind, region.code, day))[0]
                fresh._probes.clear()
                assert [path for path, _ in mine] == [path for path, _ in own], (kind, region.code, day)
                assert [facts for _, facts in mine] == [facts for _, facts in own], (kind, region.code, day)
                n += len(own)
    assert put > 20 and n > 1000
