"""Check pass over generated cases: two clauses in force on the same topic, region and date,
tied by precedence, whose outcomes differ for some case (RULES.md §4 e). Each finding shows
such a case."""

from __future__ import annotations

import datetime as dt
import json

from policy_dsl.analysis import grid
from policy_dsl.engine import resolve
from policy_dsl.engine.evaluate import RANGE_ERRORS, Evaluator
from policy_dsl.language.errors import Diagnostic, InputError
from policy_dsl.language.model import Case, Clause, PolicySet
from policy_dsl.language.regions import default_registry
from policy_dsl.language.values import to_json


def _probe_regions(policy: PolicySet, a: Clause, b: Clause) -> list:
    """The regions of the policy set's probe grid inside both clauses' jurisdictions."""
    return [r for r in grid.grid_of(policy).regions if r.within(a.doc.jurisdiction) and r.within(b.doc.jurisdiction)]


def find_conflicts(policy: PolicySet, limit_per_pair: int = 1) -> list[Diagnostic]:
    vocab = policy.vocab
    ev = Evaluator(policy)
    out = []
    for topic, clauses in policy.by_topic.items():
        outputs = vocab.kinds[topic].outputs
        for a, b in nested_pairs(clauses):
            if not resolve.tied(a, b) or resolve.excepts(a, b) or resolve.excepts(b, a):
                continue
            if not (resolve.claimed_outputs(a, outputs) & resolve.claimed_outputs(b, outputs)):
                continue
            if exclusive(a, b):  # their conditions never hold together: no case could show a conflict
                continue
            found = _probe_pair(ev, topic, a, b, policy)
            if found:
                out.append(found)
    return out


def nested_pairs(clauses: list[Clause]) -> list[tuple[Clause, Clause]]:
    """The pairs ``(a, b)`` of ``clauses``, ``a`` before ``b``, whose jurisdictions nest (the same,
    or one within the other): the only pairs that can apply in one region together. Found from
    an index of the clauses by jurisdiction — each clause meets those of its own jurisdiction and
    of the ones above it — not by comparing all with all."""
    reg = default_registry()
    by_code: dict[str, list[int]] = {}
    for i, c in enumerate(clauses):
        by_code.setdefault(c.doc.jurisdiction, []).append(i)
    pairs = []
    for code, mine in by_code.items():
        above = [j for r in reg.get(code).chain for j in by_code.get(r.code, ())]  # its own code included
        for i in mine:
            for j in above:
                if i < j or (j < i and clauses[j].doc.jurisdiction != code):
                    pairs.append((i, j) if i < j else (j, i))
    pairs.sort()
    return [(clauses[i], clauses[j]) for i, j in pairs]


def _probe_pair(ev: Evaluator, topic: str, a: Clause, b: Clause, policy: PolicySet) -> Diagnostic | None:
    """A probe of the grid (regions inside both jurisdictions, the topic's sampled days on which
    both are in force) on which both conditions hold and the outcomes differ, as a finding."""
    from policy_dsl.analysis.passes import probes

    g = grid.grid_of(policy)
    for region, day in [(r, d) for r in _probe_regions(policy, a, b) for d in g.sample_days(topic, r)]:
        if resolve.standing(a, region, day).state != "in_force" or resolve.standing(b, region, day).state != "in_force":
            continue
        for p in probes(policy, topic, region, day):  # the check passes' probes, evaluated once
            if not (a in p.holding and b in p.holding):
                continue
            facts, case = p.facts, p.case
            try:
                env = ev.environment(case)
                ea, eb = a.effective(), b.effective()
                if ea.outcome != eb.outcome:
                    differ = f"{ea.outcome} vs {eb.outcome}"
                elif ea.outcome == "decide":
                    va, vb = ev.clause_outputs(case, a, env), ev.clause_outputs(case, b, env)
                    shared = [k for k in va if k in vb and va[k] != vb[k]]
                    if not shared:
                        continue
                    k = shared[0]
                    differ = f"{k} = {to_json(va[k])} vs {to_json(vb[k])}"
                else:
                    continue
            except (InputError,) + RANGE_ERRORS:  # a generated case these clauses cannot be read on: no conflict shown by it
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
    """The Case of a probe of the grid (its facts are typed already)."""
    return Case(kind, region, dict(facts), day)


def overlap_finder(policy: PolicySet, region, day: dt.date, evaluator: Evaluator | None = None):
    """A function (topic, clauses[, wanted]) → the set of clause pairs whose conditions both hold for
    some generated case at (region, day). Given ``wanted`` (a collection of pairs), only those pairs
    are looked for, and the probing stops once each is found: the answer holds the wanted pairs
    that overlap (``resolve.what_applies`` asks only about the pairs it shows)."""
    ev = evaluator or Evaluator(policy)

    def overlaps(topic: str, clauses: list[Clause], wanted=None) -> set:
        pairs: set = set()
        if wanted is not None:
            bit = {c: 1 << i for i, c in enumerate(clauses)}
            todo = {p: sum(bit[c] for c in p) for p in wanted
                    if all(c in bit for c in p) and not exclusive(*p)}  # no probe could show those
            if not todo:
                return pairs
        for facts in grid.grid_of(policy).iter_facts(topic, region, day):
            case = _case(topic, region, facts, day)
            try:  # all of them, as the evaluator does: a probe one of them cannot be read on says nothing
                holding = ev.holding(case, clauses)
            except (InputError,) + RANGE_ERRORS:
                continue
            if wanted is not None:
                mask = sum(bit[c] for c in holding)
                for p, m in list(todo.items()):
                    if mask & m == m:
                        pairs.add(p)
                        del todo[p]
                if not todo:
                    break
                continue
            for i, a in enumerate(holding):
                for b in holding[i + 1:]:
                    pairs.add(frozenset((a, b)))
        return pairs

    overlaps.takes_wanted = True
    return overlaps


_EXCLUSIVE: dict = {}


def exclusive(a: Clause, b: Clause) -> bool:
    """Whether the two clauses' conditions can never hold together, seen from their top-level
    conjuncts alone: one says ``x`` and the other ``not x``; ``x == y`` and ``x != y``; ``x == "a"``
    and ``x == "b"``; ``x <= 3`` and ``x > 3``… (the same expression text on both sides). Sound,
    not complete: False says only that this test cannot tell."""
    key = (a, b) if id(a) < id(b) else (b, a)
    found = _EXCLUSIVE.get(key)
    if found is None:
        wa, wb = a.effective().when, b.effective().when
        found = wa is not None and wb is not None and _contradict(wa.node, wb.node)
        if len(_EXCLUSIVE) > 10_000:
            _EXCLUSIVE.clear()
        _EXCLUSIVE[key] = found
    return found


def _conjuncts(node) -> list:
    from policy_dsl.language.expr import ast

    if isinstance(node, ast.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


_ORDERED = ("<", "<=", ">", ">=")


def _contradict(x, y) -> bool:
    ax, ay = _atoms_of(x), _atoms_of(y)
    return _one_way(ax, ay) or _one_way(ay, ax)


_ATOMS: dict = {}


def _atoms_of(node):
    found = _ATOMS.get(id(node))
    if found is None or found[0] is not node:
        if len(_ATOMS) > 10_000:
            _ATOMS.clear()
        found = _ATOMS[id(node)] = (node, _atoms(_conjuncts(node)))
    return found[1]


def _atoms(nodes: list):
    """What a list of conjuncts asserts: the texts of the conjuncts; for each ``not (e1 and e2…)``
    the texts of e1, e2…; and the comparisons as (left text, operator, right side)."""
    from policy_dsl.language.expr import ast
    from policy_dsl.language.expr.printer import to_text

    asserted, negated, compared = set(), [], []
    for n in nodes:
        asserted.add(to_text(n))
        if isinstance(n, ast.Unary) and n.op == "not":
            negated.append(frozenset(to_text(c) for c in _conjuncts(n.operand)))
        elif isinstance(n, ast.Binary) and n.op in ("==", "!=") + _ORDERED:
            right = ("lit", n.right.kind, n.right.value) if isinstance(n.right, ast.Literal) else ("expr", to_text(n.right))
            compared.append((to_text(n.left), n.op, right))
    return asserted, negated, compared


def _one_way(a, b) -> bool:
    if any(neg <= b[0] for neg in a[1]):  # not (x and y) against x and y
        return True
    return any(lx == ly and _clash(ox, vx, oy, vy) for lx, ox, vx in a[2] for ly, oy, vy in b[2])


def _clash(ox, vx, oy, vy) -> bool:
    """``left ox vx`` and ``left oy vy`` cannot both hold."""
    if vx == vy and {ox, oy} in ({"==", "!="}, {"<=", ">"}, {"<", ">="}):
        return True
    if vx[0] != "lit" or vy[0] != "lit" or vx[1] != vy[1]:
        return False
    if ox == oy == "==" and vx[1] in ("string", "number", "bool"):
        return vx[2] != vy[2]
    if ox in _ORDERED and oy in _ORDERED and vx[1] == "number":
        lo_x, hi_x = _interval(ox, vx[2])
        lo_y, hi_y = _interval(oy, vy[2])
        lo = max(lo_x, lo_y, key=lambda b: (b[0], not b[1]))  # the tighter low end (excluded beats included)
        hi = min(hi_x, hi_y, key=lambda b: (b[0], b[1]))
        return _empty(lo, hi)
    return False


_INF = float("inf")


def _interval(op, v):
    """The values ``x op v`` allows, as ((low, low included), (high, high included))."""
    return {"<": ((-_INF, False), (v, False)), "<=": ((-_INF, False), (v, True)),
            ">": ((v, False), (_INF, False)), ">=": ((v, True), (_INF, False))}[op]


def _empty(lo, hi) -> bool:
    return lo[0] > hi[0] or (lo[0] == hi[0] and not (lo[1] and hi[1]))
