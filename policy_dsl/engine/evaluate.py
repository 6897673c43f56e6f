"""Stage: a case's facts → its result. Finds the clauses in force whose conditions hold,
orders them by precedence (resolve), takes each output from the first clause that decides it,
and records why: governing, displaced, pending, notes and the trace. Nothing about the law is
decided here: every value comes from an expression in a policy file."""

from __future__ import annotations

import datetime as dt
from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)

from policy_dsl.engine import resolve
from policy_dsl.language.errors import CalendarError, Diagnostic, InputError, PolicyDslError, Where
from policy_dsl.language.expr.compile import ANSWER, EvalError
from policy_dsl.language.kinds import absent_value, optional
from policy_dsl.language.model import Clause, PolicySet
from policy_dsl.language.periods import PeriodEnd

MAX_REDIRECTS = 4  # nested evaluations of another kind (evaluate_as, answer(...)) one case may need
# what evaluating an expression on a case's values may raise besides a CalendarError: a missing
# value (EvalError) or arithmetic leaving the calendar (year 10000: ValueError, OverflowError)
_RANGE = (EvalError, ArithmeticError, ValueError)


@dataclass
class Case:
    """A validated case: kind, region (a Region), facts with typed values, decision date."""

    kind: str
    region: object
    facts: dict
    decision_date: dt.date
    id: object = None
    where: Where = field(default_factory=Where)


@dataclass
class Result:
    case: Case
    status: str = "no_rule"
    outputs: dict = field(default_factory=dict)
    bounds: dict | None = None
    governing: list = field(default_factory=list)  # [(Clause, [outputs])]
    displaced: list = field(default_factory=list)  # [(Clause, reason, by Clause | None)]
    pending: list = field(default_factory=list)  # [(Clause, start date)]
    notes: list = field(default_factory=list)  # [{"zh","en"}]
    trace: list = field(default_factory=list)  # [(depth, {"zh","en"})]
    redirected: list = field(default_factory=list)  # kinds this case was evaluated as
    undetermined: list = field(default_factory=list)  # [(Clause, CalendarError)] conditions the schedule could not settle
    improving: list = field(default_factory=list)  # [(Clause, [outputs it changed])] improving exceptions that applied
    shape: object = field(default=None, repr=False, compare=False)  # fast path: what fixes all but the values (plans)
    informing: list = field(default_factory=list)  # clauses with outcome `inform` that apply: their words are notes
    fired: set = field(default_factory=set)  # id() of each conditional note (`notes[].when`) that holds


class ConflictError(PolicyDslError):
    """Two clauses tied by precedence give different outcomes (an error in the policy files)."""

    exit_code = 1


def _plain(value):
    return value.extended if isinstance(value, PeriodEnd) else value


def _fmt(value) -> str:
    if isinstance(value, PeriodEnd):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    if isinstance(value, dict) and "status" in value:  # an answer as a record (answer(...), excepted)
        return _shown_answer([k for k in value if k != "status"], value["status"],
                             {k: v for k, v in value.items() if k != "status" and v is not None})
    return str(value)


class Evaluator:
    """Evaluates cases against one policy set. Construct once; ``evaluate`` is re-entrant."""

    def __init__(self, policy: PolicySet):
        self.policy = policy
        self.vocab = policy.vocab
        self.defs_by_kind: dict[str, list] = {}
        for d in policy.definitions.values():
            for k in d.kinds:
                self.defs_by_kind.setdefault(k, []).append(d)
        self._plans = None  # the fast path (policy_dsl.fast.plans), built on first use
        self.person_defaults = self.vocab.person_defaults()  # a person fact a case leaves out: false, or null
        self.fact_defaults = {name: tuple((n, absent_value(spec)) for n, spec in kind.facts.items() if optional(spec))
                              for name, kind in self.vocab.kinds.items()}  # an optional fact a case leaves out

    # -- environment ---------------------------------------------------------------------
    def environment(self, case: Case, trace: list | None, depth: int = 0) -> dict:
        """The names an expression of ``case`` reads: its facts, the person flags (false unless
        given), ``region``, ``decision_date``, the definitions of its kind, and the means to ask
        for a sub-answer (``answer(...)``, traced into ``trace`` when given)."""
        env = dict(case.facts)
        for flag, default in self.person_defaults.items():
            env.setdefault(flag, default)
        for name, default in self.fact_defaults.get(case.kind, ()):
            env.setdefault(name, default)
        env["region"] = case.region
        env["decision_date"] = case.decision_date
        env["__trace__"] = None
        asked: dict = {}
        env[ANSWER] = lambda kind, facts: self._sub_answer(case, kind, facts, trace, depth, asked)
        for d in self.defs_by_kind.get(case.kind, ()):
            try:
                env[d.name] = d.expr.fn(env)
            except _RANGE as exc:  # e.g. date arithmetic leaving the calendar (year 10000)
                raise _case_error(case, f"definition {d.name}: {exc}") from None
            if trace is not None:
                trace.append((1, {"zh": f"定义 {d.name} = {d.expr.text} = {_fmt(env[d.name])}",
                                  "en": f"definition {d.name} = {d.expr.text} = {_fmt(env[d.name])}"}))
        return env

    @staticmethod
    def _test(clause: Clause, env: dict, tracing: bool) -> tuple[bool, list]:
        """Whether the clause's condition holds, and (when tracing) the steps that decided it."""
        when = clause.effective().when
        if when is None:
            return True, []
        if not tracing:
            return bool(when.fn(env)), []
        env["__trace__"] = steps = []
        try:
            return bool(when.traced(env)), steps
        finally:
            env["__trace__"] = None

    # -- the main entry ------------------------------------------------------------------
    def evaluate(self, case: Case, explain: bool = True, depth: int = 0) -> Result:
        """The result of ``case``. ``explain`` builds the trace (costlier); the answer is the same."""
        if not explain:  # the fast path answers most cases; None: this code answers (or raises) below
            if self._plans is None:
                from policy_dsl.fast.plans import Plans

                self._plans = Plans(self)
            fast = self._plans.evaluate(case, depth)
            if fast is not None:
                return fast
        result = Result(case)
        trace = result.trace if explain else None
        region, day = case.region, case.decision_date
        if trace is not None:
            chain = " → ".join(f"{r.name} {r.code}" for r in region.chain)
            trace.append((0, {"zh": f"地区链：{chain}；决定日期 {day.isoformat()}",
                              "en": f"region chain: {chain}; decision date {day.isoformat()}"}))
        env = self.environment(case, trace, depth)
        candidates: list[Clause] = []
        undetermined: list[tuple[Clause, CalendarError]] = []
        for clause in self.policy.by_topic.get(case.kind, ()):
            st = resolve.standing(clause, region, day)
            if st.state in ("outside", "not_issued", "expired"):
                if trace is not None and st.state == "expired":
                    trace.append((1, _t(f"{clause.citation}：已失效", f"{clause.citation}: no longer in force")))
                continue
            try:
                holds, steps = self._test(clause, env, trace is not None)
            except _RANGE as exc:
                raise _case_error(case, f"{clause.ref}: {exc}") from None
            except CalendarError as exc:
                # settled below: harmless only if a clause that beats this one decides everything it could
                if st.state == "in_force":
                    undetermined.append((clause, exc))
                continue
            if trace is not None:
                self._trace_condition(trace, clause, holds, st, steps)
            if st.state == "pending":
                if holds and clause.effective().outcome != "inform":  # words that do not apply yet say nothing
                    result.pending.append((clause, st.start))
                continue
            if holds:
                (result.informing if clause.effective().outcome == "inform" else candidates).append(clause)
        result.undetermined = undetermined
        return self._conclude(case, result, candidates, env, trace, explain, depth)

    def _conclude(self, case: Case, result: Result, holding: list[Clause], env: dict, trace, explain: bool,
                  depth: int) -> Result:
        """The result given the clauses in force whose conditions hold (``holding``)."""
        candidates, excepted = resolve.apply_exceptions(holding)
        result.displaced.extend(excepted)
        ordered = resolve.order(candidates)
        if trace is not None and ordered:
            trace.append((0, _t("优先顺序：" + " > ".join(c.citation for c in ordered),
                                "precedence: " + " > ".join(c.citation for c in ordered))))
        undetermined = result.undetermined
        if not ordered:
            if undetermined:
                raise undetermined[0][1]
            result.status = "no_rule"
            self._finish(result)
            return result
        top = ordered[0]
        eff = top.effective()
        if eff.outcome == "reject":
            error = _case_error(case, f"{top.citation}: {eff.reject['zh']}", eff.reject.get("en"))
            error.rule = top.ref
            raise error
        if eff.outcome == "evaluate_as":
            self._conditional_notes(case, result, top, env)
            return self._redirect(case, result, ordered, explain, depth)
        if eff.outcome == "delegate":
            result.status = "delegated"
            result.governing.append((top, []))
            self._conditional_notes(case, result, top, env)
            result.bounds = self._bounds(ordered)
            for c in ordered[1:]:
                result.displaced.append((c, resolve.beats(top, c) or "tie", top))
            self._check_ties(ordered)
            self._finish(result)
            return result
        self._decide(case, result, ordered, env, trace, holding, explain, depth)
        self._finish(result)
        return result

    def _decide(self, case, result: Result, ordered: list[Clause], env: dict, trace, holding=(), explain=False,
                depth=0) -> None:
        outputs = self.vocab.kinds[case.kind].outputs
        decided: dict[str, tuple[Clause, object]] = {}
        contributed: dict[Clause, list[str]] = {}
        kept: dict[Clause, list[tuple[Clause, str]]] = {}  # improving exception -> [(general clause, output it kept)]
        bases: dict[Clause, Result] = {}
        changes: dict[Clause, list[str]] = {}  # improving exception -> the outputs it changes
        values_of: dict[Clause, dict] = {}
        for clause in ordered:
            eff = clause.effective()
            if eff.outcome != "decide":
                continue
            if clause.improves:
                base = bases[clause] = self._excepted(case, clause, holding, env, trace, explain, depth)
                values = self._improved(case, clause, base, env, trace)
                changes[clause] = [n for n, v in values.items() if n in outputs and _changes(base, n, v)]
            else:
                values = self._outputs(case, clause, env, trace)
            values_of[clause] = values
            for name, value in values.items():
                if name not in outputs:
                    continue
                if name in decided:
                    winner, prior = decided[name]
                    if resolve.tied(winner, clause) and prior != value:
                        raise ConflictError(Diagnostic(
                            "E-CONFLICT",
                            f"{winner.citation} and {clause.citation} are tied by precedence and give "
                            f"{name} = {_fmt(prior)} and {_fmt(value)} for case {case.id or ''}".rstrip(),
                            clause.where, "make one an exception to the other, or make their conditions exclusive"))
                    continue
                decided[name] = (clause, value)
                if clause not in bases or name in changes[clause]:
                    contributed.setdefault(clause, []).append(name)
                else:  # an improving exception's output equal to the general answer's: the general clause's
                    general = next((g for g, fields in bases[clause].governing if name in fields), None)
                    if general is not None:
                        kept.setdefault(clause, []).append((general, name))
        result.status = "decided"
        for name in outputs:
            if name in decided:
                result.outputs[name] = decided[name][1]
        top = ordered[0]
        for clause in ordered:
            if clause in bases:
                result.improving.append((clause, changes[clause]))
            if clause in contributed:
                result.governing.append((clause, contributed[clause]))
                self._conditional_notes(case, result, clause, {**env, **values_of[clause]})
            if clause in kept:  # the general clauses whose outputs an improving exception kept, after it
                names = {n for _, n in kept[clause]}
                for general, fields in bases[clause].governing:  # in the general answer's order
                    if any(g is general for g, _ in kept[clause]):
                        result.governing.append((general, [n for n in fields if n in names]))
            if clause in bases:
                _redisplace(result, clause, bases[clause])
            if clause not in contributed and clause not in kept:
                by = next((g for g, _ in result.governing if resolve.beats(g, clause)), top)
                result.displaced.append((clause, resolve.beats(by, clause) or "tie", by))
        # a decided waiting period beyond a bound set by a delegating clause above it
        bounds = self._bounds([c for c in ordered if c.effective().outcome == "delegate"])
        waiting = result.outputs.get("waiting_months")
        if bounds and isinstance(waiting, int) and waiting > bounds["max_waiting_months"]:
            result.notes.append(_t(f"等待期 {waiting} 个月超过上级规定的上限 {bounds['max_waiting_months']} 个月",
                                   f"the waiting period of {waiting} months exceeds the superior bound of "
                                   f"{bounds['max_waiting_months']} months"))

    def _excepted(self, case: Case, clause: Clause, holding, env: dict, trace, explain: bool, depth: int) -> Result:
        """The answer the rules an improving exception excepts give without it: the holding clauses
        it excepts, concluded as a case of their own (their own exceptions and precedence apply)."""
        base = Result(case)
        if trace is not None:
            trace.append((1, _t(f"{clause.citation}：改进性例外；不适用本条时的一般规定答案如下",
                                f"{clause.citation}: an improving exception; the general rules' answer without it follows")))
        sub = [] if trace is not None else None
        self._conclude(case, base, [c for c in holding if resolve.excepts(clause, c)], env, sub, explain, depth)
        if trace is not None:
            trace.extend((d + 2, line) for d, line in sub + base.trace)
            shown = _shown_answer(self.vocab.kinds[case.kind].outputs, base.status, base.outputs)
            trace.append((1, _t(f"{clause.citation}：excepted = {shown}", f"{clause.citation}: excepted = {shown}")))
        return base

    def _improved(self, case: Case, clause: Clause, base: Result, env: dict, trace) -> dict:
        """An improving exception's outputs: the general answer (``base``) where it is silent, its
        own outputs (which may read ``excepted``, the general answer as a record) where it speaks."""
        outputs = self.vocab.kinds[case.kind].outputs
        values = {name: base.outputs[name] for name in outputs if name in base.outputs} if base.status == "decided" else {}
        values.update(self._outputs(case, clause, env, trace, {"excepted": _record(outputs, base.status, base.outputs)}))
        return values

    def _sub_answer(self, case: Case, kind: str, facts: dict, trace, depth: int, asked: dict) -> dict:
        """``answer(kind, ...)``: the answer of a case of ``kind`` with ``facts`` (the person flags
        of ``case`` unless given) at the same region and decision date, as a record of its outputs
        (null unless decided) and ``status``. Asked twice for the same facts: answered once."""
        if depth >= MAX_REDIRECTS:
            raise _case_error(case, f"answer({kind}, ...) nested more than {MAX_REDIRECTS} times")
        facts = dict(facts)
        for flag, default in self.person_defaults.items():
            facts.setdefault(flag, case.facts.get(flag, default))
        try:
            key = (kind, tuple(facts.items()))
            hash(key)
        except TypeError:  # a list of enrollments: not remembered
            key = None
        if key is not None and key in asked:
            return asked[key]
        sub = self.evaluate(Case(kind, case.region, facts, case.decision_date, case.id, case.where),
                            explain=trace is not None, depth=depth + 1)
        outputs = self.vocab.kinds[kind].outputs
        record = _record(outputs, sub.status, sub.outputs)
        if trace is not None:
            given = ", ".join(f"{k}: {_fmt(v)}" for k, v in facts.items() if k not in self.vocab.person_flags or v)
            shown = _shown_answer(outputs, sub.status, sub.outputs)
            trace.append((1, _t(f"子答案 answer({kind}, {given}) = {shown}",
                                f"sub-answer answer({kind}, {given}) = {shown}")))
            trace.extend((d + 2, line) for d, line in sub.trace)
        if key is not None:
            asked[key] = record
        return record

    def _outputs(self, case: Case, clause: Clause, env: dict, trace, extra: dict | None = None) -> dict:
        """All outputs ``clause`` decides for this case (outputs may use the ones above them)."""
        local = dict(env)
        if extra:
            local.update(extra)
        out = {}
        for name, expr in clause.effective().decide:
            try:
                if trace is not None:
                    local["__trace__"] = steps = []
                    value = _plain(expr.traced(local))
                    local["__trace__"] = None
                    arithmetic = "; ".join(f"{t} = {_fmt(v)}" for t, v in steps if t != expr.text)
                    shown = _fmt(value)
                    line = (f"{name} = {shown}" if expr.text == shown else f"{name} = {expr.text} = {shown}")
                    line += f"  ({arithmetic})" if arithmetic else ""
                    trace.append((2, {"zh": f"{clause.citation}：{line}", "en": f"{clause.citation}: {line}"}))
                else:
                    value = _plain(expr.fn(local))
            except _RANGE as exc:
                raise _case_error(case, f"{clause.ref}: {exc}") from None
            local[name] = value
            out[name] = value
        return out

    @staticmethod
    def _conditional_notes(case: Case, result: Result, clause: Clause, local: dict) -> None:
        """Mark the notes of a governing clause whose ``when`` holds on ``local`` (the facts, the
        definitions and the outputs the clause decides); ``_finish`` shows them."""
        for c in dict.fromkeys((clause, clause.effective())):
            for k, expr in c.note_whens.items():
                try:
                    if expr.fn(local):
                        result.fired.add(id(c.notes[k]))
                except _RANGE as exc:
                    raise _case_error(case, f"{c.ref}: note: {exc}") from None

    def _bounds(self, ordered: list[Clause]) -> dict | None:
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

    @staticmethod
    def _check_ties(ordered: list[Clause]) -> None:
        """A delegating governing clause tied with a clause of another outcome is a policy error."""
        top = ordered[0]
        for c in ordered[1:]:
            if resolve.tied(top, c) and c.effective().outcome != top.effective().outcome:
                raise ConflictError(Diagnostic(
                    "E-CONFLICT", f"{top.citation} and {c.citation} are tied by precedence and give different outcomes",
                    c.where, "make one an exception to the other, or make their conditions exclusive"))

    def _redirect(self, case: Case, result: Result, ordered, explain, depth) -> Result:
        top = ordered[0]
        kind, facts_exprs = top.effective().evaluate_as
        if depth >= MAX_REDIRECTS:
            raise _case_error(case, f"{top.ref}: evaluate_as nested more than {MAX_REDIRECTS} times")
        env = self.environment(case, None, depth)
        facts = {}
        for name, expr in facts_exprs:
            try:
                facts[name] = _plain(expr.fn(env))
            except _RANGE as exc:
                raise _case_error(case, f"{top.ref}: {exc}") from None
        for flag, default in self.person_defaults.items():
            facts.setdefault(flag, case.facts.get(flag, default))
        sub_case = Case(kind, case.region, facts, case.decision_date, case.id, case.where)
        sub = self.evaluate(sub_case, explain, depth + 1)
        if explain:
            shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in facts.items() if k not in self.vocab.person_flags)
            result.trace.append((0, _t(f"{top.citation}：按 {self.vocab.kinds[kind].zh} 处理（{shown}）",
                                       f"{top.citation}: treated as {kind} ({shown})")))
            result.trace.extend((d + 1, line) for d, line in sub.trace)
        result.status = sub.status
        result.outputs = sub.outputs
        result.bounds = sub.bounds
        result.governing = [(top, [])] + sub.governing
        result.displaced += [(c, resolve.beats(top, c) or "tie", top) for c in ordered[1:]] + sub.displaced
        result.pending += sub.pending
        result.notes += sub.notes
        result.informing += sub.informing
        result.redirected = [kind] + sub.redirected
        self._finish(result)
        return result

    @staticmethod
    def _trace_condition(trace, clause: Clause, holds: bool, st, steps: list) -> None:
        eff = clause.effective()
        state_zh = {"in_force": "有效", "pending": f"待生效（{st.start}起）"}[st.state]
        state_en = {"in_force": "in force", "pending": f"pending (from {st.start})"}[st.state]
        cond = eff.when.text if eff.when else "true"
        cond = " ".join(cond.split())
        trace.append((1, {"zh": f"{clause.citation} [{clause.ref}] {state_zh}；条件 {cond} → {_fmt(holds)}",
                          "en": f"{clause.citation} [{clause.ref}] {state_en}; condition {cond} → {_fmt(holds)}"}))
        for text, value in steps:
            if text != cond:
                trace.append((2, {"zh": f"{text} = {_fmt(value)}", "en": f"{text} = {_fmt(value)}"}))

    def _settle_undetermined(self, result: Result) -> None:
        """A condition the holiday schedule could not decide is harmless when, for every output the
        clause could give, a governing clause beats it; otherwise the case cannot be answered."""
        outputs = self.vocab.kinds[result.case.kind].outputs
        for clause, error in result.undetermined:
            deciders = {}
            for g, fields in result.governing:
                for f in fields or outputs:
                    deciders.setdefault(f, g)
            claims = resolve.claimed_outputs(clause, outputs)
            if not result.governing or not all(f in deciders and resolve.beats(deciders[f], clause) for f in claims):
                raise error
            result.notes.append(_t(
                f"{clause.citation}：其条件需要尚未公布的节假日安排，但该条款已被更优先的条款取代，不影响结论",
                f"{clause.citation}: its condition needs a holiday schedule not yet published, but a clause "
                f"that takes precedence decides everything it could, so the answer stands"))
        result.undetermined = []

    def _finish(self, result: Result) -> None:
        self._settle_undetermined(result)
        seen = set()
        governing = [c for c, _ in result.governing]
        for clause in governing + [c for c, _ in result.improving if c not in governing] + result.informing:
            if not any(changed for c, changed in result.improving if c is clause) and clause not in governing \
                    and clause not in result.informing:
                result.notes.append(_t(f"{clause.citation}：适用于本案，但未改变一般规定的答案",
                                       f"{clause.citation}: applies to this case, but does not change the general rules' answer"))
            eff = clause.effective()
            if eff.outcome == "inform" and id(eff.inform) not in seen:
                seen.add(id(eff.inform))
                result.notes.append({"zh": f"{clause.citation}：{eff.inform['zh']}",
                                     "en": f"{clause.citation}: {eff.inform.get('en', eff.inform['zh'])}"})
            for c in {clause, eff}:
                if c.reading and id(c.reading) not in seen:
                    seen.add(id(c.reading))
                    result.notes.append({"zh": f"解读（{c.citation}）：{c.reading['zh']}",
                                         "en": f"reading ({c.citation}): {c.reading.get('en', c.reading['zh'])}"})
                for k, n in enumerate(c.notes):
                    if id(n) not in seen and (k not in c.note_whens or id(n) in result.fired):
                        seen.add(id(n))
                        result.notes.append({"zh": f"{c.citation}：{n['zh']}",
                                             "en": f"{c.citation}: {n.get('en', n['zh'])}"})
            used = set()
            for _, expr in eff.decide:
                used |= _names(expr)
            if eff.when:
                used |= _names(eff.when)
            for name in sorted(used):
                d = self.policy.definitions.get(name)
                if d and d.reading and id(d.reading) not in seen:
                    seen.add(id(d.reading))
                    result.notes.append({"zh": f"解读（{d.name}）：{d.reading['zh']}",
                                         "en": f"reading ({d.name}): {d.reading.get('en', d.reading['zh'])}"})


def _record(outputs, status: str, values: dict) -> dict:
    """An answer as an expression reads it: each output (null unless decided) and ``status``."""
    record = {name: values.get(name) for name in outputs} if status == "decided" else dict.fromkeys(outputs)
    record["status"] = status
    return record


def _shown_answer(outputs, status: str, values: dict) -> str:
    shown = ", ".join(f"{name} = {_fmt(values[name])}" for name in outputs if name in values)
    return f"{status}" + (f" ({shown})" if shown and status == "decided" else "")


def _changes(base: Result, name: str, value) -> bool:
    """Whether an improving exception's ``value`` of output ``name`` differs from the general answer
    (``base``; an output it does not decide counts as null)."""
    general = base.outputs.get(name) if base.status == "decided" else None
    return value != general


def _redisplace(result: Result, exception: Clause, base: Result) -> None:
    """After an improving exception: a general clause that now governs (an output kept) is not
    displaced; one the general answer displaced keeps that reason; the rest stay displaced by it."""
    governing = {c for c, _ in result.governing}
    before = {c: (reason, by) for c, reason, by in base.displaced}
    out = []
    for c, reason, by in result.displaced:
        if by is exception and reason == resolve.EXCEPTION:
            if c in governing:
                continue
            if c in before:
                reason, by = before[c]
        out.append((c, reason, by))
    result.displaced[:] = out


def _names(expr) -> set[str]:
    from policy_dsl.language.expr.ast import names

    return names(expr.node)


def _t(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


def _case_error(case: Case | None, message: str, en: str | None = None) -> InputError:
    where = case.where if case is not None else Where()
    return InputError(Diagnostic("E-CASE-INVALID", message, where, en))
