"""Stage: checks over a loaded policy set, as an ordered tuple of named passes. Each pass takes
the policy set and returns diagnostics; ``link`` also resolves references (adopt targets) and
must pass before anything is evaluated."""

from __future__ import annotations

import re
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, PolicyDslError, did_you_mean
from policy_dsl.language.expr import types as T
from policy_dsl.language.expr.parse import position_in_file
from policy_dsl.language.model import PolicySet
from policy_dsl.language.regions import default_registry


def link(policy: PolicySet) -> list[Diagnostic]:
    """References resolve: adopt targets (not themselves adopting), exception refs, forwards,
    unique clause and document ids, jurisdictions and adoption regions in the registry."""
    out = []
    seen_docs = {}
    for d in policy.documents:
        if d.id in seen_docs:
            out.append(Diagnostic("E-DUPLICATE-ID", f"document id `{d.id}` is used twice", d.where,
                                  f"first in {seen_docs[d.id].file}"))
        seen_docs[d.id] = d
        ids = {}
        for c in d.clauses:
            if c.id in ids:
                out.append(Diagnostic("E-DUPLICATE-ID", f"clause id `{c.id}` is used twice in {d.id}", c.where,
                                      f"first at line {ids[c.id].where.line}"))
            ids[c.id] = c
    registry = default_registry()
    for d in policy.documents:
        first, last = in_force_period(d)
        problem = registry.jurisdiction_problem(d.jurisdiction, first, last, d.jurisdiction_where or d.where)
        if problem is not None:
            out.append(problem)
        for f in d.forwards:
            if f not in seen_docs:
                out.append(Diagnostic("E-REFERENCE", f"`forwards` names unknown document `{f}`", d.where,
                                      did_you_mean(f, seen_docs) or "use a document id"))
        for c in d.clauses:
            for code, (_, _) in c.in_force.adoptions.items():
                r = registry.by_code.get(code)
                if r is None or not r.within(d.jurisdiction) or code == d.jurisdiction:
                    out.append(Diagnostic("E-ADOPTION-REGION", f"adoption region `{code}` is not a lower region of {d.jurisdiction}",
                                          c.where, "record adoptions by the cities inside the document's jurisdiction"))
            if c.outcome == "adopt":
                target = policy.clauses.get(c.adopt)
                if target is None:
                    out.append(Diagnostic("E-REFERENCE", f"`adopt` names unknown clause `{c.adopt}`", c.where,
                                          did_you_mean(c.adopt, policy.clauses) or "write document-id/clause-id"))
                elif target.outcome == "adopt":
                    out.append(Diagnostic("E-REFERENCE", f"`{c.adopt}` itself adopts `{target.adopt}`; adopt the clause that decides",
                                          c.where, f"adopt: {target.adopt}"))
                elif not set(c.topics) <= set(target.topics):
                    out.append(Diagnostic("E-REFERENCE", f"adopted clause `{c.adopt}` is about {', '.join(target.topics)}, "
                                          f"not {', '.join(c.topics)}", c.where, None))
                else:
                    c.adopted = target
            for dv in c.deviations:
                target = policy.clauses.get(dv.clause)
                if target is None:
                    out.append(Diagnostic("E-REFERENCE", f"`deviations` names unknown clause `{dv.clause}`", c.where,
                                          did_you_mean(dv.clause, policy.clauses) or "write document-id/clause-id"))
                    continue
                by = seen_docs.get(dv.document or target.doc.id)
                if by is None:
                    out.append(Diagnostic("E-REFERENCE", f"`authorised_by` names unknown document `{dv.document}`", c.where,
                                          did_you_mean(dv.document, seen_docs) or "use a document id"))
                elif target.doc.rank >= d.rank or by.rank >= d.rank:
                    low = target if target.doc.rank >= d.rank else by
                    out.append(Diagnostic("E-DEVIATION", f"{c.citation} declares a deviation from {target.citation}, but "
                                          f"{low.citation if low is target else low.number} is not of a higher level than {d.number}",
                                          c.where, "a deviation departs from, and is authorised by, a document of a higher level"))
            if isinstance(c.exception_to, list):
                for ref in c.exception_to:
                    if ref not in policy.clauses:
                        out.append(Diagnostic("E-REFERENCE", f"`exception_to` names unknown clause `{ref}`", c.where,
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
                authorising.setdefault(by, []).append((dv.text, c.where, f"{c.citation} deviations (from {dv.clause})"))
    for d in policy.documents:
        if "/" in d.source or "\\" in d.source or d.source in ("", ".", ".."):
            out.append(Diagnostic("E-SOURCE-MISSING", f"source `{d.source[:80]}` is not a file name", d.where,
                                  "name a file in the policies/sources/ folder beside the file, without a path"))
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
                why = exc.first.message if isinstance(exc, PolicyDslError) else "not UTF-8" if isinstance(
                    exc, UnicodeDecodeError) else "not found"
                out.append(Diagnostic("E-SOURCE-MISSING", f"source text `{d.source}` at {src}: {why}", d.where,
                                      "put the original text (UTF-8) in the policies/sources/ folder beside the file"))
                cache[src] = None
        text = cache[src]
        if text is None:
            continue
        quotes = [(c.text, c.where, c.citation) for c in d.clauses]
        quotes += [(s.text, d.where, f"{d.number} supersession {s.id}") for s in d.supersession]
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
                    out.append(Diagnostic("E-SOURCE-TEXT", f"{what}: quoted text not found in {d.source}: "
                                          f"`{piece[:40]}{'…' if len(piece) > 40 else ''}`", where,
                                          "quote the source verbatim (whitespace aside); elide with …"))
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
                out.append(_type_diag(exc, d.expr, f"definition {d.name} for {k}"))
    for doc in policy.documents:
        for c in doc.clauses:
            for topic in c.topics:
                kind = vocab.kinds[topic]
                scope = kind.scope(vocab)
                scope.update({name: t for (k, name), t in def_types.items() if k == topic})
                when_scope = scope
                if c.improves:  # the outputs (only) may read the answer of the rules it excepts
                    when_scope = T.Scope(scope, kinds=scope.kinds)
                    scope["excepted"] = T.answer_record(vocab, topic)
                if c.when is not None:
                    try:
                        t = T.infer(c.when.node, when_scope)
                        if not T.assignable(t, T.BOOL):
                            out.append(Diagnostic("E-TYPE", f"a condition must be true or false; `{c.when.text}` is a {t}",
                                                  c.when.where, "compare something, e.g. gap_months <= 3"))
                    except T.TypeError_ as exc:
                        out.append(_type_diag(exc, c.when, c.citation))
                for name, expr in c.decide:
                    if name not in kind.outputs:
                        out.append(Diagnostic("E-UNKNOWN-OUTPUT", f"`{name}` is not an output of {topic}", expr.where,
                                              did_you_mean(name, kind.outputs) or "outputs: " + ", ".join(kind.outputs)))
                        continue
                    try:
                        t = T.infer(expr.node, scope)
                    except T.TypeError_ as exc:
                        out.append(_type_diag(exc, expr, c.citation))
                        continue
                    want = vocab.output_type(name)
                    if not T.assignable(t, want):
                        out.append(Diagnostic("E-TYPE", f"output `{name}` is a {want}, but `{expr.text}` is a {t}",
                                              expr.where, _output_hint(want)))
                    scope[name] = want
                for k, expr in c.note_whens.items():  # a note's condition also reads the outputs decided above
                    try:
                        t = T.infer(expr.node, scope)
                        if not T.assignable(t, T.BOOL):
                            out.append(Diagnostic("E-TYPE", f"a note's condition must be true or false; `{expr.text}` is a {t}",
                                                  expr.where, "compare something, e.g. year(benefit_start) > benefit_year"))
                    except T.TypeError_ as exc:
                        out.append(_type_diag(exc, expr, f"{c.citation} notes[{k}]"))
                if c.evaluate_as:
                    target_kind, facts = c.evaluate_as
                    target = vocab.kinds[target_kind]
                    given = {n for n, _ in facts}
                    for missing in set(target.facts) - given:
                        out.append(Diagnostic("E-EVALUATE-AS", f"evaluate_as {target_kind} needs fact `{missing}`",
                                              c.where, None))
                    for n, expr in facts:
                        if n not in target.facts:
                            out.append(Diagnostic("E-UNKNOWN-FACT", f"{target_kind} has no fact `{n}`", expr.where,
                                                  did_you_mean(n, target.facts)))
                            continue
                        try:
                            t = T.infer(expr.node, scope)
                            want = T.from_spec(target.facts[n])
                            if not T.assignable(t, want):
                                out.append(Diagnostic("E-TYPE", f"fact `{n}` is a {want}, but `{expr.text}` is a {t}",
                                                      expr.where, None))
                        except T.TypeError_ as exc:
                            out.append(_type_diag(exc, expr, c.citation))
                    if target_kind == topic:
                        out.append(Diagnostic("E-CYCLE", f"evaluate_as {target_kind} from the same kind would never end",
                                              c.where, "evaluate as another kind"))
    return out


def _output_hint(want: T.Type) -> str:
    return {"date": "e.g. start(month(paid_on) + 1)", "int": "e.g. 3", "bool": "true or false"}.get(want.name, str(want))


def _type_diag(exc: T.TypeError_, expr, what: str) -> Diagnostic:
    span = exc.node.span
    where = position_in_file(expr.where, span.line, span.col, _quote_offset(expr))
    return Diagnostic(exc.code, f"{what}: {exc.message}", where, exc.hint)


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
            out.append(Diagnostic("E-DATE-NUMBER", f"issued {d.issued} but the number {d.number} says {m.group(1)}",
                                  d.where, "check `issued` against the 文号"))
        for c in d.clauses:
            f = c.in_force
            if f.start and f.until and f.until < f.start:
                out.append(Diagnostic("E-DATE-ORDER", f"{c.citation}: in force until {f.until}, before its start {f.start}",
                                      c.where, None))
            if f.lower_deadline and d.level == "city":
                out.append(Diagnostic("E-DATE-DEADLINE", f"{c.citation}: a city document has no lower level for a deadline",
                                      c.where, "remove lower_deadline"))
            if f.lower_deadline and f.start and f.lower_deadline < f.start:
                out.append(Diagnostic("E-DATE-ORDER", f"{c.citation}: deadline {f.lower_deadline} before start {f.start}",
                                      c.where, None))
    return out


def versions(policy: PolicySet) -> list[Diagnostic]:
    """Each document's encoding version has its changelog entry, and the changelog counts up."""
    out = []
    for d in policy.documents:
        numbers = [entry["version"] for entry in d.changelog]
        if d.version not in numbers:
            out.append(Diagnostic("E-VERSION", f"encoding version {d.version} has no changelog entry", d.where,
                                  f"add - {{version: {d.version}, date: \"YYYY-MM-DD\", change: …}} to encoding.changelog"))
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers) or (numbers and max(numbers) > d.version):
            out.append(Diagnostic("E-VERSION", f"changelog versions {numbers} do not count up to {d.version}", d.where,
                                  "one entry per version, oldest first, the last one the current version"))
    return out


def exceptions(policy: PolicySet) -> list[Diagnostic]:
    """Explicit exceptions form no cycle; an improving exception (``improves: true``) is an
    exception that decides."""
    out = []
    for c in (c for d in policy.documents for c in d.clauses):
        if c.improves and (c.exception_to is None or c.outcome != "decide"):
            missing = "`exception_to`" if c.exception_to is None else "a `decide` outcome"
            out.append(Diagnostic("E-IMPROVES", f"{c.citation}: `improves: true` without {missing}", c.where,
                                  "an improving exception names the rules it improves on (exception_to: all, or a "
                                  "list of clause refs) and decides outputs that may read `excepted`"))
        if isinstance(c.exception_to, list):
            for ref in c.exception_to:
                other = policy.clauses.get(ref)
                if other is not None and isinstance(other.exception_to, list) and c.ref in other.exception_to:
                    out.append(Diagnostic("E-CYCLE", f"{c.ref} and {ref} are exceptions to each other", c.where,
                                          "one of them must be the general rule"))
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


def _conflicts(policy: PolicySet) -> list[Diagnostic]:
    from policy_dsl.analysis.conflicts import find_conflicts

    return find_conflicts(policy)


# Static analysis (policy_dsl/analysis/passes.py, docs/errors.md): cycles of every kind, facts no clause reads.
PASSES = PASSES + (("cycles", _analysis("cycles")), ("unread_facts", _analysis("unread_facts")))

def _hierarchy(policy: PolicySet) -> list[Diagnostic]:
    from policy_dsl.analysis.hierarchy import hierarchy

    return hierarchy(policy)


# Passes over the probe grid (policy_dsl.analysis.grid through the evaluator), run by `policy-dsl
# check` only when PASSES found no error: expressions that fail on a probe, tied clauses that
# differ, delegated bounds breached, clauses that never govern, lower rules that differ from
# binding higher ones.
GRID_PASSES = (("probe_failures", _analysis("probe_failures")), ("conflicts", _conflicts), ("bounds", _analysis("bounds")),
               ("shadowed", _analysis("shadowed")), ("hierarchy", _hierarchy))
