"""Stage: case files → validated cases. YAML, JSON or JSON Lines; one case, a list, or one per
line; from a file or from standard input (``-``, in any of these forms). Every problem names the
case (id, index or line), the key, what was expected. Reading is linear in the input: JSON Lines
stream (cases are read and answered one at a time); a JSON list is checked whole first and then
given a case at a time, each position found from the last one (never by counting from the start);
a JSON list file is read a window at a time both times, so memory does not grow with its size."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, Where, did_you_mean
from policy_dsl.language.expr.compile import EvalError
from policy_dsl.language.model import Case
from policy_dsl.language.kinds import absent_value, optional, vocabulary
from policy_dsl.language.messages import N_, current, join, t
from policy_dsl.language.regions import Registry
from policy_dsl.language.safeio import DATE_MAX, DATE_MIN, LIMITS, clip, date_in_range, range_error
from policy_dsl.language.values import to_json, typed_date, typed_month

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs an import at every start
    from typing import Iterator

MAX_CASE_FILE_BYTES = LIMITS["case_json"]  # a JSON case file (one case or a list), checked with stat before reading
MAX_YAML_CASE_BYTES = LIMITS["case_yaml"]  # a YAML case file (YAML is slower to read: use JSON or JSON Lines for big batches)
MAX_CASES = 100_000  # cases in one JSON or YAML file; JSON Lines streams and has no such limit
MAX_LINE_BYTES = LIMITS["case_line"]  # one JSON Lines line
MAX_BAD_LINES = 1000  # JSON Lines: stop after this many lines that are not JSON (it is not a JSON Lines file)
_COMMON = {"kind", "region", "id"}


@dataclass
class RawCase:
    """One case as read from a file, before validation."""

    data: object
    where: Where
    label: str  # how to name the case in messages: `id 7`, `case 3`, `line 12`
    clean: bool = False  # known to hold no lone surrogate (JSON text without a \u escape): no need to look


def shape_of(name: str) -> str:
    """How a case file is read, by its name: ``lines`` (.jsonl, .ndjson), ``json`` or ``yaml``."""
    return "lines" if name.endswith((".jsonl", ".ndjson")) else "json" if name.endswith(".json") else "yaml"


def read_cases(path: str, max_bytes: int = MAX_CASE_FILE_BYTES, body=None, form: str | None = None
               ) -> tuple[str, Iterator[RawCase]]:
    """The shape of the file (``single`` | ``list`` | ``lines``) and its cases, lazily for JSON Lines.
    A file that cannot be read as a whole raises InputError at once: it is read as every file is
    (safeio: a regular file, its size checked with ``stat`` before it is opened), a JSON list is
    checked (syntax, number of cases) before any case is answered, so no answer is given from a
    file that turns out to be broken further on. ``body``: an open binary stream read instead of
    the file (a request body, standard input); ``path`` then only names it, and ``form`` (else
    the extension, ``shape_of``) says how it is read. ``-`` without a body is standard input, in
    any form (``stdin_source``)."""
    from policy_dsl.language.safeio import open_regular, read_limited

    if body is None and path == "-":
        form, body = stdin_source()
        path = STDIN
    form = form or shape_of(path)
    p = Path(path)
    limit = max_bytes if form != "yaml" else min(max_bytes, MAX_YAML_CASE_BYTES)
    if form == "lines":
        if body is None:  # refused now if it cannot be read (a folder, a pipe, no permission…), before any answer
            open_regular(p, path, code="E-CASE-FILE").close()
        return "lines", _jsonl(p, body)
    if form == "json" and body is None:  # a list read a window at a time: memory flat in its size
        listed = _json_list_file(p, path, limit)
        if listed is not None:
            return "list", listed
    if body is not None:
        raw = body.read(limit + 1)
        if len(raw) > limit:
            raise InputError(Diagnostic("E-INPUT-SIZE", t("cases.too_big", limit=f"{limit:,}"), Where(clip(path, 200)),
                                        t("cases.too_big.hint")))
    else:
        raw = read_limited(p, limit, path, code="E-CASE-FILE")
    from policy_dsl.language.safeio import decode

    text = decode(raw, path, limit)
    del raw
    if form == "json":
        shape, items = _json_cases(text, path)
        if shape == "single":
            return "single", iter([RawCase(items, Where(path, 1, 1), _label(items, _THE_CASE))])
        return "list", items
    from policy_dsl.language.yamlsafe import load_yaml  # yaml only for a YAML file

    loaded = load_yaml(text, path)
    data = loaded.data
    if isinstance(data, list):
        if len(data) > MAX_CASES:
            raise _too_many(path)

        def items():
            for i, item in enumerate(data):
                yield RawCase(item, loaded.where((i,)), _label(item, ("cases.label.index", i)))
        return "list", items()
    where = Where(path, 1, 1)
    return "single", iter([RawCase(data, where, _label(data, _THE_CASE))])


STDIN = "<stdin>"  # how standard input is named in messages


def stdin_source(stream=None) -> tuple[str, object]:
    """Standard input (or ``stream``, binary) as a case source: ``(form, body)``, the form told
    from its first bytes — a JSON list (``[``), one JSON case, JSON Lines (``{`` on a line of its
    own followed by more), else YAML — and a stream that gives every byte again from the start.
    Only what decides the form is read ahead (at most the first case and the next line), so JSON
    Lines stay a stream."""
    stream = stream if stream is not None else sys.stdin.buffer
    head = b""
    while True:  # up to the first byte that is not white space (or the end)
        line = stream.readline(MAX_LINE_BYTES + 1)
        head += line
        if not line or head.lstrip(b"\xef\xbb\xbf \t\r\n") or len(head) > MAX_LINE_BYTES:
            break
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{" and line.endswith(b"\n") and _one_json_value(line):
        after = stream.readline(MAX_LINE_BYTES + 1)
        while after and not after.strip() and len(after) <= MAX_LINE_BYTES:
            head += after
            after = stream.readline(MAX_LINE_BYTES + 1)
        head += after
        return ("lines" if after.strip() else "json"), _Prefixed(head, stream)
    return ("json" if start in (b"[", b"{") else "yaml"), _Prefixed(head, stream)


def _one_json_value(line: bytes) -> bool:
    try:
        _json_loads(line.decode("utf-8"), STDIN, 1)
        return True
    except (UnicodeDecodeError, InputError):
        return False


class _Prefixed:
    """A binary stream: ``head``, then the rest of ``stream`` (what stdin_source read ahead, given back)."""

    def __init__(self, head: bytes, stream):
        import io

        self._head, self._stream = io.BytesIO(head), stream

    def read(self, n: int = -1) -> bytes:
        got = self._head.read(n)
        if n is None or n < 0:
            return got + self._stream.read()
        return got + (self._stream.read(n - len(got)) if len(got) < n else b"")

    def readline(self, n: int = -1) -> bytes:
        got = self._head.readline(n)
        if got.endswith(b"\n") or (n is not None and 0 <= n <= len(got)):
            return got
        return got + self._stream.readline(-1 if n is None or n < 0 else n - len(got))

    def close(self) -> None:
        self._head.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _too_many(path: str) -> InputError:
    return InputError(Diagnostic("E-INPUT-SIZE", t("cases.too_many", limit=f"{MAX_CASES:,}"), Where(path),
                                 t("cases.too_many.hint")))


_THE_CASE = ("cases.label.the_case", None)


def _label(item, default):
    """How a case is named in messages, as (message id, value), made words only when a message
    needs them (``label_words``): by its ``id`` if it has one, else ``default``."""
    if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and not isinstance(item.get("id"), bool):
        case_id = item["id"]
        if case_id.__class__ is int and -10**39 < case_id < 10**39:  # what clip would give: its digits
            return ("cases.label.id", case_id)
        return ("cases.label.id", clip(case_id, 40))
    return default


_LABELS = {"cases.label.the_case": lambda v: t("cases.label.the_case"),
           "cases.label.id": lambda v: t("cases.label.id", id=v),
           "cases.label.index": lambda v: t("cases.label.index", index=v),
           "cases.label.line": lambda v: t("cases.label.line", line=v)}


def label_words(label) -> str:
    """A RawCase's label in the current language (a label given as text is shown as it is)."""
    if isinstance(label, tuple):
        return _LABELS[label[0]](label[1])
    return label


def _reject_constant(name: str):
    raise ValueError(t("cases.not_a_number", name=name))


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):  # some key twice: name the first one repeated
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(t("cases.duplicate_key", key=clip(k, 40)))
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
        raise InputError(Diagnostic("E-CASE-JSON", _json_words(exc.msg),
                                    Where(file, (line or exc.lineno) if line else exc.lineno, exc.colno),
                                    t("cases.json.hint"))) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(Diagnostic("E-CASE-JSON", _json_value_error(exc), Where(file, line), None)) from None


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _lines_to(text: str, since: int, at: int, line: int, line_start: int) -> tuple[int, int]:
    """(line, where that line starts) at ``at``, counted on from ``line`` and ``line_start`` at ``since``."""
    line += text.count("\n", since, at)
    last = text.rfind("\n", since, at)
    return line, (last + 1 if last >= 0 else line_start)


class _Positions:
    """Line and column of offsets in ``text`` asked in increasing order, each found from the last
    one (so a whole list costs one pass over the text, not one per case)."""

    def __init__(self, text: str):
        self.text, self.pos, self.line, self.line_start = text, 0, 1, 0

    def at(self, pos: int) -> tuple[int, int]:
        if pos < self.pos:  # asked out of order: from the start again
            self.pos, self.line, self.line_start = 0, 1, 0
        self.line, self.line_start = _lines_to(self.text, self.pos, pos, self.line, self.line_start)
        self.pos = pos
        return self.line, pos - self.line_start + 1


def _json_cases(text: str, file: str):
    """A JSON case file: ``("single", data)``, or ``("list", lazy RawCases)`` for a top-level
    list. A list is checked first — every item parsed and dropped, at most MAX_CASES of them —
    so memory holds the text and one case, and a broken file is refused before any answer; then
    each case is parsed again as it is asked for, its position found from the previous one."""
    pos = _WS.match(text, 0).end()
    if not text.startswith("[", pos):
        return "single", _json_loads(text, file, None)
    from array import array

    starts = array("q")  # 8 bytes a case
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
            raise InputError(Diagnostic("E-CASE-JSON", t("cases.json.after_case"), Where(file, line, col),
                                        t("cases.json.hint")))
    i = _WS.match(text, i).end()
    if i != len(text):
        line, col = _position(text, i)
        raise InputError(Diagnostic("E-CASE-JSON", t("cases.json.after_list"), Where(file, line, col),
                                    t("cases.json.after_list.hint")))

    def items():
        positions = _Positions(text)
        for n, start in enumerate(starts):
            item, end = _decode_at(text, start, file)
            line, col = positions.at(start)
            clean = text.find("\\u", start, end) < 0  # no \u escape: no lone surrogate (as a line of JSON Lines)
            yield RawCase(item, Where(file, line, col), _label(item, ("cases.label.index", n)), clean)

    return "list", items()


class _Unread(Exception):
    """A JSON list file that _ListReader does not read cleanly: the whole-text reading says why."""


_CHUNK = 1 << 20  # a JSON list file is read this many bytes at a time
_AFTER_ITEM = frozenset(" \t\n\r,]")
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")


class _ListReader:
    """The items of a JSON list file read a window at a time: ``items()`` gives (item, line,
    column, clean) for each, in order, holding the window (about _CHUNK of text, more only for an
    item longer than that) and one item, whatever the size of the file. Raises _Unread at anything
    it does not read cleanly (not a list, a broken item, bad UTF-8, a file grown past ``limit``)."""

    def __init__(self, fh, limit: int):
        import codecs

        self.fh, self.limit, self.read = fh, limit, 0
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()  # a BOM is not text (as safeio.decode)
        self.text, self.pos, self.eof = "", 0, False
        self.mark, self.line, self.line_start = 0, 1, 0  # where lines were counted up to, in the window

    def _more(self) -> bool:
        """The next chunk appended to the window, what lies before ``pos`` dropped; False at the end."""
        if self.eof:
            return False
        raw = self.fh.read(_CHUNK)
        self.read += len(raw)
        if self.read > self.limit:
            raise _Unread
        try:
            chunk = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise _Unread from None
        self.eof = not raw
        self.position(self.pos)
        drop = self.pos
        self.text = self.text[drop:] + chunk
        self.pos, self.mark, self.line_start = 0, 0, self.line_start - drop
        return True

    def position(self, at: int) -> tuple[int, int]:
        """Line and column of ``at`` (not before the last asked), counted from the last one asked."""
        self.line, self.line_start = _lines_to(self.text, self.mark, at, self.line, self.line_start)
        self.mark = at
        return self.line, at - self.line_start + 1

    def _skip(self) -> None:
        """``pos`` past white space (reading on as needed)."""
        while True:
            self.pos = _WS.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self._more():
                return

    def _at(self, char: str) -> bool:
        while self.pos >= len(self.text) and self._more():
            pass
        return self.text.startswith(char, self.pos)

    def _value(self):
        """The JSON value at ``pos`` and where it ends, the window grown until it holds all of it."""
        while True:
            try:
                item, end = _DECODER.raw_decode(self.text, self.pos)
                # a value ends before white space, a comma or the list's end: else (a number cut by
                # the window, "-45" of "-45.5") it may go on in the next chunk
                if self.eof or (end < len(self.text) and self.text[end] in _AFTER_ITEM):
                    return item, end
            except (ValueError, RecursionError):  # a JSONDecodeError too: an item cut by the window, or broken
                if self.eof:
                    raise _Unread from None
            self._more()

    def items(self, places: bool = True):
        """Each item, with ``places`` as (item, line, column, clean); raises _Unread."""
        self._skip()
        if not self._at("["):
            raise _Unread
        self.pos += 1
        self._skip()
        if self._at("]"):
            self.pos += 1
        else:
            decode, comma = _DECODER.raw_decode, _COMMA.match
            while True:
                text, start = self.text, self.pos
                try:  # the common case inline: an item and its comma well inside the window
                    item, end = decode(text, start)
                    if not (end < len(text) and text[end] in _AFTER_ITEM):
                        raise ValueError
                except (ValueError, RecursionError):
                    item, end = self._value()
                    text, start = self.text, self.pos  # (the window may have moved)
                if places:
                    line, col = self.position(start)
                    yield item, line, col, text.find("\\u", start, end) < 0  # no \u escape: no lone surrogate
                else:
                    yield item
                m = comma(text, end)
                if m is not None and m.end() < len(text):
                    self.pos = m.end()
                    continue
                self.pos = end
                self._skip()
                if self._at(","):
                    self.pos += 1
                    self._skip()
                    continue
                if self._at("]"):
                    self.pos += 1
                    break
                raise _Unread
        self._skip()
        if self.pos < len(self.text):
            raise _Unread


def _json_list_file(p: Path, path: str, limit: int):
    """The RawCases of a JSON list file read a window at a time (_ListReader): once to check it
    (syntax, number of cases) before any case is answered, then again, a case at a time, as they
    are asked for. None if the file is not a list read cleanly that way: the whole-text reading
    then reads it and says what is wrong."""
    from policy_dsl.language.safeio import open_regular

    n = 0
    with open_regular(p, path, code="E-CASE-FILE", max_bytes=limit) as fh:  # what read_limited refuses
        try:
            for _ in _ListReader(fh, limit).items(places=False):
                n += 1
                if n > MAX_CASES:
                    raise _too_many(path)
        except _Unread:
            return None

    def items():
        with open_regular(p, path, code="E-CASE-FILE", max_bytes=limit) as fh:
            try:
                for i, (item, line, col, clean) in enumerate(_ListReader(fh, limit).items()):
                    yield RawCase(item, Where(path, line, col), _label(item, ("cases.label.index", i)), clean)
            except _Unread:  # it was read whole a moment ago: it changed since
                raise InputError(Diagnostic("E-CASE-FILE", t("cases.json.changed"), Where(clip(path, 200)),
                                            t("cases.json.changed.hint"))) from None

    return items()


def _decode_at(text: str, pos: int, file: str) -> tuple[object, int]:
    """The JSON value starting at ``pos`` and where it ends."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise InputError(Diagnostic("E-CASE-JSON", _json_words(exc.msg), Where(file, exc.lineno, exc.colno),
                                    t("cases.json.hint"))) from None
    except (ValueError, RecursionError) as exc:
        line, col = _position(text, pos)
        raise InputError(Diagnostic("E-CASE-JSON", _json_value_error(exc), Where(file, line, col), None)) from None


# what the json module says of a document it cannot read, in the catalog under the context "json"
_JSON_WORDS = ("Expecting value", "Expecting ',' delimiter", "Expecting ':' delimiter",
               "Expecting property name enclosed in double quotes", "Extra data", "Unterminated string starting at",
               "Invalid control character at", "Invalid \\escape", "Invalid \\uXXXX escape",
               "Illegal trailing comma before end of object", "Illegal trailing comma before end of array")


def _json_words(msg: str) -> str:
    from policy_dsl.language.messages import library_words

    return t("cases.json", reason=library_words("json", _JSON_WORDS, msg))


def _json_value_error(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return t("cases.json.too_deep")
    if "integer string conversion" in str(exc):
        return t("cases.json.long_number")
    return clip(exc, 200)


def _jsonl(path: Path, body=None) -> Iterator[RawCase]:
    """One case a line, read as it goes: a line longer than MAX_LINE_BYTES is an error for that
    line (never held in memory whole); after MAX_BAD_LINES lines that are not JSON the file is
    refused (it is not JSON Lines). ``body``: as for read_cases."""
    name = str(path)
    for n, data, clean in jsonl_items(path, body):
        yield RawCase(data, Where(name, n, 1), _label(data, ("cases.label.line", n)), clean)


def raw_line(path: Path, n: int, data, clean: bool) -> RawCase:
    """The RawCase ``_jsonl`` makes of what ``jsonl_items`` gives for line ``n``."""
    return RawCase(data, Where(str(path), n, 1), _label(data, ("cases.label.line", n)), clean)


def jsonl_items(path: Path, body=None, first_line: int = 1):
    """What ``_jsonl`` reads, as (line number, data or InputError, clean) without the RawCase (the
    batch lane of policy_dsl.fast.lane makes one only for a case it hands to the reference code).
    ``body``: an open binary stream read instead of ``path``, which then only names it;
    ``first_line``: the number of its first line (a part of a file answered on its own, --jobs)."""
    from policy_dsl.language.safeio import open_regular

    bad = 0
    name = str(path)
    scan_once = _DECODER.scan_once
    with (open_regular(path, name, code="E-CASE-FILE") if body is None else body) as fh:
        n = first_line - 1
        while True:
            try:
                raw = fh.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:  # the disk, the network file system, a file cut while read
                raise InputError(Diagnostic("E-CASE-FILE", t("cases.read_stopped", line=f"{n:,}",
                                                             reason=clip(exc.strerror or exc, 120)),
                                            Where(name, n + 1), t("cases.read_stopped.hint"))) from None
            if not raw:
                break
            n += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                where = Where(name, n, 1)
                size = len(raw)
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a chunk at a time
                    try:
                        raw = fh.readline(MAX_LINE_BYTES)
                    except OSError:
                        raw = b""
                    size += len(raw)
                bad += 1
                yield n, InputError(Diagnostic("E-INPUT-SIZE", t("cases.line_too_big", size=f"{size:,}", limit=f"{MAX_LINE_BYTES:,}"),
                                               where, t("cases.line_too_big.hint"))), False
                continue
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
                try:  # _json_loads' first step, inline: a line is one JSON value and its line end
                    data, end = scan_once(text, 0)
                    if end != len(text) and text[end:].strip(" \t\n\r"):
                        data = _json_loads(text, name, n)
                except (StopIteration, ValueError, RecursionError):  # what the scanner raises: _json_loads says what is wrong
                    data = _json_loads(text, name, n)
            except UnicodeDecodeError:
                data = InputError(Diagnostic("E-INPUT-UTF8", t("cases.not_utf8"), Where(name, n, 1), t("cases.not_utf8.hint")))
            except InputError as exc:
                data = exc
            if isinstance(data, InputError):
                bad += 1
                if bad > MAX_BAD_LINES:
                    raise InputError(Diagnostic(
                        "E-CASE-JSON", t("cases.not_json_lines", limit=f"{MAX_BAD_LINES:,}", line=f"{n:,}"), Where(name, n, 1),
                        t("cases.not_json_lines.hint")))
            # valid UTF-8 holds no surrogate: only a \u escape could make one (_check_text)
            yield n, data, b"\\u" not in raw


# Converted fact values, by (name, type, the value's class, the value): a batch repeats the same
# dates, months and numbers, and their conversion depends on nothing else (not the day, not the
# registry), so each is checked once. Only successes are kept; errors are raised afresh each time.
_CONVERTED: dict = {}
_REMEMBERED_TYPES = frozenset({"date", "month", "bool", "int", "number"})
# fast_parts: the class of the values of each type whose conversion depends on the value alone
# (not the day, not the registry), and so is remembered per fact; at most _PER_FACT of them
_REMEMBERED_CLASS = {"date": str, "month": str, "enum": str, "bool": bool, "int": int, "number": int}
_PER_FACT = 50_000
_NOWHERE = Where()  # fast_parts reports nothing: on any error, validate runs and says where
_ABSENT = object()


def _fact_forms(specs: dict) -> tuple:
    """(name, spec, the class of the values remembered, their converted values, the type — for
    a list of mappings: (its item keys, their forms)) for each fact of ``specs``."""
    out = []
    for name, spec in specs.items():
        t = spec["type"]
        if t == "list" and isinstance(spec.get("items"), dict):
            t = (frozenset(spec["items"]), _fact_forms(spec["items"]))
        out.append((name, spec, _REMEMBERED_CLASS.get(t) if t.__class__ is str else None, {}, t))
    return tuple(out)


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

    def __init__(self, registry: Registry, lang: str = "zh", vocab=None):
        self.registry = registry
        self.lang = lang  # of the registry's messages
        self.vocab = vocab or vocabulary()  # the policy set's kinds table (policy.vocab)
        self._allowed: dict = {}  # kind -> the keys a case of that kind may have
        self._shapes: dict = {}  # kind -> what fast_parts checks (_shape)
        self._regions: dict = {}  # a region's code -> (the region, the first and last day it is valid)
        self._constraints: dict = {}  # kind -> its constraints with their compiled tests (_checks)
        self._defaults = self.vocab.person_defaults()

    def validate(self, raw: RawCase, as_of: dt.date | None = None) -> Case:
        case = self._fast(raw, as_of)
        if case is not None:
            return case
        data, where, label = raw.data, raw.where, label_words(raw.label)
        if isinstance(data, PolicyDslError):
            raise data
        if not raw.clean:
            _check_text(data, where)
        if not isinstance(data, dict):
            raise self._err("E-CASE-SHAPE", t("cases.shape", label=label), where, t("cases.shape.hint"))
        for key in data:
            if not isinstance(key, str):
                raise self._err("E-CASE-KEY", t("cases.key_not_text", label=label, key=clip(key, 40)), where, None)
        given_kind = data.get("kind")
        if given_kind is None:
            raise self._err("E-CASE-MISSING-KEY", t("cases.missing_key", label=label, key="kind"), where,
                            t("cases.kinds", kinds=join(self.vocab.kinds)))
        kind_name = self.vocab.kind_named(given_kind)  # its name, or its Chinese name (kinds.yaml)
        if kind_name is None:
            raise self._err("E-CASE-KIND", t("cases.unknown_kind", label=label, kind=_show(given_kind)), where,
                            did_you_mean(given_kind, self.vocab.kinds) or t("cases.kinds", kinds=join(
                                f"{k} ({v.zh})" for k, v in self.vocab.kinds.items())))
        kind = self.vocab.kinds[kind_name]
        allowed = self._allowed.get(kind_name)
        if allowed is None:
            allowed = self._allowed[kind_name] = frozenset(kind.facts) | frozenset(self.vocab.person_flags) | _COMMON
        for key in data:
            if key not in allowed:
                raise self._err("E-CASE-UNKNOWN-KEY", t("cases.unknown_key", label=label, key=clip(key, 40), kind=kind_name),
                                where, did_you_mean(key, allowed) or t("cases.keys", keys=join(sorted(allowed))))
        if "region" not in data:
            raise self._err("E-CASE-MISSING-KEY", t("cases.missing_key", label=label, key="region"), where,
                            t("cases.missing_region.hint"))
        for name, spec in kind.facts.items():
            if name not in data and not optional(spec):
                raise self._err("E-CASE-MISSING-KEY", t("cases.missing_fact", label=label, key=name, kind=kind_name), where,
                                _expected_form(spec))
        facts = {}
        decided_spec = kind.facts[kind.decided_on]
        decided = self._value(kind.decided_on, data[kind.decided_on], decided_spec, label, where, None)
        decision = decided.first_day() if decided_spec["type"] == "month" else decided
        day = as_of or decision
        for name, spec in kind.facts.items():
            facts[name] = self._value(name, data[name], spec, label, where, day) if name in data else absent_value(spec)
        for flag, spec in self.vocab.person_flags.items():
            if flag in data:
                facts[flag] = self._value(flag, data[flag], spec, label, where, day)
        try:
            region = self.registry.resolve(data["region"], day, where, self.lang)
        except InputError as exc:
            d = exc.first
            raise self._err(d.code, t("cases.in_fact", label=label, name="region", message=d.message), where, d.hint) from None
        broken = self._broken(kind_name, facts, region, day)
        if broken is not None:
            raise self._facts_error(broken, facts, label, where)
        case_id = data.get("id")
        if case_id is not None and (isinstance(case_id, bool) or not isinstance(case_id, (str, int))):
            raise self._err("E-CASE-TYPE", t("cases.bad_id", label=label), where, None)
        return Case(kind_name, region, facts, day, case_id, where, as_of is not None)

    def _checks(self, kind_name: str) -> tuple:
        """The constraints of a kind (kinds.yaml ``constraints``), each with its compiled test."""
        checks = self._constraints.get(kind_name)
        if checks is None:
            from policy_dsl.language.expr.compile import compile_expr

            checks = self._constraints[kind_name] = tuple(
                (c, compile_expr(c.require)) for c in self.vocab.constraints_for(kind_name))
        return checks

    def _broken(self, kind_name: str, facts: dict, region, day):
        """The first constraint of the kind that the facts break, or None."""
        checks = self._checks(kind_name)
        if not checks:
            return None
        env = {**self._defaults, **facts, "region": region, "decision_date": day}
        for constraint, test in checks:
            if not test(env):
                return constraint
        return None

    def _facts_error(self, constraint, facts: dict, label: str, where: Where) -> InputError:
        env = {**self._defaults, **facts}
        shown = "，".join(f"`{n}` = {_show(to_json(env.get(n)))}" for n in constraint.names)
        return self._err("E-CASE-FACTS", t("cases.facts", label=label, rule=constraint.zh if current() == "zh" else constraint.en,
                                            shown=shown), where,
                         t("cases.facts.hint", names=join(f"`{n}`" for n in constraint.names)))

    def _fast(self, raw: RawCase, as_of: dt.date | None) -> Case | None:
        """``validate`` for a well-formed case, with set operations instead of the loops that name
        what is wrong, and the values converted before looked up; None at the first doubt, and
        ``validate`` then decides (and says why). Every check of ``validate`` is here, in the same
        terms, and a value not seen before goes through the same ``_value``. Keep the two in step
        (tests/test_plans.py compares them on generated hostile input)."""
        data = raw.data
        if data.__class__ is not dict:
            return None
        if not raw.clean and not _is_clean(data):
            return None
        parts = self.fast_parts(data, as_of)
        if parts is None:
            return None
        kind_name, region, facts, day, case_id = parts
        return Case(kind_name, region, facts, day, case_id, raw.where, as_of is not None)

    def _shape(self, kind_name: str):
        """What fast_parts checks for a kind: (allowed keys, required keys, the facts (_fact_forms),
        the decided_on fact, its remembered days, its class, its spec, is it a month, the person flags)."""
        kind = self.vocab.kinds[kind_name]
        allowed = frozenset(kind.facts) | frozenset(self.vocab.person_flags) | _COMMON
        decided_spec = kind.facts[kind.decided_on]
        required = frozenset(name for name, spec in kind.facts.items() if not optional(spec))
        shape = self._shapes[kind_name] = (allowed, required | {"region"}, _fact_forms(kind.facts),
                                           kind.decided_on, {}, _REMEMBERED_CLASS.get(decided_spec["type"]),
                                           decided_spec, decided_spec["type"] == "month",
                                           tuple(self.vocab.person_flags.items()))
        return shape

    def _convert(self, forms, data: dict, day, prefix: str = "") -> dict:
        """The facts of ``forms`` (_fact_forms) in ``data`` converted as ``_value`` converts them;
        raises at the first doubt (fast_parts then answers None)."""
        out = {}
        value = self._value
        for name, spec, cls, known, tag in forms:
            v = data.get(name, _ABSENT)
            if v.__class__ is cls:
                got = known.get(v, known)
                if got is known:
                    got = value(prefix + name, v, spec, "", _NOWHERE, day)
                    if len(known) < _PER_FACT:
                        known[v] = got
            elif v is _ABSENT:
                if not optional(spec):
                    raise LookupError(name)
                got = absent_value(spec)
            elif tag == "region" and v.__class__ is str:
                got = self._region_at(v, day)
            elif tag.__class__ is tuple and v.__class__ is list:  # a list of mappings: (item keys, item forms)
                length = spec.get("length")
                if length and len(v) != length:
                    raise ValueError(name)
                got = []
                keys, item_forms = tag
                for i, item in enumerate(v):
                    if item.__class__ is not dict or not keys.issuperset(item):
                        raise ValueError(name)
                    got.append(self._convert(item_forms, item, day, f"{prefix}{name}[{i}]."))
            else:
                got = value(prefix + name, v, spec, "", _NOWHERE, day)
            out[name] = got
        return out

    def _region_at(self, text, day):
        """``Registry.resolve(text, day)``, a code's region remembered with the days it is valid on."""
        hit = self._regions.get(text) if text.__class__ is str else None
        if hit is not None and hit[1] <= day <= hit[2]:
            return hit[0]
        region = self.registry.resolve(text, day, _NOWHERE, self.lang)
        if text.__class__ is str and self.registry.by_code.get(text) is region and len(self._regions) < _PER_FACT:
            # Registry.resolve gives the region of a code, as is, on every day it is valid
            self._regions[text] = (region, region.valid_from or dt.date.min, region.valid_to or dt.date.max)
        return region

    def fast_parts(self, data: dict, as_of: dt.date | None):
        """``_fast`` on a dict whose text is known to be clean, without the Case: (kind, region,
        facts, decision date, id), or None at the first doubt. Converted values are remembered
        per fact and value (of the one class each type accepts without more ado: a date's text, a
        whole number…), the region by its code with the days it is valid on; anything else goes
        through ``_value`` and ``Registry.resolve`` as ``validate`` does."""
        kind_name = data.get("kind")
        shape = self._shapes.get(kind_name) if kind_name.__class__ is str else None
        if shape is None:
            if kind_name.__class__ is not str or kind_name not in self.vocab.kinds:
                return None
            shape = self._shape(kind_name)
        allowed, required, facts, decided_on, days, decided_cls, decided_spec, monthly, flags = shape
        if not (allowed.issuperset(data) and required.issubset(data)):  # also: every key is text
            return None
        value = self._value
        try:
            v = data[decided_on]
            if as_of is not None:
                day = as_of
            else:
                day = days.get(v) if v.__class__ is decided_cls else None
                if day is None:
                    decided = value(decided_on, v, decided_spec, "", _NOWHERE, None)
                    day = decided.first_day() if monthly else decided
                    if v.__class__ is decided_cls and len(days) < _PER_FACT:
                        days[v] = day
            out = self._convert(facts, data, day)
            for flag, spec in flags:
                if flag in data:
                    v = data[flag]
                    out[flag] = v if v.__class__ is bool and spec["type"] == "bool" else value(flag, v, spec, "", _NOWHERE, day)
            region = self._region_at(data["region"], day)
            if self._broken(kind_name, out, region, day) is not None:
                return None  # validate names the facts
        except (PolicyDslError, LookupError, ValueError, TypeError, ArithmeticError, EvalError):
            return None  # validate says what is wrong (and raises anything else the same way)
        case_id = data.get("id")
        if case_id is not None and case_id.__class__ is not int and case_id.__class__ is not str and (
                case_id.__class__ is bool or not isinstance(case_id, (str, int))):
            return None
        return kind_name, region, out, day, case_id

    @_remember_successes
    def _value(self, name, value, spec, label, where, day):
        typ = spec["type"]
        if value is None and optional(spec):
            return absent_value(spec)
        if typ == "date":  # as people type dates: 2022-04-01, 2022/4/1, 2022年4月1日, full-width digits
            d, wrong = typed_date(value)
            if d is not None:
                if not date_in_range(d):
                    raise range_error("E-CASE-DATE", f"{label}: `{name}`", value, where)
                return d
            bad = N_("cases.date.not_exists") if wrong == "exists" else N_("cases.date.not_a_form")
            raise self._err("E-CASE-DATE", t(bad, label=label, name=name, value=_show(value)), where, _expected_form(spec))
        if typ == "month":
            m, wrong = typed_month(value)
            if m is not None:
                if not date_in_range(m.first_day()):
                    raise range_error("E-CASE-MONTH", f"{label}: `{name}`", value, where)
                return m
            bad = N_("cases.month.not_exists") if wrong == "exists" else N_("cases.month.not_a_form")
            raise self._err("E-CASE-MONTH", t(bad, label=label, name=name, value=_show(value)), where, _expected_form(spec))
        if typ == "bool":
            if isinstance(value, bool):
                return value
            raise self._err("E-CASE-TYPE", t("cases.expected", label=label, name=name, expected=t("cases.form.bool"),
                                            value=_show(value)), where, _expected_form(spec))
        if typ in ("int", "number"):
            ok = isinstance(value, int) and not isinstance(value, bool)
            if typ == "number" and isinstance(value, float):
                ok = math.isfinite(value)
            if not ok or abs(value) > 10**6:
                raise self._err("E-CASE-TYPE", t("cases.expected", label=label, name=name, value=_show(value), expected=t(
                    N_("cases.whole_number") if typ == "int" else N_("cases.number"))), where, _expected_form(spec))
            if value < 0:  # every number a case gives is a count of years or a year
                raise self._err("E-CASE-VALUE", t("cases.negative", label=label, name=name, value=_show(value)), where, _expected_form(spec))
            if name.endswith("year") and typ == "int" and not DATE_MIN.year <= value <= DATE_MAX.year:
                raise range_error("E-CASE-VALUE", f"{label}: `{name}`", value, where)
            return value
        if typ == "enum":  # a value, or a word the kinds table lists for it (灵活就业 for flexible)
            found = self.vocab.value_named(name, value, spec["values"])
            if found is not None:
                return found
            raise self._err("E-CASE-VALUE", t("cases.not_one_of", label=label, name=name, value=_show(value),
                                              values="|".join(spec["values"])),
                            where, did_you_mean(value, spec["values"]) or _expected_form(spec))
        if typ == "region":
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise self._err("E-CASE-TYPE", t("cases.expected_region", label=label, name=name), where, _expected_form(spec))
            try:
                return self.registry.resolve(value, day, where, self.lang)
            except InputError as exc:
                d = exc.first
                raise self._err(d.code, t("cases.in_fact", label=label, name=name, message=d.message), where, d.hint) from None
        if typ == "list":
            if not isinstance(value, list) or (spec.get("length") and len(value) != spec["length"]):
                raise self._err("E-CASE-TYPE", t("cases.expected_list", label=label, name=name, n=spec["length"])
                                if spec.get("length") else t("cases.expected_items", label=label, name=name), where, _expected_form(spec))
            items = []
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    raise self._err("E-CASE-TYPE", t("cases.expected_mapping", label=label, name=f"{name}[{i}]"), where, _expected_form(spec))
                for key in item:
                    if key not in spec["items"]:
                        raise self._err("E-CASE-UNKNOWN-KEY", t("cases.unknown_item_key", label=label, key=f"{name}[{i}].{clip(key, 40)}"),
                                        where, did_you_mean(key, spec["items"]) or t("cases.keys", keys=join(spec["items"])))
                rec = {}
                for field_name, field_spec in spec["items"].items():
                    if field_name not in item:
                        if optional(field_spec):
                            rec[field_name] = absent_value(field_spec)
                            continue
                        raise self._err("E-CASE-MISSING-KEY", t("cases.missing_key", label=label, key=f"{name}[{i}].{field_name}"), where,
                                        _expected_form(field_spec))
                    rec[field_name] = self._value(f"{name}[{i}].{field_name}", item[field_name], field_spec, label, where, day)
                items.append(rec)
            return items
        raise AssertionError(typ)

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
        raise InputError(Diagnostic("E-INPUT-UTF8", t("cases.surrogate"), where, t("cases.surrogate.hint")))


_SCALARS = frozenset({int, bool, float, type(None)})


def _is_clean(data: dict) -> bool:
    """Whether _check_text passes: at once for a mapping of text keys and plain values (ASCII text,
    which ``isascii`` tells without reading it, holds no surrogate)."""
    texts = []
    for key, v in data.items():
        if key.__class__ is not str:
            break
        if not key.isascii():
            texts.append(key)
        cls = v.__class__
        if cls is str:
            if not v.isascii():
                texts.append(v)
        elif cls not in _SCALARS:
            break
    else:
        return not texts or _encodable("".join(texts))
    try:
        _check_text(data, _NOWHERE)
        return True
    except InputError:
        return False


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


_FORMS = {  # what a value of each type looks like, as a hint
    "date": N_("cases.form.date"),
    "month": N_("cases.form.month"),
    "bool": N_("cases.form.bool"),
    "int": N_("cases.form.int"),
    "number": N_("cases.form.number"),
    "region": N_("cases.form.region"),
    "list": N_("cases.form.list"),
}


def _expected_form(spec: dict) -> str:
    typ = spec["type"]
    if typ == "enum":
        return t("cases.form.enum", values="|".join(spec.get("values", ())))
    return t(_FORMS[typ])
