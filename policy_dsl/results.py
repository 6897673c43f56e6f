"""Results as data: the JSON shape of INTERFACE.md, in the language asked for."""

from __future__ import annotations

import datetime as dt
import json

from policy_dsl.evaluate import Result
from policy_dsl.kinds import vocabulary
from policy_dsl.values import to_json

REASONS = {
    "exception": {"zh": "特别规定优先（例外条款）", "en": "an explicit exception prevails"},
    "specificity": {"zh": "下级（更具体的辖区）规定优先", "en": "the more specific jurisdiction governs"},
    "later_rule": {"zh": "同级新规定优于旧规定", "en": "the later rule of the same level governs"},
    "yields_to_superior": {"zh": "本文件声明上级调整后按新政策执行", "en": "yields to a later adjustment by a superior level"},
    "tie": {"zh": "同等优先，结论相同", "en": "tied, with the same outcome"},
}


def clause_ref(clause) -> dict:
    return {"document": clause.doc.number, "article": clause.article, "level": clause.doc.level, "rule": clause.ref}


def result_json(result: Result, lang: str = "zh", trace: bool = True) -> dict:
    """The INTERFACE.md result object for one case."""
    case = result.case
    vocab = vocabulary()
    kind = vocab.kinds[case.kind]
    out: dict = {}
    if case.id is not None:
        out["id"] = case.id
    out["kind"] = case.kind
    out["region"] = case.region.city.to_json()
    if case.region.city is not case.region:
        out["region"]["district"] = case.region.to_json()
    out["decision_date"] = case.decision_date.isoformat()
    out["status"] = result.status
    for name in vocab.outputs:
        if name in kind.outputs:
            out[name] = to_json(result.outputs.get(name))
        else:
            out[name] = None
    out["bounds"] = result.bounds
    governing = []
    for clause, fields in result.governing:
        entry = clause_ref(clause)
        entry["outputs"] = fields
        if clause.adopted is not None:
            entry["adopts"] = clause_ref(clause.adopted)
        governing.append(entry)
    out["governing"] = governing
    out["displaced"] = [
        {**clause_ref(c), "reason": reason, "by": by.ref if by is not None else None,
         "explanation": REASONS.get(reason, {}).get(lang, reason)}
        for c, reason, by in result.displaced
    ]
    out["pending"] = [{**clause_ref(c), "in_force_from": start.isoformat() if start else None}
                      for c, start in result.pending]
    out["notes"] = [n.get(lang) or n["zh"] for n in result.notes]
    if result.redirected:
        out["evaluated_as"] = result.redirected
    out["trace"] = [("  " * depth) + (line.get(lang) or line["zh"]) for depth, line in result.trace] if trace else []
    return out


class LineWriter:
    """JSON Lines text of results without a trace: the same text as
    ``json.dumps(result_json(result, lang, trace=False), ensure_ascii=False)``, faster. What follows
    the outputs (bounds, governing, displaced, pending, notes) depends only on the result's
    ``shape`` (see policy_dsl.plans), so its text is made once per shape; the first result of each
    shape is also written the slow way and compared, and a shape whose texts differ is always
    written the slow way."""

    def __init__(self, lang: str = "zh", stream=None):
        self.lang = lang
        self.vocab = vocabulary()
        self._tails: dict = {}  # shape -> the text from "bounds" to the end, or None: write it the slow way
        self._encoded: dict = {}  # shape -> that text as UTF-8, with the line's end
        self._regions: dict = {}  # id(region) -> (region, its text)
        self._slots: dict = {}  # kind -> (the head of its lines as a %-format, the names of its outputs)
        self.stream = stream
        self._buffer = getattr(stream, "buffer", None)  # bytes go straight there, a few hundred lines at a time
        self._pending: list = []
        self._flushed_text = False

    def write(self, result: Result) -> None:
        """Write the line of ``result`` to the stream (``line`` + a line end)."""
        if self._buffer is None:
            self.stream.write(self.line(result) + "\n")
            return
        shape = result.shape
        tail = self._encoded.get(shape) if shape is not None and not result.trace else None
        if tail is None:
            text = self.line(result)
            known = self._tails.get(shape) if shape is not None else None
            if known is not None:
                tail = self._encoded[shape] = (known + "\n").encode()
            self._add((text + "\n").encode())
            return
        if self._pending or self._flushed_text:
            self._pending += (self._head(result).encode(), tail)
            if len(self._pending) >= 512:
                self._buffer.write(b"".join(self._pending))
                self._pending.clear()
        else:
            self._add(self._head(result).encode() + tail)

    def write_json(self, data) -> None:
        """Write any JSON value as a line (an error, an answer with its trace)."""
        text = json.dumps(data, ensure_ascii=False) + "\n"
        if self._buffer is None:
            self.stream.write(text)
        else:
            self._add(text.encode())

    def _add(self, line: bytes) -> None:
        if not self._flushed_text:
            self.stream.flush()  # what was written as text goes first
            self._flushed_text = True
        self._pending.append(line)
        if len(self._pending) >= 256:
            self._buffer.write(b"".join(self._pending))
            self._pending.clear()

    def flush(self) -> None:
        if self._pending:
            self._buffer.write(b"".join(self._pending))
            self._pending.clear()
        if self._buffer is not None:
            self._buffer.flush()

    def line(self, result: Result) -> str:
        shape = result.shape
        tail = self._tails.get(shape, False) if shape is not None and not result.trace else None
        if tail is False:
            slow = json.dumps(result_json(result, self.lang, trace=False), ensure_ascii=False)
            tail = self._tails[shape] = self._tail(result)
            if tail is not None and self._head(result) + tail != slow:
                tail = self._tails[shape] = None
            return slow
        if tail is None:
            return json.dumps(result_json(result, self.lang, trace=False), ensure_ascii=False)
        return self._head(result) + tail

    def _tail(self, result: Result) -> str | None:
        full = result_json(result, self.lang, trace=False)
        keys = list(full)
        if "bounds" not in keys:
            return None
        rest = {k: full[k] for k in keys[keys.index("bounds"):]}
        return json.dumps(rest, ensure_ascii=False)[1:]

    def _head(self, result: Result) -> str:
        case = result.case
        region = self._regions.get(id(case.region))
        if region is None or region[0] is not case.region:
            r = case.region.city.to_json()
            if case.region.city is not case.region:
                r["district"] = case.region.to_json()
            region = self._regions[id(case.region)] = (case.region, json.dumps(r, ensure_ascii=False))
        form = self._slots.get(case.kind)
        if form is None:
            form = self._slots[case.kind] = self._kind_form(case.kind)
        text, names = form
        outputs = result.outputs
        head = text % (region[1], case.decision_date.isoformat(), _STATUS.get(result.status) or json.dumps(result.status),
                       *[_value_text(outputs.get(name)) for name in names])
        case_id = case.id
        if case_id is None:
            return "{" + head
        if case_id.__class__ is int:
            return '{"id": ' + int.__repr__(case_id) + ", " + head
        return '{"id": ' + json.dumps(case_id, ensure_ascii=False) + ", " + head

    def _kind_form(self, kind_name: str) -> tuple:
        """The head of a line of this kind as a %-format (the region, the decision date, the status,
        then the kind's outputs), and the names of those outputs."""
        kind = self.vocab.kinds[kind_name]
        text = '"kind": ' + json.dumps(kind_name).replace("%", "%%") + ', "region": %s, "decision_date": "%s", "status": %s'
        names = []
        for name in self.vocab.outputs:
            text += ", " + json.dumps(name).replace("%", "%%") + ": "
            if name in kind.outputs:
                text += "%s"
                names.append(name)
            else:
                text += "null"
        return text + ", ", names


_STATUS = {s: json.dumps(s) for s in ("decided", "delegated", "no_rule")}


def _value_text(value) -> str:
    """``json.dumps(to_json(value), ensure_ascii=False)``, the common cases first."""
    if value is None:
        return "null"
    cls = value.__class__
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return int.__repr__(value)
    if cls is dt.date:
        return '"' + value.isoformat() + '"'
    return json.dumps(to_json(value), ensure_ascii=False)
