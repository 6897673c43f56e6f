"""Stage: case files → validated cases. YAML, JSON or JSON Lines; one case, a list, or one per
line. Every problem names the case (id, index or line), the key, what was expected. JSON Lines
stream: cases are read and answered one at a time."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from policy_dsl.errors import Diagnostic, InputError, PolicyDslError, Where, did_you_mean
from policy_dsl.evaluate import Case
from policy_dsl.kinds import vocabulary
from policy_dsl.regions import Registry
from policy_dsl.values import parse_date, parse_month

MAX_CASE_FILE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
_COMMON = {"kind", "region", "id"}


@dataclass
class RawCase:
    """One case as read from a file, before validation."""

    data: object
    where: Where
    label: str  # how to name the case in messages: `id 7`, `case 3`, `line 12`


def read_cases(path: str, max_bytes: int = MAX_CASE_FILE_BYTES) -> tuple[str, Iterator[RawCase]]:
    """The shape of the file (``single`` | ``list`` | ``lines``) and its cases, lazily for JSON Lines.
    A file that cannot be read as a whole raises InputError at once."""
    p = Path(path)
    if path != "-" and not p.is_file():
        raise InputError(Diagnostic("E-CASE-FILE", f"no such case file `{path}`", Where(path), "check the path"))
    if path.endswith(".jsonl") or path.endswith(".ndjson"):
        return "lines", _jsonl(p)
    raw = p.read_bytes() if path != "-" else __import__("sys").stdin.buffer.read()
    from policy_dsl.yamlsafe import decode, load_yaml

    text = decode(raw, path, max_bytes)
    if path.endswith(".json"):
        data = _json_loads(text, path, None)
        loaded = None
    else:
        loaded = load_yaml(text, path)
        data = loaded.data
    if isinstance(data, list):
        def items():
            for i, item in enumerate(data):
                where = loaded.where((i,)) if loaded else Where(path)
                yield RawCase(item, where, _label(item, f"case {i}"))
        return "list", items()
    where = Where(path, 1, 1)
    return "single", iter([RawCase(data, where, _label(data, "the case"))])


def _label(item, default: str) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and not isinstance(item.get("id"), bool):
        return f"case `{item['id']}`"
    return default


def _reject_constant(name: str):
    raise ValueError(f"`{name}` is not a number")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key `{k}`")
        out[k] = v
    return out


def _json_loads(text: str, file: str, line: int | None):
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(Diagnostic("E-CASE-JSON", f"JSON: {exc.msg}",
                                    Where(file, (line or exc.lineno) if line else exc.lineno, exc.colno),
                                    "check brackets, commas and quotes")) from None
    except (ValueError, RecursionError) as exc:
        msg = str(exc) if isinstance(exc, ValueError) else "nesting too deep"
        raise InputError(Diagnostic("E-CASE-JSON", msg, Where(file, line), None)) from None


def _jsonl(path: Path) -> Iterator[RawCase]:
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            where = Where(str(path), n, 1)
            if len(raw) > MAX_LINE_BYTES:
                yield RawCase(InputError(Diagnostic("E-INPUT-SIZE", f"line is {len(raw):,} bytes; at most {MAX_LINE_BYTES:,}",
                                                    where, None)), where, f"line {n}")
                continue
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
                data = _json_loads(text, str(path), n)
            except UnicodeDecodeError:
                data = InputError(Diagnostic("E-INPUT-UTF8", "invalid UTF-8", where, "save the file as UTF-8"))
            except InputError as exc:
                data = exc
            yield RawCase(data, where, _label(data, f"line {n}"))


class CaseValidator:
    """Turns raw case data into Cases: types, dates that exist, regions valid on the decision date."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.vocab = vocabulary()

    def validate(self, raw: RawCase, as_of: dt.date | None = None) -> Case:
        data, where, label = raw.data, raw.where, raw.label
        if isinstance(data, PolicyDslError):
            raise data
        if not isinstance(data, dict):
            raise self._err("E-CASE-SHAPE", f"{label}: a case is a mapping with `kind` and `region`", where,
                            "e.g. {kind: arrears, region: 济南, worker: flexible, last_paid_month: 2022-06, paid_on: 2022-10-20}")
        for key in data:
            if not isinstance(key, str):
                raise self._err("E-CASE-KEY", f"{label}: key `{key}` is not a word", where, None)
        kind_name = data.get("kind")
        if kind_name is None:
            raise self._err("E-CASE-MISSING-KEY", f"{label}: missing key `kind`", where,
                            "kinds: " + ", ".join(self.vocab.kinds))
        if kind_name not in self.vocab.kinds:
            raise self._err("E-CASE-KIND", f"{label}: unknown kind `{kind_name}`", where,
                            did_you_mean(kind_name, self.vocab.kinds) or "kinds: " + ", ".join(self.vocab.kinds))
        kind = self.vocab.kinds[kind_name]
        allowed = set(kind.facts) | set(self.vocab.person_flags) | _COMMON
        for key in data:
            if key not in allowed:
                raise self._err("E-CASE-UNKNOWN-KEY", f"{label}: unknown key `{key}` for kind {kind_name}", where,
                                did_you_mean(key, allowed) or "keys: " + ", ".join(sorted(allowed)))
        if "region" not in data:
            raise self._err("E-CASE-MISSING-KEY", f"{label}: missing key `region`", where, "e.g. region: 济南")
        for name in kind.facts:
            if name not in data:
                raise self._err("E-CASE-MISSING-KEY", f"{label}: missing key `{name}` for kind {kind_name}", where,
                                _expected_form(kind.facts[name]))
        facts = {}
        decided_spec = kind.facts[kind.decided_on]
        decided = self._value(kind.decided_on, data[kind.decided_on], decided_spec, label, where, None)
        decision = decided.first_day() if decided_spec["type"] == "month" else decided
        day = as_of or decision
        for name, spec in kind.facts.items():
            facts[name] = self._value(name, data[name], spec, label, where, day)
        for flag in self.vocab.person_flags:
            if flag in data:
                facts[flag] = self._value(flag, data[flag], {"type": "bool"}, label, where, day)
        try:
            region = self.registry.resolve(data["region"], day, where)
        except InputError as exc:
            d = exc.first
            raise self._err(d.code, f"{label}: region: {d.message}", where, d.hint) from None
        case_id = data.get("id")
        if case_id is not None and (isinstance(case_id, bool) or not isinstance(case_id, (str, int))):
            raise self._err("E-CASE-TYPE", f"{label}: `id` must be text or a whole number", where, None)
        return Case(kind_name, region, facts, day, case_id, where)

    def _value(self, name, value, spec, label, where, day):
        t = spec["type"]
        expected = _expected_form(spec)
        if value is None and spec.get("optional"):
            return None
        if t == "date":
            if isinstance(value, str) and (d := parse_date(value)):
                return d
            bad = "an impossible date" if isinstance(value, str) and len(value) == 10 and value[4] == "-" else "not a date"
            raise self._err("E-CASE-DATE", f"{label}: `{name}`: `{_show(value)}` is {bad}", where, expected)
        if t == "month":
            if isinstance(value, str) and (m := parse_month(value)):
                return m
            raise self._err("E-CASE-MONTH", f"{label}: `{name}`: `{_show(value)}` is not a month", where, expected)
        if t == "bool":
            if isinstance(value, bool):
                return value
            raise self._err("E-CASE-TYPE", f"{label}: `{name}`: expected true or false, found `{_show(value)}`", where, expected)
        if t in ("int", "number"):
            ok = isinstance(value, int) and not isinstance(value, bool)
            if t == "number" and isinstance(value, float):
                ok = math.isfinite(value)
            if not ok or abs(value) > 10**6:
                raise self._err("E-CASE-TYPE", f"{label}: `{name}`: expected {'a whole number' if t == 'int' else 'a number'}, "
                                f"found `{_show(value)}`", where, expected)
            return value
        if t == "enum":
            if value in spec["values"]:
                return value
            raise self._err("E-CASE-VALUE", f"{label}: `{name}`: `{_show(value)}` is not one of {'|'.join(spec['values'])}",
                            where, did_you_mean(value, spec["values"]) or expected)
        if t == "region":
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise self._err("E-CASE-TYPE", f"{label}: `{name}`: expected a region", where, expected)
            try:
                return self.registry.resolve(value, day, where)
            except InputError as exc:
                d = exc.first
                raise self._err(d.code, f"{label}: `{name}`: {d.message}", where, d.hint) from None
        if t == "list":
            if not isinstance(value, list) or (spec.get("length") and len(value) != spec["length"]):
                raise self._err("E-CASE-TYPE", f"{label}: `{name}`: expected a list of {spec.get('length', '')} items".replace("  ", " "),
                                where, expected)
            items = []
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    raise self._err("E-CASE-TYPE", f"{label}: `{name}[{i}]`: expected a mapping", where, expected)
                for key in item:
                    if key not in spec["items"]:
                        raise self._err("E-CASE-UNKNOWN-KEY", f"{label}: unknown key `{name}[{i}].{key}`", where,
                                        did_you_mean(key, spec["items"]) or "keys: " + ", ".join(spec["items"]))
                rec = {}
                for field_name, field_spec in spec["items"].items():
                    if field_name not in item:
                        if field_spec.get("optional"):
                            rec[field_name] = None
                            continue
                        raise self._err("E-CASE-MISSING-KEY", f"{label}: missing key `{name}[{i}].{field_name}`", where,
                                        _expected_form(field_spec))
                    rec[field_name] = self._value(f"{name}[{i}].{field_name}", item[field_name], field_spec, label, where, day)
                items.append(rec)
            return items
        raise AssertionError(t)

    @staticmethod
    def _err(code, message, where, hint) -> InputError:
        return InputError(Diagnostic(code, message, where, hint))


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:59] + "…"


def _expected_form(spec: dict) -> str:
    t = spec["type"]
    return {
        "date": "a date YYYY-MM-DD that exists, e.g. 2022-10-20",
        "month": "a month YYYY-MM, e.g. 2022-06",
        "bool": "true or false",
        "int": "a whole number, e.g. 2024",
        "number": "a number, e.g. 2.5",
        "region": "a GB/T 2260 code, Chinese name or pinyin, e.g. 370100, 济南 or jinan",
        "enum": "one of " + "|".join(spec.get("values", ())),
        "list": "a list of mappings",
    }[t]
