"""Static analysis of a policy set, beyond schema, references and types (docs/errors.md).

Cheap passes (no evaluation; in ``check.PASSES``):
- ``cycles``: exceptions that except each other in a ring of three or more, precedence that goes
  round in a circle (precedence then gives no order), ``adopt`` chains, ``evaluate_as`` chains between
  kinds, ``forwards`` chains between documents — E-CYCLE;
- ``unread_facts``: facts of a kind that no clause on that kind reads — W-UNREAD-FACT, one per
  kind, located at the kinds table (``policy_dsl/data/kinds.yaml``).

Grid passes (in ``check.GRID_PASSES``, run only when the cheap passes find no error): the probe
grid of the policy set (``policy_dsl.analysis.grid``: its regions, each kind's decision days
sampled to one per standing of the kind's clauses and calendar phase, and the fact values read
from the files and the kinds table), through the evaluator:
- ``bounds``: a lower clause decides a waiting period above the bound of a delegating clause of a
  higher level where both apply — E-BOUND (hard bound) or W-BOUND-SOFT (``soft: true``, 原则上);
- ``shadowed``: a clause that applies to some generated case but, wherever it applies, another
  clause takes precedence on every output it decides — W-SHADOWED.

The grid passes are fed one sweep of the grid as it is made (``grid_findings``, ``batches``): the
probes are not kept, only the findings. ``probes`` (the evaluated grid at one region and day,
cached on the policy set) serves ``policy_dsl.analysis.coverage`` and anyone who asks again."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import Counter, deque
from dataclasses import dataclass, field

from policy_dsl.analysis import grid
from policy_dsl.engine import resolve
from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, PolicyDslError, Where
from policy_dsl.language.messages import t
from policy_dsl.language.expr.ast import Answer, Call, Field, Index, Literal, Name, answers, walk
from policy_dsl.language.kinds import optional, vocabulary
from policy_dsl.language.messages import N_, join, t
from policy_dsl.language.model import Clause, PolicySet
from policy_dsl.language.regions import default_registry
from policy_dsl.language.values import to_json

KINDS_DISPLAY = "policy_dsl/data/kinds.yaml"  # how findings located in the kinds table name it


# -- graphs ---------------------------------------------------------------------------------
def _sccs(nodes: list, edges: dict) -> list[list]:
    """Strongly connected components (Tarjan, iterative: chains in hostile files may be long),
    each in the order of ``nodes``."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    out: list[list] = []
    counter = 0
    position = {n: i for i, n in enumerate(nodes)}
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in position:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(edges.get(nxt, ()))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    comp.append(n)
                    if n is node or n == node:
                        break
                out.append(sorted(comp, key=position.get))
    return out


def _shortest_cycle(start, edges: dict, allowed: set) -> list | None:
    """The shortest cycle start → … → start inside ``allowed`` (without repeating start)."""
    prev: dict = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for nxt in edges.get(node, ()):
            if nxt not in allowed:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path))
            if nxt not in seen:
                seen.add(nxt)
                prev[nxt] = node
                queue.append(nxt)
    return None


def _cycles(nodes: list, edges: dict, min_length: int = 1) -> list[list]:
    """One cycle per strongly connected component that has one of at least ``min_length`` nodes."""
    out = []
    for comp in _sccs(nodes, edges):
        members = set(comp)
        for start in comp:
            cyc = _shortest_cycle(start, edges, members)
            if cyc and len(cyc) >= min_length:
                out.append(cyc)
                break
    return out


def _arrow(items: list[str]) -> str:
    return " → ".join(items + items[:1])


# -- cheap pass: cycles -------------------------------------------------------------------
def cycles(policy: PolicySet) -> list[Diagnostic]:
    """E-CYCLE: exception rings (three or more; pairs are the ``exceptions`` pass), circular
    precedence between clauses in force together, adopt chains, evaluate_as chains between kinds,
    forwards chains between documents."""
    out: list[Diagnostic] = []
    clauses = [c for d in policy.documents for c in d.clauses]

    # explicit exceptions naming each other in a ring
    nodes = [c for c in clauses if isinstance(c.exception_to, list)]
    edges = {c: [policy.clauses[r] for r in c.exception_to if r in policy.clauses] for c in nodes}
    for cyc in _cycles(nodes, edges, min_length=3):
        out.append(Diagnostic("E-CYCLE", t("passes.exception_ring", ring=_arrow([c.ref for c in cyc])), cyc[0].where,
                              t("passes.exception_ring.hint")))

    # adopt chains (link refuses adopting an adopting clause; a ring is named here)
    nodes = [c for c in clauses if c.outcome == "adopt"]
    edges = {c: [policy.clauses[c.adopt]] if c.adopt in policy.clauses else [] for c in nodes}
    for cyc in _cycles(nodes, edges):
        out.append(Diagnostic("E-CYCLE", t("passes.adopt_ring", ring=_arrow([c.ref for c in cyc])), cyc[0].where,
                              t("passes.adopt_ring.hint")))

    # evaluate_as chains between kinds (the same kind is reported by the types pass)
    kind_edges: dict[str, list[str]] = {}
    via: dict[tuple[str, str], Clause] = {}
    for c in clauses:
        eff = c.effective()
        if eff.outcome == "evaluate_as" and eff.evaluate_as:
            for topic in c.topics:
                target = eff.evaluate_as[0]
                kind_edges.setdefault(topic, []).append(target)
                via.setdefault((topic, target), c)
    kinds = list(policy.vocab.kinds)
    for cyc in _cycles(kinds, kind_edges, min_length=2):
        steps = [via[(a, b)] for a, b in zip(cyc, cyc[1:] + cyc[:1])]
        first = min(steps, key=lambda c: (c.where.file or "", c.where.line or 0))
        out.append(Diagnostic("E-CYCLE", t("passes.evaluate_as_ring", ring=_arrow(cyc), refs=join(c.ref for c in steps)),
                              first.where, t("passes.evaluate_as_ring.hint")))
    # sub-answers (answer(...)) between kinds, with the evaluate_as steps: a kind that asks,
    # directly or through others, for its own answer would be asked for ever
    asks: dict[str, list[str]] = {}
    asked_by: dict[tuple[str, str], object] = {}
    for c in clauses:
        for expr in _expressions(c):
            for node in answers(expr.node):
                for topic in c.topics:
                    asks.setdefault(topic, []).append(node.kind)
                    asked_by.setdefault((topic, node.kind), (c.ref, c.where))
    for d in policy.definitions.values():
        for node in answers(d.expr.node):
            for k in d.kinds:
                asks.setdefault(k, []).append(node.kind)
                asked_by.setdefault((k, node.kind), (d, d.expr.where))  # worded only when reported
    if asks:
        both = {k: kind_edges.get(k, []) + asks.get(k, []) for k in kinds}
        for cyc in _cycles(kinds, both):
            steps = list(zip(cyc, cyc[1:] + cyc[:1]))
            if not any(step in asked_by for step in steps):
                continue  # evaluate_as alone: reported above
            named = [_asker(asked_by[step]) if step in asked_by else (via[step].ref, via[step].where) for step in steps]
            out.append(Diagnostic("E-CYCLE", t("passes.answer_ring", ring=_arrow(cyc), refs=join(ref for ref, _ in named)),
                                  named[0][1], t("passes.answer_ring.hint")))
    from policy_dsl.engine.evaluate import MAX_REDIRECTS

    both = {k: kind_edges.get(k, []) + asks.get(k, []) for k in kinds}
    longest = None if _cycles(kinds, both) else _longest_chain(kinds, both)
    if longest and len(longest) - 1 > MAX_REDIRECTS:
        step = (longest[0], longest[1])
        ref, where = (via[step].ref, via[step].where) if step in via else _asker(asked_by[step])
        what = "evaluate_as" if all(s in via for s in zip(longest, longest[1:])) else t("passes.evaluate_as_and_answer")
        out.append(Diagnostic("E-EVALUATE-AS", t("passes.chain_too_long", what=what, chain=" → ".join(longest),
                                                 limit=MAX_REDIRECTS, ref=ref), where, t("passes.chain_too_long.hint")))

    # forwards chains between documents
    docs = {d.id: d for d in policy.documents}
    nodes = list(docs)
    edges = {d.id: [f for f in d.forwards if f in docs] for d in policy.documents}
    for cyc in _cycles(nodes, edges):
        out.append(Diagnostic("E-CYCLE", t("passes.forwards_ring", ring=_arrow(cyc)), docs[cyc[0]].where,
                              t("passes.forwards_ring.hint")))

    out += _precedence_cycles(policy)
    return out


def _expressions(c: Clause) -> list:
    """Every expression a clause evaluates (its own and what it adopts)."""
    out = []
    for x in {c, c.effective()}:
        out += [e for e in (x.when,) if e is not None] + [e for _, e in x.decide]
        if x.evaluate_as:
            out += [e for _, e in x.evaluate_as[1]]
    return out


def _longest_chain(nodes: list[str], edges: dict) -> list[str] | None:
    """The longest simple path in the kind graph (small: a dozen kinds), when it is acyclic."""
    best: list[str] = []

    @functools.lru_cache(maxsize=None)
    def longest_from(n: str, depth: int = 0) -> tuple:
        if depth > len(nodes):
            return (n,)
        paths = [longest_from(m, depth + 1) for m in edges.get(n, ()) if m != n]
        return (n,) + max(paths, key=len, default=())

    for n in nodes:
        if n in edges:
            p = list(longest_from(n))
            if len(p) > len(best):
                best = p
    return best or None


def _interval(c: Clause, region) -> tuple[dt.date, dt.date]:
    start = c.local_start(region) or dt.date.min
    return start, c.in_force.until or dt.date.max


def _precedence_cycles(policy: PolicySet) -> list[Diagnostic]:
    """Clauses on one topic that can be in force together at one region whose precedence
    (docs/reference.md, Precedence) goes round in a circle: no clause governs, and the order the files are read
    would decide."""
    reg = default_registry()
    out: list[Diagnostic] = []
    reported: set[frozenset] = set()
    for topic, clauses in policy.by_topic.items():
        anchors = sorted({c.doc.jurisdiction for c in clauses if c.doc.jurisdiction in reg.by_code})
        for code in anchors:
            region = reg.get(code)
            group = [c for c in clauses if region.within(c.doc.jurisdiction)]
            if len(group) < 2:
                continue
            spans = {c: _interval(c, region) for c in group}
            edges = {a: [b for b in group if b is not a and resolve.beats(a, b)
                         and max(spans[a][0], spans[b][0]) <= min(spans[a][1], spans[b][1])] for a in group}
            for cyc in _cycles(group, edges, min_length=2):
                key = frozenset(cyc)
                start = max(spans[c][0] for c in cyc)
                end = min(spans[c][1] for c in cyc)
                reasons = [resolve.beats(a, b) for a, b in zip(cyc, cyc[1:] + cyc[:1])]
                if key in reported or start > end or set(reasons) == {resolve.EXCEPTION}:
                    continue  # exceptions alone: the exception passes name the ring
                reported.add(key)
                steps = join(t("passes.beats", first=a.ref, second=b.ref, reason=resolve.beats(a, b))
                             for a, b in zip(cyc, cyc[1:] + cyc[:1]))
                first = min(cyc, key=lambda c: (c.where.file or "", c.where.line or 0))
                when = start.isoformat() if start != dt.date.min else t("passes.the_start")
                out.append(Diagnostic("E-CYCLE", t("passes.precedence_ring", topic=topic, region=region.name, when=when,
                                                   steps=steps), first.where, t("passes.precedence_ring.hint")))
    return out


# -- cheap pass: facts no clause reads ----------------------------------------------------
@functools.lru_cache(maxsize=8)
def kinds_table(path: str = "", display: str = KINDS_DISPLAY):
    """A kinds table with positions (for locating findings): the packaged one, or a policy folder's."""
    from pathlib import Path

    from policy_dsl.language.yamlsafe import decode, load_yaml

    source = Path(path) if path else resources.data_path("kinds.yaml")
    return load_yaml(decode(source.read_bytes(), display), display)


def kind_where(kind: str, fact: str | None = None, vocab=None) -> Where:
    """Where ``kind`` (or its ``fact``) is written in the kinds table ``vocab`` came from."""
    at = ("kinds", kind, "facts", fact) if fact else ("kinds", kind)
    if vocab is None or not vocab.path:
        return kinds_table().where(at, key=True)
    try:
        return kinds_table(vocab.path, vocab.file).where(at, key=True)
    except (OSError, PolicyDslError):  # the file changed or went since the set was read
        return Where(vocab.file)


def names_read(policy: PolicySet, clause: Clause) -> set[str]:
    """Every name a clause reads (its own condition, what it adopts, outputs, evaluate_as facts),
    with definitions expanded."""
    exprs = []
    for c in {clause, clause.effective()}:
        if c.when is not None:
            exprs.append(c.when)
        exprs += [e for _, e in c.decide]
        if c.evaluate_as:
            exprs += [e for _, e in c.evaluate_as[1]]
        exprs += list(c.note_whens.values())
    seen: set[str] = set()
    todo = [n.name for e in exprs for n in walk(e.node) if isinstance(n, Name)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        d = policy.definitions.get(name)
        if d is not None:
            todo += [n.name for n in walk(d.expr.node) if isinstance(n, Name)]
    return seen


def _asker(found: tuple) -> tuple:
    """(who asks, where) for a sub-answer: a clause's reference, or a definition worded as one."""
    who, where = found
    return (who if isinstance(who, str) else t("passes.definition", name=who.name)), where


def unread_facts(policy: PolicySet) -> list[Diagnostic]:
    """W-UNREAD-FACT: for each kind with clauses, the facts (other than the one that fixes the
    decision date) that no clause on that kind reads: a case must give them, yet no answer
    depends on them."""
    vocab = policy.vocab
    out = []
    for kind_name, kind in vocab.kinds.items():
        clauses = policy.by_topic.get(kind_name)
        if not clauses or any(c.outcome == "adopt" and c.adopted is None for c in clauses):
            continue  # no clause, or one whose adopted clause is unknown (link reports it)
        read: set[str] = set()
        for c in clauses:
            read |= names_read(policy, c)
        unread = [f for f in kind.facts if f not in read and f != kind.decided_on]
        if unread:
            listed = join(f"`{f}`" for f in unread)
            may = all(optional(kind.facts[f]) for f in unread)  # a fact with a default: cases may leave it out
            message = (N_("passes.unread_optional_fact") if may else N_("passes.unread_fact")) if len(unread) == 1 else (
                N_("passes.unread_optional_facts") if may else N_("passes.unread_facts"))
            out.append(Diagnostic("W-UNREAD-FACT", t(message, kind=kind_name, facts=listed, n=len(clauses)),
                                  kind_where(kind_name, unread[0], vocab), t("passes.unread_fact.hint"),
                                  severity="warning"))
    return out


# -- the grid -----------------------------------------------------------------------------
@dataclass
class Probe:
    """One generated case, evaluated: which clauses apply, which govern, the status."""

    kind: str
    region: object
    day: dt.date
    facts: dict
    case: object
    holding: tuple = ()  # clauses in force whose condition holds
    pending: tuple = ()  # pending clauses whose condition holds
    status: str = "none"  # decided | delegated | pending | none | error
    governing: dict = field(default_factory=dict)  # clause -> outputs it gave
    displaced: dict = field(default_factory=dict)  # clause -> reason
    top: Clause | None = None
    error: str | None = None
    failure: tuple | None = None  # (where, what could not be computed, why) when an expression fails on it
    asked: dict | None = None  # the sub-answers its evaluation asked (Result.asked); None: it raised, or went on
    # to another kind (``evaluate_as``: whose clauses may differ in a region it is put to, ``_kin``)

    def example(self) -> dict:
        return {"kind": self.kind, "region": self.region.code, **{k: _jsonable(v) for k, v in self.facts.items()}}

    def example_text(self) -> str:
        return json.dumps(self.example(), ensure_ascii=False)


def _jsonable(v):
    if isinstance(v, list):
        return [{k: _jsonable(x) for k, x in i.items()} if isinstance(i, dict) else _jsonable(i) for i in v]
    return to_json(v)


def probe_regions(policy: PolicySet) -> list:
    """The regions the check passes probe: the policy set's grid (policy_dsl.analysis.grid)."""
    return grid.grid_of(policy).regions


def _cache(policy: PolicySet) -> dict:
    cache = policy.__dict__.get("_probe_cache")
    if cache is None:
        cache = policy.__dict__["_probe_cache"] = {}
    return cache


def _evaluator(policy: PolicySet):
    from policy_dsl.engine.evaluate import Evaluator

    cache = _cache(policy)
    if "__evaluator__" not in cache:
        cache["__evaluator__"] = Evaluator(policy)
    return cache["__evaluator__"]


def probes(policy: PolicySet, topic: str, region, day: dt.date) -> list[Probe]:
    """The generated cases of ``topic`` at (region, day), evaluated (cached per policy set)."""
    cache = _cache(policy)
    key = (topic, region.code, day)
    if key in cache:
        return cache[key]
    out = _made(policy, topic, region, day, lambda city: probes(policy, topic, city, day))
    out = cache[key] = out.made() if isinstance(out, Moved) else out
    return out


class Probes(list):
    """The probes of one (topic, region, day), evaluated; ``replay``: what each grid pass took
    from them, kept for the regions answered as this one (``Moved``), and whether one failed."""

    __slots__ = ("replay",)

    def __init__(self, items=()):
        super().__init__(items)
        self.replay: dict = {}

    def failed(self) -> bool:
        found = self.replay.get("__failed__")
        if found is None:
            found = self.replay["__failed__"] = any(p.status == "error" for p in self)
        return found


class Moved:
    """The probes of a region answered as another's (``_twin``): ``source``'s probes put to
    ``region`` (``_moved``), each the answer the region's own would get. They are made only when
    read: a grid pass that took what it needs from ``source`` (its ``replay``) takes it again
    without them (every probe here has the holding clauses, status, governing and displaced
    clauses of the same place there, and no failure)."""

    __slots__ = ("source", "region", "own", "_made")

    def __init__(self, source: Probes, region, own: tuple):
        self.source, self.region, self.own, self._made = source, region, own, None

    def made(self) -> Probes:
        if self._made is None:
            self._made = Probes(_moved(p, self.region, self.own) for p in self.source)
        return self._made

    def __len__(self) -> int:
        return len(self.source)

    def __iter__(self):
        return iter(self.made())

    def __getitem__(self, i):
        return self.made()[i]


def replayed(grid_pass, ps):
    """What ``grid_pass`` took from the probes ``ps`` were put from, when ``ps`` is ``Moved`` from
    probes fed to it before (``Probes.replay``); else None."""
    source = getattr(ps, "source", None)
    return None if source is None else source.replay.get(grid_pass)


def _made(policy: PolicySet, topic: str, region, day: dt.date, probes_of) -> "Probes | Moved":
    """The probes of ``topic`` at (region, day): a district's as its city's, or a region's as an
    earlier probe region's, when nothing tells them apart (``_twin``), or nothing but the
    sub-answers its definitions ask (``_kin``: each probe whose sub-answers are the same there,
    the others evaluated); ``probes_of(source)``: the source's probes that day; else evaluated."""
    twin = _twin(policy, topic, region, day)
    if twin is not None:
        source, own = twin
        found = _put_from(probes_of(source), own)
        if not found.failed():  # a failure's message is not compared: made again
            return Moved(found, region, own)
    kin = _kin_on(policy, topic, region, day)
    if kin is not None:
        return _reasked(policy, topic, region, day, _put_from(probes_of(kin), ()))
    return evaluated(policy, topic, region, day)


def _put_from(found, own: tuple) -> "Probes":
    """The probes ``found`` (of a source region, ``_made``) as probes to put elsewhere with ``own``
    (``Moved``): a source answered as a third region gives that one's when they put the same facts."""
    if isinstance(found, Moved):  # the source answered as a third region: put from that one's
        found = found.source if found.own == own else found.made()
    return found if isinstance(found, Probes) else Probes(found)


def _reasked(policy: PolicySet, topic: str, region, day: dt.date, found: "Probes") -> "Probes | Moved":
    """The probes of ``topic`` at (region, day) for a region answered as another but for the
    sub-answers asked by its kind's definitions (``_kin``; ``found``: the other's probes that day,
    in the grid's order): a probe of the same facts whose evaluation there asked sub-answers that
    are the same here gets the answer it got there; the others are evaluated here. Every probe
    put: ``Moved`` (what the grid passes took from ``found`` holds here too: each computes on a
    probe through its environment, the same here, and the clauses of its kind, the same in
    force). A sub-answer is decided on a day its facts give (the probes are not ``as_of``): each is
    asked here and compared once for the region (``Evaluator.answer``)."""
    from policy_dsl.language.expr.compile import EvalError

    g = grid.grid_of(policy)
    regional = g._regional(topic)  # else the grid makes the same facts in every region, in the same order
    facts_here = g.facts(topic, region, day) if regional else None
    if found.failed() or regional and len(facts_here) != len(found):
        return evaluated(policy, topic, region, day)
    cache = _cache(policy)
    held = cache.get("__reasked__")
    if held is None or held[0] != (topic, region.code):  # the region's sub-answers: kept while it is swept
        held = cache["__reasked__"] = ((topic, region.code), {}, {})
    _, same, memo = held  # key -> whether the answer here is the one there; key -> the answer here
    ev, case = _evaluator(policy), None
    put = []
    for i, p in enumerate(found):
        ok = p.asked is not None and (not regional or grid._memo_key(facts_here[i]) == grid._memo_key(p.facts))
        for key, answer in p.asked.items() if ok else ():
            verdict = same.get(key)
            if verdict is None:
                verdict = False
                if key is not None:  # None: one asked that could not be a key
                    case = case or grid.make_case(topic, region, p.facts, day)
                    try:
                        verdict = grid._memo_key(ev.answer(case, key, memo)) == grid._memo_key(answer)
                    except (PolicyDslError, EvalError, ArithmeticError, ValueError):
                        pass  # evaluated below: where it fails is found there
                same[key] = verdict
            if not verdict:
                ok = False
                break
        put.append(ok)
    if all(put):
        return Moved(found, region, ())
    return evaluated(policy, topic, region, day, [_moved(p, region, ()) if ok else None for p, ok in zip(found, put)])


def evaluated(policy: PolicySet, topic: str, region, day: dt.date, put: list | None = None) -> list[Probe]:
    """The generated cases of ``topic`` at (region, day), each evaluated here (not cached) but those
    ``put`` gives (``_reasked``: the probe, or None, for each in order)."""
    from policy_dsl.language.expr.compile import EvalError

    ev = _evaluator(policy)
    clauses = grid.grid_of(policy).here(topic, region)  # the others are `outside` here: never in force, never holding
    states = [(c, resolve.standing(c, region, day).state) for c in clauses]
    mine = {c for c, state in states if state == "in_force"}
    here = set(clauses)
    out = []
    for i, facts in enumerate(grid.grid_of(policy).facts(topic, region, day)):
        if put is not None and put[i] is not None:
            out.append(put[i])
            continue
        case = grid.make_case(topic, region, facts, day)
        p = Probe(topic, region, day, facts, case)
        out.append(p)
        try:
            result = ev.evaluate(case, explain=False)
        except (PolicyDslError, EvalError, ArithmeticError, ValueError) as exc:
            # the environment (evaluate's first step, made again here: it is what the failure is read on)
            try:
                env = ev.environment(case, None)
            except (PolicyDslError, EvalError, ArithmeticError, ValueError) as failed:
                p.status, p.error = "error", type(failed).__name__
                p.failure = _culprit(policy, ev, case, None, states, failed)
                continue
            rule = getattr(exc, "rule", None)
            if rule and rule in policy.clauses:  # rejected by a clause: that clause decides
                p.status, p.top = "decided", policy.clauses[rule]
                p.governing = {p.top: ()}
            else:
                p.status = "error"
                p.error = exc.first.code if isinstance(exc, PolicyDslError) else type(exc).__name__
                p.failure = _culprit(policy, ev, case, env, states, exc)
            p.holding, p.pending = _holding(ev, env, states)
            continue
        # the clauses that applied are those the result names as governing or displaced
        p.governing = {c: tuple(f) for c, f in result.governing}
        p.displaced = {c: reason for c, reason, _ in result.displaced}
        p.top = result.governing[0][0] if result.governing else None
        p.holding = tuple(c for c in clauses if c in mine and (c in p.governing or c in p.displaced))
        p.pending = tuple(c for c, _ in result.pending if c in here)
        p.asked = None if result.redirected else result.asked
        if result.status == "no_rule":
            p.status = "pending" if result.pending else "none"
        else:
            p.status = result.status
    return Probes(out)


def _moved(p: Probe, region, own: tuple) -> Probe:
    """Probe ``p`` put to ``region`` with everything else as it found (``_twin``); ``own``: the facts
    (``(fact, None)``) and fields of a list's items (``(fact, field)``) that take the probe's region."""
    facts = p.facts
    if own:
        facts = dict(facts)
        for name, item in own:
            if item is None:
                facts[name] = region
            elif isinstance(facts.get(name), list):
                facts[name] = [{**x, item: region} for x in facts[name]]
    return Probe(p.kind, region, p.day, facts, grid.make_case(p.kind, region, facts, p.day), p.holding, p.pending,
                 p.status, p.governing, p.displaced, p.top, p.error, p.failure, p.asked)


_REGION_FUNCTIONS = ("city", "province", "within")  # what an expression can ask of a region (expr/compile.py)


def _twin(policy: PolicySet, topic: str, region, day: dt.date):
    """The city of ``region`` when ``region`` is a district that the grid probes only as a district
    of a city (no document, adoption, deferral or condition names it) and, for ``topic`` on
    ``day``, nothing can tell it from that city — so that every probe there gets the answer the
    same probe gets in the city; else None. Nothing can tell them apart when, for ``topic`` and
    every kind its clauses ask (``answer(...)``, ``evaluate_as``): the same clauses apply in both,
    with the same standing on ``day`` (and, in a kind asked about, which is decided on a day of its
    own, the same local start: the same standing every day); every expression that can run
    (clauses, definitions, the kinds table's constraints) reads a region only through ``city``,
    ``province`` and ``within`` (equal for a district and its city) and never writes the district's
    code; and the probes' facts are the same but for the probe's own region (each region fact the
    expressions read takes the same probe regions; one they never read may take the probe's region). Returns (the city,
    the facts that take the probe's region: ``_moved``)."""
    g = grid.grid_of(policy)
    found = None
    if g.roles.get(region.code) == "district" and region.city is not region and g.roles.get(region.city.code) is not None:
        city = region.city
        cache = _cache(policy)
        key = ("__twin__", topic, region.code)
        found = cache.get(key, False)
        if found is False:
            found = cache[key] = _twin_kinds(policy, g, topic, region, city)
    if found is None:
        found = _alike(policy, g, topic, region)
        if found is None:
            return None
        city, found = found[0], found[1:]
    kinds, whole = found
    if not _same_standings(g, kinds, region, city, day):
        return None
    own = _same_facts(g, topic, region, city, day, whole)
    return None if own is None else (city, own)


def _same_standings(g, kinds: tuple, region, other, day: dt.date) -> bool:
    """Whether ``other`` exists on ``day`` and each clause of ``kinds`` in ``region`` has there
    the standing (state and local start) it has in ``region``."""
    if not other.valid_on(day):
        return False
    for k in kinds:
        for c in g.here(k, region):
            a, b = resolve.standing(c, region, day), resolve.standing(c, other, day)
            if a.state != b.state or a.start != b.start:
                return False
    return True


def _kin_on(policy: PolicySet, topic: str, region, day: dt.date):
    """The earlier probe region (``_kin``) whose probes of ``topic`` on ``day`` the probes at
    ``region`` may take, but for the sub-answers they ask (``_reasked``); else None."""
    g = grid.grid_of(policy)
    found = _kin(policy, g, topic, region)
    if found is None or not _same_standings(g, found[1], region, found[0], day):
        return None
    return found[0]


def _kin(policy: PolicySet, g, topic: str, region) -> tuple | None:
    """(the first probe region, in grid order, whose probes of ``topic`` the probes at ``region``
    can take when the sub-answers they asked are the same here, the kinds ``_twin_kinds`` names)
    when it is not ``region`` itself and ``_alike`` finds none: as ``_alike``, but the kinds asked
    by the definitions of ``topic`` alone (``answer(...)``, computed in every case's environment)
    and the kinds its clauses go on to (``evaluate_as``) may have other clauses in the two
    regions: ``_reasked`` compares what the first answer, probe by probe, and evaluates again a
    probe that went on to another kind (no grid pass evaluates where a clause goes on to: only
    such a probe's own answer can tell the two regions apart). Made once for each topic and region."""
    if _alike(policy, g, topic, region) is not None:
        return None
    found = _earlier(policy, g, topic, region, loose=True)
    return None if found is None else found[:2]


def _alike(policy: PolicySet, g, topic: str, region) -> tuple | None:
    """For ``_twin``: (the first probe region, in grid order, that the probes of ``topic`` at
    ``region`` can be answered as, the kinds ``_twin_kinds`` names, the names read whole) when it is
    not ``region`` itself: ``topic`` and every kind its clauses ask (``answer(...)``,
    ``evaluate_as``) have the same clauses in both, and no expression that can run for them
    (clauses, definitions, the kinds table's constraints) reads ``region`` or writes either
    region's code — so a case's answer cannot depend on which of the two it is asked in, but
    through the standings of those clauses (compared on each day by ``_twin``) and the facts that
    take the probe's own region (``_same_facts``); else None. Made once for each topic and region."""
    return _earlier(policy, g, topic, region, loose=False)


def _earlier(policy: PolicySet, g, topic: str, region, loose: bool) -> tuple | None:
    """For ``_alike`` and ``_kin``: (the first probe region, in grid order, where the kinds
    ``_twin_kinds`` names (``blind``, and ``loose`` as given) have the clauses they have at
    ``region``, and what ``_twin_kinds`` gives for the two) when it is not ``region`` itself and
    ``_twin_kinds`` finds nothing to tell them apart; else None. Made once for each topic, region
    and way."""
    cache = _cache(policy)
    key = ("__earlier__", loose, topic, region.code)
    found = cache.get(key, False)
    if found is not False:
        return found
    index = cache.get(("__earlier_index__", loose, topic))
    if index is None:  # the clauses of those kinds -> the first probe region with them
        index = cache[("__earlier_index__", loose, topic)] = {}
        for r in g.regions:
            kinds = _twin_kinds(policy, g, topic, r, r, blind=True, loose=loose)
            if kinds is not None:
                index.setdefault(tuple(g.here(k, r) for k in kinds[0]), r)
    found = None
    kinds = _twin_kinds(policy, g, topic, region, region, blind=True, loose=loose)
    if kinds is not None:
        source = index.get(tuple(g.here(k, region) for k in kinds[0]), region)
        if source is not region:
            found = _twin_kinds(policy, g, topic, region, source, blind=True, loose=loose)
            found = None if found is None else (source, *found)
    cache[key] = found
    return found


def _twin_kinds(policy: PolicySet, g, topic: str, region, city, blind: bool = False,
                loose: bool = False) -> tuple | None:
    """For ``_twin``: (``topic`` and the kinds it asks, the names ``topic``'s expressions read other
    than through a field of an item) when their clauses in ``region`` are those in ``city`` and
    their expressions cannot tell the two apart (see there; ``blind``: they read no ``region`` at
    all and write neither code, for ``_alike``); else None. ``loose`` (for ``_kin``): the kinds
    asked by the definitions of ``topic`` alone and those its clauses go on to are not among them,
    and there is at least one."""
    kinds, todo, whole, loosened = [], [topic], set(), []
    while todo:
        k = todo.pop()
        if k in kinds:
            continue
        if k not in g.kinds or g.here(k, region) != g.here(k, city):
            return None
        if k != topic and any(c.local_start(region) != c.local_start(city) for c in g.here(k, region)):
            return None  # a kind asked about is decided on a day of its own: the same standing every day
        kinds.append(k)
        bare = wrapped = 0
        names, fields = Counter(), Counter()
        for part in (*g.here(k, region), None):
            read, through, b, w, texts, asked = _reads(policy, g, k, part)
            if region.code in texts or blind and city.code in texts:
                return None
            bare, wrapped = bare + b, wrapped + w
            if loose and k == topic and part is None:
                if sorted(asked) != sorted(_defined_asks(policy, topic)):
                    return None  # a constraint of the kinds table asks one
                loosened += asked
            else:
                todo += asked
            if k == topic:
                names.update(read)
                fields.update(through)
        if bare != wrapped or blind and bare:
            return None
        if k == topic:
            whole = {name for name, n in names.items() if n > fields[name]}
        went = [c.effective().evaluate_as[0] for c in g.here(k, region) if c.effective().evaluate_as]
        if loose and k == topic:
            loosened += went  # a probe that goes on to one is evaluated in each region (``Probe.asked``)
        else:
            todo += went
    if loose and all(k in kinds for k in loosened):
        return None  # no kind left to compare answer by answer: ``_alike``'s case
    return tuple(kinds), frozenset(whole)


def _defined_asks(policy: PolicySet, kind: str) -> list:
    """The kinds the definitions of ``kind`` ask (``answer(...)``), once for each time."""
    return [n.kind for d in policy.definitions.values() if kind in d.kinds for n in walk(d.expr.node)
            if isinstance(n, Answer)]


def _reads(policy: PolicySet, g, kind: str, clause) -> tuple:
    """For ``_twin_kinds``: what the expressions of ``clause`` (its own and what it adopts; None:
    the definitions of ``kind`` and the kinds table's constraints on it) read and write — how many
    times each name is read, and read through a field of an item; how many times ``region`` is
    read, and read inside ``city``, ``province`` or ``within``; the texts written; the kinds asked
    (``answer(...)``), in order. Made once for each clause (and each kind) of the set."""
    cache = _cache(policy)
    key = ("__reads__", kind if clause is None else clause)
    found = cache.get(key)
    if found is None:
        if clause is None:
            nodes = [d.expr.node for d in policy.definitions.values() if kind in d.kinds]
            nodes += [c.require for c in g.kinds[kind][1].constraints_for(kind)]
        else:
            nodes = [e.node for e, _ in grid._clause_expressions(clause)]
        bare = wrapped = 0
        names, fields, texts, asked = Counter(), Counter(), set(), []
        for n in (n for node in nodes for n in walk(node)):
            if isinstance(n, Name):
                names[n.name] += 1
            if isinstance(n, Field):
                base = n.obj.obj if isinstance(n.obj, Index) else n.obj
                if isinstance(base, Name):
                    fields[base.name] += 1
            if isinstance(n, Name) and n.name == "region":
                bare += 1
            elif isinstance(n, Call) and n.func in _REGION_FUNCTIONS and n.args and isinstance(n.args[0], Name) \
                    and n.args[0].name == "region":
                wrapped += 1
            elif isinstance(n, Literal) and isinstance(n.value, str):
                texts.add(n.value)
            elif isinstance(n, Answer):
                asked.append(n.kind)
        found = cache[key] = (names, fields, bare, wrapped, frozenset(texts), tuple(asked))
    return found


def _same_facts(g, topic: str, region, city, day: dt.date, whole: frozenset) -> tuple | None:
    """For ``_twin``: the facts of ``topic`` (``(fact, None)``) and fields of a list's items
    (``(fact, field)``) that take the probe's own region, when the grid gives ``topic`` at
    ``region`` on ``day`` the fact values it gives at ``city`` but for those: the region facts the
    expressions read take the same probe regions (``Grid._region_values``), and those that take
    the probe's region are read by no expression (nor is the list whose items they are, but for
    a field of its items: ``whole``); else None."""
    k, _ = g.kinds[topic]
    if any(spec["type"] == "region" for spec in g.person_flags.values()):
        return None
    read = g.analysis(topic).read
    regional, own = False, []
    for name, spec in k.facts.items():
        if spec["type"] == "region":
            if name in read:
                regional = True
            elif not optional(spec):
                own.append((name, None))  # a fact no expression reads takes the probe's region
        elif spec["type"] == "list" and any(s["type"] == "region" for s in spec["items"].values()):
            if name not in g._read_names(topic) and optional(spec):
                continue  # absent
            for f, s in spec["items"].items():
                if s["type"] == "region":
                    if f"{name}.{f}" in read:
                        regional = True
                    elif name in whole:
                        return None
                    else:
                        own.append((name, f))
    if regional:
        here, there = g._region_values(topic, region, day), g._region_values(topic, city, day)
        if len(here) != len(there) or any(a is not b for a, b in zip(here, there)):
            return None
    return tuple(own)


def _culprit(policy: PolicySet, ev, case, env, states, exc) -> tuple | None:
    """What made a probe fail: ``(where, what, why)`` for the first expression that cannot be
    computed for the case — a definition of its kind, or the condition or an output of a clause
    in force or pending there (whose condition holds) — or None when no expression of the policy
    files is the cause (the holiday schedule, a case the clauses reject)."""
    from policy_dsl.engine.evaluate import RANGE_ERRORS

    if env is None:  # a definition: environment() names it
        message = exc.first.message if isinstance(exc, PolicyDslError) else str(exc)
        name = message[len("definition "):].split(":", 1)[0] if message.startswith("definition ") else None
        d = policy.definitions.get(name) if name else None
        if d is None:
            return None
        word = t("check.probe_definition")
        return d.expr.where, f"{word} `{d.name}` (`{_clip(d.expr.text)}`)", message.split(": ", 1)[-1]
    for c, state in states:
        if state not in ("in_force", "pending"):
            continue
        eff = c.effective()
        try:
            if not ev.holds(c, env):
                continue
        except RANGE_ERRORS as err:
            word = t("check.probe_condition")
            return eff.when.where, f"{c.citation} [{c.ref}]: {word} `{_clip(eff.when.text)}`", _why(err)
        except PolicyDslError:
            continue
        if state != "in_force":
            continue
        try:
            ev.clause_outputs(case, c, env)
        except (PolicyDslError,) + RANGE_ERRORS as err:
            if isinstance(err, PolicyDslError) and err.first.code != "E-CASE-INVALID":
                continue
            for name, expr in eff.decide:  # the output that fails, if it fails on its own
                try:
                    expr.fn(env)
                except RANGE_ERRORS as one:
                    return expr.where, f"{c.citation} [{c.ref}]: `{name}: {_clip(expr.text)}`", _why(one)
                except (PolicyDslError, KeyError, TypeError):  # it reads what the clause computes first: named below
                    break
            return c.where, f"{c.citation} [{c.ref}]", _why(err)
    return None


def _why(exc) -> str:
    return exc.first.message if isinstance(exc, PolicyDslError) else str(exc) or type(exc).__name__


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


# -- grid pass: expressions that fail on a probe ------------------------------------------
class _ProbeFailures:
    """The grid pass ``probe_failures``, E-CHECK-PROBE: an expression (a clause's condition or
    output, a definition) that cannot be computed for a generated case the clause applies to (``month_of(0, 1)``, ``[1, 2][0 - 1]``,
    date arithmetic leaving the calendar): answering such a case would fail. One finding for each
    expression, at the expression, with the first probe that fails it."""

    def __init__(self, policy: PolicySet):
        self.found: dict = {}

    def feed(self, topic: str, region, day: dt.date, ps: list) -> None:
        if isinstance(ps, Moved):
            return  # put from probes none of which failed
        for p in ps:
            if p.failure is None:
                continue
            where, what, why = p.failure
            key = (str(where), what)
            if key not in self.found:
                self.found[key] = Diagnostic("E-CHECK-PROBE", t("check.probe_fails", what=what, example=p.example_text(),
                                                                day=p.day.isoformat(), why=_clip(why, 160)),
                                             where, t("check.probe_fails.hint"))

    def finish(self) -> list[Diagnostic]:
        return list(self.found.values())


def _holding(ev, env, states) -> tuple[tuple, tuple]:
    """The clauses (in force, pending) whose condition holds, tested one by one."""
    from policy_dsl.language.expr.compile import EvalError

    holding, pending = [], []
    for c, state in states:
        if state not in ("in_force", "pending"):
            continue
        try:
            holds = ev.holds(c, env)
        except (PolicyDslError, EvalError, ArithmeticError, ValueError):
            continue
        if holds:
            (holding if state == "in_force" else pending).append(c)
    return tuple(holding), tuple(pending)


def batches(policy: PolicySet):
    """(topic, region, day, probes) for every probe of the check passes (each topic with clauses ×
    probe regions × sampled days), made as they are asked for and not kept: memory holds the
    probes of a region and of the one before it (a district comes just after its city, whose probes it may take: ``_twin``)
    and, while a topic is swept, those of the regions others are answered as (``_alike``, ``_kin``), not
    those of the whole grid. Probes already in the cache (``probes``) are taken from it."""
    cache = _cache(policy)
    g = grid.grid_of(policy)
    for topic in policy.by_topic:
        if topic not in policy.vocab.kinds:
            continue  # not a kind of the set's table (the types pass reports it)
        sources = {alike[0].code for prior, r in zip([None] + g.regions, g.regions)
                   if (alike := _alike(policy, g, topic, r) or _kin(policy, g, topic, r)) is not None
                   and alike[0] is not prior}
        kept: dict = {}  # (region code, day) -> the probes of a region others are answered as (``_alike``, ``_kin``)
        before: dict = {}  # (region code, day) -> the probes of the region before
        for region in g.regions:
            made: dict = {}
            for day in g.sample_days(topic, region):
                ps = cache.get((topic, region.code, day))
                if ps is None:
                    ps = _made(policy, topic, region, day, lambda source, day=day: before.get((source.code, day))
                               or kept.get((source.code, day)) or probes(policy, topic, source, day))
                made[(region.code, day)] = ps
                if region.code in sources:
                    kept[(region.code, day)] = ps
                yield topic, region, day, ps
            before = made


def grid_findings(policy: PolicySet) -> dict[str, list[Diagnostic]]:
    """The findings of the passes over the probe grid (``check.GRID_PASSES``), by pass: one sweep
    of the grid (``batches``) feeds them all as it is made, and is not kept (made once for the
    policy set)."""
    from policy_dsl.analysis.conflicts import Conflicts
    from policy_dsl.analysis.hierarchy import Hierarchy

    cache = _cache(policy)
    found = cache.get("__findings__")
    if found is None:
        passes = {"probe_failures": _ProbeFailures(policy), "conflicts": Conflicts(policy), "bounds": _Bounds(policy),
                  "shadowed": _Shadowed(policy), "hierarchy": Hierarchy(policy, _evaluator(policy))}
        for batch in batches(policy):
            for consumer in passes.values():
                consumer.feed(*batch)
        found = cache["__findings__"] = {name: consumer.finish() for name, consumer in passes.items()}
    return found


# -- grid pass: delegated bounds ----------------------------------------------------------
class _Bounds:
    """The grid pass ``bounds``, E-BOUND / W-BOUND-SOFT: a clause of a lower level decides
    ``waiting_months`` above the ``bounds.max_waiting_months`` of a delegating clause of a higher level, for a generated case
    to which both apply."""

    def __init__(self, policy: PolicySet):
        self.delegating = {c for d in policy.documents for c in d.clauses if c.effective().outcome == "delegate"
                           and (c.effective().bounds or {}).get("max_waiting_months") is not None}
        self.ev = _evaluator(policy) if self.delegating else None
        self.found: dict[tuple, Diagnostic] = {}

    def feed(self, topic: str, region, day: dt.date, ps: list) -> None:
        from policy_dsl.language.expr.compile import EvalError

        if not self.delegating or replayed(self, ps) is not None:
            return  # a probe put from one fed here gives the same values: found there, if at all
        if isinstance(ps, Probes):
            ps.replay[self] = True
        found, ev = self.found, self.ev
        for p in ps:
            ds = [c for c in p.holding if c in self.delegating]
            if not ds:
                continue
            for low in p.holding:
                eff = low.effective()
                if eff.outcome != "decide" or "waiting_months" not in dict(eff.decide):
                    continue
                for d in ds:
                    if low.doc.rank <= d.doc.rank or (d, low) in found:
                        continue
                    try:
                        value = ev.clause_outputs(p.case, low).get("waiting_months")
                    except (PolicyDslError, EvalError, ArithmeticError, ValueError):
                        continue
                    b = d.effective().bounds
                    limit = b["max_waiting_months"]
                    if not isinstance(value, int) or isinstance(value, bool) or value <= limit:
                        continue
                    soft = bool(b.get("soft", False))
                    expr = dict(eff.decide)["waiting_months"]
                    args = dict(clause=f"{low.citation} [{low.ref}]", value=value, limit=limit,
                                superior=f"{d.citation} [{d.ref}]", case=p.example_text())
                    found[(d, low)] = Diagnostic(
                        "W-BOUND-SOFT" if soft else "E-BOUND",
                        t("passes.above_soft_bound", **args) if soft else t("passes.above_bound", **args),
                        expr.where,
                        t("passes.above_soft_bound.hint", limit=limit) if soft else t("passes.above_bound.hint", limit=limit),
                        severity="warning" if soft else "error")

    def finish(self) -> list[Diagnostic]:
        return list(self.found.values())


# -- grid pass: clauses that never govern -------------------------------------------------
class _Shadowed:
    """The grid pass ``shadowed``, W-SHADOWED: a clause that applies (in force, condition true) to
    some generated case, and wherever it applies another clause takes precedence on every output it decides."""

    def __init__(self, policy: PolicySet):
        self.policy = policy
        self.applies: Counter = Counter()
        self.governs: Counter = Counter()
        self.beaten_by: dict[Clause, Counter] = {}
        self.example: dict[Clause, Probe] = {}

    def feed(self, topic: str, region, day: dt.date, ps: list) -> None:
        done = replayed(self, ps)
        if done is None:
            done = self._counted(ps)
            if isinstance(ps, Probes):
                ps.replay[self] = done
        applies, governs, beaten = done  # counted on the probes the batch was put from: the same (``Moved``)
        self.applies.update(applies)
        self.governs.update(governs)
        for c, winners in beaten.items():
            self.beaten_by.setdefault(c, Counter()).update(winners)

    def _counted(self, ps) -> tuple:
        """For each clause, on how many of ``ps`` it applies, governs, and is beaten by whom."""
        applies, governs, beaten, example = Counter(), Counter(), {}, self.example
        for p in ps:
            if p.status == "error":
                continue
            for c in p.holding:
                applies[c] += 1
                if c in p.governing or p.displaced.get(c) == "tie":
                    governs[c] += 1
                    continue
                winner = p.top
                if p.status == "decided" and p.governing:
                    winner = next((g for g in p.governing if resolve.beats(g, c)), p.top)
                beaten.setdefault(c, Counter())[winner.ref if winner else "?"] += 1
                example.setdefault(c, p)
        return applies, governs, beaten

    def finish(self) -> list[Diagnostic]:
        policy, applies, governs, example = self.policy, self.applies, self.governs, self.example
        out = []
        for d in policy.documents:
            for c in d.clauses:
                if applies[c] == 0 or governs[c] > 0:
                    continue
                winners = self.beaten_by.get(c, Counter())
                names = join(f"{policy.clauses[r].citation} [{r}]" if r in policy.clauses else r
                             for r, _ in winners.most_common(3))
                out.append(Diagnostic(
                    "W-SHADOWED",
                    t("passes.shadowed", clause=f"{c.citation} [{c.ref}]", n=applies[c], winners=names,
                      case=example[c].example_text(), day=example[c].day.isoformat()),
                    c.where, t("passes.shadowed.hint"), severity="warning"))
        return out
