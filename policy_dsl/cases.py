"""Stage: case files → validated cases. YAML, JSON or JSON Lines; one case, a list, or one per
line. Every problem names the case (id, index or line), the key, what was expected. JSON Lines
stream: cases are read and answered one at a time."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from policy_dsl.records import dataclass  # dataclasses, quicker to import (records.py)
from pathlib import Path

from policy_dsl.errors import Diagnostic, InputError, PolicyDslError, Where, did_you_mean
from policy_dsl.evaluate import Case
from policy_dsl.kinds import vocabulary
from policy_dsl.regions import Registry
from policy_dsl.safeio import DATE_MAX, DATE_MIN, clip, date_in_range, range_error
from policy_dsl.values import parse_date, parse_month

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs an import at every start
    from typing import Iterator

MAX_CASE_FILE_BYTES = 32 * 1024 * 1024  # a JSON case file (one case or a list), checked with stat before reading
MAX_YAML_CASE_BYTES = 8 * 1024 * 1024  # a YAML case file (YAML is slower to read: use JSON or JSON Lines for big batches)
MAX_CASES = 100_000  # cases in one JSON or YAML file; JSON Lines streams and has no such limit
MAX_LINE_BYTES = 1024 * 1024  # one JSON Lines line
MAX_BAD_LINES = 1000  # JSON Lines: stop after this many lines that are not JSON (it is not a JSON Lines file)
_COMMON = {"kind", "region", "id"}


@dataclass
class RawCase:
    """One case as read from a file, before validation."""

    data: object
    where: Where
    label: str  # how to name the case in messages: `id 7`, `case 3`, `line 12`
    clean: bool = False  # known to hold no lone surrogate (JSON text without a \u escape): no need to look


def read_cases(path: str, max_bytes: int = MAX_CASE_FILE_BYTES) -> tuple[str, Iterator[RawCase]]:
    """The shape of the file (``single`` | ``list`` | ``lines``) and its cases, lazily for JSON Lines.
    A file that cannot be read as a whole raises InputError at once: its size is checked with
    ``stat`` before it is read, a JSON list is checked (syntax, number of cases) before any case
    is answered, so no answer is given from a file that turns out to be broken further on."""
    from policy_dsl.safeio import read_limited, read_stdin_limited

    p = Path(path)
    if path != "-" and not os.path.lexists(path):  # never raises (a name too long, a NUL byte)
        raise InputError(Diagnostic("E-CASE-FILE", f"no such case file `{clip(path)}`", Where(path), "check the path"))
    is_json = path.endswith(".json")
    limit = max_bytes if is_json else min(max_bytes, MAX_YAML_CASE_BYTES)
    if path.endswith(".jsonl") or path.endswith(".ndjson"):
        if not os.path.isfile(path):
            read_limited(p, 0, path, code="E-CASE-FILE")  # refuses a folder, a device, a pipe
        return "lines", _jsonl(p)
    raw = read_limited(p, limit, path, code="E-CASE-FILE") if path != "-" else read_stdin_limited(limit)
    from policy_dsl.safeio import decode

    text = decode(raw, path, limit)
    del raw
    if is_json:
        shape, items = _json_cases(text, path)
        if shape == "single":
            return "single", iter([RawCase(items, Where(path, 1, 1), _label(items, "the case"))])
        return "list", items
    from policy_dsl.yamlsafe import load_yaml  # yaml only for a YAML file

    loaded = load_yaml(text, path)
    data = loaded.data
    if isinstance(data, list):
        if len(data) > MAX_CASES:
            raise _too_many(path)

        def items():
            for i, item in enumerate(data):
                yield RawCase(item, loaded.where((i,)), _label(item, f"case {i}"))
        return "list", items()
    where = Where(path, 1, 1)
    return "single", iter([RawCase(data, where, _label(data, "the case"))])


def _too_many(path: str) -> InputError:
    return InputError(Diagnostic("E-INPUT-SIZE", f"more than {MAX_CASES:,} cases in one file", Where(path),
                                 "give big batches as JSON Lines (.jsonl, one case a line), which is read as it goes"))


def _label(item, default: str) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and not isinstance(item.get("id"), bool):
        case_id = item["id"]
        if case_id.__class__ is int and -10**39 < case_id < 10**39:  # what clip would give: its digits
            return f"case `{case_id}`"
        return f"case `{clip(case_id, 40)}`"
    return default


def _reject_constant(name: str):
    raise ValueError(f"`{name}` is not a number")


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):  # some key twice: name the first one repeated
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"duplicate key `{clip(k, 40)}`")
            seen.add(k)
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
_WS = re.compile(r"[ \t\n\r]*")


def _json_loads(text: str, file: str, line: int | None):
    try:
        try:  # json.loads(text, object_pairs_hook=…, parse_constant=…), the common case straight to the C scanner
            data, end = _DECODER.scan_once(text, 0)
        except StopIteration:
            end = -1
        if end == len(text) or (end > 0 and not text[end:].strip(" \t\n\r")):
            return data
        return _DECODER.decode(text)  # anything else, and the error it makes
    except json.JSONDecodeError as exc:
        raise InputError(Diagnostic("E-CASE-JSON", f"JSON: {exc.msg}",
                                    Where(file, (line or exc.lineno) if line else exc.lineno, exc.colno),
                                    "check brackets, commas and quotes")) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(Diagnostic("E-CASE-JSON", _json_value_error(exc), Where(file, line), None)) from None


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _json_cases(text: str, file: str):
    """A JSON case file: ``("single", data)``, or ``("list", lazy RawCases)`` for a top-level
    list. A list is checked first — every item parsed and dropped, at most MAX_CASES of them —
    so memory holds the text and one case, and a broken file is refused before any answer."""
    pos = _WS.match(text, 0).end()
    if not text.startswith("[", pos):
        return "single", _json_loads(text, file, None)
    starts = []
    i = _WS.match(text, pos + 1).end()
    if text.startswith("]", i):
        i += 1
    else:
        while True:
            _, end = _decode_at(text, i, file)
            starts.append(i)
            if len(starts) > MAX_CASES:
                raise _too_many(file)
            i = _WS.match(text, end).end()
            if text.startswith(",", i):
                i = _WS.match(text, i + 1).end()
                continue
            if text.startswith("]", i):
                i += 1
                break
            line, col = _position(text, i)
            raise InputError(Diagnostic("E-CASE-JSON", "JSON: expected `,` or `]` after a case", Where(file, line, col),
                                        "check brackets, commas and quotes"))
    i = _WS.match(text, i).end()
    if i != len(text):
        line, col = _position(text, i)
        raise InputError(Diagnostic("E-CASE-JSON", "JSON: extra data after the list", Where(file, line, col),
                                    "one JSON value a file; for one case a line, use .jsonl"))

    def items():
        for n, start in enumerate(starts):
            item, _ = _decode_at(text, start, file)
            line, col = _position(text, start)
            yield RawCase(item, Where(file, line, col), _label(item, f"case {n}"))

    return "list", items()


def _decode_at(text: str, pos: int, file: str) -> tuple[object, int]:
    """The JSON value starting at ``pos`` and where it ends."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise InputError(Diagnostic("E-CASE-JSON", f"JSON: {exc.msg}", Where(file, exc.lineno, exc.colno),
                                    "check brackets, commas and quotes")) from None
    except (ValueError, RecursionError) as exc:
        line, col = _position(text, pos)
        raise InputError(Diagnostic("E-CASE-JSON", _json_value_error(exc), Where(file, line, col), None)) from None


def _json_value_error(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if "integer string conversion" in str(exc):
        return "JSON: a number with more than 4300 digits"
    return clip(exc, 200)


def _jsonl(path: Path) -> Iterator[RawCase]:
    """One case a line, read as it goes: a line longer than MAX_LINE_BYTES is an error for that
    line (never held in memory whole); after MAX_BAD_LINES lines that are not JSON the file is
    refused (it is not JSON Lines)."""
    bad = 0
    name = str(path)
    with path.open("rb") as fh:
        n = 0
        while True:
            raw = fh.readline(MAX_LINE_BYTES + 1)
            if not raw:
                break
            n += 1
            where = Where(name, n, 1)
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                size = len(raw)
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a chunk at a time
                    raw = fh.readline(MAX_LINE_BYTES)
                    size += len(raw)
                bad += 1
                yield RawCase(InputError(Diagnostic("E-INPUT-SIZE", f"line is {size:,} bytes; at most {MAX_LINE_BYTES:,}",
                                                    where, "one case a line")), where, f"line {n}")
                continue
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
                data = _json_loads(text, name, n)
            except UnicodeDecodeError:
                data = InputError(Diagnostic("E-INPUT-UTF8", "invalid UTF-8", where, "save the file as UTF-8"))
            except InputError as exc:
                data = exc
            if isinstance(data, InputError):
                bad += 1
                if bad > MAX_BAD_LINES:
                    raise InputError(Diagnostic(
                        "E-CASE-JSON", f"more than {MAX_BAD_LINES:,} lines are not JSON; stopped at line {n:,}", where,
                        "is this a JSON Lines file (one JSON case a line)?"))
            # valid UTF-8 holds no surrogate: only a \u escape could make one (_check_text)
            yield RawCase(data, where, _label(data, f"line {n}"), b"\\u" not in raw)


# Converted fact values, by (name, type, the value's class, the value): a batch repeats the same
# dates, months and numbers, and their conversion depends on nothing else (not the day, not the
# registry), so each is checked once. Only successes are kept; errors are raised afresh each time.
_CONVERTED: dict = {}
_BOOL = {"type": "bool"}  # a person flag's spec
_REMEMBERED_TYPES = frozenset({"date", "month", "bool", "int", "number"})


def _remember_successes(convert):
    def value(self, name, value, spec, label, where, day):
        t = spec["type"]
        if t not in _REMEMBERED_TYPES or value.__class__ not in (str, int, float, bool):
            return convert(self, name, value, spec, label, where, day)
        key = (name, t, value.__class__, value)
        try:
            return _CONVERTED[key]
        except KeyError:
            pass
        out = convert(self, name, value, spec, label, where, day)
        if len(_CONVERTED) >= 100_000:
            _CONVERTED.clear()
        _CONVERTED[key] = out
        return out

    value.__doc__ = convert.__doc__
    return value


class CaseValidator:
    """Turns raw case data into Cases: types, dates that exist, regions valid on the decision date."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.vocab = vocabulary()
        self._allowed: dict = {}  # kind -> the keys a case of that kind may have
        self._shapes: dict = {}  # kind -> what _fast checks: (allowed keys, required keys, facts, decided_on, is a month)

    def validate(self, raw: RawCase, as_of: dt.date | None = None) -> Case:
        case = self._fast(raw, as_of)
        if case is not None:
            return case
        data, where, label = raw.data, raw.where, raw.label
        if isinstance(data, PolicyDslError):
            raise data
        if not raw.clean:
            _check_text(data, where)
        if not isinstance(data, dict):
            raise self._err("E-CASE-SHAPE", f"{label}: a case is a mapping with `kind` and `region`", where,
                            "e.g. {kind: arrears, region: 济南, worker: flexible, last_paid_month: 2022-06, paid_on: 2022-10-20}")
        for key in data:
            if not isinstance(key, str):
                raise self._err("E-CASE-KEY", f"{label}: key `{clip(key, 40)}` is not a word", where, None)
        kind_name = data.get("kind")
        if kind_name is None:
            raise self._err("E-CASE-MISSING-KEY", f"{label}: missing key `kind`", where,
                            "kinds: " + ", ".join(self.vocab.kinds))
        if not isinstance(kind_name, str) or kind_name not in self.vocab.kinds:
            raise self._err("E-CASE-KIND", f"{label}: unknown kind `{_show(kind_name)}`", where,
                            did_you_mean(kind_name, self.vocab.kinds) or "kinds: " + ", ".join(self.vocab.kinds))
        kind = self.vocab.kinds[kind_name]
        allowed = self._allowed.get(kind_name)
        if allowed is None:
            allowed = self._allowed[kind_name] = frozenset(kind.facts) | frozenset(self.vocab.person_flags) | _COMMON
        for key in data:
            if key not in allowed:
                raise self._err("E-CASE-UNKNOWN-KEY", f"{label}: unknown key `{clip(key, 40)}` for kind {kind_name}", where,
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

    def _fast(self, raw: RawCase, as_of: dt.date | None) -> Case | None:
        """``validate`` for a well-formed case, with set operations instead of the loops that name
        what is wrong, and the values converted before (``_CONVERTED``) looked up; None at the first
        doubt, and ``validate`` then decides (and says why). Every check of ``validate`` is here, in
        the same terms, and a value not seen before goes through the same ``_value``. Keep the two
        in step (tests/test_plans.py compares them on generated hostile input)."""
        data = raw.data
        if data.__class__ is not dict:
            return None
        if not raw.clean:
            try:
                _check_text(data, raw.where)
            except InputError:
                return None
        kind_name = data.get("kind")
        shape = self._shapes.get(kind_name) if kind_name.__class__ is str else None
        if shape is None:
            if kind_name.__class__ is not str or kind_name not in self.vocab.kinds:
                return None
            kind = self.vocab.kinds[kind_name]
            allowed = frozenset(kind.facts) | frozenset(self.vocab.person_flags) | _COMMON
            facts = tuple((name, spec, spec["type"], tuple(spec.get("values", ()))) for name, spec in kind.facts.items())
            shape = self._shapes[kind_name] = (allowed, frozenset(kind.facts) | {"region"}, facts, kind.decided_on,
                                               kind.facts[kind.decided_on], kind.facts[kind.decided_on]["type"] == "month",
                                               tuple(self.vocab.person_flags))
        allowed, required, facts, decided_on, decided_spec, monthly, flags = shape
        if not (allowed.issuperset(data) and required.issubset(data)):  # also: every key is text
            return None
        where, label, value, known = raw.where, raw.label, self._value, _CONVERTED
        try:
            v = data[decided_on]
            decided = known.get((decided_on, decided_spec["type"], v.__class__, v), known)
            if decided is known:
                decided = value(decided_on, v, decided_spec, label, where, None)
            day = as_of or (decided.first_day() if monthly else decided)
            out = {}
            for name, spec, t, values in facts:
                v = data[name]
                if t == "enum":
                    key = (name, t, v.__class__, v, values)
                elif t == "region" or t == "list":
                    out[name] = value(name, v, spec, label, where, day)
                    continue
                else:
                    key = (name, t, v.__class__, v)
                got = known.get(key, known)
                if got is known:
                    got = value(name, v, spec, label, where, day)
                    if t == "enum":
                        known[key] = got
                out[name] = got
            for flag in flags:
                if flag in data:
                    v = data[flag]
                    got = known.get((flag, "bool", v.__class__, v), known)
                    out[flag] = value(flag, v, _BOOL, label, where, day) if got is known else got
            region = self.registry.resolve(data["region"], day, where)
        except Exception:  # noqa: BLE001 - validate says what is wrong
            return None
        case_id = data.get("id")
        if case_id is not None and (case_id.__class__ is bool or not isinstance(case_id, (str, int))):
            return None
        return Case(kind_name, region, out, day, case_id, where)

    @_remember_successes
    def _value(self, name, value, spec, label, where, day):
        t = spec["type"]
        expected = _expected_form(spec)
        if value is None and spec.get("optional"):
            return None
        if t == "date":
            if isinstance(value, str) and (d := parse_date(value)):
                if not date_in_range(d):
                    raise range_error("E-CASE-DATE", f"{label}: `{name}`", value, where)
                return d
            bad = "an impossible date" if isinstance(value, str) and len(value) == 10 and value[4] == "-" else "not a date"
            raise self._err("E-CASE-DATE", f"{label}: `{name}`: `{_show(value)}` is {bad}", where, expected)
        if t == "month":
            if isinstance(value, str) and (m := parse_month(value)):
                if not date_in_range(m.first_day()):
                    raise range_error("E-CASE-MONTH", f"{label}: `{name}`", value, where)
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
            if value < 0:  # every number a case gives is a count of years or a year
                raise self._err("E-CASE-VALUE", f"{label}: `{name}`: `{_show(value)}` is negative", where, expected)
            if name.endswith("year") and t == "int" and not DATE_MIN.year <= value <= DATE_MAX.year:
                raise range_error("E-CASE-VALUE", f"{label}: `{name}`", value, where)
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
                        raise self._err("E-CASE-UNKNOWN-KEY", f"{label}: unknown key `{name}[{i}].{clip(key, 40)}`", where,
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


def _check_text(data, where: Where) -> None:
    """Every string (and key) is Unicode text: JSON may spell a lone surrogate (``"\\ud800"``),
    which no UTF-8 output can hold."""
    stack, texts = [data], []
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str):
                    texts.append(key)
                if isinstance(value, str):
                    texts.append(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    if not _encodable("".join(texts)):  # one check for all: a lone surrogate in any text stays one when joined
        raise InputError(Diagnostic("E-INPUT-UTF8", "text with a lone surrogate escape (e.g. \\ud800) is not Unicode",
                                    where, "write the character itself, or a valid pair of escapes"))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def echo_id(data):
    """The ``id`` of a case that failed, if it can be echoed (text of at most 200 characters, or
    a whole number); otherwise None."""
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, str) and (len(value) > 200 or not _encodable(value)):
        return None
    return value


def _show(value) -> str:
    if isinstance(value, (list, dict)) and len(value) > 20:
        return "[…]" if isinstance(value, list) else "{…}"
    try:
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    except (RecursionError, ValueError, TypeError):
        text = "…"
    return clip(text, 60)


_FORMS = {
    "date": "a date YYYY-MM-DD that exists, e.g. 2022-10-20",
    "month": "a month YYYY-MM, e.g. 2022-06",
    "bool": "true or false",
    "int": "a whole number, e.g. 2024",
    "number": "a number, e.g. 2.5",
    "region": "a GB/T 2260 code, Chinese name or pinyin, e.g. 370100, 济南 or jinan",
    "list": "a list of mappings",
}


def _expected_form(spec: dict) -> str:
    t = spec["type"]
    if t == "enum":
        return "one of " + "|".join(spec.get("values", ()))
    return _FORMS[t]
