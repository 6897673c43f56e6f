"""Check pass over generated cases: two clauses in force on the same topic, region and date,
tied by precedence, whose outcomes differ for some case (RULES.md §4 e). Each finding shows
such a case."""

from __future__ import annotations

import datetime as dt
import json

from policy_dsl import grid, resolve
from policy_dsl.errors import Diagnostic, PolicyDslError
from policy_dsl.evaluate import Case, Evaluator
from policy_dsl.kinds import vocabulary
from policy_dsl.model import Clause, PolicySet
from policy_dsl.regions import default_registry
from policy_dsl.values import to_json


def _probe_region(a: Clause, b: Clause):
    """A region inside both jurisdictions (a city if the deeper one is a province or country)."""
    reg = default_registry()
    deeper = a if a.doc.rank >= b.doc.rank else b
    code = deeper.doc.jurisdiction
    r = reg.get(code)
    if r.level in ("country", "province"):
        # a city inside: prefer one with no city document (the plain case)
        for cand in reg.by_code.values():
            if cand.level == "city" and cand.valid_to is None and cand.within(code) and cand.within(a.doc.jurisdiction) and cand.within(b.doc.jurisdiction):
                return cand
    return r


def find_conflicts(policy: PolicySet, limit_per_pair: int = 1) -> list[Diagnostic]:
    vocab = vocabulary()
    ev = Evaluator(policy)
    out = []
    for topic, clauses in policy.by_topic.items():
        outputs = vocab.kinds[topic].outputs
        for i, a in enumerate(clauses):
            for b in clauses[i + 1:]:
                if not resolve.tied(a, b) or resolve.excepts(a, b) or resolve.excepts(b, a):
                    continue
                if not (resolve.claimed_outputs(a, outputs) & resolve.claimed_outputs(b, outputs)):
                    continue
                if not (default_registry().get(a.doc.jurisdiction).within(b.doc.jurisdiction)
                        or default_registry().get(b.doc.jurisdiction).within(a.doc.jurisdiction)):
                    continue
                found = _probe_pair(ev, topic, a, b)
                if found:
                    out.append(found)
    return out


def _probe_pair(ev: Evaluator, topic: str, a: Clause, b: Clause) -> Diagnostic | None:
    region = _probe_region(a, b)
    starts = [a.local_start(region), b.local_start(region)]
    first = max(s for s in starts if s) if any(starts) else dt.date(2022, 1, 1)
    days = [first, first + dt.timedelta(days=45), first + dt.timedelta(days=400)]
    for day in days:
        if resolve.standing(a, region, day).state != "in_force" or resolve.standing(b, region, day).state != "in_force":
            continue
        for facts in grid.facts_for(topic, day, region.code):
            case = _case(topic, region, facts, day)
            if case is None:
                continue
            try:
                env = ev.environment(case, None)
                if not (ev._test(a, env, False)[0] and ev._test(b, env, False)[0]):
                    continue
                ea, eb = a.effective(), b.effective()
                if ea.outcome != eb.outcome:
                    differ = f"{ea.outcome} vs {eb.outcome}"
                elif ea.outcome == "decide":
                    va, vb = ev._outputs(case, a, env, None), ev._outputs(case, b, env, None)
                    shared = [k for k in va if k in vb and va[k] != vb[k]]
                    if not shared:
                        continue
                    k = shared[0]
                    differ = f"{k} = {to_json(va[k])} vs {to_json(vb[k])}"
                else:
                    continue
            except PolicyDslError:
                continue
            example = {"kind": topic, "region": region.code, **{k: _jsonable(v) for k, v in facts.items()}}
            return Diagnostic(
                "E-CONFLICT",
                f"{a.citation} [{a.ref}] and {b.citation} [{b.ref}] are tied by precedence and differ ({differ}) "
                f"for {json.dumps(example, ensure_ascii=False)}",
                b.where,
                "make their conditions exclusive, or mark one `exception_to` the other",
            )
    return None


def _jsonable(v):
    if isinstance(v, list):
        return [{k: _jsonable(x) for k, x in i.items()} if isinstance(i, dict) else _jsonable(i) for i in v]
    return to_json(v)


def _case(kind, region, facts, day) -> Case | None:
    reg = default_registry()
    typed = dict(facts)
    for key in ("from_region",):
        if key in typed:
            typed[key] = reg.get(typed[key])
    if "enrollments" in typed:
        typed["enrollments"] = [dict(e, region=reg.get(e["region"])) for e in typed["enrollments"]]
    return Case(kind, region, typed, day)


def overlap_finder(policy: PolicySet, region, day: dt.date):
    """A function (topic, clauses) → the set of clause pairs whose conditions both hold for some
    generated case at (region, day)."""
    ev = Evaluator(policy)

    def overlaps(topic: str, clauses: list[Clause]) -> set:
        pairs: set = set()
        for facts in grid.facts_for(topic, day, region.code):
            case = _case(topic, region, facts, day)
            try:
                env = ev.environment(case, None)
                holding = [c for c in clauses if ev._test(c, env, False)[0]]
            except (PolicyDslError, Exception):  # a probe the conditions cannot read says nothing
                continue
            for i, a in enumerate(holding):
                for b in holding[i + 1:]:
                    pairs.add(frozenset((a, b)))
        return pairs

    return overlaps
