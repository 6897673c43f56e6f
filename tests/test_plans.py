"""The fast paths give the reference's answers: the evaluator's plans (policy_dsl.fast.plans) against
Evaluator's own code, the JSON Lines writer against json.dumps(result_json(...)), the validator's
set-based path against its loops, the argparse-free reading of plain command lines against
argparse, the overlap search of ``applies`` against trying every probe. Plus the policy cache and
what the JSON commands do not import."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_dsl.analysis import grid
from policy_dsl.engine import resolve
from policy_dsl.engine.cases import CaseValidator, RawCase
from policy_dsl.analysis.conflicts import _case, exclusive, overlap_finder
from policy_dsl.language.errors import PolicyDslError, Where
from policy_dsl.engine.evaluate import RANGE_ERRORS, Evaluator
from policy_dsl.fast.evaluator import FastEvaluator
from policy_dsl.language.kinds import vocabulary
from policy_dsl.language.regions import default_registry
from policy_dsl.engine.results import LineWriter, result_json

from conftest import generated_cases

REPO = Path(__file__).resolve().parent.parent
REGIONS = ("370100", "370102", "370200", "371300", "320100", "110105", "370000")


def _days(policy):
    days = set(grid.grid_of(policy).dates) | {dt.date(2020, 9, 1), dt.date(2026, 6, 30)}
    return sorted(d for d in days if dt.date(2020, 6, 1) <= d <= dt.date(2026, 12, 31))


def _probes(policy, every=3):
    reg = default_registry()
    for day in _days(policy)[::every]:
        for code in REGIONS:
            region = reg.get(code)
            for kind in vocabulary().kinds:
                facts = grid.grid_of(policy).facts(kind, region, day)
                for one in facts[::max(2, len(facts) // 48)]:  # evenly spaced, at most about 48 a place
                    yield _case(kind, region, one, day)


def _answer(ev, case, explain):
    try:
        return result_json(ev.evaluate(case, explain=explain), "en", trace=False)
    except PolicyDslError as exc:
        return {"error": exc.first.code, "message": exc.first.message}


def test_plans_answer_as_the_reference_evaluator(policy):
    fast, slow = FastEvaluator(Evaluator(policy)), Evaluator(policy)
    n = answered_fast = 0
    for case in _probes(policy):
        n += 1
        got, want = _answer(fast, case, False), _answer(slow, case, False)
        assert got == want, (case.kind, case.region.code, case.decision_date, case.facts)
        answered_fast += fast.plans.evaluate(case) is not None
    assert n > 10_000
    assert answered_fast / n > 0.95, fast.plans.declined  # the fast path is not silently out of use


def test_line_writer_writes_what_json_dumps_writes(policy):
    ev = FastEvaluator(Evaluator(policy))
    out = io.StringIO()
    out.buffer = io.BytesIO()  # bytes, as sys.stdout has
    writer, expected = LineWriter("zh", out), []
    for case in list(_probes(policy, every=7))[::5]:
        try:
            result = ev.evaluate(case, explain=False)
        except PolicyDslError:
            continue
        writer.write(result)
        expected.append(json.dumps(result_json(result, "zh", trace=False), ensure_ascii=False))
    writer.flush()
    assert out.buffer.getvalue().decode().splitlines() == expected


def _validate(validator, data, fast: bool):
    raw = RawCase(data, Where("x", 1, 1), "case 1", clean=False)
    if not fast:
        validator._fast = lambda raw, as_of: None
    try:
        c = validator.validate(raw, None)
        return ("case", c.kind, c.region.code, c.facts, c.decision_date, c.id)
    except PolicyDslError as exc:
        return ("error", exc.first.code, exc.first.message)
    finally:
        validator.__dict__.pop("_fast", None)


def test_validator_fast_path_on_the_policy_tests_cases(policy):
    from policy_dsl.language import resources
    from policy_dsl.language.yamlsafe import decode, load_yaml

    v = CaseValidator(default_registry())
    for f in sorted((resources.policies_dir() / "tests").glob("*.yaml")):
        for t in load_yaml(decode(f.read_bytes(), str(f)), str(f)).data["tests"]:
            assert _validate(v, t["case"], True) == _validate(v, t["case"], False)


def _hostile():
    sys.path.insert(0, str(Path(__file__).parent))
    from hostile_strategies import case_data

    return case_data()


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.deferred(_hostile))
def test_validator_fast_path_on_hostile_input(data):
    v = CaseValidator(default_registry())
    assert _validate(v, data, True) == _validate(v, data, False)


def test_exclusive_pairs_never_hold_together(policy):
    ev = Evaluator(policy)
    reg = default_registry()
    pairs = [(t, a, b) for t, cs in policy.by_topic.items() for i, a in enumerate(cs) for b in cs[i + 1:] if exclusive(a, b)]
    assert pairs
    for day in _days(policy)[::4]:
        for code in ("370100", "370200", "320100"):
            for topic, a, b in pairs:
                for facts in grid.grid_of(policy).facts(topic, reg.get(code), day):
                    try:
                        env = ev.environment(_case(topic, reg.get(code), facts, day))
                        both = ev.holds(a, env) and ev.holds(b, env)
                    except (PolicyDslError,) + RANGE_ERRORS:
                        continue
                    assert not both, (a.ref, b.ref, facts)


def test_wanted_pairs_include_what_every_probe_finds(policy):
    """Each pair asked about is searched among its own probes (analysis/pairs.py): every pair some
    probe of the grid shows is found, and a pair found beyond them holds on a probe of its own
    that the reference evaluator reads whole."""
    from policy_dsl.analysis import pairs
    from policy_dsl.analysis.conflicts import witnesses

    reg = default_registry()
    ev, judge = Evaluator(policy), Evaluator(policy)
    g = grid.grid_of(policy)
    more = 0
    for day in _days(policy)[::6]:
        for code in ("370100", "370102", "370200", "320100"):
            region = reg.get(code)
            finder = overlap_finder(policy, region, day, ev)
            for topic in vocabulary().kinds:
                in_force = [s.clause for s in resolve.standings(policy, topic, region, day) if s.state == "in_force"]
                everything = finder(topic, in_force)
                wanted = {frozenset((a, b)) for i, a in enumerate(in_force) for b in in_force[i + 1:]}
                found = finder(topic, in_force, wanted)
                assert everything & wanted <= found
                probes = pairs.PairProbes(g, ev, topic, region, day, in_force)
                for pair in found - everything:
                    more += 1
                    a, b = sorted(pair, key=lambda c: c.ref)
                    plan = pairs.plan_of(g, topic, a, b)
                    cases = [grid.make_case(topic, region, f, day) for path in witnesses(policy).places(topic, pair)
                             if (f := probes.at(plan, path)) is not None]
                    assert any(set(judge.holding(case, [a, b])) == {a, b} for case in cases), (a.ref, b.ref, day)
    assert more > 0


def test_trace_only_with_explain(cli, tmp_path):
    """One output shape: JSON Lines, a JSON list and one case answer with the same objects, the
    trace only with --explain (empty without it)."""
    cases = [{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": last, "paid_on": "2022-11-03",
              "id": i} for i, last in enumerate(("2022-06", "2022-08"))] + [{"kind": "arrears", "region": "济南"}]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    listed = tmp_path / "cases.json"
    listed.write_text(json.dumps(cases, ensure_ascii=False, indent=1), encoding="utf-8")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(cases[0], ensure_ascii=False), encoding="utf-8")
    for explain in ((), ("--explain",)):
        lines = cli("eval", path, "--format", "json", *explain)
        as_list = cli("eval", listed, "--format", "json", *explain)
        assert lines.code == as_list.code == 2  # the case without its facts
        answers = lines.lines
        assert [a["trace"] != [] for a in answers[:2]] == [bool(explain)] * 2 and "error" in answers[2]
        assert as_list.out.startswith("[\n{") and as_list.out.count("\n") == len(cases) + 2  # an answer a line
        assert as_list.json[:2] == answers[:2]
        assert as_list.json[2]["error"]["code"] == answers[2]["error"]["code"]
        assert cli("eval", one, "--format", "json", *explain).json == answers[0]
    plain, explained = cli("eval", path, "--format", "json").lines, cli("eval", path, "--format", "json", "--explain").lines
    assert [{k: v for k, v in a.items() if k != "trace"} for a in explained[:2]] == \
        [{k: v for k, v in a.items() if k != "trace"} for a in plain[:2]]


def test_json_commands_do_not_import_what_they_do_not_need(tmp_path):
    env = {**os.environ, "POLICY_DSL_CACHE_DIR": str(tmp_path / "cache")}
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06",
                                "paid_on": "2022-11-03"}, ensure_ascii=False), encoding="utf-8")
    probe = ("import sys\nfrom policy_dsl.face.cli import main\nmain(sys.argv[1:])\n"
             "heavy = [m for m in ('rich', 'jsonschema', 'lark', 'yaml', 'dataclasses') if m in sys.modules]\n"
             "sys.stderr.write('HEAVY ' + ','.join(heavy) + '\\n')\n")
    for argv in (["applies", "--date", "2022-04-01", "--region", "济南", "--format", "json"],
                 ["eval", str(case), "--format", "json"]):
        for _ in range(2):  # the first fills the policy cache (and so reads the files: yaml, jsonschema, lark)
            run = subprocess.run([sys.executable, "-c", probe, *argv], env=env, capture_output=True, text=True, cwd=REPO)
        assert run.returncode == 0, run.stderr
        assert "HEAVY \n" in run.stderr, run.stderr


def test_applies_answered_from_the_cache_imports_neither_pathlib_nor_json(tmp_path):
    """What every start would pay for nothing (bench/startup.py): an ``applies --format json`` whose
    set, witnesses and text are kept imports neither pathlib, json, unicodedata nor the reading of
    policy files — the same question again, and a new day of a stretch asked before."""
    env = {**os.environ, "POLICY_DSL_CACHE_DIR": str(tmp_path / "cache")}
    probe = ("import sys\nfrom policy_dsl.face.cli import main\nmain(sys.argv[1:])\n"
             "sys.stderr.write('LOADED ' + ','.join(m for m in ('pathlib', 'json', 'unicodedata', 'policy_dsl.language.load')"
             " if m in sys.modules) + '\\n')\n")
    for day, lean in (("2022-04-01", False), ("2022-04-01", True), ("2022-04-02", False), ("2022-04-03", True)):
        run = subprocess.run([sys.executable, "-c", probe, "applies", "--date", day, "--region", "济南", "--format", "json"],
                             env=env, capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 0 and json.loads(run.stdout)["date"] == day, run.stderr
        if lean:  # (the first of each fills the caches)
            assert "LOADED \n" in run.stderr, run.stderr


def test_policy_cache(tmp_path, monkeypatch):
    from policy_dsl.language import cache
    from policy_dsl.face.api import load_policy

    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path / "c"))
    first = load_policy()
    entries = list((tmp_path / "c").glob("policy-*.pickle"))
    assert len(entries) == 1 and entries[0].stat().st_mode & 0o777 == 0o600
    again = load_policy()
    assert again is not first and [c.ref for c in again.clauses.values()] == [c.ref for c in first.clauses.values()]
    # a damaged entry is not trusted: rebuilt
    damaged = entries[0].read_bytes()[:-10] + b"0123456789"
    entries[0].write_bytes(damaged)
    assert [c.ref for c in load_policy().clauses.values()] == [c.ref for c in first.clauses.values()]
    assert entries[0].read_bytes() != damaged  # built again, and stored again
    # another policy folder (other bytes): another entry
    other = tmp_path / "pol"
    other.mkdir()
    for f in (REPO / "policies").glob("*.yaml"):
        (other / f.name).write_bytes(f.read_bytes().replace("首次编码".encode(), "首次编码 ".encode()))
    load_policy([other])
    assert len(list((tmp_path / "c").glob("policy-*.pickle"))) == 2
    # a folder others may write to is not used
    os.chmod(tmp_path / "c", 0o777)
    assert cache.load("kinds", "0" * 128) is None
    os.chmod(tmp_path / "c", 0o700)
    monkeypatch.setenv("POLICY_DSL_NO_CACHE", "1")
    assert cache.directory() is None


def test_generated_code_carries_hostile_string_literals_as_data():
    """A string literal with quotes and code-like text is a value in the generated function, never code."""
    from policy_dsl.language.expr.codegen import Emitter
    from policy_dsl.language.expr.parse import parse_expression

    text = "reason == \"x'); __import__('os').system('true'); ('\""
    em = Emitter()
    source = em.emit(parse_expression(text), lambda n: "f_" + n)
    fn = eval(compile(f"lambda f_reason: {source}", "<test>", "eval"), em.namespace)  # noqa: S307 - the test inspects the emitter
    assert fn("x'); __import__('os').system('true'); ('") is True
    assert fn("x") is False


# -- the batch lane (policy_dsl.fast.lane) ---------------------------------------------------------
def _eval_jsonl(path, lane: bool, *extra) -> tuple[int, bytes]:
    """``policy-dsl eval PATH --format json``'s exit code and bytes, with the batch lane or with
    every case (a line, an item of a list) answered by the reference loop."""
    import contextlib
    from unittest import mock

    from policy_dsl.engine import cases
    from policy_dsl.fast import lane as lane_module
    from policy_dsl.face.cli import main

    def reference(path, validator, evaluator, writer, as_of, fallback, body=None):
        for raw in cases._jsonl(path, body):
            fallback(raw)

    def reference_cases(raws, validator, evaluator, writer, as_of, fallback):
        for raw in raws:
            fallback(raw)

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    patch = contextlib.ExitStack()
    if not lane:
        patch.enter_context(mock.patch.object(lane_module, "answer_lines", reference))
        patch.enter_context(mock.patch.object(lane_module, "answer_cases", reference_cases))
    with patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["eval", str(path), "--format", "json", *extra])
        out.flush()
    return code, out.buffer.getvalue()


def _generated(n):
    return generated_cases(n, seed=11)


def test_lane_writes_what_the_reference_writes(tmp_path):
    cases = _generated(2400)
    lines = [json.dumps(c, ensure_ascii=False) for c in cases]
    odd = ['{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}',
           '{"id": "文本", "kind": "arrears", "region": "jinan", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}',
           '{"id": 1, "id": 2, "kind": "arrears"}', "not json", "[1, 2]", '{"kind": "arrears"}', "",
           '{"id": "\\ud800", "kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}',
           '{"id": true, "kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}',
           '{"id": 3, "kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-02-30"}',
           '{"id": 4, "kind": "arrears", "region": "莱芜", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}',
           '{"id": 5, "kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03", "low_income": 1}']
    body = lines + odd + lines[::-1] + odd  # the second time round, the lane answers from what the first built
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    answered = {}
    for extra in ((), ("--as-of", "2023-03-01"), ("--lang", "en")):
        got, want = _eval_jsonl(path, True, *extra), _eval_jsonl(path, False, *extra)
        assert got[0] == want[0] and got[1] == want[1], extra
        answered[extra] = want[1]
    assert len(want[1].splitlines()) == len(body) - 2  # blank lines give no answer
    # the same cases as a JSON list (the items that are JSON), by the lane and by the reference loop
    read = [(x, json.loads(a)) for x, a in zip([x for x in body if x], answered[()].splitlines()) if b'"E-CASE-JSON"' not in a]
    items, jsonl = [x for x, _ in read], [a for _, a in read]  # a line that is not JSON would refuse the whole list
    listed = tmp_path / "cases.json"
    listed.write_text("[\n" + ",\n".join(items) + "\n]\n", encoding="utf-8")
    for extra in (("--as-of", "2023-03-01"), ()):
        got, want = _eval_jsonl(listed, True, *extra), _eval_jsonl(listed, False, *extra)
        assert got[0] == want[0] == 2 and got[1] == want[1], extra
    answers = json.loads(got[1])
    assert len(answers) == len(items) == len(jsonl)
    for a, b in zip(answers, jsonl):  # the answers of the JSON Lines (an error names its place otherwise)
        assert (a["error"]["code"] if "error" in a else a) == (b["error"]["code"] if "error" in b else b)


def test_lane_answers_most_lines_itself(tmp_path):
    """The lane is not silently out of use: once the plans are built, it answers almost every line."""
    from policy_dsl.fast import lane as lane_module
    from policy_dsl.face.api import Answerer
    from policy_dsl.engine.results import LineWriter

    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in _generated(1200)), encoding="utf-8")
    answerer = Answerer()
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    writer, referred = LineWriter("zh", out), []

    def fallback(raw):
        if not _needs_case(answerer, raw):  # a redirect or a sub-answer: handed on by design
            referred.append(raw)
        try:
            writer.write(answerer.evaluator.evaluate(answerer.validator.validate(raw), explain=False))
        except PolicyDslError:
            pass

    for _ in range(2):
        referred.clear()
        lane_module.answer_lines(path, answerer.validator, answerer.evaluator, writer, None, fallback)
    writer.flush()
    assert len(referred) < 0.05 * 1200
    # and the items of a JSON list
    from policy_dsl.engine.cases import read_cases

    listed = tmp_path / "cases.json"
    listed.write_text("[" + ",".join(path.read_text(encoding="utf-8").splitlines()) + "]", encoding="utf-8")
    referred.clear()
    shape, raws = read_cases(str(listed))
    lane_module.answer_cases(raws, answerer.validator, answerer.evaluator, writer, None, fallback)
    writer.flush()
    assert shape == "list" and len(referred) < 0.05 * 1200


def _needs_case(answerer, raw) -> bool:
    """Whether the lane hands a line on by design: its answer needs a Case (a sub-answer its kind
    asks for, or a redirect)."""
    plans = answerer.evaluator.plans
    parts = answerer.validator.fast_parts(raw.data, None) if isinstance(raw.data, dict) else None
    if parts is None:
        return False
    kind, region, facts, day, _ = parts
    stretch = plans.stretches.at(kind, region, day)
    cond = plans._conditions.get(stretch)
    if cond is None:
        return False
    if cond.asks:
        return True
    mask, _ = cond.fn(facts, region, day, None)
    t = plans._templates.get((stretch, mask))
    return t is not None and t.mode == "redirect"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(st.deferred(_hostile), min_size=1, max_size=6))
def test_lane_on_hostile_input(items, tmp_path_factory):
    path = tmp_path_factory.mktemp("lane") / "cases.jsonl"
    good = _generated(24)
    body = [json.dumps(x, ensure_ascii=False, allow_nan=True) for x in good + items + items + good]
    path.write_bytes(("\n".join(body) + "\n").encode("utf-8", "surrogatepass"))
    assert _eval_jsonl(path, True) == _eval_jsonl(path, False)
    listed = path.with_suffix(".json")  # the same items as a JSON list
    listed.write_bytes(("[\n" + ",\n".join(body) + "\n]\n").encode("utf-8", "surrogatepass"))
    assert _eval_jsonl(listed, True) == _eval_jsonl(listed, False)


def _answered(fn):
    try:
        return result_json(fn(), "en", trace=False)
    except PolicyDslError as exc:
        return {"error": exc.first.code, "message": exc.first.message, "where": str(exc.first.where)}


def _reference_answer(answerer, data, as_of=None):
    """Answerer.result's answer the reference way: validate's loops, the evaluator's own code."""
    v = answerer.validator
    v._fast = lambda raw, as_of: None
    try:
        return _answered(lambda: answerer.evaluator.evaluate(
            v.validate(RawCase(data, Where("<data>"), ("cases.label.the_case", None)), as_of), explain=True))
    finally:
        v.__dict__.pop("_fast", None)


def test_answerer_answers_as_the_reference(policy):
    from policy_dsl.face.api import Answerer

    for as_of in (None, dt.date(2023, 3, 1)):
        answerer = Answerer(policy, as_of=as_of)
        for data in _generated(1200) + [{**c, "id": "\ud800"} for c in _generated(12)]:
            assert _answered(lambda: answerer.result(data)) == _reference_answer(answerer, data, as_of), data


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.deferred(_hostile))
def test_answerer_on_hostile_input(data):
    answerer = _shared_answerer()
    assert _answered(lambda: answerer.result(data)) == _reference_answer(answerer, data)


@functools.lru_cache(maxsize=1)
def _shared_answerer():
    from policy_dsl.face.api import Answerer

    return Answerer()


def test_an_item_of_a_constant_list_in_a_policy_file(policies_copy, cli, policy):
    """``gap_months <= [1, 3][1]`` reads as ``gap_months <= 3``: ``check`` passes, and on both sides
    of the 3-month boundary the fast backend (answering itself) and the reference evaluator give the
    answers of the shipped files."""
    from policy_dsl.face.api import load_policy

    f = policies_copy / "jn-2022-2.yaml"
    text = f.read_text(encoding="utf-8")
    old = '    when: worker == "flexible" and gap_months <= 3\n'
    assert old in text
    f.write_text(text.replace(old, old.replace("<= 3", "<= [1, 3][1]"), 1), encoding="utf-8")
    assert cli("check", policies_copy).code == 0
    edited = load_policy([policies_copy])
    fast, slow, shipped = FastEvaluator(Evaluator(edited)), Evaluator(edited), Evaluator(policy)
    validator = CaseValidator(default_registry(), vocab=edited.vocab)
    keys = ("status", "suspended_from", "benefit_start", "waiting_months", "governing")
    seen = set()
    for last in ("2022-05", "2022-06", "2022-07"):  # gaps of 4, 3 and 2 months before October
        data = {"kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": last,
                "paid_on": "2022-10-20"}
        case = validator.validate(RawCase(data, Where("x", 1, 1), "case 1"), None)
        assert fast.plans.evaluate(case) is not None  # not declined
        got, want, before = (result_json(ev.evaluate(case, explain=False), "en", trace=False)
                             for ev in (fast, slow, shipped))
        assert got == want
        assert {k: got.get(k) for k in keys} == {k: before.get(k) for k in keys}
        seen.add(got["governing"][0]["rule"])
    assert seen == {"jn-2022-2/arrears-flexible-long-gap", "jn-2022-2/arrears-flexible-short-gap"}
