"""Properties over generated input (hypothesis; each ≤ ~100 examples, no deadline):

- case files — mostly valid, junk mixed in, sometimes damaged byte by byte — never crash
  `policy-dsl eval`: exit 0 or 2, never 70, never a traceback;
- mutations of the shipped policy files (keys dropped or renamed, values of another type,
  expressions garbled) never crash `policy-dsl check` (exit 0 or 1) nor `eval` with them;
- answers do not depend on the order in which the policy files are loaded.

The same strategies run for longer in bench/fuzz.py (docs/fuzzing.md)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_strategies import case_files, copy_policies, crashed, dump_policy, mutated_policy, policy_documents, run_cli

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GOOD_CASE = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="policy-dsl-props-") as d:
        yield Path(d)


@FAST
@given(case=case_files(), fmt=st.sampled_from(["json", "table"]), as_of=st.sampled_from([None, "2021-06-30", "2023-01-01"]))
def test_generated_case_files_never_crash_eval(workdir, case, fmt, as_of):
    suffix, raw = case
    path = workdir / f"case{suffix}"
    path.write_bytes(raw)
    args = ["eval", path, "--format", fmt, "--lang", "en"] + (["--as-of", as_of] if as_of else [])
    code, out, err = run_cli(args)
    assert not crashed(code, out, err, allowed=(0, 2)), (code, raw[:500], err[-2000:])


@pytest.fixture(scope="module")
def documents():
    return policy_documents()


@pytest.fixture(scope="module")
def policy_copy(workdir):
    return copy_policies(workdir / "policies")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_policies_never_crash_check(documents, policy_copy, workdir, data):
    name, mutated = data.draw(mutated_policy(documents))
    target = policy_copy / name
    original = target.read_bytes()
    try:
        target.write_bytes(dump_policy(mutated))
        code, out, err = run_cli(["check", policy_copy, "--format", "json"])
        assert not crashed(code, out, err, allowed=(0, 1)), (name, err[-2000:])
        case = workdir / "case.json"
        case.write_text(json.dumps(GOOD_CASE), encoding="utf-8")
        code, out, err = run_cli(["eval", case, "--policies", policy_copy, "--format", "json"],
                                 env={"POLICY_DSL_CACHE_DIR": str(workdir / "cache")})  # not the user's cache
        assert not crashed(code, out, err, allowed=(0, 1, 2)), (name, err[-2000:])
    finally:
        target.write_bytes(original)


def _answers(files: list[Path]) -> list:
    """Results of a fixed sample of generated cases under the policy set loaded from ``files``
    in that order."""
    from policy_dsl.analysis import passes as analysis, check
    from policy_dsl.language.errors import PolicyDslError
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.language.load import load_files
    from policy_dsl.language.regions import default_registry
    from policy_dsl.engine.results import result_json

    policy, diags, _ = load_files(files)
    assert policy is not None and not [d for d in diags if d.severity == "error"]
    for _, fn in check.PASSES[:1]:  # link: resolves adopt targets
        fn(policy)
    ev = Evaluator(policy)
    reg = default_registry()
    out = []
    from policy_dsl.analysis.conflicts import _case
    from policy_dsl.analysis import grid

    for code in ("370100", "370400", "320100"):
        region = reg.get(code)
        for day in (dt.date(2021, 6, 1), dt.date(2022, 1, 15), dt.date(2022, 4, 1), dt.date(2023, 10, 1)):
            for kind in sorted(policy.by_topic):
                for i, facts in enumerate(grid.grid_of(policy).facts(kind, region, day)):
                    if i % 7:
                        continue
                    try:
                        out.append(result_json(ev.evaluate(_case(kind, region, facts, day)), "en"))
                    except PolicyDslError as exc:
                        out.append({"error": exc.first.code, "message": exc.first.message})
    assert analysis  # the probes in policy_dsl.analysis.passes use the same grid
    return out


@pytest.fixture(scope="module")
def shipped_files():
    from policy_dsl.language import resources
    from policy_dsl.language.load import policy_files

    return policy_files([resources.policies_dir()])


@pytest.fixture(scope="module")
def baseline(shipped_files):
    return _answers(shipped_files)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.randoms(use_true_random=False))
def test_answers_do_not_depend_on_file_order(shipped_files, baseline, order):
    files = list(shipped_files)
    order.shuffle(files)
    assert _answers(files) == baseline
