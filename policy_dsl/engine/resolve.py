"""Stage: which clauses govern. For a topic, a region and a date: which clauses are in force,
which are pending, and the precedence between clauses (docs/reference.md, Precedence; docs/readings.md): explicit exceptions,
specificity, later rule, yielding to a later superior adjustment; ties are reported.

It also builds the one intermediate form every backend interprets or compiles:

- a **stretch** (``Stretches.at(kind, region, day)``): for a kind and a region, the days in
  which no clause of that kind starts, ends or is issued there, with its clauses in force,
  pending or expired, in the policy's order — the same for every day of the stretch;
- a **selection** (``select(holding, outputs)``): for the clauses in force whose conditions hold,
  everything that follows without the values — the precedence order, what explicit exceptions
  remove, the outcome, the deciding clauses (``Group``) in order with the bounds above them, and,
  once settled (``settle``), which clause's value each output takes, the ties whose values must
  agree, the governing and displaced clauses and the notes.

Precedence is written here once: ``engine.evaluate`` (the reference) interprets a selection with
the expression closures and emits the trace; ``policy_dsl.fast`` compiles the same selection."""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_right
from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)

from policy_dsl.language.messages import both
from policy_dsl.language.model import Clause, PolicySet

# reasons a clause displaces another, in the order they apply (docs/reference.md, Precedence)
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


def applying(policy: PolicySet, topic: str, region) -> tuple:
    """The clauses on ``topic`` that apply in ``region`` (their document's jurisdiction is the
    region or above it), in the set's order: found through an index of the clauses by
    jurisdiction, made once for the set, so a region costs what its own clauses cost, not the
    size of the set."""
    index = policy.__dict__.get("_by_jurisdiction")
    if index is None:
        index = policy.__dict__["_by_jurisdiction"] = {}
        for kind, clauses in policy.by_topic.items():
            places = index[kind] = {}
            for at, c in enumerate(clauses):
                places.setdefault(c.doc.jurisdiction, []).append((at, c))
    places = index.get(topic)
    if not places:
        return ()
    found = [entry for code in region.chain_codes for entry in places.get(code, ())]
    found.sort(key=lambda entry: entry[0])
    return tuple(c for _, c in found)


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
    ``(clause, "exception", the exception)`` (docs/readings.md: which rule governs)."""
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
    ra, rb = da.rank, db.rank  # (a document's supersession read only where the ranks and dates say it matters)
    if ra < rb and da.issued > db.issued and db.yields_to_later_superior:
        return YIELDS
    if rb < ra and db.issued > da.issued and da.yields_to_later_superior:
        return None
    if ra != rb:
        return SPECIFICITY if ra > rb else None
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
    """The outputs a clause speaks to: what it decides; nothing for words that only inform; what a
    delegation of some outputs (``delegate.outputs``) leaves to the lower level; everything for
    other outcomes."""
    eff = clause.effective()
    if eff.outcome == "decide":
        return {name for name, _ in eff.decide}
    if eff.outcome == "inform":
        return set()
    if eff.outcome == "delegate" and eff.delegated is not None:
        return set(eff.delegated)
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


def what_applies(policy: PolicySet, region, day: dt.date, topics: list[str], overlaps=None,
                 stretches: "Stretches | None" = None) -> dict:
    """For each topic: the clauses in force at (region, day), most specific first, each with what
    it displaces where both apply (``overlaps(topic, clauses)`` gives the pairs whose conditions
    can hold together; without it, every pair with shared outputs); the pending ones with the
    day they start. ``stretches``: the policy set's (``Stretches``) to reuse — what a stretch holds
    is worked out once for all its regions and days."""
    vocab = policy.vocab
    stretches = stretches if stretches is not None else Stretches(policy)
    out = {}
    for topic in topics:
        in_force, pending, shown, wanted = _applying(stretches.at(topic, region, day), vocab.kinds[topic].outputs)
        together = None
        if overlaps:
            if getattr(overlaps, "takes_wanted", False):
                together = overlaps(topic, in_force, wanted) if wanted else set()
            else:
                together = overlaps(topic, in_force)
        rows = []
        for c, start, found in shown:
            displaces = [(other, reason) for other, reason in found
                         if together is None or frozenset((c, other)) in together]
            rows.append({"clause": c, "start": start, "until": c.in_force.until, "displaces": displaces})
        out[topic] = {"in_force": rows, "pending": [{"clause": c, "start": start} for c, start in pending]}
    return out


_APPLYING: dict = {}


def _applying(stretch: "Stretch", outputs) -> tuple:
    """For the clauses of a stretch: those in force in precedence order, the pending ones as
    (clause, start) by start (the higher level first on one day), for each clause in force
    (clause, start, [(other, reason)]) — the clauses it beats with an output in common —, and
    those pairs (frozensets). The same for every region and day of the stretch, so kept."""
    found = _APPLYING.get(id(stretch))
    if found is not None and found[0] is stretch:
        return found[1]
    starts = {c: start for c, state, start in stretch.entries if state == "in_force"}
    in_force = order(list(starts))
    pending = sorted(((c, start) for c, state, start in stretch.entries if state == "pending"),
                     key=lambda p: (p[1], -p[0].doc.rank))
    shown = [(c, starts[c], found) for c, found in _displacing(stretch.kind, in_force, outputs)]
    wanted = frozenset(frozenset((c, other)) for c, _, found in shown for other, _ in found)
    if len(_APPLYING) > 4096:
        _APPLYING.clear()
    _APPLYING[id(stretch)] = (stretch, (in_force, pending, shown, wanted))
    return in_force, pending, shown, wanted


# -- the intermediate form: stretches ------------------------------------------------------------
@dataclass(eq=False)
class Stretch:
    """The clauses of one kind at one region on the days of one stretch, each with its standing
    there (``entries``: ``(clause, state, start)``, state in_force | pending | expired, in the
    policy's order); ``live`` the ones in force or pending (the order a condition mask counts in).
    Shared by the regions and stretches where every clause stands the same."""

    kind: str
    entries: tuple
    live: tuple = ()
    _tests: tuple | None = None

    def __post_init__(self):
        self.live = tuple(e for e in self.entries if e[1] != "expired")

    @property
    def tests(self) -> tuple:
        """``entries`` with what the evaluator reads of each clause: ``(clause, state, start,
        condition closure or None, whether the clause only informs)`` (made when first asked: the
        closures are compiled then; None for a clause without a condition, or expired)."""
        if self._tests is None:
            out = []
            for c, state, start in self.entries:
                eff = c.effective()
                when = None if eff.when is None or state == "expired" else eff.when.fn  # an expired clause is not tested
                out.append((c, state, start, when, eff.outcome == "inform"))
            self._tests = tuple(out)
        return self._tests

    def __getstate__(self):  # the closures are not pickled: made again when first asked
        return {**self.__dict__, "_tests": None}


def no_rule_note(stretch: Stretch) -> dict:
    """The note of a ``no_rule`` answer: which documents were searched (those of the policy set with
    clauses on the kind that stand in the region then: in force, pending or expired) and that local
    rules not in the policy set may exist — never a bare "no rule"."""
    found = _NO_RULE_NOTES.get(id(stretch))
    if found is not None and found[0] is stretch:
        return found[1]
    docs = list(dict.fromkeys(c.doc for c, _, _ in stretch.entries))
    if docs:
        note = both("resolve.no_rule.searched", documents=[d.number for d in docs])
    else:
        note = both("resolve.no_rule.none")
    if len(_NO_RULE_NOTES) > 4096:
        _NO_RULE_NOTES.clear()
    _NO_RULE_NOTES[id(stretch)] = (stretch, note)
    return note


_NO_RULE_NOTES: dict = {}


class Stretches:
    """The stretches of a policy set, found through an interval index: for a kind and a region, the
    sorted days on which some clause of the kind starts, ends or is issued there."""

    def __init__(self, policy: PolicySet):
        self.policy = policy
        self._index: dict = {}  # (kind, id(region)) -> (breaks, stretches, region, the clauses that apply there)
        self._shared: dict = {}  # the clauses and their standings -> Stretch

    def at(self, kind: str, region, day: dt.date) -> Stretch:
        """The stretch of ``kind`` at ``region`` that holds ``day``."""
        entry = self._index.get((kind, id(region)))
        if entry is None or entry[2] is not region:
            entry = self._build(kind, region)
        breaks, stretches, _, here = entry
        i = bisect_right(breaks, day.toordinal())
        found = stretches[i]
        if found is None:
            found = stretches[i] = self._stretch(kind, region, breaks, i, here)
        return found

    def breaks(self, kind: str, region) -> list[int]:
        """The sorted ordinals of the days on which a new stretch of ``kind`` at ``region`` begins:
        ``at`` gives the same stretch for every day between two of them (a columnar backend finds
        each row's stretch with them)."""
        entry = self._index.get((kind, id(region)))
        if entry is None or entry[2] is not region:
            entry = self._build(kind, region)
        return entry[0]

    def _build(self, kind: str, region) -> tuple:
        points = set()
        here = applying(self.policy, kind, region)  # the others are `outside` there on every day
        for c in here:
            for day in (c.doc.issued, c.local_start(region)):
                if day is not None:
                    points.add(day.toordinal())
            if c.in_force.until is not None:
                points.add(c.in_force.until.toordinal() + 1)
        breaks = sorted(points)
        entry = self._index[(kind, id(region))] = (breaks, [None] * (len(breaks) + 1), region, here)
        return entry

    def _stretch(self, kind: str, region, breaks, i: int, here: tuple) -> Stretch:
        if i:
            day = dt.date.fromordinal(breaks[i - 1])
        else:
            day = dt.date.fromordinal(breaks[0] - 1) if breaks and breaks[0] > 1 else dt.date.min  # before every break
        entries = []
        for c in here:
            st = standing(c, region, day)
            if st.state in ("in_force", "pending", "expired"):
                entries.append((c, st.state, st.start))
        key = (kind, tuple((id(c), state, start) for c, state, start in entries))
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = Stretch(kind, tuple(entries))
        return found


# -- the intermediate form: selections -----------------------------------------------------------
@dataclass(eq=False)
class Group:
    """A deciding clause of a selection: its outputs' expressions in the written order, and for an
    improving exception the selection of the clauses it excepts (whose answer ``excepted`` reads)."""

    clause: Clause
    exprs: tuple  # ((output, Expr), ...)
    base: "Selection | None" = None


@dataclass(eq=False)
class Settled:
    """What a decided selection comes to once the outputs each improving exception changes are known
    (for one without improving exceptions: at once): ``assign`` the group whose value each output
    takes, in the kind's order; ``ties`` the values that must agree, ``(output, winner group, other
    group)`` in the order the evaluator meets them; the governing clauses with their outputs, the
    displaced ones with the reason and by whom, the improving exceptions with what they changed;
    ``notes`` the readings and notes of the governing (and improving) clauses."""

    assign: tuple = ()
    ties: tuple = ()
    governing: tuple = ()
    displaced: tuple = ()
    improving: tuple = ()
    notes: tuple = ()


@dataclass(eq=False)
class Selection:
    """What follows from the clauses in force whose conditions hold, without the values.

    ``mode``: no_rule | decided | delegated | redirect | reject. ``ordered`` the candidates left by
    explicit exceptions, the governing one first; ``excepted`` the ones exceptions removed, as
    ``(clause, "exception", by)``; ``top`` the governing clause. decided: ``groups`` (the deciding
    clauses in order), ``limit`` (the tightest bound on waiting_months a delegating clause above sets:
    above it, a note). delegated: ``bounds``; ``groups`` under a delegation of some outputs
    (``delegate.outputs``), the clauses below that decide the others, with those outputs' expressions
    only (settled like a decided selection's, the delegating clause governing first); ``conflict`` a
    clause tied with the top with another
    outcome (an E-CONFLICT). ``settled``: the governing, displaced and notes where they do not depend
    on values (every mode but a decided one with improving exceptions, and a redirect, whose
    governing continues with the redirected answer's)."""

    mode: str
    ordered: tuple = ()
    excepted: tuple = ()
    top: Clause | None = None
    groups: tuple = ()
    limit: int | None = None
    bounds: dict | None = None
    conflict: tuple | None = None
    settled: Settled | None = None

    @property
    def improving(self) -> bool:
        return any(g.base is not None for g in self.groups)


def select(policy: PolicySet, holding, outputs: tuple) -> Selection:
    """The selection of ``holding`` (the clauses in force whose conditions hold, in the policy's
    order) for a kind with ``outputs``: docs/reference.md, Precedence — explicit exceptions first, then precedence."""
    holding = list(holding)
    candidates, excepted = apply_exceptions(holding)
    ordered = order(candidates)
    excepted = tuple(excepted)
    if not ordered:
        return Selection("no_rule", (), excepted, settled=Settled(displaced=excepted))
    top = ordered[0]
    eff = top.effective()
    rest = tuple((c, beats(top, c) or "tie", top) for c in ordered[1:])
    if eff.outcome == "reject":
        return Selection("reject", tuple(ordered), excepted, top)
    if eff.outcome == "evaluate_as":
        return Selection("redirect", tuple(ordered), excepted, top, settled=Settled(
            governing=((top, []),), displaced=excepted + rest))
    if eff.outcome == "delegate":
        claims = claimed_outputs(top, outputs)
        conflict = next(((top, c) for c in ordered[1:] if tied(top, c) and c.effective().outcome != eff.outcome
                         and claims & claimed_outputs(c, outputs)), None)
        if eff.delegated is None:
            return Selection("delegated", tuple(ordered), excepted, top, bounds=bounds_of(ordered), conflict=conflict,
                             settled=Settled(governing=((top, []),), displaced=excepted + rest,
                                             notes=notes_for(policy, (top,))))
        # a delegation of some outputs: the clauses below decide the others (the ones it does not delegate)
        groups = tuple(Group(c, tuple((n, e) for n, e in c.effective().decide if n not in claims)) for c in ordered[1:]
                       if c.effective().outcome == "decide" and not c.improves
                       and any(n not in claims for n, _ in c.effective().decide))
        sel = Selection("delegated", tuple(ordered), excepted, top, groups, bounds=bounds_of(ordered), conflict=conflict)
        sel.settled = settle(policy, sel, outputs)
        return sel
    groups = []
    for clause in ordered:
        e = clause.effective()
        if e.outcome != "decide":
            continue
        base = None
        if clause.improves:
            base = select(policy, [c for c in holding if excepts(clause, c)], outputs)
        groups.append(Group(clause, tuple(e.decide), base))
    bounds = bounds_of([c for c in ordered if c.effective().outcome == "delegate"])
    sel = Selection("decided", tuple(ordered), excepted, top, tuple(groups),
                    limit=bounds["max_waiting_months"] if bounds else None)
    if not sel.improving:
        sel.settled = settle(policy, sel, outputs)
    return sel


def group_names(group: Group, improved) -> tuple:
    """The outputs a group gives: its own, or for an improving exception (``improved``: its entry
    for ``settle``) the general answer's and its own."""
    return improved[0] if group.base is not None else tuple(name for name, _ in group.exprs)


def settle(policy: PolicySet, sel: Selection, outputs: tuple, improved: tuple | None = None) -> Settled:
    """A decided selection settled (``Settled``). ``improved``: for each group, None, or for an
    improving exception ``(the outputs it gives, those it changes, the general answer's governing,
    the general answer's displaced)`` — the outputs it gives are the general answer's (in the kind's
    order) and then its own; an output it gives unchanged is credited to the general clause that
    decided it."""
    improved = improved or (None,) * len(sel.groups)
    decided: dict = {}  # output -> group index
    ties = []
    contributed: dict = {}
    kept: dict = {}
    for gi, g in enumerate(sel.groups):
        info = improved[gi]
        for name in group_names(g, info):
            if name not in outputs:
                continue
            if name in decided:
                w = decided[name]
                if tied(sel.groups[w].clause, g.clause):
                    ties.append((name, w, gi))
                continue
            decided[name] = gi
            if info is None or name in info[1]:
                contributed.setdefault(gi, []).append(name)
            else:  # an improving exception's output equal to the general answer's: the general clause's
                general = next((c for c, fields in info[2] if name in fields), None)
                if general is not None:
                    kept.setdefault(gi, []).append((general, name))
    governing: list = [(sel.top, [])] if sel.mode == "delegated" else []  # the delegating clause governs first
    displaced: list = list(sel.excepted)
    improving: list = []
    top = sel.ordered[0]
    index = {g.clause: gi for gi, g in enumerate(sel.groups)}
    for clause in sel.ordered:
        gi = index.get(clause)
        info = improved[gi] if gi is not None else None
        if info is not None:
            improving.append((clause, list(info[1])))
        if gi in contributed:
            governing.append((clause, contributed[gi]))
        if gi in kept:  # the general clauses whose outputs an improving exception kept, after it
            names = {n for _, n in kept[gi]}
            for general, fields in info[2]:  # in the general answer's order
                if any(g is general for g, _ in kept[gi]):
                    governing.append((general, [n for n in fields if n in names]))
        if info is not None:
            displaced = _redisplaced(displaced, governing, clause, info[3])
        if gi not in contributed and gi not in kept and clause is not (top if sel.mode == "delegated" else None):
            by = next((g for g, _ in governing if beats(g, clause)), top)
            displaced.append((clause, beats(by, clause) or "tie", by))
    assign = tuple((name, decided[name]) for name in outputs if name in decided)
    return Settled(assign, tuple(ties), tuple(governing), tuple(displaced), tuple(improving),
                   notes_for(policy, tuple(c for c, _ in governing), tuple((c, tuple(ch)) for c, ch in improving)))


def _redisplaced(displaced: list, governing: list, exception: Clause, general_displaced) -> list:
    """After an improving exception: a general clause that now governs (an output kept) is not
    displaced; one the general answer displaced keeps that reason; the rest stay displaced by it."""
    now = {c for c, _ in governing}
    before = {c: (reason, by) for c, reason, by in general_displaced}
    out = []
    for c, reason, by in displaced:
        if by is exception and reason == EXCEPTION:
            if c in now:
                continue
            if c in before:
                reason, by = before[c]
        out.append((c, reason, by))
    return out


def bounds_of(ordered) -> dict | None:
    """The tightest bounds of the delegating clauses on the chain: for each level, the clause
    that governs at that level, when it delegates with bounds."""
    seen_levels = set()
    bounds = []
    for c in ordered:
        if c.doc.rank in seen_levels:
            continue
        seen_levels.add(c.doc.rank)
        eff = c.effective()
        if eff.outcome == "delegate" and eff.bounds:
            bounds.append((c, eff.bounds))
    if not bounds:
        return None
    limit = min(b["max_waiting_months"] for _, b in bounds)
    binding = [(c, b) for c, b in bounds if b["max_waiting_months"] == limit]
    return {
        "max_waiting_months": limit,
        "soft": all(b.get("soft", False) for _, b in binding),
        "set_by": [{"document": c.doc.number, "article": c.article, "rule": c.ref,
                    "soft": bool(b.get("soft", False))} for c, b in bounds],
    }


def bound_note(waiting, limit) -> dict:
    """The note of a decided waiting period beyond the bound a delegating clause above it sets."""
    return both("resolve.beyond_bound", waiting=waiting, limit=limit)


_NOTES: dict = {}


def notes_for(policy: PolicySet, governing: tuple, improving: tuple = (), informing: tuple = (),
              fired: frozenset = frozenset()) -> tuple:
    """The notes an answer governed by these clauses carries: for each governing clause, each
    improving exception that applied (one that changed nothing says so) and each clause that only
    informs (its words), its reading and notes — a conditional note (``notes[].when``) only when
    it held (``fired``: their ids) — and those of the clause it adopts, then the readings of the
    definitions they read; each once."""
    key = (id(policy), governing, improving, informing, fired)
    found = _NOTES.get(key)
    if found is not None:
        return found
    from policy_dsl.language.expr.ast import names as names_in

    out = []
    seen = set()
    clauses = list(governing) + [c for c, _ in improving if c not in governing] + list(informing)
    for clause in clauses:
        if not any(changed for c, changed in improving if c is clause) and clause not in governing \
                and clause not in informing:
            out.append(both("resolve.improving_unchanged", citation=clause.citation))
        eff = clause.effective()
        if eff.outcome == "inform" and id(eff.inform) not in seen:
            seen.add(id(eff.inform))
            out.append({"zh": f"{clause.citation}：{eff.inform['zh']}",
                        "en": f"{clause.citation}: {eff.inform.get('en', eff.inform['zh'])}"})
        for c in {clause, eff}:
            if c.reading and id(c.reading) not in seen:
                seen.add(id(c.reading))
                out.append({"zh": f"解读（{c.citation}）：{c.reading['zh']}",
                            "en": f"reading ({c.citation}): {c.reading.get('en', c.reading['zh'])}"})
            for k, n in enumerate(c.notes):
                if id(n) not in seen and (k not in c.note_whens or id(n) in fired):
                    seen.add(id(n))
                    out.append({"zh": f"{c.citation}：{n['zh']}", "en": f"{c.citation}: {n.get('en', n['zh'])}"})
        used = set()
        for _, expr in eff.decide:
            used |= names_in(expr.node)
        if eff.when:
            used |= names_in(eff.when.node)
        for name in sorted(used):
            d = policy.definitions.get(name)
            if d and d.reading and id(d.reading) not in seen:
                seen.add(id(d.reading))
                out.append({"zh": f"解读（{d.name}）：{d.reading['zh']}",
                            "en": f"reading ({d.name}): {d.reading.get('en', d.reading['zh'])}"})
    found = tuple(out)
    if len(_NOTES) > 4096:
        _NOTES.clear()
    _NOTES[key] = found
    return found


def undetermined_notes(governing, undetermined, outputs: tuple) -> list:
    """A condition the holiday schedule could not decide (``undetermined``: ``(clause, error)``)
    is harmless when, for every output the clause could give, a governing clause beats it: a note
    says so. Otherwise the case cannot be answered: the error is raised."""
    notes = []
    for clause, error in undetermined:
        deciders = {}
        for g, fields in governing:
            for f in fields or outputs:
                deciders.setdefault(f, g)
        claims = claimed_outputs(clause, outputs)
        if not governing or not all(f in deciders and beats(deciders[f], clause) for f in claims):
            raise error
        notes.append(both("resolve.holiday_harmless", citation=clause.citation))
    return notes
