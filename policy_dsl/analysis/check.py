"""Stage: checks over a loaded policy set, as an ordered tuple of named passes. Each pass takes
the policy set and returns diagnostics; ``link`` also resolves references (adopt targets) and
must pass before anything is evaluated."""

from __future__ import annotations

import re
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, PolicyDslError, did_you_mean
from policy_dsl.language.expr import types as T
from policy_dsl.language.expr.parse import position_in_file
from policy_dsl.language.kinds import optional
from policy_dsl.language.messages import join, t
from policy_dsl.language.model import PolicySet
from policy_dsl.language.regions import default_registry


def link(policy: PolicySet) -> list[Diagnostic]:
    """References resolve: adopt targets (not themselves adopting), exception refs, forwards,
    unique clause and document ids, jurisdictions and adoption regions in the registry."""
    out = []
    seen_docs = {}
    for d in policy.documents:
        if d.id in seen_docs:
            out.append(Diagnostic("E-DUPLICATE-ID", t("check.document_id_twice", id=d.id), d.where,
                                  t("load.definition_twice.hint", file=seen_docs[d.id].file)))
        seen_docs[d.id] = d
        ids = {}
        for c in d.clauses:
            if c.id in ids:
                out.append(Diagnostic("E-DUPLICATE-ID", t("check.clause_id_twice", id=c.id, document=d.id), c.where,
                                      t("check.first_at_line", line=ids[c.id].where.line)))
            ids[c.id] = c
    registry = default_registry()
    for d in policy.documents:
        first, last = in_force_period(d)
        problem = registry.jurisdiction_problem(d.jurisdiction, first, last, d.jurisdiction_where or d.where)
        if problem is not None:
            out.append(problem)
        for f in d.forwards:
            if f not in seen_docs:
                out.append(Diagnostic("E-REFERENCE", t("check.unknown_document", key="forwards", id=f), d.where,
                                      did_you_mean(f, seen_docs) or t("check.use_document_id")))
        for c in d.clauses:
            for code, (_, _) in c.in_force.adoptions.items():
                r = registry.by_code.get(code)
                if r is None or not r.within(d.jurisdiction) or code == d.jurisdiction:
                    out.append(Diagnostic("E-ADOPTION-REGION", t("check.adoption_region", code=code, jurisdiction=d.jurisdiction),
                                          c.where, t("check.adoption_region.hint")))
            if c.outcome == "adopt":
                target = policy.clauses.get(c.adopt)
                if target is None:
                    out.append(Diagnostic("E-REFERENCE", t("check.unknown_clause", key="adopt", ref=c.adopt), c.where,
                                          did_you_mean(c.adopt, policy.clauses) or t("check.write_ref")))
                elif target.outcome == "adopt":
                    out.append(Diagnostic("E-REFERENCE", t("check.adopts_adopting", ref=c.adopt, target=target.adopt),
                                          c.where, f"adopt: {target.adopt}"))
                elif not set(c.topics) <= set(target.topics):
                    out.append(Diagnostic("E-REFERENCE", t("check.adopted_topics", ref=c.adopt, topics=join(target.topics),
                                                                           ours=join(c.topics)), c.where, None))
                else:
                    c.adopted = target
            for dv in c.deviations:
                target = policy.clauses.get(dv.clause)
                if target is None:
                    out.append(Diagnostic("E-REFERENCE", t("check.unknown_clause", key="deviations", ref=dv.clause), c.where,
                                          did_you_mean(dv.clause, policy.clauses) or t("check.write_ref")))
                    continue
                by = seen_docs.get(dv.document or target.doc.id)
                if by is None:
                    out.append(Diagnostic("E-REFERENCE", t("check.unknown_document", key="authorised_by", id=dv.document), c.where,
                                          did_you_mean(dv.document, seen_docs) or t("check.use_document_id")))
                elif target.doc.rank >= d.rank or by.rank >= d.rank:
                    low = target if target.doc.rank >= d.rank else by
                    out.append(Diagnostic("E-DEVIATION", t("check.deviation_level", clause=c.citation, target=target.citation,
                                                                           low=low.citation if low is target else low.number,
                                                                           document=d.number),
                                          c.where, t("check.deviation_level.hint")))
            if isinstance(c.exception_to, list):
                for ref in c.exception_to:
                    if ref not in policy.clauses:
                        out.append(Diagnostic("E-REFERENCE", t("check.unknown_clause", key="exception_to", ref=ref), c.where,
                                              did_you_mean(ref, policy.clauses)))
    return out


def in_force_period(d) -> tuple:
    """The first and last day any clause of document ``d`` is in force (the last is None when one
    has no end): its jurisdiction must be a division valid throughout."""
    starts = [d.in_force.start or d.issued] + [c.in_force.start for c in d.clauses if c.in_force.start]
    ends = [d.in_force.until] + [c.in_force.until for c in d.clauses]
    return min(starts), (None if None in ends else max(ends))


def source_text(policy: PolicySet, sources_dir: Path | None = None) -> list[Diagnostic]:
    """Every quoted text occurs in the document's source (ignoring whitespace; … elides)."""
    out = []
    cache: dict[Path, str] = {}
    authorising: dict[str, list] = {}  # document id -> the deviations' quotes its source must hold
    for c in policy.clauses.values():
        for dv in c.deviations:
            target = policy.clauses.get(dv.clause)
            by = dv.document or (target.doc.id if target is not None else None)
            if by:
                authorising.setdefault(by, []).append((dv.text, c.where, t("check.deviations_of", clause=c.citation,
                                                                                          target=dv.clause)))
    for d in policy.documents:
        if "/" in d.source or "\\" in d.source or d.source in ("", ".", ".."):
            out.append(Diagnostic("E-SOURCE-MISSING", t("check.source_not_a_name", source=d.source[:80]), d.where,
                                  t("check.source_not_a_name.hint")))
            continue
        base = Path(d.file).parent if sources_dir is None else sources_dir
        src = base / "sources" / d.source
        if not src.is_file():  # a policy file outside a policies/ folder: the shipped sources
            from policy_dsl.language import resources

            src = resources.policies_dir() / "sources" / d.source
        if src not in cache:
            try:  # stat first: no device, pipe or huge file is read
                from policy_dsl.language.safeio import read_limited

                cache[src] = _squash(read_limited(src, 16 * 1024 * 1024, str(src)).decode("utf-8-sig"))
            except (OSError, UnicodeDecodeError, PolicyDslError) as exc:
                why = exc.first.message if isinstance(exc, PolicyDslError) else t("check.not_utf8") if isinstance(
                    exc, UnicodeDecodeError) else t("check.not_found")
                out.append(Diagnostic("E-SOURCE-MISSING", t("check.source_missing", source=d.source, path=str(src), why=why),
                                      d.where, t("check.source_missing.hint")))
                cache[src] = None
        text = cache[src]
        if text is None:
            continue
        quotes = [(c.text, c.where, c.citation) for c in d.clauses]
        quotes += [(s.text, d.where, f"{d.number} supersession {s.id}") for s in d.supersession]  # keys, as written
        quotes += [(c.in_force.text, c.where, f"{c.citation} in_force") for c in d.clauses if c.in_force.text]
        quotes += authorising.get(d.id, [])
        for quote, where, what in quotes:
            pos = 0
            for piece in quote.split("…"):
                piece = _squash(piece)
                if not piece:
                    continue
                found = text.find(piece, pos)
                if found < 0:
                    out.append(Diagnostic("E-SOURCE-TEXT", t("check.quote_not_found", what=what, source=d.source,
                                                                             quote=piece[:40] + ("…" if len(piece) > 40 else "")),
                                          where, t("check.quote_not_found.hint")))
                    break
                pos = found + len(piece)
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def types(policy: PolicySet) -> list[Diagnostic]:
    """Every expression is well typed for every kind its clause is about: conditions are
    booleans, outputs have the output's type and belong to the kind, facts exist."""
    vocab = policy.vocab
    out = []
    def_types: dict[tuple[str, str], T.Type] = {}
    for d in policy.definitions.values():
        for k in d.kinds:
            if k not in vocab.kinds:
                continue
            scope = vocab.kinds[k].scope(vocab)
            try:
                def_types[(k, d.name)] = T.infer(d.expr.node, scope)
            except T.TypeError_ as exc:
                out.append(_type_diag(exc, d.expr, t("check.definition_for", name=d.name, kind=k)))
    for doc in policy.documents:
        for c in doc.clauses:
            for topic in c.topics:
                kind = vocab.kinds[topic]
                scope = kind.scope(vocab)
                scope.update({name: typ for (k, name), typ in def_types.items() if k == topic})
                when_scope = scope
                if c.improves:  # the outputs (only) may read the answer of the rules it excepts
                    when_scope = T.Scope(scope, kinds=scope.kinds)
                    scope["excepted"] = T.answer_record(vocab, topic)
                if c.when is not None:
                    try:
                        got = T.infer(c.when.node, when_scope)
                        if not T.assignable(got, T.BOOL):
                            out.append(Diagnostic("E-TYPE", t("check.condition_bool", text=c.when.text, type=got),
                                                  c.when.where, t("check.condition_bool.hint")))
                    except T.TypeError_ as exc:
                        out.append(_type_diag(exc, c.when, c.citation))
                for name, expr in c.decide:
                    if name not in kind.outputs:
                        out.append(Diagnostic("E-UNKNOWN-OUTPUT", t("check.not_an_output", name=name, kind=topic), expr.where,
                                              did_you_mean(name, kind.outputs) or t("check.outputs", outputs=join(kind.outputs))))
                        continue
                    try:
                        got = T.infer(expr.node, scope)
                    except T.TypeError_ as exc:
                        out.append(_type_diag(exc, expr, c.citation))
                        continue
                    want = vocab.output_type(name)
                    if not T.assignable(got, want):
                        out.append(Diagnostic("E-TYPE", t("check.output_type", name=name, want=want, text=expr.text, type=got),
                                              expr.where, _output_hint(want)))
                    scope[name] = want
                for name in c.delegated or ():
                    if name not in kind.outputs:
                        out.append(Diagnostic("E-UNKNOWN-OUTPUT", t("check.not_an_output", name=name, kind=topic), c.where,
                                              did_you_mean(name, kind.outputs) or t("check.outputs", outputs=join(kind.outputs))))
                for k, expr in c.note_whens.items():  # a note's condition also reads the outputs decided above
                    try:
                        got = T.infer(expr.node, scope)
                        if not T.assignable(got, T.BOOL):
                            out.append(Diagnostic("E-TYPE", t("check.note_condition_bool", text=expr.text, type=got),
                                                  expr.where, t("check.note_condition_bool.hint")))
                    except T.TypeError_ as exc:
                        out.append(_type_diag(exc, expr, f"{c.citation} notes[{k}]"))
                if c.evaluate_as:
                    target_kind, facts = c.evaluate_as
                    target = vocab.kinds[target_kind]
                    given = {n for n, _ in facts}
                    for missing in sorted(set(target.facts) - given - {f for f, s in target.facts.items() if optional(s)}):
                        out.append(Diagnostic("E-EVALUATE-AS", t("check.evaluate_as_needs", kind=target_kind, fact=missing),
                                              c.where, None))
                    for n, expr in facts:
                        if n not in target.facts:
                            out.append(Diagnostic("E-UNKNOWN-FACT", t("expr.kind_has_no_fact", kind=target_kind, fact=n), expr.where,
                                                  did_you_mean(n, target.facts)))
                            continue
                        try:
                            got = T.infer(expr.node, scope)
                            want = T.from_spec(target.facts[n])
                            if not T.assignable(got, want):
                                out.append(Diagnostic("E-TYPE", t("check.fact_type", fact=n, want=want, text=expr.text, type=got),
                                                      expr.where, None))
                        except T.TypeError_ as exc:
                            out.append(_type_diag(exc, expr, c.citation))
                    if target_kind == topic:
                        out.append(Diagnostic("E-CYCLE", t("check.evaluate_as_self", kind=target_kind), c.where,
                                              t("check.evaluate_as_self.hint")))
    return out


def _output_hint(want: T.Type) -> str:
    example = {"date": "start(month(paid_on) + 1)", "int": "3", "bool": "true, false"}.get(want.name)
    return t("schema.example", example=example) if example else str(want)


def _type_diag(exc: T.TypeError_, expr, what: str) -> Diagnostic:
    span = exc.node.span
    where = position_in_file(expr.where, span.line, span.col, _quote_offset(expr))
    return Diagnostic(exc.code, t("check.in_what", what=what, message=exc.message), where, exc.hint)


def _quote_offset(expr) -> int:
    try:
        line = Path(expr.where.file).read_text(encoding="utf-8-sig").splitlines()[expr.where.line - 1]
        return 1 if line[expr.where.col - 1] in "\"'" else 0
    except (OSError, IndexError, TypeError, UnicodeDecodeError):
        return 0


def dates(policy: PolicySet) -> list[Diagnostic]:
    """Dates agree with each other and with the year in the 文号."""
    out = []
    for d in policy.documents:
        m = re.search(r"〔(\d{4})〕", d.number)
        if m and d.issued.year != int(m.group(1)):
            out.append(Diagnostic("E-DATE-NUMBER", t("check.issued_year", issued=d.issued, number=d.number, year=m.group(1)),
                                  d.where, t("check.issued_year.hint")))
        for c in d.clauses:
            f = c.in_force
            if f.start and f.until and f.until < f.start:
                out.append(Diagnostic("E-DATE-ORDER", t("check.until_before_start", clause=c.citation, until=f.until, start=f.start),
                                      c.where, None))
            if f.lower_deadline and d.level == "city":
                out.append(Diagnostic("E-DATE-DEADLINE", t("check.city_deadline", clause=c.citation), c.where,
                                      t("check.city_deadline.hint")))
            if f.lower_deadline and f.start and f.lower_deadline < f.start:
                out.append(Diagnostic("E-DATE-ORDER", t("check.deadline_before_start", clause=c.citation, deadline=f.lower_deadline,
                                                                        start=f.start),
                                      c.where, None))
    return out


def versions(policy: PolicySet) -> list[Diagnostic]:
    """Each document's encoding version has its changelog entry, and the changelog counts up."""
    out = []
    for d in policy.documents:
        numbers = [entry["version"] for entry in d.changelog]
        if d.version not in numbers:
            out.append(Diagnostic("E-VERSION", t("check.version_no_entry", version=d.version), d.where,
                                  t("check.version_no_entry.hint", entry=f'- {{version: {d.version}, date: "YYYY-MM-DD", change: …}}')))
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers) or (numbers and max(numbers) > d.version):
            out.append(Diagnostic("E-VERSION", t("check.versions_count_up", numbers=numbers, version=d.version), d.where,
                                  t("check.versions_count_up.hint")))
    return out


def exceptions(policy: PolicySet) -> list[Diagnostic]:
    """Explicit exceptions form no cycle; an improving exception (``improves: true``) is an
    exception that decides."""
    out = []
    for c in (c for d in policy.documents for c in d.clauses):
        if c.improves and (c.exception_to is None or c.outcome != "decide"):
            missing = t("check.improves_no_exception_to") if c.exception_to is None else t("check.improves_no_decide")
            out.append(Diagnostic("E-IMPROVES", t("check.improves_without", clause=c.citation, missing=missing), c.where,
                                  t("check.improves_without.hint")))
        if isinstance(c.exception_to, list):
            for ref in c.exception_to:
                other = policy.clauses.get(ref)
                if other is not None and isinstance(other.exception_to, list) and c.ref in other.exception_to:
                    out.append(Diagnostic("E-CYCLE", t("check.mutual_exceptions", first=c.ref, second=ref), c.where,
                                          t("check.mutual_exceptions.hint")))
    return out


# The ordered passes of `policy-dsl check` (conflicts come from the grid, policy_dsl.analysis.conflicts).
PASSES = (("link", link), ("source_text", source_text), ("types", types), ("dates", dates), ("versions", versions),
          ("exceptions", exceptions))


def _analysis(name: str):
    def run(policy: PolicySet) -> list[Diagnostic]:
        from policy_dsl.analysis import passes as analysis

        return getattr(analysis, name)(policy)

    run.__name__ = name
    run.__doc__ = f"policy_dsl.analysis.passes.{name}"
    return run


def _grid(name: str):
    def run(policy: PolicySet) -> list[Diagnostic]:
        from policy_dsl.analysis.passes import grid_findings

        return grid_findings(policy)[name]

    run.__name__ = name
    run.__doc__ = f"the {name} pass over the probe grid (policy_dsl.analysis.passes.grid_findings)"
    return run


# Static analysis (policy_dsl/analysis/passes.py, docs/errors.md): cycles of every kind, facts no clause reads.
PASSES = PASSES + (("cycles", _analysis("cycles")), ("unread_facts", _analysis("unread_facts")))


# Passes over the probe grid (policy_dsl.analysis.grid through the evaluator), run by `policy-dsl
# check` only when PASSES found no error: expressions that fail on a probe, tied clauses that
# differ, delegated bounds breached, clauses that never govern, lower rules that differ from
# binding higher ones.
GRID_PASSES = tuple((name, _grid(name)) for name in ("probe_failures", "conflicts", "bounds", "shadowed", "hierarchy"))
