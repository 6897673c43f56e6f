"""Stage: a case's facts → its result, by the reference semantics. For the case's stretch
(``resolve.Stretches``) the evaluator tests each clause's condition with the expression closures,
asks ``resolve.select`` what follows from the ones that hold, and interprets that selection: it
computes the deciding clauses' outputs, checks the values tied clauses must agree on, follows a
redirect (``evaluate_as``), asks sub-answers (``answer(...)``) and an improving exception's
``excepted``, and records the trace as typed events (``engine.trace``). Precedence is not written
here: every choice between clauses is the selection's. Nothing about the law is decided here
either: every value comes from an expression in a policy file.

The public means for other stages (analysis, fast backends) are ``environment``, ``holds``,
``holding``, ``clause_outputs``, ``sub_case``, ``redirected_case`` and ``evaluate``; the rest is
private."""

from __future__ import annotations

import datetime as dt

from policy_dsl.engine import resolve
from policy_dsl.engine import trace as T
from policy_dsl.language.errors import CalendarError, Diagnostic, InputError, PolicyDslError, Where
from policy_dsl.language.expr.compile import ANSWER, EvalError
from policy_dsl.language.kinds import absent_value, optional
from policy_dsl.language.messages import t
from policy_dsl.language.model import Case, Clause, PolicySet, Result
from policy_dsl.language.periods import PeriodEnd

__all__ = ["Case", "ConflictError", "Evaluator", "MAX_REDIRECTS", "Result", "RANGE_ERRORS"]

MAX_REDIRECTS = 4  # nested evaluations of another kind (evaluate_as, answer(...)) one case may need
# what evaluating an expression on a case's values may raise besides a CalendarError: a missing
# value (EvalError) or arithmetic leaving the calendar (year 10000: ValueError, OverflowError);
# the evaluator reports it as E-CASE-INVALID
RANGE_ERRORS = (EvalError, ArithmeticError, ValueError)
_RANGE = RANGE_ERRORS


class ConflictError(PolicyDslError):
    """Two clauses tied by precedence give different outcomes (an error in the policy files)."""

    exit_code = 1


def plain(value):
    """An output's value as the answer gives it: a period's end as its (extended) date."""
    return value.extended if isinstance(value, PeriodEnd) else value


_plain = plain


ASKED = "__asked__"  # the environment's entry that keeps the sub-answers it asked (Result.asked)


def record(outputs, status: str, values: dict) -> dict:
    """An answer as an expression reads it (``answer(...)``, ``excepted``): each of the kind's
    outputs (null unless decided — or, under a delegation of some outputs, decided below it) and
    ``status``."""
    out = {name: values.get(name) for name in outputs}
    out["status"] = status
    return out


def asked_key(sub_case: Case):
    """The key under which a sub-answer (``answer(...)``) of one evaluation is remembered: its kind
    and facts; None when a fact cannot be a key (a list of enrollments), which is asked again."""
    try:
        key = (sub_case.kind, tuple(sub_case.facts.items()))
        hash(key)
    except TypeError:
        return None
    return key


class Evaluator:
    """Evaluates cases against one policy set by the reference semantics. Construct once;
    ``evaluate`` is re-entrant."""

    def __init__(self, policy: PolicySet):
        self.policy = policy
        self.vocab = policy.vocab  # the policy set's kinds table
        self.defs_by_kind: dict[str, list] = {}
        for d in policy.definitions.values():
            for k in d.kinds:
                self.defs_by_kind.setdefault(k, []).append(d)
        self.person_defaults = self.vocab.person_defaults()  # a person fact a case leaves out: false, or null
        self.fact_defaults = {name: tuple((n, absent_value(spec)) for n, spec in kind.facts.items() if optional(spec))
                              for name, kind in self.vocab.kinds.items()}  # an optional fact a case leaves out
        self.stretches = resolve.Stretches(policy)
        self._selections: dict = {}
        self._defaults: dict = {}  # kind -> the value of each fact a case may leave out (a person fact's over an optional fact's)

    # -- what other stages use ---------------------------------------------------------------
    def environment(self, case: Case, trace: list | None = None, depth: int = 0, definitions: bool = True) -> dict:
        """The names an expression of ``case`` reads: its facts, the person facts (their default
        unless given), ``region``, ``decision_date``, the definitions of its kind (not with
        ``definitions`` False: for an expression that names none), and the means to ask for a
        sub-answer (``answer(...)``, traced into ``trace`` when given). Raises InputError
        (E-CASE-INVALID) when a definition cannot be computed."""
        defaults = self._defaults.get(case.kind)
        if defaults is None:
            defaults = self._defaults[case.kind] = {**dict(self.fact_defaults.get(case.kind, ())), **self.person_defaults}
        env = {**defaults, **case.facts}
        env["region"] = case.region
        env["decision_date"] = case.decision_date
        env["__trace__"] = None
        env[ASKED] = asked = {}
        env[ANSWER] = lambda kind, facts: self._sub_answer(case, kind, facts, trace, depth, asked)
        for d in self.defs_by_kind.get(case.kind, ()) if definitions else ():
            try:
                env[d.name] = d.expr.fn(env)
            except _RANGE as exc:  # e.g. date arithmetic leaving the calendar (year 10000)
                raise _case_error(case, f"definition {d.name}: {exc}") from None
            if trace is not None:
                trace.append((1, T.Definition(d.name, d.expr.text, env[d.name])))
        return env

    def definitions(self, kind: str) -> list:
        """The definitions computed for a case of ``kind``, in order."""
        return self.defs_by_kind.get(kind, [])

    @staticmethod
    def holds(clause: Clause, env: dict) -> bool:
        """Whether the clause's condition holds in ``env`` (``environment``). Raises what the
        expression raises: RANGE_ERRORS on values it cannot compute, CalendarError when the holiday
        schedule does not cover a date it needs."""
        when = clause.effective().when
        return True if when is None else bool(when.fn(env))

    def holding(self, case: Case, clauses, env: dict | None = None) -> list[Clause]:
        """Of ``clauses``, those whose conditions hold for ``case`` (raises as ``holds``)."""
        env = self.environment(case) if env is None else env
        return [c for c in clauses if self.holds(c, env)]

    def clause_outputs(self, case: Case, clause: Clause, env: dict | None = None) -> dict:
        """Every output ``clause`` decides for ``case``, whatever its precedence (an improving
        exception reads the answer of the clauses it excepts that hold)."""
        env = self.environment(case) if env is None else env
        extra = None
        if clause.improves:
            stretch = self.stretches.at(case.kind, case.region, case.decision_date)
            holding = [c for c, state, _ in stretch.live if state == "in_force" and c is not clause and self.holds(c, env)]
            base_sel = resolve.select(self.policy, [c for c in holding if resolve.excepts(clause, c)],
                                      self.vocab.kinds[case.kind].outputs)
            base = Result(case)
            self._interpret(case, base, base_sel, env, None, False, 0)
            extra = {"excepted": record(self.vocab.kinds[case.kind].outputs, base.status, base.outputs)}
        return self._outputs(case, clause, clause.effective().decide, env, None, extra)

    def sub_case(self, case: Case, kind: str, facts: dict) -> Case:
        """The case ``answer(kind, ...)`` asks about: ``facts`` with the person facts of ``case``
        where not given and the kind's optional facts left out at their default, in the same
        region, decided on its own day (``redirected_case``)."""
        facts = dict(facts)
        for name, spec in self.vocab.kinds[kind].facts.items():
            if name not in facts and optional(spec):
                facts[name] = absent_value(spec)
        return self.redirected_case(case, kind, facts)

    def redirected_case(self, case: Case, kind: str, facts: dict) -> Case:
        """The case of ``kind`` that ``case`` goes on to (``evaluate_as``, and ``answer(...)``
        through ``sub_case``): ``facts`` with the person facts of ``case`` where not given, in the
        same region, decided like a case of ``kind`` on the day of its own decision fact (the
        first day of a month) — or on ``case``'s day when that was given (``as_of``). Raises
        InputError (E-CASE-INVALID) when the decision fact is null."""
        facts = dict(facts)
        for flag, default in self.person_defaults.items():
            facts.setdefault(flag, case.facts.get(flag, default))
        day = case.decision_date
        if not case.as_of:
            decided_on = self.vocab.kinds[kind].decided_on
            day = facts.get(decided_on)
            if day is None:
                raise _case_error(case, t("evaluate.sub_day", kind=kind, fact=decided_on))
            if not isinstance(day, dt.date):
                day = day.first_day()  # a month
        return Case(kind, case.region, facts, day, case.id, case.where, case.as_of)

    def selection(self, kind: str, holding) -> resolve.Selection:
        """``resolve.select`` of these holding clauses (kept: the same clauses, the same selection)."""
        key = (kind, tuple(holding))
        found = self._selections.get(key)
        if found is None:
            if len(self._selections) > 20_000:
                self._selections.clear()
            found = self._selections[key] = resolve.select(self.policy, holding, self.vocab.kinds[kind].outputs)
        return found

    # -- the main entry ----------------------------------------------------------------------
    def evaluate(self, case: Case, explain: bool = True, depth: int = 0) -> Result:
        """The result of ``case``. ``explain`` records the trace; the answer is the same."""
        result = Result(case)
        trace = result.trace if explain else None
        region, day = case.region, case.decision_date
        if trace is not None:
            trace.append((0, T.Chain(region, day)))
        env = self.environment(case, trace, depth)
        result.asked = env[ASKED]
        holding: list[Clause] = []
        undetermined: list[tuple[Clause, CalendarError]] = []
        stretch = self.stretches.at(case.kind, region, day)
        for clause, state, start, when, informs in stretch.tests:
            if state == "expired":
                if trace is not None:
                    trace.append((1, T.Expired(clause)))
                continue
            try:
                if trace is not None:
                    holds, steps = self._test(clause, env, True)
                else:
                    holds = True if when is None else bool(when(env))
            except _RANGE as exc:
                raise _case_error(case, f"{clause.ref}: {exc}") from None
            except CalendarError as exc:
                # settled below: harmless only if a clause that beats this one decides everything it could
                if state == "in_force":
                    undetermined.append((clause, exc))
                continue
            if trace is not None:
                trace.append((1, T.Condition(clause, state, start, holds, tuple(steps))))
            if state == "pending":
                if holds and not informs:  # words that do not apply yet say nothing
                    result.pending.append((clause, start))
                continue
            if holds:
                (result.informing if informs else holding).append(clause)
        result.undetermined = undetermined
        self._interpret(case, result, self.selection(case.kind, holding), env, trace, explain, depth)
        if result.status == "no_rule" and not result.redirected:  # which documents were searched; local rules may exist
            result.notes.append(resolve.no_rule_note(stretch))
        return result

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

    # -- interpreting a selection ----------------------------------------------------------------
    def _interpret(self, case: Case, result: Result, sel: resolve.Selection, env: dict, trace, explain: bool,
                   depth: int) -> Result:
        """Fill ``result`` from the selection of the clauses that hold."""
        if trace is not None and sel.ordered:
            trace.append((0, T.Precedence(sel.ordered)))
        outputs = self.vocab.kinds[case.kind].outputs
        if sel.mode == "no_rule":
            if result.undetermined:
                raise result.undetermined[0][1]
            result.status = "no_rule"
            result.displaced.extend(sel.excepted)
            self._finish(result, sel.settled.notes)
            return result
        top = sel.top
        if sel.mode == "reject":
            reject = top.effective().reject
            error = _case_error(case, f"{top.citation}: {reject['zh']}", reject.get("en"))
            error.rule = top.ref
            raise error
        if sel.mode == "redirect":
            return self._redirect(case, result, sel, env, trace, explain, depth)
        if sel.mode == "delegated":
            settled = sel.settled
            result.status = "delegated"
            result.governing = list(settled.governing)
            result.bounds = sel.bounds
            result.displaced.extend(settled.displaced)
            self._conditional_notes(case, result, top, env)
            if sel.groups:  # a delegation of some outputs: the others as the clauses below decide them
                values = [self._outputs(case, g.clause, g.exprs, env, trace) for g in sel.groups]
                self._check_ties(case, sel, settled.ties, values, None)
                for name, gi in settled.assign:
                    result.outputs[name] = values[gi][name]
                for gi, g in enumerate(sel.groups):
                    if any(c is g.clause for c, _ in settled.governing):
                        self._conditional_notes(case, result, g.clause, {**env, **values[gi]})
            if sel.conflict is not None:
                a, b = sel.conflict
                raise ConflictError(Diagnostic(
                    "E-CONFLICT", t("evaluate.tied_outcomes", a=a.citation, b=b.citation),
                    b.where, t("evaluate.tied.hint")))
            self._finish(result, settled.notes)
            return result
        self._decided(case, result, sel, env, trace, explain, depth)
        return result

    def _decided(self, case: Case, result: Result, sel: resolve.Selection, env: dict, trace, explain: bool,
                 depth: int) -> None:
        outputs = self.vocab.kinds[case.kind].outputs
        static = sel.settled
        values: list[dict] = []
        improved: list = []
        for gi, group in enumerate(sel.groups):
            if group.base is None:
                values.append(self._outputs(case, group.clause, group.exprs, env, trace))
                improved.append(None)
            else:
                base = self._excepted(case, group, env, trace, explain, depth)
                got = {name: base.outputs[name] for name in outputs if name in base.outputs}  # also under a partial delegation
                got.update(self._outputs(case, group.clause, group.exprs, env, trace,
                                         {"excepted": record(outputs, base.status, base.outputs)}))
                general = base.outputs
                changed = [n for n, v in got.items() if n in outputs and v != general.get(n)]
                values.append(got)
                improved.append((tuple(got), tuple(changed), tuple(base.governing), tuple(base.displaced)))
            if static is not None:
                self._check_ties(case, sel, static.ties, values, gi)
        settled = static if static is not None else resolve.settle(self.policy, sel, outputs, tuple(improved))
        if static is None:
            self._check_ties(case, sel, settled.ties, values, None)
        result.status = "decided"
        for name, gi in settled.assign:
            result.outputs[name] = values[gi][name]
        result.governing = list(settled.governing)
        result.displaced.extend(settled.displaced)
        result.improving = list(settled.improving)
        groups = {g.clause: gi for gi, g in enumerate(sel.groups)}
        for clause, _ in settled.governing:
            if clause in groups:  # a deciding clause's conditional notes read its outputs too
                self._conditional_notes(case, result, clause, {**env, **values[groups[clause]]})
        waiting = result.outputs.get("waiting_months")
        if sel.limit is not None and isinstance(waiting, int) and waiting > sel.limit:
            result.notes.append(resolve.bound_note(waiting, sel.limit))
        self._finish(result, settled.notes)

    @staticmethod
    def _check_ties(case: Case, sel: resolve.Selection, ties, values: list, at: int | None) -> None:
        """Tied clauses that give an output must give it the same value (a tie is never settled silently: docs/readings.md)."""
        for name, w, other in ties:
            if at is not None and other != at:
                continue
            prior, value = values[w][name], values[other][name]
            if prior != value:
                winner, clause = sel.groups[w].clause, sel.groups[other].clause
                raise ConflictError(Diagnostic(
                    "E-CONFLICT",
                    t("evaluate.tied_values", a=winner.citation, b=clause.citation, name=name, first=T.show(prior),
                      second=T.show(value), case=f" `{case.id}`" if case.id is not None else ""),
                    clause.where, t("evaluate.tied.hint")))

    def _excepted(self, case: Case, group: resolve.Group, env: dict, trace, explain: bool, depth: int) -> Result:
        """The answer the rules an improving exception excepts give without it (its ``excepted``)."""
        base = Result(case)
        sub = [] if trace is not None else None
        if trace is not None:
            trace.append((1, T.Improving(group.clause)))
            base.trace = sub
        self._interpret(case, base, group.base, env, sub, explain, depth)
        if trace is not None:
            trace.extend((d + 2, event) for d, event in sub)
            outputs = self.vocab.kinds[case.kind].outputs
            trace.append((1, T.Excepted(group.clause, record(outputs, base.status, base.outputs))))
        return base

    def _outputs(self, case: Case, clause: Clause, exprs, env: dict, trace, extra: dict | None = None) -> dict:
        """The outputs ``exprs`` (a clause's ``decide``) give for this case, in order; each may read
        the ones above it."""
        local = dict(env)
        if extra:
            local.update(extra)
        out = {}
        for name, expr in exprs:
            try:
                if trace is not None:
                    local["__trace__"] = steps = []
                    value = plain(expr.traced(local))
                    local["__trace__"] = None
                    trace.append((2, T.Output(clause, name, expr.text, value, tuple(steps))))
                else:
                    value = plain(expr.fn(local))
            except _RANGE as exc:
                raise _case_error(case, f"{clause.ref}: {exc}") from None
            local[name] = value
            out[name] = value
        return out

    def _redirect(self, case: Case, result: Result, sel: resolve.Selection, env: dict, trace, explain: bool,
                  depth: int) -> Result:
        top = sel.top
        self._conditional_notes(case, result, top, env)
        kind, facts_exprs = top.effective().evaluate_as
        if depth >= MAX_REDIRECTS:
            raise _case_error(case, t("evaluate.redirects", ref=top.ref, limit=MAX_REDIRECTS))
        facts = {}
        for name, expr in facts_exprs:
            try:
                facts[name] = plain(expr.fn(env))
            except _RANGE as exc:
                raise _case_error(case, f"{top.ref}: {exc}") from None
        sub = self.evaluate(self.redirected_case(case, kind, facts), explain, depth + 1)
        if trace is not None:
            trace.append((0, T.Redirect(top, kind, tuple((k, v) for k, v in facts.items()
                                                         if k not in self.vocab.person_flags))))
            trace.extend((d + 1, event) for d, event in sub.trace)
        result.status = sub.status
        result.outputs = sub.outputs
        result.bounds = sub.bounds
        result.governing = list(sel.settled.governing) + sub.governing
        result.displaced += list(sel.settled.displaced) + sub.displaced
        result.pending += sub.pending
        result.notes += sub.notes
        result.informing += sub.informing
        result.redirected = [kind] + sub.redirected
        self._finish(result, resolve.notes_for(self.policy, tuple(c for c, _ in result.governing)))
        return result

    def _sub_answer(self, case: Case, kind: str, facts: dict, trace, depth: int, asked: dict) -> dict:
        """``answer(kind, ...)``: the answer of ``sub_case(case, kind, facts)`` as a record. Asked
        twice for the same facts: answered once."""
        if depth >= MAX_REDIRECTS:
            raise _case_error(case, t("evaluate.sub_answers", kind=kind, limit=MAX_REDIRECTS))
        sub_case = self.sub_case(case, kind, facts)
        key = asked_key(sub_case)
        if key is not None and key in asked:
            return asked[key]
        sub = self.evaluate(sub_case, explain=trace is not None, depth=depth + 1)
        answer = record(self.vocab.kinds[kind].outputs, sub.status, sub.outputs)
        if trace is not None:
            shown = tuple((k, v) for k, v in sub_case.facts.items()
                          if k in facts and k not in self.vocab.person_flags or k in self.vocab.person_flags and v)
            trace.append((1, T.SubAnswer(kind, shown, answer)))
            trace.extend((d + 2, event) for d, event in sub.trace)
        asked[key] = answer  # under None: one asked that cannot be a key (never looked up)
        return answer

    def answer(self, case: Case, key: tuple, memo: dict) -> dict:
        """The sub-answer of key ``key`` (``asked_key``: a kind and every fact of the sub-case) that
        ``case`` gets when it asks it, as ``_sub_answer`` gives it (remembered in ``memo``, for the
        cases of one region: a sub-case is decided on the day its facts give — on the case's own
        day only for a case ``as_of`` a day, whose memo is its own). Raises what asking it raises."""
        return self._sub_answer(case, key[0], dict(key[1]), None, 0, memo)

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

    def _finish(self, result: Result, notes) -> None:
        """The notes of a settled answer: a held condition the schedule could not decide (if
        harmless, else its error), then the readings and notes of the governing clauses (``notes``,
        the selection's, unless clauses that only inform or conditional notes add to them)."""
        outputs = self.vocab.kinds[result.case.kind].outputs
        result.notes.extend(resolve.undetermined_notes(result.governing, result.undetermined, outputs))
        result.undetermined = []
        if result.informing or result.fired:
            notes = resolve.notes_for(self.policy, tuple(c for c, _ in result.governing),
                                      tuple((c, tuple(ch)) for c, ch in result.improving),
                                      tuple(result.informing), frozenset(result.fired))
        result.notes.extend(notes)


def _case_error(case: Case | None, message: str, en: str | None = None) -> InputError:
    where = case.where if case is not None else Where()
    return InputError(Diagnostic("E-CASE-INVALID", message, where, en))
