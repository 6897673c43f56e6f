"""Stage: differences between two policy sets, or within one region over time.

Structural: documents and clauses keyed by id; what was added, removed, or changed (conditions
and outcomes as canonical expression text, dates, jurisdiction, precedence, readings,
citations). Layout and formatting alone are no change.

Behavioural: both sets evaluated on the union of their probe grids (policy_dsl.analysis.grid) and
the jurisdiction of each changed document: every affected kind × regions × decision days × fact
values around the boundaries the files draw; every case whose result changes, grouped by the
clauses that decide it."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field

from policy_dsl.analysis import grid
from policy_dsl.engine import resolve
from policy_dsl.language.errors import PolicyDslError
from policy_dsl.engine.evaluate import Case, Evaluator
from policy_dsl.language.expr.ast import answers
from policy_dsl.language.expr.printer import to_text
from policy_dsl.language.model import Clause, Document, PolicySet
from policy_dsl.language.values import to_json



@dataclass
class Change:
    document: str
    clause: str | None
    field: str
    before: object
    after: object

    def to_json(self) -> dict:
        return {"document": self.document, "clause": self.clause, "field": self.field,
                "before": self.before, "after": self.after}


# -- structural ---------------------------------------------------------------------------
def _date(d):
    return d.isoformat() if d else None


def _in_force(f) -> dict:
    return {"from": _date(f.start), "until": _date(f.until), "lower_deadline": _date(f.lower_deadline),
            "adoptions": {k: [_date(v[0]), v[1]] for k, v in sorted(f.adoptions.items())}}


def clause_fields(c: Clause) -> dict:
    """The meaning of a clause as comparable data (canonical expression text, no layout)."""
    out = {
        "topic": list(c.topics), "article": c.article, "text": " ".join(c.text.split()),
        "in_force": _in_force(c.in_force), "when": to_text(c.when.node) if c.when else "true",
        "outcome": c.outcome, "exception_to": c.exception_to, "improves": c.improves,
        "reading": c.reading, "notes": c.notes,
    }
    if c.outcome == "decide":
        out["decide"] = {name: to_text(e.node) for name, e in c.decide}
    elif c.outcome == "delegate":
        out["delegate"] = {"to": c.delegate_to, "bounds": c.bounds}
        if c.delegated is not None:
            out["delegate"]["outputs"] = list(c.delegated)
    elif c.outcome == "adopt":
        out["adopt"] = c.adopt
    elif c.outcome == "reject":
        out["reject"] = c.reject
    elif c.outcome == "inform":
        out["inform"] = c.inform
    elif c.outcome == "evaluate_as":
        kind, facts = c.evaluate_as
        out["evaluate_as"] = {"kind": kind, "facts": {n: to_text(e.node) for n, e in facts}}
    return out


def document_fields(d: Document) -> dict:
    return {
        "number": d.number, "aliases": d.aliases, "title": d.title, "issuers": d.issuers, "level": d.level,
        "jurisdiction": d.jurisdiction, "issued": _date(d.issued), "issued_precision": d.issued_precision,
        "source": d.source, "forwards": d.forwards, "in_force": _in_force(d.in_force),
        "supersession": [{"kind": s.kind, "article": s.article, "text": " ".join(s.text.split())} for s in d.supersession],
        "encoding_version": d.version,
    }


def structural(old: PolicySet, new: PolicySet) -> list[Change]:
    """What changed in the files, keyed by document and clause id."""
    changes: list[Change] = []
    old_docs = {d.id: d for d in old.documents}
    new_docs = {d.id: d for d in new.documents}
    for did in sorted(old_docs.keys() | new_docs.keys()):
        a, b = old_docs.get(did), new_docs.get(did)
        if a is None or b is None:
            doc = a or b
            changes.append(Change(doc.number, None, "document", doc.number if a else None, doc.number if b else None))
            continue
        fa, fb = document_fields(a), document_fields(b)
        for key in fa:
            if key != "encoding_version" and fa[key] != fb[key]:
                changes.append(Change(b.number, None, key, fa[key], fb[key]))
        ca = {c.id: c for c in a.clauses}
        cb = {c.id: c for c in b.clauses}
        for cid in [c.id for c in a.clauses] + [c.id for c in b.clauses if c.id not in ca]:
            x, y = ca.get(cid), cb.get(cid)
            if x is None or y is None:
                c = x or y
                changes.append(Change(b.number, c.ref, "clause", c.citation if x else None, c.citation if y else None))
                continue
            gx, gy = clause_fields(x), clause_fields(y)
            for key in dict.fromkeys([*gx, *gy]):
                if gx.get(key) != gy.get(key):
                    if key == "decide" and isinstance(gx.get(key), dict) and isinstance(gy.get(key), dict):
                        for out in dict.fromkeys([*gx[key], *gy[key]]):
                            if gx[key].get(out) != gy[key].get(out):
                                changes.append(Change(b.number, y.ref, f"decide.{out}", gx[key].get(out), gy[key].get(out)))
                        continue
                    changes.append(Change(b.number, y.ref, key, gx.get(key), gy.get(key)))
    od, nd = old.definitions, new.definitions
    for name in sorted(od.keys() | nd.keys()):
        a = to_text(od[name].expr.node) if name in od else None
        b = to_text(nd[name].expr.node) if name in nd else None
        if a != b or (name in od and name in nd and od[name].kinds != nd[name].kinds):
            changes.append(Change("definitions", name, "expr", a, b))
    return changes


def affected_kinds(old: PolicySet, new: PolicySet, changes: list[Change]) -> set[str]:
    """The kinds whose answers a structural change can reach (through evaluate_as and sub-answers
    too)."""
    kinds: set[str] = set()
    for ch in changes:
        if ch.document == "definitions":
            for ps in (old, new):
                if ch.clause in ps.definitions:
                    kinds |= set(ps.definitions[ch.clause].kinds)
            continue
        for ps in (old, new):
            for d in ps.documents:
                if d.number != ch.document:
                    continue
                clauses = [c for c in d.clauses if ch.clause in (None, c.ref)]
                for c in clauses:
                    kinds |= set(c.topics)
                    for other in ps.clauses.values():  # clauses adopting a changed clause
                        if other.adopt == c.ref:
                            kinds |= set(other.topics)
    # kinds that go on to an affected kind: evaluated as one (evaluate_as), or asking for its
    # answer (answer(...)) in a clause or a definition of theirs
    asking = [(set(c.topics), grid.goes_on_to(c)) for ps in (old, new) for c in ps.clauses.values()]
    asking += [(set(d.kinds), {n.kind for n in answers(d.expr.node)}) for ps in (old, new)
               for d in ps.definitions.values()]
    changed = True
    while changed:
        changed = False
        for topics, targets in asking:
            if targets & kinds and not topics <= kinds:
                kinds |= topics
                changed = True
    return kinds


# -- behavioural --------------------------------------------------------------------------
def changed_regions(old: PolicySet, new: PolicySet, changes: list[Change]) -> list[str]:
    """The jurisdiction (and the regions of recorded adoptions) of each document a change is in."""
    numbers = {c.document for c in changes}
    out: dict[str, None] = {}
    for ps in (old, new):
        for d in ps.documents:
            if d.number in numbers:
                out[d.jurisdiction] = None
                for c in [d, *d.clauses]:
                    out.update(dict.fromkeys(c.in_force.adoptions))
    return list(out)


def signature(result) -> dict:
    """The parts of a result a diff compares: status, outputs, bounds, governing clause."""
    return {"status": result.status, **{k: to_json(v) for k, v in result.outputs.items()},
            "bounds": ({k: v for k, v in result.bounds.items() if k != "set_by"} if result.bounds else None),
            "governing": [c.ref for c, _ in result.governing],
            "deciders": [c.ref for c, fields in result.governing if fields] or [c.ref for c, _ in result.governing[:1]]}


def _run(ev: Evaluator, case: Case):
    if case.kind not in ev.policy.vocab.kinds:  # a kind only the other set's kinds table has
        return {"error": "E-CASE-KIND"}
    try:
        return signature(ev.evaluate(case, explain=False))
    except PolicyDslError as exc:
        return {"error": exc.first.code}


@dataclass
class Behaviour:
    cases: int = 0
    changed: int = 0
    regions: list = field(default_factory=list)  # the codes of the regions probed
    groups: dict = field(default_factory=lambda: defaultdict(lambda: {"count": 0, "kinds": set(), "regions": set(),
                                                                    "examples": []}))

    def to_json(self) -> dict:
        return {"cases": self.cases, "changed": self.changed, "regions": self.regions,
                "groups": [{"clauses": list(k), "count": g["count"], "kinds": sorted(g["kinds"]),
                            "regions": sorted(g["regions"]), "examples": g["examples"]}
                           for k, g in sorted(self.groups.items(), key=lambda kv: -kv[1]["count"])]}


def behavioural(old: PolicySet, new: PolicySet, kinds: set[str], regions=None, examples: int = 3,
                probe_grid: grid.Grid | None = None, evaluator_for=Evaluator) -> Behaviour:
    """Evaluate both sets on the probe grid for ``kinds`` (by default the union of both sets' grids,
    policy_dsl.analysis.grid; ``regions``: only these Regions of it); collect the cases whose
    results differ, grouped by the clauses that decide them before and after. ``evaluator_for``
    makes the evaluator of a set (the reference by default; the front end may give a faster
    backend that answers the same)."""
    ev_old, ev_new = evaluator_for(old), evaluator_for(new)
    g = probe_grid or grid.Grid([old, new])
    out = Behaviour()
    out.regions = [r.code for r in (regions if regions is not None else g.regions)]
    for kind in sorted(kinds):
        if kind not in g.kinds:
            continue
        for region, day, facts in g.cases(kind, regions):
            case = grid.make_case(kind, region, facts, day)
            a, b = _run(ev_old, case), _run(ev_new, case)
            out.cases += 1
            if a == b:
                continue
            out.changed += 1
            key = tuple(dict.fromkeys((a.get("deciders") or []) + (b.get("deciders") or []))) or ("(none)",)
            group = out.groups[key]
            group["count"] += 1
            group["kinds"].add(kind)
            group["regions"].add(region.code)
            if len(group["examples"]) < examples:
                group["examples"].append({"case": grid.case_json(kind, region, facts),
                                          "before": _delta(a, b), "after": _delta(b, a)})
    return out


def _delta(a: dict, b: dict) -> dict:
    return {k: v for k, v in a.items() if b.get(k) != v and k != "deciders"}


def diff_sets(old: PolicySet, new: PolicySet, behaviour: bool = True, evaluator_for=Evaluator) -> dict:
    changes = structural(old, new)
    result = {"structural": [c.to_json() for c in changes]}
    if behaviour:
        kinds = affected_kinds(old, new, changes)
        result["affected_kinds"] = sorted(kinds)
        probe_grid = grid.Grid([old, new], extra_regions=changed_regions(old, new, changes))
        result["behavioural"] = (behavioural(old, new, kinds, probe_grid=probe_grid,
                                             evaluator_for=evaluator_for).to_json() if kinds
                                 else Behaviour(regions=[r.code for r in probe_grid.regions]).to_json())
    return result


# -- one region between two dates ---------------------------------------------------------
def between(policy: PolicySet, region, d1: dt.date, d2: dt.date, examples: int = 2, evaluator_for=Evaluator) -> dict:
    """Clauses entering and leaving force in ``region`` between d1 and d2, and the kinds whose
    answers change: the same facts decided under the rules of d1 and of d2 (``evaluator_for``: as
    for ``behavioural``)."""
    vocab = policy.vocab
    entering, leaving = [], []
    for c in policy.clauses.values():
        s1, s2 = resolve.standing(c, region, d1).state, resolve.standing(c, region, d2).state
        if s1 != "in_force" and s2 == "in_force":
            entering.append(c)
        elif s1 == "in_force" and s2 != "in_force":
            leaving.append(c)
    ev = evaluator_for(policy)
    g = grid.grid_of(policy)
    kinds = {}
    for kind in vocab.kinds:
        changed = total = 0
        shown = []
        for facts in g.facts(kind, region, d2):
            case1 = grid.make_case(kind, region, facts, d1)
            case2 = grid.make_case(kind, region, facts, d2)
            a, b = _run(ev, case1), _run(ev, case2)
            total += 1
            if a != b:
                changed += 1
                if len(shown) < examples:
                    shown.append({"case": grid.case_json(kind, region, facts), "before": _delta(a, b), "after": _delta(b, a)})
        if changed:
            kinds[kind] = {"changed": changed, "cases": total, "examples": shown}
    ref = lambda c: {"document": c.doc.number, "article": c.article, "rule": c.ref, "topics": list(c.topics)}  # noqa: E731
    return {"region": region.to_json(), "from": d1.isoformat(), "to": d2.isoformat(),
            "entering": [ref(c) for c in sorted(entering, key=lambda c: (c.doc.rank, c.ref))],
            "leaving": [ref(c) for c in sorted(leaving, key=lambda c: (c.doc.rank, c.ref))],
            "kinds": kinds}


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
