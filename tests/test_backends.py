"""The fast backend (policy_dsl.fast.plans) held to the reference evaluator (engine.evaluate): the
same answers — status, outputs, bounds, governing, displaced, pending, notes, improving and
informing clauses, or the same error — on every case of the shipped policy tests and on a sample
of generated cases (bench/gen_cases.py); it declines only the named classes of plans.DECLINED,
and any other exception propagates."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_dsl.engine.cases import CaseValidator, RawCase
from policy_dsl.engine.evaluate import Evaluator
from policy_dsl.engine.results import result_json
from policy_dsl.fast.evaluator import FastEvaluator
from policy_dsl.fast.plans import DECLINED, Plans
from policy_dsl.language import resources
from policy_dsl.language.errors import PolicyDslError, Where
from policy_dsl.language.regions import default_registry

from conftest import generated_cases

REPO = Path(__file__).resolve().parent.parent


def _answer(evaluate, validator, data):
    """The JSON answer (no trace) of one case, or its error (code and message)."""
    try:
        case = validator.validate(RawCase(data, Where("case"), "case"))
        return result_json(evaluate(case), "zh", trace=False)
    except PolicyDslError as exc:
        return {"error": exc.first.code, "message": exc.first.message}


def _policy_test_cases():
    from policy_dsl.language.yamlsafe import decode, load_yaml

    for f in sorted((resources.policies_dir() / "tests").glob("*.yaml")):
        for t in load_yaml(decode(f.read_bytes(), str(f)), str(f)).data["tests"]:
            yield t["case"]


def _generated(n: int, seed: int):
    return generated_cases(n, seed)


@pytest.fixture(scope="module")
def both(policy):
    reference = Evaluator(policy)
    fast = FastEvaluator(Evaluator(policy))
    validator = CaseValidator(default_registry(), vocab=policy.vocab)
    return reference, fast, validator


def _compare(both, cases) -> int:
    reference, fast, validator = both
    n = 0
    for data in cases:
        want = _answer(lambda c: reference.evaluate(c, explain=False), validator, data)
        got = _answer(lambda c: fast.evaluate(c, explain=False), validator, data)
        assert got == want, data
        n += 1
    return n


def test_the_shipped_policy_tests_cases(both):
    assert _compare(both, _policy_test_cases()) > 200
    assert set(both[1].plans.declined) <= set(DECLINED)


def test_generated_cases(both):
    before = dict(both[1].plans.declined)
    cases = _generated(4000, seed=11)
    assert _compare(both, cases) == len(cases) > 3000
    declined = {k: v - before.get(k, 0) for k, v in both[1].plans.declined.items()}
    assert set(declined) <= set(DECLINED)
    # the fast backend is not silently out of use: it declines few of the cases it could answer, and
    # leaves to the reference the input errors a clause or a sub-answer reports (the generated cases
    # put facts at every boundary the constraints allow, and some clauses refuse such cases)
    answerable = sum(v for k, v in declined.items() if k not in ("reject", "sub-answer"))
    assert answerable < 0.05 * len(cases) and sum(declined.values()) < 0.10 * len(cases), declined


def test_a_tie_whose_values_differ_is_declined_and_the_reference_reports_it(cli, tmp_path):
    from policy_dsl.face.api import load_policy

    policy = load_policy([REPO / "tests" / "check" / "bad" / "tied_clauses.yaml"])
    validator = CaseValidator(default_registry(), vocab=policy.vocab)
    case = validator.validate(RawCase({"kind": "first_enrollment", "region": "济南", "worker": "flexible",
                                       "paid_on": "2022-05-10"}, Where("case"), "case"))
    plans = Plans(Evaluator(policy))
    assert plans.evaluate(case) is None and plans.declined == {"conflict": 1}
    with pytest.raises(PolicyDslError) as info:
        FastEvaluator(Evaluator(policy)).evaluate(case)
    assert info.value.first.code == "E-CONFLICT"


def test_any_other_exception_propagates(policy, monkeypatch):
    """A bug in generated code is not a reason to decline: it fails."""
    fast = FastEvaluator(Evaluator(policy))
    validator = CaseValidator(default_registry(), vocab=policy.vocab)
    case = validator.validate(RawCase({"kind": "arrears", "region": "济南", "worker": "flexible",
                                       "last_paid_month": "2022-06", "paid_on": "2022-11-03"}, Where("case"), "case"))
    assert fast.evaluate(case).status == "decided"  # the first answer: the reference's
    assert fast.evaluate(case).status == "decided"  # the second builds the stretch's conditions

    def broken(*args):
        raise KeyError("a bug")

    for cond in fast.plans._conditions.values():
        monkeypatch.setattr(cond, "fn", broken)
    with pytest.raises(KeyError):
        fast.evaluate(case)
