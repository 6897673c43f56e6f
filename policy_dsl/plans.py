"""The evaluator's fast path, for answers without a trace.

A *plan* holds, for one kind of case, one region and one stretch of dates in which no clause of
that kind starts, ends or is issued there, the clauses in force or pending, and one generated
Python function computing the kind's definitions and all those clauses' conditions at once. The
conditions that hold select a *template*, built once per plan and set of holding conditions by
the reference rules (``resolve.order``, ``Evaluator._bounds``, ``Evaluator._finish``…): the
precedence order, the governing and displaced clauses, the pending ones, notes, bounds, and one
generated function computing the outputs. Plans are found through an interval index: for a kind
and a region, the sorted days on which some clause changes state there.

The answers are the reference evaluator's (``evaluate.Evaluator``), which stays the fallback for
everything the fast path does not do: traces (``explain``), and every case on which the generated
code raises or a template has no fast form (a rejection, a tie with different outcomes, a waiting
period beyond a bound, the holiday schedule not covering a date) — the reference evaluator then
gives the answer or raises the proper error. ``tests/test_plans.py`` holds both to the same
answers."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

from policy_dsl import resolve
from policy_dsl.expr.codegen import Emitter, build, may_be_period


class Fallback(Exception):
    """This case is answered by the reference evaluator."""


class Plan:
    __slots__ = ("kind", "relevant", "fn", "templates")

    def __init__(self, kind, relevant, fn):
        self.kind, self.relevant, self.fn, self.templates = kind, relevant, fn, {}


class Template:
    """What follows from one set of holding conditions under one plan."""

    __slots__ = ("mode", "status", "governing", "displaced", "pending", "notes", "bounds", "out_fn", "assign",
                 "ties", "limit", "top", "target", "facts_fn", "fact_names")

    def __init__(self, mode: str):
        self.mode = mode  # no_rule | decided | delegated | redirect | slow
        self.status = mode
        self.governing, self.displaced, self.pending, self.notes = [], [], [], []
        self.bounds = self.out_fn = self.limit = self.top = self.target = self.facts_fn = None
        self.assign, self.ties, self.fact_names = (), (), ()


class Plans:
    """Plans and templates for one Evaluator (and so one policy set); built as cases need them."""

    def __init__(self, evaluator):
        self.ev = evaluator
        self.policy = evaluator.policy
        self.vocab = evaluator.vocab
        self.flags = tuple(self.vocab.person_flags)
        self.index: dict = {}  # (kind, id(region)) -> (breaks, plans, region)
        self.shared: dict = {}  # the clauses and their states -> Plan
        self._finish_notes: dict = {}
        self._ns = None

    # -- the entry -----------------------------------------------------------------------------
    def evaluate(self, case, depth: int = 0):
        """The Result of ``case`` (as ``Evaluator.evaluate(case, explain=False)``), or None when the
        reference evaluator must answer it."""
        try:
            return self._evaluate(case, depth)
        except Exception:  # noqa: BLE001 - any trouble: the reference evaluator answers, or raises properly
            return None

    def _evaluate(self, case, depth):
        region = case.region
        entry = self.index.get((case.kind, id(region)))
        if entry is None:
            entry = self._index(case.kind, region)
        breaks, plans, _ = entry
        i = bisect_right(breaks, case.decision_date.toordinal())
        plan = plans[i]
        if plan is None:
            plan = plans[i] = self._plan(case.kind, region, breaks, i)
        mask, defs = plan.fn(case.facts, region, case.decision_date)
        t = plan.templates.get(mask)
        if t is None:
            plan.templates[mask] = Template("slow")  # should building it fail: the reference evaluator, always
            t = plan.templates[mask] = self._template(plan, mask, case)
        return self._run(t, case, defs, depth)

    def _run(self, t: Template, case, defs, depth):
        from policy_dsl.evaluate import Result

        mode = t.mode
        if mode == "decided":
            vals = t.out_fn(case.facts, case.region, case.decision_date, defs)
            for i, j in t.ties:
                if vals[i] != vals[j]:
                    raise Fallback  # tied clauses disagree: the reference evaluator reports the conflict
            outputs = {name: vals[k] for name, k in t.assign}
            if t.limit is not None:
                w = outputs.get("waiting_months")
                if isinstance(w, int) and w > t.limit:
                    raise Fallback  # the note on a waiting period beyond a bound
            return Result(case, "decided", outputs, None, list(t.governing), list(t.displaced), list(t.pending),
                          list(t.notes), shape=t)
        if mode == "no_rule" or mode == "delegated":
            return Result(case, mode, {}, t.bounds, list(t.governing), list(t.displaced), list(t.pending),
                          list(t.notes), shape=t)
        if mode == "redirect":
            from policy_dsl.evaluate import MAX_REDIRECTS, Case

            if depth >= MAX_REDIRECTS:
                raise Fallback
            facts = dict(zip(t.fact_names, t.facts_fn(case.facts, case.region, case.decision_date, defs)))
            for flag in self.flags:
                facts.setdefault(flag, case.facts.get(flag, False))
            sub = self._evaluate(Case(t.target, case.region, facts, case.decision_date, case.id, case.where), depth + 1)
            governing = [(t.top, [])] + sub.governing
            notes = sub.notes + self.finish_notes(tuple(c for c, _ in governing), case)
            return Result(case, sub.status, sub.outputs, sub.bounds, governing, t.displaced + sub.displaced,
                          t.pending + sub.pending, notes, redirected=[t.target] + sub.redirected, shape=(t, sub.shape))
        raise Fallback

    # -- the interval index --------------------------------------------------------------------
    def _index(self, kind, region):
        points = set()
        for c in self.policy.by_topic.get(kind, ()):
            if not c.applies_to_region(region):
                continue
            for day in (c.doc.issued, c.local_start(region)):
                if day is not None:
                    points.add(day.toordinal())
            if c.in_force.until is not None:
                points.add(c.in_force.until.toordinal() + 1)
        breaks = sorted(points)
        entry = self.index[(kind, id(region))] = (breaks, [None] * (len(breaks) + 1), region)
        return entry

    def _plan(self, kind, region, breaks, i) -> Plan:
        """The plan for the i-th stretch of ``breaks``: every clause keeps its standing within it."""
        if i:
            day = dt.date.fromordinal(breaks[i - 1])
        else:
            day = dt.date.fromordinal(breaks[0] - 1) if breaks and breaks[0] > 1 else dt.date(2000, 1, 1)
        relevant = []
        for c in self.policy.by_topic.get(kind, ()):
            st = resolve.standing(c, region, day)
            if st.state in ("in_force", "pending"):
                relevant.append((c, st.state, st.start))
        key = (kind, tuple((id(c), state, start) for c, state, start in relevant))
        plan = self.shared.get(key)
        if plan is None:
            plan = self.shared[key] = Plan(kind, relevant, self._plan_fn(kind, [c for c, _, _ in relevant]))
        return plan

    # -- generated code ------------------------------------------------------------------------
    def _namespace(self) -> dict:
        if self._ns is None:
            from policy_dsl.expr.codegen import base_namespace

            self._ns = base_namespace()
        return dict(self._ns)

    def _defs(self, kind):
        return self.ev.defs_by_kind.get(kind, ())

    def _env_names(self, kind, em: Emitter, loads: dict, defs_done: dict):
        """The reader of a name in the evaluation environment (Evaluator.environment): a definition
        computed so far, ``region``, ``decision_date``, a person flag (false unless given), a fact."""
        flags = self.vocab.person_flags

        def name(n: str) -> str:
            if n in defs_done:
                return defs_done[n]
            if n in ("region", "decision_date"):
                return n
            var = loads.get(n)
            if var is None:
                var = loads[n] = f"f_{n}"
            return var

        def load_lines() -> list[str]:
            return [f"    {var} = f.get({n!r}, False)" if n in flags else f"    {var} = f[{n!r}]"
                    for n, var in loads.items()]

        return name, load_lines

    def _periods(self, kind) -> frozenset:
        out: set = set()
        for d in self._defs(kind):
            if may_be_period(d.expr.node, frozenset(out)):
                out.add(d.name)
        return frozenset(out)

    def _prelude(self, kind, em: Emitter):
        """Lines computing the definitions; the name reader for what follows; the load lines."""
        loads: dict = {}
        defs_done: dict = {}
        name, load_lines = self._env_names(kind, em, loads, defs_done)
        periods = self._periods(kind)
        body = []
        for k, d in enumerate(self._defs(kind)):
            body.append(f"    d{k} = {em.emit(d.expr.node, name, periods)}")
            defs_done[d.name] = f"d{k}"
        return name, load_lines, body, periods

    def _plan_fn(self, kind, clauses):
        em = Emitter(self._namespace())
        name, load_lines, body, periods = self._prelude(kind, em)
        body.append("    m = 0")
        for i, c in enumerate(clauses):
            when = c.effective().when
            if when is None:
                body.append(f"    m |= {1 << i}")
            else:
                body.append(f"    if {em.emit(when.node, name, periods)}:")
                body.append(f"        m |= {1 << i}")
        ndefs = len(self._defs(kind))
        body.append(f"    return m, ({''.join(f'd{k}, ' for k in range(ndefs))})")
        src = "def _plan(f, region, decision_date):\n" + "\n".join(load_lines() + body) + "\n"
        return build(src, em.namespace, "_plan")

    def _values_fn(self, kind, groups):
        """A function of (facts, region, decision_date, definitions) giving a tuple of values: for each
        group (the expressions of one clause, as (output name, Expr)), its expressions in order, each
        seeing the group's earlier ones by name (Evaluator._outputs)."""
        em = Emitter(self._namespace())
        loads: dict = {}
        ndefs = len(self._defs(kind))
        defs_done = {d.name: f"d{k}" for k, d in enumerate(self._defs(kind))}
        periods = self._periods(kind)
        env_name, load_lines = self._env_names(kind, em, loads, defs_done)
        body, slots = [], 0
        for group in groups:
            local: dict = {}

            def name(n, local=local):
                return local[n] if n in local else env_name(n)

            for out_name, expr in group:
                text = em.emit(expr.node, name, periods)
                if may_be_period(expr.node, periods):
                    text = f"_plain({text})"
                body.append(f"    s{slots} = {text}")
                local[out_name] = f"s{slots}"
                slots += 1
        head = [f"    {''.join(f'd{k}, ' for k in range(ndefs))}= D"] if ndefs else []
        body.append(f"    return ({''.join(f's{k}, ' for k in range(slots))})")
        src = "def _values(f, region, decision_date, D):\n" + "\n".join(head + load_lines() + body) + "\n"
        return build(src, em.namespace, "_values")

    # -- templates -----------------------------------------------------------------------------
    def finish_notes(self, clauses: tuple, case) -> list:
        """The notes ``Evaluator._finish`` adds for these governing clauses."""
        notes = self._finish_notes.get(clauses)
        if notes is None:
            from policy_dsl.evaluate import Result

            scratch = Result(case)
            scratch.governing = [(c, []) for c in clauses]
            self.ev._finish(scratch)
            notes = self._finish_notes[clauses] = scratch.notes
        return notes

    def _template(self, plan: Plan, mask: int, case) -> Template:
        """Evaluator.evaluate, for the clauses whose conditions hold, without the values."""
        ev = self.ev
        candidates, pending = [], []
        for i, (c, state, start) in enumerate(plan.relevant):
            if (mask >> i) & 1:
                if state == "pending":
                    pending.append((c, start))
                else:
                    candidates.append(c)
        displaced = []
        exceptions = [c for c in candidates if c.is_exception]
        if exceptions:
            kept = []
            for c in candidates:
                by = next((e for e in exceptions if resolve.excepts(e, c)), None)
                if by is None:
                    kept.append(c)
                else:
                    displaced.append((c, resolve.EXCEPTION, by))
            candidates = kept
        ordered = resolve.order(candidates)
        if not ordered:
            t = Template("no_rule")
            t.displaced, t.pending = displaced, pending
            return t
        top = ordered[0]
        eff = top.effective()
        if eff.outcome == "reject":
            return Template("slow")
        if eff.outcome == "evaluate_as":
            t = Template("redirect")
            t.top = top
            t.target, facts_exprs = eff.evaluate_as
            t.fact_names = tuple(n for n, _ in facts_exprs)
            t.facts_fn = self._facts_fn(case.kind, facts_exprs)
            t.displaced = displaced + [(c, resolve.beats(top, c) or "tie", top) for c in ordered[1:]]
            t.pending = pending
            return t
        if eff.outcome == "delegate":
            if any(resolve.tied(top, c) and c.effective().outcome != eff.outcome for c in ordered[1:]):
                return Template("slow")  # Evaluator._check_ties: a conflict, reported by the reference evaluator
            t = Template("delegated")
            t.governing = [(top, [])]
            t.bounds = ev._bounds(ordered)
            t.displaced = displaced + [(c, resolve.beats(top, c) or "tie", top) for c in ordered[1:]]
            t.pending = pending
            t.notes = self.finish_notes((top,), case)
            return t
        return self._decide_template(case, ordered, displaced, pending)

    def _facts_fn(self, kind, facts_exprs):
        """The facts of an evaluate_as, each as ``_plain(value)`` (Evaluator._redirect)."""
        em = Emitter(self._namespace())
        loads: dict = {}
        ndefs = len(self._defs(kind))
        defs_done = {d.name: f"d{k}" for k, d in enumerate(self._defs(kind))}
        periods = self._periods(kind)
        name, load_lines = self._env_names(kind, em, loads, defs_done)
        values = [f"_plain({em.emit(e.node, name, periods)})" for _, e in facts_exprs]
        head = [f"    {''.join(f'd{k}, ' for k in range(ndefs))}= D"] if ndefs else []
        src = ("def _facts(f, region, decision_date, D):\n" + "\n".join(head + load_lines())
               + f"\n    return ({''.join(v + ', ' for v in values)})\n")
        return build(src, em.namespace, "_facts")

    def _decide_template(self, case, ordered, displaced, pending) -> Template:
        """Evaluator._decide without the values: which clause gives which output, the tie checks."""
        outputs = self.vocab.kinds[case.kind].outputs
        decided: dict = {}
        contributed: dict = {}
        groups, ties, slot = [], [], 0
        for clause in ordered:
            eff = clause.effective()
            if eff.outcome != "decide":
                continue
            groups.append(list(eff.decide))
            for name, _ in eff.decide:
                here, slot = slot, slot + 1
                if name not in outputs:
                    continue
                if name in decided:
                    winner, prior = decided[name]
                    if resolve.tied(winner, clause):
                        ties.append((prior, here))
                    continue
                decided[name] = (clause, here)
                contributed.setdefault(clause, []).append(name)
        t = Template("decided")
        t.assign = tuple((name, decided[name][1]) for name in outputs if name in decided)
        t.ties = tuple(ties)
        top = ordered[0]
        governing, more = [], []
        for clause in ordered:
            if clause in contributed:
                governing.append((clause, contributed[clause]))
            else:
                by = next((g for g, _ in governing if resolve.beats(g, clause)), top)
                more.append((clause, resolve.beats(by, clause) or "tie", by))
        t.governing, t.displaced, t.pending = governing, displaced + more, pending
        bounds = self.ev._bounds([c for c in ordered if c.effective().outcome == "delegate"])
        t.limit = bounds["max_waiting_months"] if bounds else None
        t.notes = self.finish_notes(tuple(c for c, _ in governing), case)
        t.out_fn = self._values_fn(case.kind, groups)
        return t
