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
import re
from bisect import bisect_right

from policy_dsl.engine import resolve
from policy_dsl.language.expr.codegen import Emitter, build, may_be_period

_IDENT = re.compile(r"[a-z_][a-z0-9_]*")  # NAME in grammar/expr.lark


_NO_OUTPUTS: dict = {}  # read only


class Fallback(Exception):
    """This case is answered by the reference evaluator."""


# The classes of input the fast path declines (the reference evaluator answers them), by name:
DECLINED_FEATURES = "sub-answers and improving exceptions"  # answer(...) or `improves: true` in the stretch


class Plan:
    __slots__ = ("kind", "relevant", "fn", "templates", "declined")

    def __init__(self, kind, relevant, fn, declined=None):
        self.kind, self.relevant, self.fn, self.templates = kind, relevant, fn, {}
        self.declined = declined  # None, or the name of the class of input this plan leaves to the reference


def uses_reference_only_features(clauses, definitions) -> bool:
    """Whether any of these clauses (or definitions) uses a feature the fast path does not compile:
    a sub-answer (``answer(...)``) in an expression, or an improving exception."""
    from policy_dsl.language.expr.ast import answers

    exprs = [d.expr for d in definitions]
    for c in clauses:
        eff = c.effective()
        if c.improves or eff.improves:
            return True
        exprs += [e for e in (c.when, eff.when) if e is not None] + [e for _, e in eff.decide]
        if eff.evaluate_as:
            exprs += [e for _, e in eff.evaluate_as[1]]
    return any(answers(e.node) for e in exprs)


class Template:
    """What follows from one set of holding conditions under one plan."""

    __slots__ = ("mode", "governing", "displaced", "pending", "notes", "bounds", "out_fn", "top", "target",
                 "facts_fn", "fact_names", "informing")

    def __init__(self, mode: str):
        self.mode = mode  # no_rule | decided | delegated | redirect | slow
        self.governing, self.displaced, self.pending, self.notes, self.informing = [], [], [], [], []
        self.bounds = self.out_fn = self.top = self.target = self.facts_fn = None
        self.fact_names = ()


class Plans:
    """Plans and templates for one Evaluator (and so one policy set); built as cases need them."""

    def __init__(self, evaluator):
        self.ev = evaluator
        self.policy = evaluator.policy
        self.vocab = evaluator.vocab
        self.flags = tuple(evaluator.person_defaults.items())  # (person fact, its value when left out)
        self.index: dict = {}  # (kind, id(region)) -> (breaks, plans, region)
        self.shared: dict = {}  # the clauses and their states -> Plan
        self._finish_notes: dict = {}
        self._conditions: dict = {}  # (kind, clauses) -> (their conditions' function, the clauses, kept alive)
        self._ns = None
        from policy_dsl.engine.evaluate import Result

        self._Result = Result

    # -- the entry -----------------------------------------------------------------------------
    def evaluate(self, case, depth: int = 0):
        """The Result of ``case`` (as ``Evaluator.evaluate(case, explain=False)``), or None when the
        reference evaluator must answer it."""
        try:
            return self._evaluate(case, depth)
        except Exception:  # noqa: BLE001 - any trouble: the reference evaluator answers, or raises properly
            return None

    def _evaluate(self, case, depth):
        region, day = case.region, case.decision_date
        entry = self.index.get((case.kind, id(region)))
        if entry is None:
            entry = self._index(case.kind, region)
        breaks, plans, _ = entry
        i = bisect_right(breaks, day.toordinal())
        plan = plans[i]
        if plan is None:
            plan = plans[i] = self._plan(case.kind, region, breaks, i)
        if plan.declined:
            return None
        mask, defs = plan.fn(case.facts, region, day)
        t = plan.templates.get(mask)
        if t is None:
            plan.templates[mask] = Template("slow")  # should building it fail: the reference evaluator, always
            t = plan.templates[mask] = self._template(plan, mask, case)
        mode = t.mode
        if mode == "decided":  # the outputs function raises Fallback on a tie with different values, or a note to add
            return self._Result(case, "decided", t.out_fn(case.facts, region, day, defs), None, t.governing[:],
                                t.displaced[:], t.pending[:], t.notes[:], shape=t, informing=t.informing[:])
        if mode == "no_rule" or mode == "delegated":
            return self._Result(case, mode, {}, t.bounds, t.governing[:], t.displaced[:], t.pending[:], t.notes[:],
                                shape=t, informing=t.informing[:])
        if mode == "redirect":
            return self._redirect(t, case, defs, depth)
        raise Fallback

    def answer(self, kind, region, day, facts):
        """For a batch line (policy_dsl.fast.lane): the template and the outputs of a case whose plan and
        template are built already, answered by ``_evaluate``'s own steps; None for anything else
        (an unbuilt plan or template, a redirect, a case the reference evaluator answers). May
        raise (the generated code's way of saying "not here"): the caller then asks ``evaluate``."""
        entry = self.index.get((kind, id(region)))
        if entry is None:
            return None
        breaks, plans, _ = entry
        plan = plans[bisect_right(breaks, day.toordinal())]
        if plan is None or plan.declined:
            return None
        mask, defs = plan.fn(facts, region, day)
        t = plan.templates.get(mask)
        if t is None:
            return None
        mode = t.mode
        if mode == "decided":
            return t, t.out_fn(facts, region, day, defs)
        if mode == "no_rule" or mode == "delegated":
            return t, _NO_OUTPUTS
        return None

    def _redirect(self, t: Template, case, defs, depth):
        """Evaluator._redirect: the case as one of another kind."""
        from policy_dsl.engine.evaluate import MAX_REDIRECTS, Case

        if depth >= MAX_REDIRECTS:
            raise Fallback
        facts = dict(zip(t.fact_names, t.facts_fn(case.facts, case.region, case.decision_date, defs)))
        for flag, default in self.flags:
            facts.setdefault(flag, case.facts.get(flag, default))
        sub = self._evaluate(Case(t.target, case.region, facts, case.decision_date, case.id, case.where), depth + 1)
        if sub is None:  # declined (DECLINED_FEATURES): the reference evaluator answers the whole case
            return None
        governing = [(t.top, [])] + sub.governing
        informing = t.informing + sub.informing
        notes = sub.notes + self.finish_notes(tuple(c for c, _ in governing), case, tuple(informing))
        return self._Result(case, sub.status, sub.outputs, sub.bounds, governing, t.displaced + sub.displaced,
                            t.pending + sub.pending, notes, redirected=[t.target] + sub.redirected, shape=(t, sub.shape),
                            informing=informing)

    def conditions(self, kind: str, clauses: list):
        """A function (facts, region, decision_date) → (mask, definitions): bit i set when the
        condition of ``clauses[i]`` holds (as Evaluator._test); it raises where the reference would.
        None when the clauses use what the fast path declines (DECLINED_FEATURES)."""
        key = (kind, tuple(id(c) for c in clauses))
        fn = self._conditions.get(key)
        if fn is None:
            if uses_reference_only_features(clauses, self._defs(kind)):
                fn = self._conditions[key] = (None, list(clauses))
            else:
                fn = self._conditions[key] = (self._plan_fn(kind, list(clauses)), list(clauses))
        return fn[0]

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
            clauses = [c for c, _, _ in relevant]
            if uses_reference_only_features(clauses, self._defs(kind)):
                plan = self.shared[key] = Plan(kind, relevant, None, DECLINED_FEATURES)
            else:
                plan = self.shared[key] = Plan(kind, relevant, self._plan_fn(kind, clauses))
        return plan

    # -- generated code ------------------------------------------------------------------------
    def _namespace(self) -> dict:
        if self._ns is None:
            from policy_dsl.language.expr.codegen import base_namespace

            self._ns = base_namespace()
            self._ns["_Fallback"] = Fallback
        return dict(self._ns)

    def _defs(self, kind):
        return self.ev.defs_by_kind.get(kind, ())

    def _env_names(self, kind, em: Emitter, loads: dict, defs_done: dict):
        """The reader of a name in the evaluation environment (Evaluator.environment): a definition
        computed so far, ``region``, ``decision_date``, a person flag (false unless given), a fact."""
        flags = dict(self.flags)
        flags.update(self.ev.fact_defaults.get(kind, ()))  # optional facts: their value when left out

        def name(n: str) -> str:
            if n in defs_done:
                return defs_done[n]
            if n in ("region", "decision_date"):
                return n
            var = loads.get(n)
            if var is None:
                if not _IDENT.fullmatch(n):  # the grammar allows no other names; never emit anything else
                    raise ValueError(f"not a name: {n!r}")
                var = loads[n] = f"f_{n}"
            return var

        def load_lines() -> list[str]:
            return [f"    {var} = f.get({n!r}, {flags[n]!r})" if n in flags else f"    {var} = f[{n!r}]"
                    for n, var in loads.items()]

        return name, load_lines

    def _periods(self, kind) -> frozenset:
        out: set = set()
        for d in self._defs(kind):
            if may_be_period(d.expr.node, frozenset(out)):
                out.add(d.name)
        return frozenset(out)

    def _generate(self, kind, header: str, fname: str, lines_after_defs, with_defs: bool, nodes):
        """Generate and compile ``def fname(...)``: the loads of the names it reads, the common calls
        of ``nodes`` (the expressions it computes), then (``with_defs``) the definitions computed or
        (else) unpacked from ``D``, then the lines ``lines_after_defs(em, name, periods)`` gives."""
        em = Emitter(self._namespace())
        periods = self._periods(kind)
        defs = self._defs(kind)
        for node in [d.expr.node for d in defs] * with_defs + list(nodes):
            em.count(node)
        loads: dict = {}
        defs_done: dict = {} if with_defs else {d.name: f"d{k}" for k, d in enumerate(defs)}
        name, load_lines = self._env_names(kind, em, loads, defs_done)
        body = []
        if with_defs:
            for k, d in enumerate(defs):
                body.append(f"    d{k} = {em.emit(d.expr.node, name, periods)}")
                defs_done[d.name] = f"d{k}"
        body += lines_after_defs(em, name, periods)
        head = [] if with_defs or not defs else [f"    {''.join(f'd{k}, ' for k in range(len(defs)))}= D"]
        src = f"def {fname}{header}:\n" + "\n".join(head + load_lines() + em.temps + body) + "\n"
        return build(src, em.namespace, fname)

    def _plan_fn(self, kind, clauses):
        ndefs = len(self._defs(kind))

        def conditions(em, name, periods):
            lines = ["    m = 0"]
            for i, c in enumerate(clauses):
                when = c.effective().when
                if when is None:
                    lines.append(f"    m |= {1 << i}")
                else:
                    lines.append(f"    if {em.emit(when.node, name, periods)}:")
                    lines.append(f"        m |= {1 << i}")
            lines.append(f"    return m, ({''.join(f'd{k}, ' for k in range(ndefs))})")
            return lines

        whens = [c.effective().when.node for c in clauses if c.effective().when is not None]
        return self._generate(kind, "(f, region, decision_date)", "_plan", conditions, True, whens)

    def _outputs_fn(self, kind, groups, assign, ties, limit, conditions=()):
        """The outputs of a decided case (Evaluator._outputs and _decide): each group (the
        expressions of one clause, as (output name, Expr)) computed in order, each expression seeing
        its group's earlier ones by name; the dict of the outputs that govern (``assign``: name →
        slot); Fallback raised where tied clauses differ (``ties``: slot pairs), where the
        waiting period is beyond ``limit`` (the reference evaluator adds a note), or where a
        conditional note holds (``conditions``: (group, its ``notes[].when`` Expr); the reference
        evaluator shows it)."""

        def lines_for(em, env_name, periods):
            lines, slot = [], 0
            names = []
            for group in groups:
                local: dict = {}

                def name(n, local=local):
                    return local[n] if n in local else env_name(n)

                names.append(name)

                for out_name, expr in group:
                    text = em.emit(expr.node, name, periods)
                    if may_be_period(expr.node, periods):
                        text = f"_plain({text})"
                    lines.append(f"    s{slot} = {text}")
                    local[out_name] = f"s{slot}"
                    slot += 1
            for a, b in ties:
                lines.append(f"    if s{a} != s{b}:")
                lines.append("        raise _Fallback")
            for g, expr in conditions:
                lines.append(f"    if {em.emit(expr.node, names[g], periods)}:")
                lines.append("        raise _Fallback")
            waiting = dict(assign).get("waiting_months")
            if limit is not None and waiting is not None:
                lines.append(f"    if isinstance(s{waiting}, int) and s{waiting} > {em.const(limit)}:")
                lines.append("        raise _Fallback")
            lines.append("    return {" + ", ".join(f"{n!r}: s{k}" for n, k in assign) + "}")
            return lines

        nodes = [e.node for group in groups for _, e in group] + [e.node for _, e in conditions]
        return self._generate(kind, "(f, region, decision_date, D)", "_outputs", lines_for, False, nodes)

    def _facts_fn(self, kind, facts_exprs):
        """The facts of an evaluate_as, each as ``_plain(value)`` (Evaluator._redirect)."""

        def lines_for(em, name, periods):
            values = [f"_plain({em.emit(e.node, name, periods)})" for _, e in facts_exprs]
            return [f"    return ({''.join(v + ', ' for v in values)})"]

        return self._generate(kind, "(f, region, decision_date, D)", "_facts", lines_for, False,
                              [e.node for _, e in facts_exprs])

    # -- templates -----------------------------------------------------------------------------
    def finish_notes(self, clauses: tuple, case, informing: tuple = ()) -> list:
        """The notes ``Evaluator._finish`` adds for these governing clauses and these informing
        ones (without the conditional notes: a template whose conditional note holds is answered
        by the reference evaluator)."""
        notes = self._finish_notes.get((clauses, informing))
        if notes is None:
            from policy_dsl.engine.evaluate import Result

            scratch = Result(case)
            scratch.governing = [(c, []) for c in clauses]
            scratch.informing = list(informing)
            self.ev._finish(scratch)
            notes = self._finish_notes[(clauses, informing)] = scratch.notes
        return notes

    def _template(self, plan: Plan, mask: int, case) -> Template:
        """Evaluator.evaluate, for the clauses whose conditions hold, without the values."""
        ev = self.ev
        candidates, pending, informing = [], [], []
        for i, (c, state, start) in enumerate(plan.relevant):
            if (mask >> i) & 1:
                if c.effective().outcome == "inform":
                    if state != "pending":
                        informing.append(c)
                elif state == "pending":
                    pending.append((c, start))
                else:
                    candidates.append(c)
        candidates, displaced = resolve.apply_exceptions(candidates)
        ordered = resolve.order(candidates)
        if not ordered:
            t = Template("no_rule")
            t.displaced, t.pending, t.informing = displaced, pending, informing
            if informing:
                t.notes = self.finish_notes((), case, tuple(informing))
            return t
        top = ordered[0]
        eff = top.effective()
        if eff.outcome == "reject":
            return Template("slow")
        if (top.note_whens or eff.note_whens) and eff.outcome != "decide":
            return Template("slow")  # a conditional note of a delegating or redirecting clause: the reference evaluator
        if eff.outcome == "evaluate_as":
            t = Template("redirect")
            t.informing = informing
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
            t.pending, t.informing = pending, informing
            t.notes = self.finish_notes((top,), case, tuple(informing))
            return t
        return self._decide_template(case, ordered, displaced, pending, informing)

    def _decide_template(self, case, ordered, displaced, pending, informing=()) -> Template:
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
        assign = tuple((name, decided[name][1]) for name in outputs if name in decided)
        top = ordered[0]
        governing, more = [], []
        for clause in ordered:
            if clause in contributed:
                governing.append((clause, contributed[clause]))
            else:
                by = next((g for g, _ in governing if resolve.beats(g, clause)), top)
                more.append((clause, resolve.beats(by, clause) or "tie", by))
        t.governing, t.displaced, t.pending, t.informing = governing, displaced + more, pending, list(informing)
        bounds = self.ev._bounds([c for c in ordered if c.effective().outcome == "delegate"])
        limit = bounds["max_waiting_months"] if bounds else None
        t.notes = self.finish_notes(tuple(c for c, _ in governing), case, tuple(informing))
        deciding = [c for c in ordered if c.effective().outcome == "decide"]  # one group each, in this order
        conditions = [(deciding.index(c), e) for c, _ in governing
                      for x in dict.fromkeys((c, c.effective())) for e in x.note_whens.values()]
        t.out_fn = self._outputs_fn(case.kind, groups, assign, ties, limit, conditions)
        return t
