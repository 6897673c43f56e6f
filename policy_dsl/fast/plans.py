"""The fast backend: the intermediate form of ``engine.resolve`` compiled to Python, for answers
without a trace.

For each stretch (``resolve.Stretches``: a kind, a region, days in which no clause changes
standing) one generated function computes the kind's definitions and every live clause's
condition at once; the conditions that hold (a bit mask) select a *template*: the selection
``resolve.select`` makes of them, with one generated function computing the deciding clauses'
outputs — the selection's groups in order, improving exceptions over the answer of the rules
they except, the values tied clauses must agree on — and the settled governing, displaced,
pending clauses and notes (``resolve.settle``, ``resolve.notes_for``). Nothing about precedence
is decided here: every choice is the selection's, made by the same function the reference
evaluator interprets. ``tests/test_backends.py`` holds the two to the same answers.

``fast.evaluator.FastEvaluator.evaluate`` answers with the reference evaluator whatever this backend declines.
It declines, by name (``DECLINED``), only:

- ``calendar``: a condition or output needs a date the holiday schedule does not cover
  (CalendarError; the reference settles it by precedence, or reports E-CALENDAR-RANGE);
- ``value``: an expression that cannot be computed on the case's values — a value missing, a
  date leaving the calendar (``evaluate.RANGE_ERRORS``; the reference reports E-CASE-INVALID);
- ``conflict``: tied clauses that give an output different values, or a delegation tied with
  another outcome (the reference reports E-CONFLICT);
- ``reject``: a clause rejects the case (the reference reports E-CASE-INVALID);
- ``nested``: evaluate_as or answer(...) nested deeper than MAX_REDIRECTS (E-CASE-INVALID);
- ``improving``: an improving exception whose excepted rules redirect, reject, conflict or
  themselves hold an improving exception (the reference interprets the nesting);
- ``sub-answer``: a sub-answer (``answer(...)``) whose case is invalid;
- ``conditional-note``: a delegating or redirecting clause with a conditional note
  (``notes[].when``).

Any other exception is a bug and propagates."""

from __future__ import annotations

import re

from policy_dsl.engine import resolve
from policy_dsl.engine.evaluate import MAX_REDIRECTS, RANGE_ERRORS, Evaluator, asked_key, record
from policy_dsl.language.errors import CalendarError, PolicyDslError
from policy_dsl.language.expr import ast
from policy_dsl.language.expr.codegen import Emitter, base_namespace, build, may_be_period
from policy_dsl.language.model import Case, Result

_IDENT = re.compile(r"[a-z_][a-z0-9_]*")  # NAME in grammar/expr.lark

DECLINED = {
    "calendar": "a date the holiday schedule does not cover",
    "value": "an expression that cannot be computed on the case's values",
    "conflict": "tied clauses whose values or outcomes differ",
    "reject": "a clause rejects the case",
    "nested": "evaluate_as or answer(...) nested too deep",
    "improving": "an improving exception over rules that redirect, reject, conflict or improve in turn",
    "sub-answer": "a sub-answer whose case is invalid",
    "conditional-note": "a delegating or redirecting clause with a conditional note",
}


class Decline(Exception):
    """This case is one the fast backend leaves to the reference: ``reason`` is a key of DECLINED."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_DECLINES = (Decline, CalendarError) + RANGE_ERRORS


def _reason(exc: Exception) -> str:
    """The DECLINED key of an exception of ``_DECLINES``."""
    if isinstance(exc, Decline):
        return exc.reason
    return "calendar" if isinstance(exc, CalendarError) else "value"


class Variant:
    """What an answer is apart from its values (a template's, for one set of changes and notes):
    the status, bounds, governing, displaced, pending clauses, notes and improving exceptions. The
    ``shape`` of a fast result (engine.results.LineWriter writes the text after the outputs once a
    shape)."""

    __slots__ = ("mode", "bounds", "governing", "displaced", "pending", "notes", "improving", "informing")

    def __init__(self, mode, bounds, governing, displaced, pending, notes, improving=(), informing=()):
        self.mode, self.bounds = mode, bounds
        self.governing, self.displaced, self.pending = list(governing), list(displaced), list(pending)
        self.notes, self.improving, self.informing = list(notes), list(improving), list(informing)

    def result(self, case: Case, outputs: dict) -> Result:
        return Result(case, self.mode, outputs, self.bounds, self.governing[:], self.displaced[:], self.pending[:],
                      self.notes[:], improving=self.improving[:], informing=self.informing[:], shape=self)


class Template:
    """The compiled selection of one set of holding conditions in one stretch. ``mode``: fixed
    (no_rule, delegated: one variant), decided, redirect, or declined (``reason``)."""

    __slots__ = ("mode", "reason", "sel", "fixed", "pending", "informing", "out_fn", "variants", "static",
                 "groups_info", "bits", "note_list", "facts_fn", "fact_names", "target", "outputs")

    def __init__(self, mode: str, sel=None, pending=(), reason=None, informing=()):
        self.mode, self.sel, self.pending, self.reason = mode, sel, list(pending), reason
        self.informing = list(informing)
        self.note_list = ()
        self.fixed = self.out_fn = self.static = self.facts_fn = self.target = None
        self.variants: dict = {}
        self.groups_info = self.bits = self.fact_names = self.outputs = ()


class Conditions:
    """A stretch's generated function: (facts, region, decision_date, answer) → (mask of the live
    clauses whose conditions hold, the definitions' values)."""

    __slots__ = ("fn", "asks")

    def __init__(self, fn, asks: bool):
        self.fn, self.asks = fn, asks


class Plans:
    """The compiled stretches and templates of one reference evaluator's policy set, built as cases
    need them."""

    def __init__(self, reference: Evaluator):
        self.ev = reference
        self.policy = reference.policy
        self.vocab = reference.vocab
        self.stretches = reference.stretches
        self.flags = tuple(reference.person_defaults.items())  # (person fact, its value when left out)
        self._conditions: dict = {}  # Stretch -> Conditions
        self._templates: dict = {}  # (Stretch, mask) -> Template
        self._ns = None
        self.declined: dict = {}  # reason -> how many cases (for benchmarks and tests)

    # -- the entries --------------------------------------------------------------------------
    def evaluate(self, case: Case, depth: int = 0) -> Result | None:
        """The Result of ``case`` (as ``Evaluator.evaluate(case, explain=False)``), or None for a
        case of a class this backend declines (DECLINED)."""
        try:
            return self._evaluate(case, depth)
        except _DECLINES as exc:
            self._count(_reason(exc))
        return None

    def answer(self, kind: str, region, day, facts: dict):
        """For a batch line (policy_dsl.fast.lane): ``(variant, outputs)`` of a case that needs no
        Case (no redirect, no sub-answer), or None for the rest and for what this backend declines."""
        try:
            stretch = self.stretches.at(kind, region, day)
            cond = self._conditions.get(stretch) or self._compile_conditions(stretch)
            if cond.asks:
                return None
            mask, defs = cond.fn(facts, region, day, None)
            t = self._templates.get((stretch, mask)) or self._template(stretch, mask)
            if t.mode == "fixed":
                return t.fixed, {}
            if t.mode == "decided":
                outputs, key = t.out_fn(facts, region, day, defs, None)
                return self._variant(t, key, outputs), outputs
        except _DECLINES as exc:
            self._count(_reason(exc))
        return None

    def _count(self, reason: str) -> None:
        self.declined[reason] = self.declined.get(reason, 0) + 1

    def _evaluate(self, case: Case, depth: int) -> Result:
        region, day = case.region, case.decision_date
        stretch = self.stretches.at(case.kind, region, day)
        cond = self._conditions.get(stretch) or self._compile_conditions(stretch)
        ask = self._asker(case, depth) if cond.asks else None
        mask, defs = cond.fn(case.facts, region, day, ask)
        t = self._templates.get((stretch, mask)) or self._template(stretch, mask)
        mode = t.mode
        if mode == "decided":
            outputs, key = t.out_fn(case.facts, region, day, defs, ask)
            return self._variant(t, key, outputs).result(case, outputs)
        if mode == "fixed":
            return t.fixed.result(case, {})
        if mode == "redirect":
            return self._redirect(t, case, defs, ask, depth)
        raise Decline(t.reason)

    def _redirect(self, t: Template, case: Case, defs, ask, depth: int) -> Result:
        """Evaluator._redirect: the case as one of another kind."""
        if depth >= MAX_REDIRECTS:
            raise Decline("nested")
        facts = dict(zip(t.fact_names, t.facts_fn(case.facts, case.region, case.decision_date, defs, ask)))
        sub = self._evaluate(self.ev.redirected_case(case, t.target, facts), depth + 1)
        settled = t.sel.settled
        governing = list(settled.governing) + sub.governing
        informing = t.informing + sub.informing
        notes = sub.notes + list(resolve.notes_for(self.policy, tuple(c for c, _ in governing), (), tuple(informing)))
        return Result(case, sub.status, sub.outputs, sub.bounds, governing, list(settled.displaced) + sub.displaced,
                      t.pending + sub.pending, notes, redirected=[t.target] + sub.redirected, informing=informing,
                      shape=(t, sub.shape))

    def _asker(self, case: Case, depth: int):
        """The ``answer(kind, facts)`` of generated code for ``case``: the record of the sub-case's
        answer (this backend's, else the reference's), each asked once."""
        asked: dict = {}
        outputs_of = self.vocab.kinds

        def ask(kind: str, facts: dict) -> dict:
            if depth >= MAX_REDIRECTS:
                raise Decline("nested")
            sub_case = self.ev.sub_case(case, kind, facts)
            key = asked_key(sub_case)
            if key is not None and key in asked:
                return asked[key]
            sub = self.evaluate(sub_case, depth + 1)
            if sub is None:
                try:
                    sub = self.ev.evaluate(sub_case, explain=False, depth=depth + 1)
                except PolicyDslError:
                    raise Decline("sub-answer") from None
            answer = record(outputs_of[kind].outputs, sub.status, sub.outputs)
            if key is not None:
                asked[key] = answer
            return answer

        return ask

    # -- templates ----------------------------------------------------------------------------
    def _template(self, stretch: resolve.Stretch, mask: int) -> Template:
        """The compiled selection of the live clauses of ``stretch`` whose bit is set in ``mask``."""
        holding, pending, informing = [], [], []
        for i, (c, state, start) in enumerate(stretch.live):
            if (mask >> i) & 1:
                if c.effective().outcome == "inform":  # words that apply (in force) or say nothing yet (pending)
                    if state != "pending":
                        informing.append(c)
                elif state == "pending":
                    pending.append((c, start))
                else:
                    holding.append(c)
        kind = stretch.kind
        sel = self.ev.selection(kind, holding)
        t = self._compile(kind, sel, pending, tuple(informing), stretch)
        if len(self._templates) > 50_000:
            self._templates.clear()
        self._templates[(stretch, mask)] = t
        return t

    def _compile(self, kind: str, sel: resolve.Selection, pending, informing: tuple, stretch) -> Template:
        mode = sel.mode
        if mode == "no_rule":
            t = Template("fixed", sel, pending)
            notes = resolve.notes_for(self.policy, (), (), informing) if informing else ()
            t.fixed = Variant("no_rule", None, (), sel.settled.displaced, pending,
                              notes + (resolve.no_rule_note(stretch),), (), informing)
            return t
        if mode == "reject":
            return Template("declined", sel, pending, "reject")
        if mode in ("delegated", "redirect") and (sel.top.note_whens or sel.top.effective().note_whens):
            return Template("declined", sel, pending, "conditional-note")
        if mode == "delegated":
            if sel.conflict is not None:
                return Template("declined", sel, pending, "conflict")
            if sel.groups:  # a delegation of some outputs, the others decided below: compiled as a decided one
                return self._compile_decided(kind, sel, pending, informing)
            t = Template("fixed", sel, pending)
            s = sel.settled
            notes = resolve.notes_for(self.policy, (sel.top,), (), informing) if informing else s.notes
            t.fixed = Variant("delegated", sel.bounds, s.governing, s.displaced, pending, notes, (), informing)
            return t
        if mode == "redirect":
            t = Template("redirect", sel, pending, informing=informing)
            t.target, facts_exprs = sel.top.effective().evaluate_as
            t.fact_names = tuple(n for n, _ in facts_exprs)
            t.facts_fn = self._facts_fn(kind, facts_exprs)
            return t
        for g in sel.groups:
            b = g.base
            if b is not None and (b.mode in ("redirect", "reject") or b.improving or b.conflict is not None):
                return Template("declined", sel, pending, "improving")
        return self._compile_decided(kind, sel, pending, informing)

    def _compile_decided(self, kind: str, sel: resolve.Selection, pending, informing: tuple) -> Template:
        """A selection whose groups give the outputs (decided, or delegated with some outputs
        decided below the delegation): its outputs function and the variants of its answers."""
        t = Template("decided", sel, pending, informing=informing)
        outputs = t.outputs = self.vocab.kinds[kind].outputs
        t.note_list = tuple((gi, c, k, e) for gi, g in enumerate(sel.groups)
                            for c in dict.fromkeys((g.clause, g.clause.effective())) for k, e in c.note_whens.items())
        info = self._groups_info(sel, outputs)
        t.groups_info = info
        # what does not depend on the changes: which group each output takes, the ties
        shape_only = resolve.settle(self.policy, sel, outputs, tuple(
            None if i is None else (i[0], (), i[2], i[3]) for i in info)) if sel.improving else sel.settled
        t.static = None if sel.improving else sel.settled
        t.out_fn, t.bits = self._outputs_fn(kind, sel, outputs, info, shape_only, t.note_list)
        return t

    @staticmethod
    def _groups_info(sel: resolve.Selection, outputs) -> tuple:
        """For each group: None, or for an improving exception (the outputs it gives, —, the general
        answer's governing, its displaced) as ``resolve.settle`` takes them."""
        out = []
        for g in sel.groups:
            b = g.base
            if b is None:
                out.append(None)
                continue
            general = [name for name, _ in b.settled.assign] if b.mode in ("decided", "delegated") else []
            names = tuple(dict.fromkeys([n for n in outputs if n in general] + [n for n, _ in g.exprs]))
            out.append((names, (), tuple(b.settled.governing), tuple(b.settled.displaced)))
        return tuple(out)

    def _variant(self, t: Template, key, outputs: dict) -> Variant:
        """The variant of a decided template for ``key`` (the changes the improving exceptions made,
        the waiting period when above the bound, which conditional notes hold)."""
        v = t.variants.get(key)
        if v is None:
            sel = t.sel
            settled = t.static
            if settled is None:
                changed, at = [], 0
                for i in t.groups_info:
                    if i is None:
                        changed.append(None)
                        continue
                    names = [n for n, flag in zip(t.bits[at], key[0][at]) if flag]
                    changed.append((i[0], tuple(names), i[2], i[3]))
                    at += 1
                settled = resolve.settle(self.policy, sel, t.outputs, tuple(changed))
            governing = {c for c, _ in settled.governing}
            fired = frozenset(id(c.notes[k]) for (gi, c, k, _), held in zip(t.note_list, key[2])
                              if held and sel.groups[gi].clause in governing)
            notes = settled.notes
            if t.informing or fired:
                notes = resolve.notes_for(self.policy, tuple(c for c, _ in settled.governing),
                                          tuple((c, tuple(ch)) for c, ch in settled.improving), tuple(t.informing), fired)
            notes = ([resolve.bound_note(key[1], sel.limit)] if key[1] is not None else []) + list(notes)
            v = t.variants[key] = Variant(sel.mode, sel.bounds, settled.governing, settled.displaced, t.pending, notes,
                                          settled.improving, t.informing)
        return v

    # -- generated code -----------------------------------------------------------------------
    def _namespace(self) -> dict:
        if self._ns is None:
            self._ns = base_namespace()
            self._ns["_Decline"] = Decline
        return dict(self._ns)

    def _defs(self, kind: str):
        return self.ev.definitions(kind)

    def _env_names(self, kind: str, loads: dict, defs_done: dict):
        """The reader of a name in the evaluation environment (Evaluator.environment): a definition
        computed so far, ``region``, ``decision_date``, a person fact (its default unless given), a fact."""
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

    def _periods(self, kind: str) -> frozenset:
        out: set = set()
        for d in self._defs(kind):
            if may_be_period(d.expr.node, frozenset(out)):
                out.add(d.name)
        return frozenset(out)

    def _generate(self, kind: str, header: str, fname: str, lines_after_defs, with_defs: bool, nodes):
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
        name, load_lines = self._env_names(kind, loads, defs_done)
        body = []
        if with_defs:
            for k, d in enumerate(defs):
                body.append(f"    d{k} = {em.emit(d.expr.node, name, periods)}")
                defs_done[d.name] = f"d{k}"
        body += lines_after_defs(em, name, periods)
        head = [] if with_defs or not defs else [f"    {''.join(f'd{k}, ' for k in range(len(defs)))}= D"]
        src = f"def {fname}{header}:\n" + "\n".join(head + load_lines() + em.temps + body) + "\n"
        return build(src, em.namespace, fname)

    def _compile_conditions(self, stretch: resolve.Stretch) -> Conditions:
        kind = stretch.kind
        clauses = [c for c, _, _ in stretch.live]
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
        fn = self._generate(kind, "(f, region, decision_date, A)", "_plan", conditions, True, whens)
        found = self._conditions[stretch] = Conditions(fn, self._asks(kind, clauses))
        return found

    def _asks(self, kind: str, clauses) -> bool:
        """Whether any expression a case of this stretch may evaluate asks for a sub-answer."""
        nodes = [d.expr.node for d in self._defs(kind)]
        for c in clauses:
            eff = c.effective()
            nodes += [e.node for e in (eff.when,) if e is not None] + [e.node for _, e in eff.decide]
            if eff.evaluate_as:
                nodes += [e.node for _, e in eff.evaluate_as[1]]
        return any(ast.answers(n) for n in nodes)

    def _outputs_fn(self, kind: str, sel: resolve.Selection, outputs: tuple, info: tuple, shape: resolve.Settled,
                    note_list: tuple = ()):
        """The outputs of a decided template (Evaluator._decided): each group's expressions in order,
        each seeing its group's earlier ones by name (and an improving exception ``excepted``, built
        from the general answer's outputs); ``_Decline`` where tied values differ; the outputs each
        group gives, and the key of the variant: for each improving exception, which of the outputs
        it gives differ from the general answer's, the waiting period when above the bound, and
        which conditional notes of the deciding clauses hold (``note_list``: (group, clause, index,
        Expr); read with the group's outputs)."""
        bits: list = []

        def lines_for(em, env_name, periods):
            lines: list = []
            slot = [0]

            namers: list = []

            def group_lines(group: resolve.Group, extra: dict, mine: bool = False) -> dict:
                """Lines computing one group's expressions; its outputs → the variable holding each."""
                local: dict = dict(extra)

                def name(n, local=local):
                    return local[n] if n in local else env_name(n)

                if mine:
                    namers.append((name, local))

                for out_name, expr in group.exprs:
                    text = em.emit(expr.node, name, periods)
                    if may_be_period(expr.node, periods):
                        text = f"_plain({text})"
                    var = f"s{slot[0]}"
                    slot[0] += 1
                    lines.append(f"    {var} = {text}")
                    local[out_name] = var
                return {n: local[n] for n, _ in group.exprs}

            def ties_lines(ties, held):
                for name, w, other in ties:
                    lines.append(f"    if {held[w][name]} != {held[other][name]}:")
                    lines.append("        raise _Decline('conflict')")

            held: list = []  # for each group: output -> variable
            changes: list = []  # for each improving group: ((output, its variable, the general one), ...)
            for gi, group in enumerate(sel.groups):
                if group.base is None:
                    held.append(group_lines(group, {}, True))
                    continue
                base = group.base
                general: dict = {}
                if base.mode in ("decided", "delegated") and base.groups:  # delegated: some outputs decided below
                    base_held = [group_lines(bg, {}) for bg in base.groups]
                    ties_lines(base.settled.ties, base_held)
                    general = {name: base_held[g][name] for name, g in base.settled.assign}
                rec = f"x{gi}"
                fields = ", ".join(f"{n!r}: {general.get(n, 'None')}" for n in outputs)
                lines.append(f"    {rec} = {{{fields}, 'status': {base.mode!r}}}")
                own = group_lines(group, {"excepted": rec}, True)
                mine = {n: own.get(n) or general[n] for n in info[gi][0]}
                namers[-1][1].update({n: v for n, v in mine.items() if n not in namers[-1][1]})
                held.append(mine)
                changes.append(tuple((n, mine[n], general.get(n, "None")) for n in info[gi][0] if n in outputs))
            ties_lines(shape.ties, held)
            result = "{" + ", ".join(f"{n!r}: {held[g][n]}" for n, g in shape.assign) + "}"
            lines.append(f"    o = {result}")
            key = "(" + "".join("(" + "".join(f"{v} != {g}, " for _, v, g in ch) + "), " for ch in changes) + ")"
            notes = "(" + "".join(f"bool({em.emit(e.node, namers[gi][0], periods)}), " for gi, _, _, e in note_list) + ")"
            bits.extend(tuple(n for n, _, _ in ch) for ch in changes)
            if sel.limit is not None and "waiting_months" in dict(shape.assign):
                lines.append("    w = o['waiting_months']")
                lines.append(f"    return o, ({key}, w if isinstance(w, int) and w > {em.const(sel.limit)} else None, "
                             f"{notes})")
            else:
                lines.append(f"    return o, ({key}, None, {notes})")
            return lines

        nodes = [e.node for g in sel.groups for _, e in g.exprs]
        nodes += [e.node for g in sel.groups if g.base is not None for bg in g.base.groups for _, e in bg.exprs]
        nodes += [e.node for _, _, _, e in note_list]
        fn = self._generate(kind, "(f, region, decision_date, D, A)", "_outputs", lines_for, False, nodes)
        return fn, tuple(bits)

    def _facts_fn(self, kind: str, facts_exprs):
        """The facts of an evaluate_as, each as ``_plain(value)`` (Evaluator._redirect)."""

        def lines_for(em, name, periods):
            values = [f"_plain({em.emit(e.node, name, periods)})" for _, e in facts_exprs]
            return [f"    return ({''.join(v + ', ' for v in values)})"]

        return self._generate(kind, "(f, region, decision_date, D, A)", "_facts", lines_for, False,
                              [e.node for _, e in facts_exprs])
