"""Stage: which clauses govern. For a topic, a region and a date: which clauses are in force,
which are pending, and the precedence between clauses (RULES.md §4): explicit exceptions,
specificity, later rule, yielding to a later superior adjustment; ties are reported."""

from __future__ import annotations

import datetime as dt
import functools
from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)

from policy_dsl.language.model import Clause, PolicySet

# reasons a clause displaces another, in the order RULES.md §4 applies them
EXCEPTION = "exception"
YIELDS = "yields_to_superior"
SPECIFICITY = "specificity"
LATER = "later_rule"


@dataclass
class Standing:
    """A clause's standing at a region on a date."""

    clause: Clause
    state: str  # in_force | pending | expired | not_issued | outside
    start: dt.date | None


def standing(clause: Clause, region, day: dt.date) -> Standing:
    if not clause.applies_to_region(region):
        return Standing(clause, "outside", None)
    start = clause.local_start(region)
    if day < clause.doc.issued and (start is None or day < start):
        # a clause may be in force before its document was issued when its text says so
        # (济医保发〔2022〕2号 三: 自2022年起); before both it does not exist yet
        return Standing(clause, "not_issued", start)
    if start is not None and day < start:
        return Standing(clause, "pending", start)
    if clause.in_force.until is not None and day > clause.in_force.until:
        return Standing(clause, "expired", start)
    return Standing(clause, "in_force", start)


def standings(policy: PolicySet, topic: str, region, day: dt.date) -> list[Standing]:
    return [standing(c, region, day) for c in policy.by_topic.get(topic, ())]


def excepts(a: Clause, b: Clause) -> bool:
    """Whether ``a`` is an explicit exception to ``b``."""
    if a.exception_to is None or a is b:
        return False
    if a.exception_to == "all":
        return b.exception_to is None
    return b.ref in a.exception_to


def apply_exceptions(candidates: list[Clause]) -> tuple[list[Clause], list[tuple[Clause, str, Clause]]]:
    """The candidates an explicit exception among them does not remove, and the removed ones as
    ``(clause, "exception", the exception)`` (RULES §4 a)."""
    exceptions = [c for c in candidates if c.is_exception]
    if not exceptions:
        return candidates, []
    kept, removed = [], []
    for c in candidates:
        by = next((e for e in exceptions if excepts(e, c)), None)
        if by is None:
            kept.append(c)
        else:
            removed.append((c, EXCEPTION, by))
    return kept, removed


def beats(a: Clause, b: Clause) -> str | None:
    """The reason ``a`` takes precedence over ``b``, or None (b wins, or they are tied)."""
    if excepts(a, b):
        return EXCEPTION
    if excepts(b, a):
        return None
    da, db = a.doc, b.doc
    if db.yields_to_later_superior and da.rank < db.rank and da.issued > db.issued:
        return YIELDS
    if da.yields_to_later_superior and db.rank < da.rank and db.issued > da.issued:
        return None
    if da.rank != db.rank:
        return SPECIFICITY if da.rank > db.rank else None
    if da.issued != db.issued:
        return LATER if da.issued > db.issued else None
    return None


def _cmp(a: Clause, b: Clause) -> int:
    if beats(a, b):
        return -1
    if beats(b, a):
        return 1
    return 0


def order(clauses: list[Clause]) -> list[Clause]:
    """Clauses in precedence order, the governing one first (stable for ties)."""
    return sorted(clauses, key=functools.cmp_to_key(_cmp))


def tied(a: Clause, b: Clause) -> bool:
    return beats(a, b) is None and beats(b, a) is None


def claimed_outputs(clause: Clause, kind_outputs: tuple[str, ...]) -> set[str]:
    """The outputs a clause speaks to: what it decides; nothing for words that only inform;
    everything for other outcomes."""
    eff = clause.effective()
    if eff.outcome == "decide":
        return {name for name, _ in eff.decide}
    if eff.outcome == "inform":
        return set()
    return set(kind_outputs)


_SHOWN: dict = {}


def _displacing(topic: str, in_force: list[Clause], outputs) -> list:
    """For each clause, the clauses it beats among ``in_force`` with an output in common (before
    asking whether their conditions can hold together): [(clause, [(other, reason)])]. The same for
    the same clauses, so kept (a year of days × regions asks it again and again)."""
    key = (topic, tuple(map(id, in_force)))
    found = _SHOWN.get(key)
    if found is None or [c for c, _ in found[0]] != in_force:
        claims = {c: claimed_outputs(c, outputs) for c in in_force}
        shown = [(c, [(other, reason) for other in in_force
                      if other is not c and (reason := beats(c, other)) and claims[c] & claims[other]])
                 for c in in_force]
        if len(_SHOWN) > 4096:
            _SHOWN.clear()
        found = _SHOWN[key] = (shown, tuple(in_force))  # the clauses kept alive: their ids stay theirs
    return found[0]


def what_applies(policy: PolicySet, region, day: dt.date, topics: list[str], overlaps=None) -> dict:
    """For each topic: the clauses in force at (region, day), most specific first, each with what
    it displaces where both apply (``overlaps(topic, clauses)`` gives the pairs whose conditions
    can hold together; without it, every pair with shared outputs); the pending ones with the
    day they start."""
    vocab = policy.vocab
    out = {}
    for topic in topics:
        sts = standings(policy, topic, region, day)
        in_force = order([s.clause for s in sts if s.state == "in_force"])
        pending = sorted((s for s in sts if s.state == "pending"), key=lambda s: (s.start, -s.clause.doc.rank))
        shown = _displacing(topic, in_force, vocab.kinds[topic].outputs)
        together = None
        if overlaps:
            wanted = {frozenset((c, other)) for c, found in shown for other, _ in found}
            if getattr(overlaps, "takes_wanted", False):
                together = overlaps(topic, in_force, wanted) if wanted else set()
            else:
                together = overlaps(topic, in_force)
        rows = []
        for c, found in shown:
            displaces = [(other, reason) for other, reason in found
                         if together is None or frozenset((c, other)) in together]
            rows.append({"clause": c, "start": c.local_start(region), "until": c.in_force.until,
                         "displaces": displaces})
        out[topic] = {"in_force": rows, "pending": [{"clause": s.clause, "start": s.start} for s in pending]}
    return out
