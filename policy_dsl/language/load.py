"""Stage 1: policy files → documents. Reads YAML safely with positions, validates against the
JSON Schema (unknown, duplicate, missing keys and wrong types with file:line:col and a hint),
parses every expression, and builds the model. Collects every diagnostic rather than stopping
at the first."""

from __future__ import annotations

import datetime as dt
import functools
import json

from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, PolicyDslError, PolicyError, Where, did_you_mean
from policy_dsl.language.messages import N_, join, t
from policy_dsl.language.model import Clause, Deviation, Definition, Document, Expr, InForce, PolicySet, Supersession
from policy_dsl.language.files import (KINDS_FILES, MAX_POLICY_BYTES, POLICY_SUFFIXES, _display,  # noqa: F401 - also named
                                        is_policy_name, kinds_file, kinds_file_name, path_name, policy_file_names,  # from here
                                        policy_files)

TYPE_CHECKING = False
if TYPE_CHECKING:  # yaml, jsonschema and lark are imported only when files are read: a cached set needs none
    from pathlib import Path  # nor pathlib: the start-up path names files by str (policy_file_names)

    from policy_dsl.language.yamlsafe import Loaded

MAX_FILES = 500


@functools.cache
def policy_schema() -> dict:
    return json.loads(resources.schema_path("policy").read_text(encoding="utf-8"))


@functools.cache
def _validator(which: str = "policy", kinds: tuple[str, ...] | None = None):
    """The validator of a policy file (``kinds``: the kinds of the policy set's own kinds table,
    in place of the packaged ones the shipped schema lists) or of a kinds table."""
    import jsonschema  # only when policy files are read (a cached policy set needs none of it)

    schema = policy_schema() if which == "policy" else json.loads(resources.schema_path(which).read_text(encoding="utf-8"))
    if kinds is not None:
        from policy_dsl.language.kinds import vocabulary

        schema = _with_kinds(schema, sorted(vocabulary().kinds), list(kinds))
    # JSON Schema's patterns are ECMA 262, where `$` is the end of the text; Python's re.search
    # lets `$` match before a final line end ("jn-2022-2\n" would pass as an id): read as `\Z`
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _whole_pattern})
    return cls(schema)


def _whole_pattern(validator, pattern: str, instance, schema):
    import re

    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _with_kinds(schema, packaged: list[str], kinds: list[str]):
    """The schema with each list of the packaged kinds (``enum``) replaced by ``kinds``."""
    if isinstance(schema, dict):
        return {k: (kinds if k == "enum" and isinstance(v, list) and sorted(v) == packaged else _with_kinds(v, packaged, kinds))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_with_kinds(v, packaged, kinds) for v in schema]
    return schema


def load_kinds(path: Path, diags: list[Diagnostic], display: str | None = None, raw_out: list | None = None):
    """A policy folder's kinds table, validated against ``schemas/kinds.schema.json`` and for
    consistency (the decision fact is a date or month; listed outputs exist; a fact placed
    relative to another names a date or month fact of the same kind). None, with diagnostics
    added, if it is not usable."""
    from policy_dsl.language.kinds import build_vocabulary

    name = display or str(path)
    loaded = read_policy_file(path, diags, name, raw_out)
    if loaded is None:
        return None
    if not isinstance(loaded.data, dict):
        diags.append(Diagnostic("E-KINDS", t("kinds.not_a_mapping"), Where(name, 1, 1), t("kinds.not_a_mapping.hint")))
        return None
    found = _schema_diagnostics(loaded, "kinds")
    if found:
        diags.extend(found)
        return None
    data = loaded.data
    before = len(diags)
    for kind_name, spec in data["kinds"].items():
        facts = spec["facts"]
        decided = facts.get(spec["decided_on"])
        if decided is None or decided["type"] not in ("date", "month"):
            diags.append(Diagnostic("E-KINDS", t("kinds.decided_on", kind=kind_name, fact=spec["decided_on"]),
                                    loaded.where(("kinds", kind_name, "decided_on")), did_you_mean(spec["decided_on"], facts)))
        for i, out in enumerate(spec["outputs"]):
            if out not in data["outputs"]:
                diags.append(Diagnostic("E-KINDS", t("kinds.unknown_output", kind=kind_name, output=out),
                                        loaded.where(("kinds", kind_name, "outputs", i)),
                                        did_you_mean(out, data["outputs"]) or t("kinds.unknown_output.hint")))
        specs = [(("kinds", kind_name, "facts", f), s) for f, s in facts.items()]
        specs += [(("kinds", kind_name, "facts", f, "items", g), t) for f, s in facts.items()
                  for g, t in (s.get("items") or {}).items()]
        for path_, fact in specs:
            for key in ("before", "after", "around", "year_of"):
                anchor = fact.get(key)
                if anchor is not None and (anchor not in facts or facts[anchor]["type"] not in ("date", "month")):
                    diags.append(Diagnostic("E-KINDS", t("kinds.anchor", kind=kind_name, key=key, fact=anchor),
                                            loaded.where(path_ + (key,)), did_you_mean(anchor, facts)))
            if fact.get("range") and fact["range"][0] > fact["range"][1]:
                diags.append(Diagnostic("E-KINDS", t("kinds.range_down", kind=kind_name, range=fact["range"]),
                                        loaded.where(path_ + ("range",)), t("kinds.range_down.hint")))
    if len(diags) > before:
        return None
    from policy_dsl.language.kinds import _constraints

    try:
        constraints = _constraints(loaded)
    except PolicyDslError as exc:
        diags.extend(exc.diagnostics)
        return None
    return build_vocabulary(data, constraints, name, str(path))


def read_policy_file(path: Path, diags: list[Diagnostic], display: str | None = None,
                     raw_out: list | None = None) -> Loaded | None:
    """The YAML of one policy file, or None with its diagnostics added to ``diags``; its bytes are
    appended to ``raw_out`` when given (the file is read once)."""
    from policy_dsl.language.safeio import read_limited

    name = display or str(path)
    try:  # stat before reading: a folder, a device, a pipe or a file over the limit is refused unread
        raw = read_limited(path, MAX_POLICY_BYTES, name, PolicyError, code="E-FILE")
        if raw_out is not None:
            raw_out.append(raw)
        from policy_dsl.language.yamlsafe import decode, load_yaml

        text = decode(raw, name, MAX_POLICY_BYTES, PolicyError)
        return load_yaml(text, name, PolicyError)
    except PolicyDslError as exc:
        diags.extend(exc.diagnostics)
        return None


def _schema_diagnostics(loaded: Loaded, which: str = "policy", kinds: tuple[str, ...] | None = None) -> list[Diagnostic]:
    out = []
    errors = _validator(which, kinds).iter_errors(loaded.data)
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        out.extend(_explain(error, loaded))
    # keep the first diagnostic per position and code
    seen, unique = set(), []
    for d in out:
        key = (str(d.where), d.code, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


_OUTCOME_KEYS = ("decide", "delegate", "adopt", "reject", "evaluate_as", "inform")


def _explain(error, loaded: Loaded) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    v = error.validator
    if v == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extras = [k for k in error.instance if k not in allowed]
        return [Diagnostic("E-SCHEMA-UNKNOWN-KEY", t("schema.unknown_key", key=k, at=_in(path)),
                           loaded.where(path + (k,), key=True), did_you_mean(k, allowed) or t("schema.allowed_keys", keys=join(allowed)))
                for k in extras]
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [Diagnostic("E-SCHEMA-MISSING-KEY", t("schema.missing_key", key=missing, at=_in(path)), loaded.where(path, key=True),
                           _example(missing))]
    if v == "oneOf" and isinstance(error.instance, dict) and "topic" in error.schema.get("properties", {}):
        present = [k for k in _OUTCOME_KEYS if k in error.instance]
        if len(present) != 1:
            what = t("schema.none") if not present else join(present)
            return [Diagnostic("E-SCHEMA-OUTCOME", t("schema.one_outcome", found=what, at=_in(path)),
                               loaded.where(path), t("schema.one_outcome.hint"))]
    if v in ("oneOf", "anyOf") and error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path) or v == "oneOf":
            sub = _explain(deepest, loaded)
            if sub:
                return sub
    if v == "anyOf" and not path:
        return [Diagnostic("E-SCHEMA-SHAPE", t("schema.shape"), loaded.where(()), t("schema.see_language"))]
    if v == "type":
        want = error.validator_value
        return [Diagnostic("E-SCHEMA-TYPE", t("schema.type", want=_words(want), found=_describe(error.instance), at=_in(path)),
                           loaded.where(path), _type_hint(path, want))]
    if v == "pattern":
        return [Diagnostic("E-SCHEMA-FORMAT", t("schema.format", value=error.instance, at=_in(path)),
                           loaded.where(path), _pattern_hint(error.validator_value))]
    if v in ("enum", "const"):
        allowed = error.validator_value if v == "enum" else [error.validator_value]
        return [Diagnostic("E-SCHEMA-VALUE", t("schema.value", value=error.instance, at=_in(path)), loaded.where(path),
                           did_you_mean(error.instance, allowed) or t("schema.one_of", values=join(map(str, allowed))))]
    return [Diagnostic("E-SCHEMA", t("schema.other", problem=error.message[:200], at=_in(path)), loaded.where(path),
                       t("schema.see_language"))]


def _in(path) -> str:
    return t("schema.in", path=".".join(map(str, path))) if path else ""


_TYPE_WORDS = {"string": N_("schema.text"), "object": N_("schema.mapping"), "array": N_("schema.list"),
               "integer": N_("schema.integer"), "number": N_("schema.number"), "boolean": N_("schema.boolean"),
               "null": N_("schema.nothing")}


def _words(want) -> str:
    if isinstance(want, list):
        return t("schema.or").join(_words(w) for w in want)
    return t(_TYPE_WORDS[want]) if want in _TYPE_WORDS else want


def _describe(value) -> str:
    if isinstance(value, bool):
        return t("schema.true_false")
    if isinstance(value, (int, float)):
        return t("schema.the_number", number=value)
    if isinstance(value, list):
        return t("schema.list")
    if isinstance(value, dict):
        return t("schema.mapping")
    if value is None:
        return t("schema.nothing")
    return f"`{str(value)[:40]}`"


def _type_hint(path, want) -> str | None:
    if path and str(path[-1]) in ("jurisdiction",):
        return t("schema.quote_codes")
    return None


def _pattern_hint(pattern: str) -> str:
    if "\\d{4}-\\d{2}-\\d{2}" in pattern:
        return t("schema.date_form.hint")
    if "\\d{6}" in pattern:
        return t("schema.code_form.hint")
    if "/" in pattern:
        return t("schema.ref_form.hint")
    return t("schema.id_form.hint")


_EXAMPLES = {"id": "id: arrears-employed", "topic": "topic: arrears", "article": "article: 一(二)",
             "number": "number: 鲁医保发〔2021〕54号", "level": "level: national | province | city",
             "jurisdiction": 'jurisdiction: "370000"', "issued": 'issued: "2021-12-15"',
             "in_force": 'in_force: {from: "2021-12-15"}'}


def _example(key: str) -> str | None:
    if key == "text":
        return t("schema.example_text")
    return t("schema.example", example=_EXAMPLES[key]) if key in _EXAMPLES else None


def _date(text) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _checked_date(text, loaded: Loaded, path, diags) -> dt.date | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        diags.append(Diagnostic("E-DATE", t("date.does_not_exist", text=text), loaded.where(path),
                                t("schema.example", example="2022-02-28")))
        return None
    from policy_dsl.language.safeio import DATE_MAX, DATE_MIN, date_in_range

    if not date_in_range(day):  # date arithmetic on it would leave the calendar (year 1, year 10000)
        diags.append(Diagnostic("E-DATE", t("safeio.out_of_range", what=t("load.policy_date"), value=text,
                                            first=DATE_MIN.year, last=DATE_MAX.year),
                                loaded.where(path), t("safeio.out_of_range.hint")))
        return None
    return day


def _expr(value, loaded: Loaded, path, diags: list[Diagnostic]) -> Expr | None:
    """Parse the expression at ``path``; YAML numbers, booleans and null are literals."""
    from policy_dsl.language.expr.parse import ExprSyntaxError, parse_expression, position_in_file

    where = loaded.where(path)
    text = value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    try:
        node = parse_expression(text)
    except ExprSyntaxError as exc:
        line_text = _source_line(loaded, where)
        quoted = bool(line_text) and where.col is not None and line_text[where.col - 1: where.col] in "\"'"
        diags.append(Diagnostic("E-EXPR-SYNTAX", t("expr.syntax_in", problem=exc.message, text=_clip(text)),
                                position_in_file(where, exc.line, exc.col, 1 if quoted else 0), exc.hint))
        return None
    return Expr(text, node, where)  # its closures are compiled when first used


@functools.lru_cache(maxsize=64)
def _file_lines(file: str) -> tuple[str, ...]:
    from policy_dsl.language.safeio import read_text

    try:
        return tuple(read_text(file, MAX_POLICY_BYTES, cls=PolicyError).splitlines())
    except PolicyDslError:
        return ()


def _source_line(loaded: Loaded, where: Where) -> str:
    lines = _file_lines(loaded.file)
    if where.line and 0 < where.line <= len(lines):
        return lines[where.line - 1]
    return ""


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _in_force(spec: dict | None, loaded: Loaded, path, diags) -> InForce | None:
    if spec is None:
        return None
    adoptions = {}
    for i, a in enumerate(spec.get("adoptions", [])):
        adoptions[a["region"]] = (_checked_date(a["from"], loaded, path + ("adoptions", i, "from"), diags), a["by"])
    return InForce(
        start=_checked_date(spec.get("from"), loaded, path + ("from",), diags),
        until=_checked_date(spec.get("until"), loaded, path + ("until",), diags),
        lower_deadline=_checked_date(spec.get("lower_deadline"), loaded, path + ("lower_deadline",), diags),
        text=spec.get("text"),
        adoptions=adoptions,
    )


def build_document(loaded: Loaded, diags: list[Diagnostic]) -> tuple[Document | None, list[Definition]]:
    """The Document (or None for a definitions file) and the definitions of one validated file."""
    data = loaded.data
    definitions = []
    for i, d in enumerate(data.get("definitions", [])):
        expr = _expr(d["expr"], loaded, ("definitions", i, "expr"), diags)
        if expr:
            definitions.append(Definition(d["name"], tuple(d["kinds"]), expr, d.get("reading"), loaded.file))
    if "document" not in data:
        return None, definitions
    dd = data["document"]
    doc = Document(
        id=dd["id"], number=dd["number"], aliases=list(dd.get("aliases", [])), title=dd["title"],
        issuers=list(dd["issuers"]), level=dd["level"], jurisdiction=dd["jurisdiction"],
        issued=_checked_date(dd["issued"], loaded, ("document", "issued"), diags) or dt.date.min,
        issued_precision=dd.get("issued_precision", "day"), source=dd["source"],
        forwards=list(dd.get("forwards", [])),
        in_force=_in_force(dd["in_force"], loaded, ("document", "in_force"), diags) or InForce(),
        version=dd["encoding"]["version"], changelog=list(dd["encoding"]["changelog"]),
        supersession=[Supersession(s["id"], s["kind"], s.get("article"), s["text"]) for s in dd.get("supersession", [])],
        file=loaded.file, where=loaded.where(("document",)), jurisdiction_where=loaded.where(("document", "jurisdiction")),
    )
    for i, cd in enumerate(data.get("clauses", [])):
        path = ("clauses", i)
        topics = cd["topic"] if isinstance(cd["topic"], list) else [cd["topic"]]
        clause = Clause(
            doc=doc, id=cd["id"], topics=tuple(topics), article=cd["article"], text=cd["text"],
            in_force=doc.in_force.merged(_in_force(cd.get("in_force"), loaded, path + ("in_force",), diags)),
            where=loaded.where(path + ("id",)),
            reading=cd.get("reading"), notes=list(cd.get("notes", [])), exception_to=cd.get("exception_to"),
            improves=bool(cd.get("improves", False)),
            deviations=[Deviation(d["from"], d["text"], d.get("authorised_by"), d.get("reading"))
                        for d in cd.get("deviations", [])],
        )
        if "when" in cd:
            clause.when = _expr(cd["when"], loaded, path + ("when",), diags)
        for k, note in enumerate(clause.notes):
            if "when" in note:
                expr = _expr(note["when"], loaded, path + ("notes", k, "when"), diags)
                if expr:
                    clause.note_whens[k] = expr
        if "decide" in cd:
            clause.outcome = "decide"
            for name, value in cd["decide"].items():
                expr = _expr(value, loaded, path + ("decide", name), diags)
                if expr:
                    clause.decide.append((name, expr))
        elif "delegate" in cd:
            clause.outcome = "delegate"
            clause.delegate_to = cd["delegate"]["to"]
            clause.bounds = cd["delegate"].get("bounds")
            if "outputs" in cd["delegate"]:
                clause.delegated = tuple(cd["delegate"]["outputs"])
        elif "adopt" in cd:
            clause.outcome = "adopt"
            clause.adopt = cd["adopt"]
        elif "reject" in cd:
            clause.outcome = "reject"
            clause.reject = cd["reject"]
        elif "inform" in cd:
            clause.outcome = "inform"
            clause.inform = cd["inform"]
        elif "evaluate_as" in cd:
            clause.outcome = "evaluate_as"
            facts = []
            for name, value in cd["evaluate_as"]["facts"].items():
                expr = _expr(value, loaded, path + ("evaluate_as", "facts", name), diags)
                if expr:
                    facts.append((name, expr))
            clause.evaluate_as = (cd["evaluate_as"]["kind"], facts)
        doc.clauses.append(clause)
    return doc, definitions


def load_files(files: list[Path], display_root: Path | None = None) -> tuple[PolicySet | None, list[Diagnostic], dict]:
    """Read, validate and build every file. Returns the policy set (None if any file failed to
    build), all diagnostics, and the Loaded data by file name (for later passes)."""
    diags: list[Diagnostic] = []
    documents, definitions, loaded_by_file = [], {}, {}
    import hashlib

    digest = hashlib.sha256()
    if len(files) > MAX_FILES:
        diags.append(Diagnostic("E-FILE", t("load.too_many_files", count=len(files), limit=MAX_FILES), Where(), None))
        return None, diags, {}
    failed = False
    vocab = None
    kinds_path = kinds_file(files)
    if kinds_path is not None:
        display = _display(kinds_path, display_root)
        kinds_raw: list[bytes] = []
        vocab = load_kinds(kinds_path, diags, display, kinds_raw)
        if vocab is None:
            failed = True
        else:
            digest.update(display.encode() + b"\0" + kinds_raw[0])
    for path in files:
        display = _display(path, display_root)
        raw: list[bytes] = []
        loaded = read_policy_file(path, diags, display, raw)
        if loaded is None:
            failed = True
            continue
        loaded_by_file[display] = loaded
        digest.update(display.encode() + b"\0" + raw[0])
        if not isinstance(loaded.data, dict):
            diags.append(Diagnostic("E-SCHEMA-SHAPE", t("schema.not_a_mapping"), Where(display, 1, 1), t("schema.see_language")))
            failed = True
            continue
        schema_diags = _schema_diagnostics(loaded, "policy", tuple(vocab.kinds) if vocab is not None else None)
        if schema_diags:
            diags.extend(schema_diags)
            failed = True
            continue
        before = len(diags)
        doc, defs = build_document(loaded, diags)
        if len(diags) > before:
            failed = True
        if doc is not None:
            documents.append(doc)
        for d in defs:
            if d.name in definitions:
                diags.append(Diagnostic("E-DUPLICATE-ID", t("load.definition_twice", name=d.name), d.expr.where,
                                        t("load.definition_twice.hint", file=definitions[d.name].file)))
                failed = True
            definitions[d.name] = d
    if failed:
        return None, diags, loaded_by_file
    documents.sort(key=lambda d: (d.rank, d.issued, d.id))
    return (PolicySet(documents, definitions, [str(f) for f in files], digest.hexdigest(), vocab=vocab), diags,
            loaded_by_file)
