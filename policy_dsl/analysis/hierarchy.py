"""Check pass over the probe grid: the hierarchy of the documents (W-HIERARCHY).

On each probe of the check passes (``passes.batches``: the policy set's grid, evaluated once), every
pair of clauses in force on the probe's topic, region and day whose conditions both hold, one of
a lower level (city under province, province under country) and one of a higher level that is
binding there, is compared: the outputs both decide, and their outcomes (the lower delegating or
rejecting where the higher decides). The higher clause binds when it decides (rather than
delegates) and no clause of its level or above that holds there takes precedence over it (a later
rule of the same level, an exception). Pairs the precedence already settles for the higher clause
(an exception to the lower one, a later superior rule the lower one yields to) are not compared:
the lower rule does not apply there. A clause that adopts another is compared through it (once,
at the adopted clause, when that one is in force there too). A difference is a lower rule that
is not consistent with a binding higher rule: W-HIERARCHY (下位规定与上位规定不一致), one per pair
of clauses, with a probe that shows it (a case to rerun with ``eval``) and how many probes do.

A lower clause may declare a deviation authorised (``deviations`` in its policy file: the higher
clause, and the text of a higher document that authorises it, checked against that document's
source like every quote); the pair is then reported as I-HIERARCHY-AUTHORISED (a note, no
warning) with the authorising text."""

from __future__ import annotations

import json
from collections import Counter

from policy_dsl.language.errors import Diagnostic, PolicyDslError
from policy_dsl.language.messages import join, t
from policy_dsl.language.expr.compile import EvalError
from policy_dsl.language.model import Clause, PolicySet
from policy_dsl.language.values import to_json

_UNREADABLE = (PolicyDslError, EvalError, ArithmeticError, ValueError)  # a probe a clause cannot be read on
_OUTCOMES_COMPARED = ("decide", "delegate", "reject")


def binding(clause: Clause) -> bool:
    """Whether a clause binds the levels below it: it decides (rather than delegates)."""
    return clause.effective().outcome == "decide"


def declared(low: Clause, high: Clause):
    """The deviation ``low`` (or the clause it adopts) declares from ``high``, or None."""
    for c in dict.fromkeys((low, low.effective())):
        found = next((d for d in c.deviations if d.source == high.ref), None)
        if found is not None:
            return found
    return None


def _binding_on(high: Clause, holding) -> bool:
    """Whether ``high`` binds on a probe where ``holding`` hold: it decides, and no clause of its
    level or above among them takes precedence over it."""
    from policy_dsl.engine import resolve

    return binding(high) and not any(o is not high and o.doc.rank <= high.doc.rank and resolve.beats(o, high)
                                     for o in holding)


def _difference(ev, p, low: Clause, high: Clause, outputs: dict) -> str | None:
    """How ``low`` differs from ``high`` on probe ``p`` (None: it does not, or cannot be read)."""
    lo, hi = low.effective(), high.effective()
    if lo.outcome not in _OUTCOMES_COMPARED:
        return None  # evaluate_as, inform: nothing of its own to compare
    if lo.outcome != "decide":
        return t("hierarchy.outcome", outcome=lo.outcome)
    try:
        for c in (low, high):
            if c not in outputs:
                outputs[c] = ev.clause_outputs(p.case, c)
    except _UNREADABLE:
        return None
    a, b = outputs[low], outputs[high]
    shared = [k for k in a if k in b and to_json(a[k]) != to_json(b[k])]
    if not shared:
        return None
    return join(t("conflicts.versus", a=f"{k} = {_show(a[k])}", b=_show(b[k])) for k in shared)


def _compared(holding: tuple) -> tuple:
    """The pairs (lower clause, binding higher clause) compared on a probe where ``holding`` hold
    (in the order tried): what they are depends on those clauses alone, not on the probe."""
    from policy_dsl.engine import resolve

    highs = [c for c in holding if _binding_on(c, holding)]
    out = []
    for low in holding if highs else ():
        if low.adopted is not None and low.adopted in holding:
            continue  # the adopted clause speaks for it
        for high in highs:
            if low.doc.rank <= high.doc.rank or low.effective() is high.effective() or resolve.beats(high, low):
                continue
            out.append((low, high))
    return tuple(out)


def _show(value) -> str:
    v = to_json(value)
    return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


class Hierarchy:
    """The hierarchy pass, fed the probes of the grid as they are made (``passes.grid_findings``,
    with its evaluator ``ev``): W-HIERARCHY for each lower clause whose outputs differ from a
    binding higher clause on some probe; I-HIERARCHY-AUTHORISED where the lower clause declares
    the deviation authorised."""

    def __init__(self, policy: PolicySet, ev):
        self.policy, self.ev = policy, ev
        self.found: dict[tuple, list] = {}  # (low, high) -> [count, first probe, difference]
        self.compared: dict[tuple, tuple] = {}  # the clauses that hold on a probe -> the pairs compared there

    def feed(self, topic: str, region, day, ps: list) -> None:
        ev, found, compared = self.ev, self.found, self.compared
        source = getattr(ps, "source", None)  # probes put from others (``passes.Moved``): the same pairs differ
        done = None if source is None else source.replay.get(self)
        if done is not None:
            for pair, n in done.items():
                found[pair][0] += n
            return
        counts = Counter()
        for p in ps:
            if len(p.holding) < 2:
                continue
            pairs = compared.get(p.holding)
            if pairs is None:
                pairs = compared[p.holding] = _compared(p.holding)
            outputs: dict = {}
            for low, high in pairs:
                diff = _difference(ev, p, low, high, outputs)
                if diff is None:
                    continue
                entry = found.setdefault((low, high), [0, p, diff])
                entry[0] += 1
                counts[(low, high)] += 1
        replay = getattr(ps, "replay", None)  # ``passes.Probes``: for the probes put from these
        if replay is not None:
            replay[self] = counts

    def finish(self) -> list[Diagnostic]:
        return _findings(self.policy, self.found)


def _findings(policy: PolicySet, found: dict) -> list[Diagnostic]:
    """A finding for each pair of ``found``, in the order of the files."""
    order = {c: i for i, c in enumerate(c for d in policy.documents for c in d.clauses)}
    out = []
    for (low, high), (n, p, diff) in sorted(found.items(), key=lambda kv: (order.get(kv[0][0], 0), order.get(kv[0][1], 0))):
        case = p.example_text()
        cases = t("hierarchy.cases", n=n)
        dev = declared(low, high)
        if dev is not None:
            by = policy_document(policy, dev.document or high.doc.id)
            out.append(Diagnostic(
                "I-HIERARCHY-AUTHORISED",
                t("hierarchy.authorised", low=low.citation, low_ref=low.ref, high=high.citation, high_ref=high.ref, diff=diff,
                  cases=cases, case=case, day=p.day.isoformat(), by=by.number if by else dev.document,
                  text=" ".join(dev.text.split())),
                low.where, None, severity="note"))
            continue
        out.append(Diagnostic(
            "W-HIERARCHY",
            t("hierarchy.differs", low=low.citation, low_ref=low.ref, high=high.citation, high_ref=high.ref, diff=diff,
              case=case, day=p.day.isoformat(), cases=cases),
            low.where,
            t("hierarchy.differs.hint", high=high.citation, high_ref=high.ref),
            severity="warning"))
    return out


def policy_document(policy: PolicySet, doc_id: str):
    return next((d for d in policy.documents if d.id == doc_id), None)
