"""Check pass over generated cases: two clauses in force on the same topic, region and date,
tied by precedence, whose outcomes differ for some case (docs/readings.md: a tie is an error in the files). Each finding shows
such a case."""

from __future__ import annotations

import datetime as dt

from policy_dsl.analysis import grid, pairs
from policy_dsl.engine import resolve
from policy_dsl.engine.evaluate import RANGE_ERRORS, Evaluator
from policy_dsl.language.errors import Diagnostic, InputError
from policy_dsl.language.expr.ast import Answer, Name, walk
from policy_dsl.language.messages import t
from policy_dsl.language.model import Case, Clause, PolicySet
from policy_dsl.language.regions import default_registry
from policy_dsl.language.values import to_json


class Conflicts:
    """The conflicts pass (E-CONFLICT), fed the probes of the grid as they are made
    (``passes.grid_findings``): two clauses in force on the same topic, region and date, tied by
    precedence, whose outcomes differ for some probe. The pairs of clauses that could conflict (tied, not excepting each other, deciding an output
    in common, conditions not exclusive on their face), each with the first probe, in the order
    of the grid, on which both are in force and hold and their outcomes differ."""

    def __init__(self, policy: PolicySet):
        vocab = policy.vocab
        self.ev = Evaluator(policy)
        self.pairs: dict[str, list] = {}  # topic -> the pairs to look for, in order
        self.at: dict[str, dict] = {}  # topic -> the code of the inner jurisdiction -> its pairs
        for topic, clauses in policy.by_topic.items():
            outputs = vocab.kinds[topic].outputs
            pairs = self.pairs[topic] = []
            for a, b in nested_pairs(clauses):
                if not resolve.tied(a, b) or resolve.excepts(a, b) or resolve.excepts(b, a):
                    continue
                if not (resolve.claimed_outputs(a, outputs) & resolve.claimed_outputs(b, outputs)):
                    continue
                if exclusive(a, b):  # their conditions never hold together: no case could show a conflict
                    continue
                pairs.append((a, b))
                inner = a if default_registry().get(a.doc.jurisdiction).within(b.doc.jurisdiction) else b
                self.at.setdefault(topic, {}).setdefault(inner.doc.jurisdiction, []).append((a, b))
        self.found: dict[tuple, Diagnostic] = {}
        self.policy = policy
        # (a, b, day) -> for each probe of that day (the same facts in every region: ``blind``), 1 where
        # both hold and it was found not to show the pair: no region need try it again
        self.shown_none: dict = {}
        self._blind: dict = {}

    def feed(self, topic: str, region, day: dt.date, probes: list) -> None:
        at = self.at.get(topic)
        if not at:
            return
        source = getattr(probes, "source", None)
        if source is not None and self in source.replay:
            return  # put from probes fed here (``passes.Moved``): the same pairs, outcomes and probes
        replay = getattr(probes, "replay", None)  # ``passes.Probes``
        if replay is not None:
            replay[self] = True
        holding = None  # clause -> the places of the probes on which it holds
        for code in region.chain_codes:
            for a, b in at.get(code, ()):
                if (a, b) in self.found:
                    continue
                if resolve.standing(a, region, day).state != "in_force" or resolve.standing(b, region, day).state != "in_force":
                    continue
                if holding is None:
                    holding = {}
                    for i, p in enumerate(probes):
                        for c in p.holding:
                            holding.setdefault(c, []).append(i)
                both = sorted(set(holding.get(a, ())).intersection(holding.get(b, ())))
                shown = None
                if self.blind(topic, a) and self.blind(topic, b):
                    shown = self.shown_none.setdefault((a, b, day), bytearray(len(probes)))
                    if len(shown) != len(probes):
                        shown = None
                    else:
                        both = [i for i in both if not shown[i]]
                found = _conflict(self.ev, topic, a, b, region, [probes[i] for i in both]) if both else None
                if found is not None:
                    self.found[(a, b)] = found
                    self.shown_none.pop((a, b, day), None)
                elif shown is not None:
                    for i in both:
                        shown[i] = 1

    def blind(self, topic: str, clause: Clause) -> bool:
        """Whether nothing ``_conflict`` computes for ``clause`` on a probe of ``topic`` can depend on
        the probe's region: the probes of ``topic`` on one day are the same facts in every region
        (the grid makes them once a day: ``Grid._regional``), and neither the clause's expressions
        (its own and what it adopts) nor any definition of the kind (the environment computes them
        all) read ``region`` or ask for a sub-answer (answered at the probe's region), and it does
        not improve on an exception (its outputs read the clauses in force there). Then two such
        clauses, in force in two regions on one day, give the same outputs on the same probe (the
        same place in the day's probes) in both: a probe on which both hold that does not show the
        pair in one region shows it in no other, and is not tried again (``shown_none``); the
        first probe that shows the pair in a region is still the first in that region's order."""
        key = (topic, clause)
        found = self._blind.get(key)
        if found is None:
            g = grid.grid_of(self.policy)
            nodes = [e.node for e, _ in grid._clause_expressions(clause)]
            nodes += [d.expr.node for d in self.policy.definitions.values() if topic in d.kinds]
            found = self._blind[key] = not (
                topic not in g.kinds or g._regional(topic) or clause.improves or clause.effective().improves
                or any(isinstance(n, Answer) or isinstance(n, Name) and n.name == "region"
                       for node in nodes for n in walk(node)))
        return found

    def finish(self) -> list[Diagnostic]:
        return [self.found[pair] for pairs in self.pairs.values() for pair in pairs if pair in self.found]


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


def _conflict(ev: Evaluator, topic: str, a: Clause, b: Clause, region, probes: list) -> Diagnostic | None:
    """The first of ``probes`` (at one region and day on which both are in force) on which both
    conditions hold and the outcomes differ, as a finding."""
    for p in probes:
        if not (a in p.holding and b in p.holding):
            continue
        facts, case = p.facts, p.case
        try:
            env = ev.environment(case)
            ea, eb = a.effective(), b.effective()
            if ea.outcome != eb.outcome:
                differ = t("conflicts.versus", a=ea.outcome, b=eb.outcome)
            elif ea.outcome == "decide":
                va, vb = ev.clause_outputs(case, a, env), ev.clause_outputs(case, b, env)
                shared = [k for k in va if k in vb and va[k] != vb[k]]
                if not shared:
                    continue
                k = shared[0]
                differ = t("conflicts.versus", a=f"{k} = {to_json(va[k])}", b=to_json(vb[k]))
            else:
                continue
        except (InputError,) + RANGE_ERRORS:  # a generated case these clauses cannot be read on: no conflict shown by it
            continue
        import json  # (not at import: applies, which imports this module, needs no json)

        example = {"kind": topic, "region": region.code, **{k: _jsonable(v) for k, v in facts.items()}}
        return Diagnostic(
            "E-CONFLICT",
            t("conflicts.tied", a=a.citation, a_ref=a.ref, b=b.citation, b_ref=b.ref, differ=differ,
              case=json.dumps(example, ensure_ascii=False)),
            b.where,
            t("conflicts.tied.hint"),
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
    some generated case at (region, day) on which no condition of ``clauses`` raises.

    Given ``wanted`` (a collection of pairs: ``resolve.what_applies`` asks only about the pairs it
    shows), each wanted pair is looked for among its own probes (``pairs.PairProbes``: every
    combination of the values of the facts its two conditions read — the values they compare
    with and their neighbours, the dates around the day —, the other facts at their first value),
    and the answer holds those found. Pairs whose conditions contradict each other on their face
    (``exclusive``) are not looked for. The search is shortened two ways that cannot change the
    answer: the same question (topic, region, day, clauses, pairs) asked again of the same set
    gets the answer the search gave it (``Witnesses.answer``: kept with the policy set, and in the
    user's cache under the set's key); and the probes of a pair that showed it at an earlier
    question (``Witnesses``: their paths among the pair's probes) are tried first, each made alone
    — a path names a probe of the pair at this region and day too, or none.

    Without ``wanted``: every pair of ``clauses``, over the probe grid (``Grid.probe_paths``)."""
    ev = evaluator or Evaluator(policy)
    g = grid.grid_of(policy)

    def holding(topic: str, clauses: list[Clause], facts: dict):
        try:  # all of them, as the evaluator does: a probe one of them cannot be read on says nothing
            return ev.holding(_case(topic, region, facts, day), clauses)
        except (InputError,) + RANGE_ERRORS:
            return None

    def overlaps(topic: str, clauses: list[Clause], wanted=None) -> set:
        found: set = set()
        if wanted is None:
            for _, facts in g.probe_paths(topic, region, day):
                held = holding(topic, clauses, facts)
                for i, a in enumerate(held or ()):
                    for b in held[i + 1:]:
                        found.add(frozenset((a, b)))
            return found
        _, todo = _masks(clauses, wanted)
        if not todo:
            return found
        seen = witnesses(policy)
        question = (topic, region.code, day.toordinal())
        answered = seen.answer(question, todo, clauses)
        if answered is not None:  # this very question, asked before of the same set
            return answered
        probes = pairs.PairProbes(g, ev, topic, region, day, clauses)
        for pair in todo:
            a, b = sorted(pair, key=lambda c: c.ref)
            plan = pairs.plan_of(g, topic, a, b, seen.plan(topic, pair))
            seen.keep_plan(topic, pair, plan)
            known = seen.places(topic, pair)
            path = probes.witness(plan, a, b, known)
            if path is not None:
                found.add(pair)
                seen.remember(topic, pair, path, searched=path not in known)
        seen.answered(question, frozenset(todo), clauses, found)
        return found

    overlaps.takes_wanted = True
    return overlaps


_MASKS: dict = {}


def _masks(clauses: list, wanted) -> tuple:
    """Each clause's bit (its place in ``clauses``), and the pairs of ``wanted`` that some probe
    might show (both in ``clauses``, not ``exclusive``), each with its mask. Kept for the same
    clauses and wanted pairs (``resolve.what_applies`` asks with the same ones for every region
    and day of a stretch)."""
    key = id(wanted)
    found = _MASKS.get(key)
    if found is not None and found[0] is wanted and found[1] == clauses:
        return found[2]
    bit = {c: 1 << i for i, c in enumerate(clauses)}
    todo = {p: sum(bit[c] for c in p) for p in wanted if all(c in bit for c in p) and not exclusive(*p)}
    if len(_MASKS) > 4096:
        _MASKS.clear()
    _MASKS[key] = (wanted, list(clauses), (bit, todo))
    return bit, todo


class Witnesses:
    """For each topic and pair of clauses, the paths among the pair's own probes
    (``pairs.PairProbes``) of the last probes that showed the pair holding together (at most
    ``KEEP`` a pair, the newest first). A path names a probe of the pair at any region and day —
    the one ``PairProbes.at`` makes there, or none — so trying it first at a new question may only
    find the pair sooner. Also the answers of the last ``KEEP_ANSWERS`` questions searched
    (``answer``): a question's probes are those of its region and day, so the same question of
    the same set has the same answer; a new day is searched. Kept with the policy set
    (``witnesses``) and, by ``keep_witnesses``, in the user's cache for the next process that
    loads the same set: a new set, an edited file, starts with none."""

    KEEP = 4
    KEEP_ANSWERS = 1024  # questions (topic, region, day) whose answers are kept: the newest

    def __init__(self):
        from _thread import allocate_lock  # threading.Lock, without importing threading at every start

        self._places: dict = {}  # (topic, pair) -> [path, ...]
        self._plans: dict = {}  # (topic, pair) -> the summary of its plan (``pairs.PairPlan.summary``)
        self._answers: dict = {}  # (topic, region code, day ordinal) -> (pairs asked, clauses, pairs found), by refs
        self._shared: dict = {}  # each part of an answer kept, as one object for all the answers that have it
        self._lock = allocate_lock()  # the service asks from several threads
        self.changed = False  # a place found by searching since made or kept (``keep_witnesses``)
        self.apart = 0  # the pairs whose ``exclusive`` was known when made or kept

    def places(self, topic: str, pair) -> tuple:
        """The paths that showed ``pair`` before, the newest first."""
        return tuple(self._places.get((topic, pair), ()))

    def plan(self, topic: str, pair):
        """The summary of the pair's plan kept before (``pairs.plan_of``), or None."""
        return self._plans.get((topic, pair))

    def keep_plan(self, topic: str, pair, plan) -> None:
        """Keep the summary of the pair's plan for the next process (read once for each set)."""
        if (topic, pair) not in self._plans:
            with self._lock:
                self._plans[(topic, pair)] = plan.summary
                self.changed = True

    def answer(self, question: tuple, asked, clauses: list) -> set | None:
        """The pairs found at ``question`` (topic, region code, day ordinal) when the same pairs
        were ``asked`` there before among the same ``clauses`` (``answered``), else None. The
        probes of a question are those of its region and day, so its answer is the same every
        time it is asked of one set."""
        found = self._answers.get(question)
        if found is None or found[1] != tuple(c.ref for c in clauses) or found[0] != _refs(asked):
            return None
        by_ref = {c.ref: c for c in clauses}
        if not all(r in by_ref for pair in found[2] for r in pair):
            return None
        return {frozenset(by_ref[r] for r in pair) for pair in found[2]}

    def answered(self, question: tuple, asked, clauses: list, found) -> None:
        """Keep what the search found at ``question`` for the pairs ``asked`` among ``clauses``
        (the newest ``KEEP_ANSWERS`` questions)."""
        with self._lock:  # parts met before are shared (a stretch asks the same on each of its days):
            entry = tuple(self._shared.setdefault(x, x)  # pickled once, not once a question
                          for x in (_refs(asked), tuple(c.ref for c in clauses), tuple(sorted(_refs(found)))))
            self._answers.pop(question, None)
            self._answers[question] = entry
            while len(self._answers) > self.KEEP_ANSWERS:
                del self._answers[next(iter(self._answers))]
            if len(self._shared) > 3 * self.KEEP_ANSWERS:  # parts no answer kept has any more
                self._shared = {x: x for e in self._answers.values() for x in e}
            self.changed = True

    def remember(self, topic: str, pair, path: tuple, searched: bool = True) -> None:
        """``path`` showed ``pair``; ``searched``: found by searching (the paths known did not show
        it), which is worth keeping for the next process (``changed``)."""
        with self._lock:
            known = self._places.get((topic, pair), [])
            if path not in known:  # a known place keeps its rank
                self._places[(topic, pair)] = [path] + known[:self.KEEP - 1]
                self.changed |= searched

    def to_data(self, policy: PolicySet) -> tuple:
        """What to keep between processes: the same tables with each clause named by its ref, and
        what ``exclusive`` found for pairs of the set's clauses."""
        with self._lock:
            places = {(t, tuple(sorted(c.ref for c in pair))): tuple(paths) for (t, pair), paths in self._places.items()}
            plans = {(t, tuple(sorted(c.ref for c in pair))): summary for (t, pair), summary in self._plans.items()}
            answers = dict(self._answers)
        return "pairs", places, _exclusive_of(policy), answers, plans

    @classmethod
    def from_data(cls, policy: PolicySet, data) -> "Witnesses":
        """Witnesses of ``policy`` from ``to_data``'s tables (a clause the set lacks drops its
        entries); what ``exclusive`` found is known again."""
        found = cls()
        clauses = policy.clauses
        try:
            shape, places, apart, answers, plans = data
            if shape != "pairs":  # kept by an older version: paths of another product
                return cls()
            for (t, refs), paths in places.items():
                if all(r in clauses for r in refs):
                    found._places[(t, frozenset(clauses[r] for r in refs))] = [tuple(x) for x in paths][:cls.KEEP]
            for (t, refs), (paths, named) in plans.items():
                if all(r in clauses for r in refs):
                    found._plans[(t, frozenset(clauses[r] for r in refs))] = (tuple(paths), dict(named))
            for (x, y), value in apart.items():
                if x in clauses and y in clauses and value in (True, False):
                    a, b = clauses[x], clauses[y]
                    _EXCLUSIVE.setdefault((a, b) if id(a) < id(b) else (b, a), value)
            for question, entry in answers.items():  # by refs, as kept: compared when asked (``answer``)
                if len(question) == 3 and len(entry) == 3 and isinstance(entry[0], frozenset):
                    found._answers[question] = tuple(found._shared.setdefault(x, x) for x in entry)
            found.apart = len(apart)
        except (TypeError, ValueError, AttributeError):  # not the tables written by to_data: none
            return cls()
        return found


def witnesses(policy: PolicySet) -> Witnesses:
    """The witnesses of one policy set (made once, kept on the set, as its grid is): those an
    earlier process kept for the same set (``keep_witnesses``), else none."""
    found = policy.__dict__.get("_witnesses")
    if found is None:
        found = Witnesses()
        entry = policy.__dict__.get("cache_key")
        if entry:
            from policy_dsl.language import cache

            data = cache.load("witnesses", entry, tuple)
            if data is not None:
                found = Witnesses.from_data(policy, data)
        found = policy.__dict__.setdefault("_witnesses", found)
    return found


def keep_witnesses(policy: PolicySet) -> None:
    """Keep what the policy set's witnesses learnt for the next process that loads the same set
    (the user's cache, under the set's own key: ``face.api.load_policy`` names it
    ``policy.cache_key``); nothing when they learnt nothing or the set has no key. Only a cache:
    the answers are the same with or without it (``overlap_finder``)."""
    found = policy.__dict__.get("_witnesses")
    entry = policy.__dict__.get("cache_key")
    if found is None or not entry:
        return
    if not found.changed and len(_exclusive_of(policy)) <= found.apart:
        return
    data = found.to_data(policy)
    from policy_dsl.language import cache

    cache.store("witnesses", entry, data)
    found.changed, found.apart = False, len(data[2])


def _refs(pairs) -> frozenset:
    """Pairs of clauses, each as the sorted tuple of their refs."""
    return frozenset(tuple(sorted(c.ref for c in pair)) for pair in pairs)


_EXCLUSIVE: dict = {}


def exclusive(a: Clause, b: Clause) -> bool:
    """Whether the two clauses' conditions can never hold together, seen from their top-level
    conjuncts alone: one says ``x`` and the other ``not x``; ``x == y`` and ``x != y``; ``x == "a"``
    and ``x == "b"``; ``x <= 3`` and ``x > 3``; ``x == "a"`` or ``x in ["a", "b"]`` and ``x in
    ["c"]`` or ``x not in ["a", "b"]`` (lists of strings)… (the same expression text on both sides); or
    together they put ``x`` below one bound and above another that is never lower, for bounds
    whose order the calendar fixes (``_term``): ``x <= period_end(b, 90 days)`` and
    ``x > period_end(b, 6 months)``; ``x <= end(month_of(y - 1, 12))`` and
    ``x >= start(month_of(y, 1))``. Sound, not complete: False says only that this test cannot
    tell."""
    key = (a, b) if id(a) < id(b) else (b, a)
    found = _EXCLUSIVE.get(key)
    if found is None:
        wa, wb = a.effective().when, b.effective().when
        found = wa is not None and wb is not None and _contradict(wa.node, wb.node)
        if len(_EXCLUSIVE) > 10_000:
            _EXCLUSIVE.clear()
        _EXCLUSIVE[key] = found
    return found


def _exclusive_of(policy: PolicySet) -> dict:
    """What ``exclusive`` has found so far for pairs of ``policy``'s clauses, by their refs."""
    mine = policy.clauses
    return {tuple(sorted((a.ref, b.ref))): value for (a, b), value in list(_EXCLUSIVE.items())
            if mine.get(a.ref) is a and mine.get(b.ref) is b}


def _conjuncts(node) -> list:
    from policy_dsl.language.expr import ast

    if isinstance(node, ast.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


_ORDERED = ("<", "<=", ">", ">=")


def _contradict(x, y) -> bool:
    ax, ay = _atoms_of(x), _atoms_of(y)
    return _one_way(ax, ay) or _one_way(ay, ax) or _bounds_clash(ax[3] + ay[3])


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
    the texts of e1, e2…; the comparisons as (left text, operator, right side); and the bounds
    the comparisons with a calendar term (``_term``) put on an expression, as (its text, "low" or
    "high", strict, term)."""
    from policy_dsl.language.expr import ast
    from policy_dsl.language.expr.printer import to_text

    asserted, negated, compared, bounds = set(), [], [], []
    for n in nodes:
        asserted.add(to_text(n))
        if isinstance(n, ast.Unary) and n.op == "not":
            negated.append(frozenset(to_text(c) for c in _conjuncts(n.operand)))
        elif isinstance(n, ast.Binary) and n.op in ("in", "not in"):
            items = n.right.items if isinstance(n.right, ast.ListExpr) else None
            if items is not None and all(isinstance(i, ast.Literal) and i.kind == "string" for i in items):
                compared.append((to_text(n.left), n.op, ("strings", frozenset(i.value for i in items))))
        elif isinstance(n, ast.Binary) and n.op in ("==", "!=") + _ORDERED:
            right = ("lit", n.right.kind, n.right.value) if isinstance(n.right, ast.Literal) else ("expr", to_text(n.right))
            compared.append((to_text(n.left), n.op, right))
            if n.op != "!=":
                for x, op, term in ((n.left, n.op, _term(n.right)), (n.right, _FLIP[n.op], _term(n.left))):
                    if term is not None and _term(x) is None:
                        if op in ("<", "<=", "=="):
                            bounds.append((to_text(x), "high", op == "<", term))
                        if op in (">", ">=", "=="):
                            bounds.append((to_text(x), "low", op == ">", term))
    return asserted, negated, compared, bounds


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


def _term(node):
    """A date whose order against another of its family the calendar fixes, as (family,
    position), or None: a date literal ``("date", None)``, ordinal; ``start(month_of(Y + k, m))``
    and ``end(…)`` ``("month", text of Y)``, (12 k + m, 0 for the first day or 1 for the last);
    ``period_end(B, n days|months)`` ``("period_end", text of B)``, (n, unit)."""
    from policy_dsl.language.expr import ast
    from policy_dsl.language.expr.printer import to_text
    from policy_dsl.language.values import Duration

    if isinstance(node, ast.Literal) and node.kind == "date":
        return ("date", None), node.value.toordinal()
    if not isinstance(node, ast.Call):
        return None
    if node.func in ("start", "end") and len(node.args) == 1:
        m = node.args[0]
        if not (isinstance(m, ast.Call) and m.func == "month_of" and len(m.args) == 2):
            return None
        year, month = m.args
        if not (isinstance(month, ast.Literal) and _whole(month.value) and 1 <= month.value <= 12):
            return None
        k = 0
        if isinstance(year, ast.Binary) and year.op in ("+", "-") and isinstance(year.right, ast.Literal) \
                and _whole(year.right.value):
            year, k = year.left, (year.right.value if year.op == "+" else -year.right.value)
        return ("month", to_text(year)), (12 * k + month.value, 0 if node.func == "start" else 1)
    if node.func == "period_end" and len(node.args) == 2:
        base, d = node.args
        if isinstance(d, ast.Literal) and isinstance(d.value, Duration) and _whole(d.value.n) and d.value.n >= 0 \
                and d.value.unit.startswith(("month", "day")):
            return ("period_end", to_text(base)), (d.value.n, "month" if d.value.unit.startswith("month") else "day")
    return None


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _not_after(x, y) -> str | None:
    """"<" when the term at position ``x`` is before the one at ``y`` for every value of what they
    share (their family's base), "<=" when never after it, None when the calendar does not say."""
    (family, _), px = x
    (other, _), py = y
    if family != other or x[0][1] != y[0][1]:
        return None
    if family in ("date", "month"):  # a day; the first and last days of months (each at least 28 days long)
        return "<" if px < py else ("<=" if px == py else None)
    # period_end(B, …): the nominal last day grows with the period (B + n days; n months later, or
    # that month's last day: between 28 m - 3 and 31 m days after B), and moving it to the next
    # working day keeps the order (not strictly: two days off may move to the same working day)
    (n, unit), (m, unit2) = px, py
    if unit == unit2:
        return "<=" if n <= m else None
    if unit == "day":
        return "<=" if n <= 28 * m - 3 else None
    return "<=" if 31 * n <= m else None


def _bounds_clash(bounds: list) -> bool:
    """Some expression kept above a low bound and below a high one that is before it, or not after
    it when either bound is strict."""
    for x, side, strict, term in bounds:
        if side != "low":
            continue
        for y, side2, strict2, term2 in bounds:
            if side2 == "high" and y == x:
                order = _not_after(term2, term)
                if order == "<" or (order == "<=" and (strict or strict2)):
                    return True
    return False


def _one_way(a, b) -> bool:
    if any(neg <= b[0] for neg in a[1]):  # not (x and y) against x and y
        return True
    return any(lx == ly and _clash(ox, vx, oy, vy) for lx, ox, vx in a[2] for ly, oy, vy in b[2])


def _clash(ox, vx, oy, vy) -> bool:
    """``left ox vx`` and ``left oy vy`` cannot both hold."""
    if vx == vy and {ox, oy} in ({"==", "!="}, {"<=", ">"}, {"<", ">="}):
        return True
    mx, my = _strings(ox, vx), _strings(oy, vy)
    if mx is not None and my is not None:
        (inx, outx), (iny, outy) = mx, my
        return (inx is not None and iny is not None and not inx & iny) or (inx is not None and inx <= outy) \
            or (iny is not None and iny <= outx)
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


def _strings(op, v):
    """What ``left op v`` says of a string value of ``left``: (the strings it must be one of, or
    None for any; the strings it is none of), or None when ``v`` is not a string or a list of them."""
    if v[0] == "strings":
        return (v[1], frozenset()) if op == "in" else (None, v[1])
    if v[0] == "lit" and v[1] == "string" and op in ("==", "!="):
        return (frozenset((v[2],)), frozenset()) if op == "==" else (None, frozenset((v[2],)))
    return None


_INF = float("inf")


def _interval(op, v):
    """The values ``x op v`` allows, as ((low, low included), (high, high included))."""
    return {"<": ((-_INF, False), (v, False)), "<=": ((-_INF, False), (v, True)),
            ">": ((v, False), (_INF, False)), ">=": ((v, True), (_INF, False))}[op]


def _empty(lo, hi) -> bool:
    return lo[0] > hi[0] or (lo[0] == hi[0] and not (lo[1] and hi[1]))
