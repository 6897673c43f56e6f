"""Results as data: the JSON shape of docs/cli.md, in the language asked for."""

from __future__ import annotations

import datetime as dt

from policy_dsl.engine import trace as T
from policy_dsl.language.kinds import vocabulary
from policy_dsl.language.messages import LANGUAGES, N_, say
from policy_dsl.language.model import Result
from policy_dsl.language.values import to_json

class _Reasons:
    """Why a clause displaces another, in words: ``REASONS.in_language(reason, lang)`` in one
    language, ``REASONS[reason]`` as ``{"zh": ..., "en": ...}``; from the catalog when first asked
    (an answer that displaces nothing never reads it, and one in Chinese never reads the English)."""

    IDS = {"exception": N_("results.reason.exception"), "specificity": N_("results.reason.specificity"),
           "later_rule": N_("results.reason.later_rule"), "yields_to_superior": N_("results.reason.yields_to_superior"),
           "tie": N_("results.reason.tie")}

    def __init__(self):
        self._words: dict = {}  # (reason, lang) -> words

    def __getitem__(self, reason: str) -> dict:
        return {lang: self.in_language(reason, lang) for lang in LANGUAGES}

    def in_language(self, reason: str, lang: str) -> str:
        """``reason`` in words in ``lang`` (a KeyError for a reason not in IDS)."""
        found = self._words.get((reason, lang))
        if found is None:
            found = self._words[reason, lang] = say(lang, self.IDS[reason])
        return found

    def get(self, reason: str, default=None):
        return self[reason] if reason in self.IDS else default

    def __contains__(self, reason) -> bool:
        return reason in self.IDS

    def __iter__(self):
        return iter(self.IDS)


REASONS = _Reasons()


def clause_ref(clause) -> dict:
    return {"document": clause.doc.number, "article": clause.article, "level": clause.doc.level, "rule": clause.ref}


def result_json(result: Result, lang: str = "zh", trace: bool = True, vocab=None, extra: dict | None = None) -> dict:
    """The result object (docs/cli.md) for one case (``vocab``: the policy set's kinds table,
    ``policy.vocab``; by default the packaged one). ``extra``: keys every answer of a run ends with
    (``policy_set``: which policy set answered)."""
    case = result.case
    vocab = vocab or vocabulary()
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
    if result.improving:  # only for a case an improving exception applied to (docs/reference.md)
        out["improving_exceptions"] = [{**clause_ref(c), "changed": changed} for c, changed in result.improving]
    out["displaced"] = [
        {**clause_ref(c), "reason": reason, "by": by.ref if by is not None else None,
         "explanation": REASONS.in_language(reason, lang) if reason in REASONS else reason}
        for c, reason, by in result.displaced
    ]
    out["pending"] = [{**clause_ref(c), "in_force_from": start.isoformat() if start else None}
                      for c, start in result.pending]
    out["notes"] = [n.get(lang) or n["zh"] for n in result.notes]
    if result.informing:  # clauses whose words apply without deciding (outcome `inform`): their words are notes
        out["informing"] = [clause_ref(c) for c in result.informing]
    if result.redirected:
        out["evaluated_as"] = result.redirected
    out["trace"] = trace_lines(result, lang, vocab) if trace else []
    if extra:
        out.update(extra)
    return out


class TraceLine(str):
    """A line of the trace as the JSON answer gives it (two spaces a level, then the words), which
    also keeps its ``depth`` and ``text``: a renderer draws the tree from them, never from the spaces."""

    __slots__ = ("depth", "text")

    def __new__(cls, depth: int, text: str):
        line = super().__new__(cls, "  " * depth + text)
        line.depth, line.text = depth, text
        return line


def trace_lines(result: Result, lang: str = "zh", vocab=None) -> list[TraceLine]:
    """The trace of ``result`` in words (``lang``: zh or en), a line each step (``vocab``: the
    policy set's kinds table, by default the packaged one)."""
    vocab = vocab or vocabulary()
    out: list[TraceLine] = []
    for depth, event in result.trace:
        for extra, text in _words(event, lang, vocab):
            out.append(TraceLine(depth + extra, text))
    return out


def _words(event, lang: str, vocab) -> list[tuple[int, str]]:
    """The lines of one trace event: (depth below the event's, words)."""
    if isinstance(event, T.Condition):
        clause = event.clause
        when = clause.effective().when
        cond = " ".join((when.text if when else "true").split())
        state = say(lang, "trace.in_force") if event.state == "in_force" else say(lang, "trace.pending", start=event.start)
        head = say(lang, "trace.condition", citation=clause.citation, ref=clause.ref, state=state, condition=cond,
                   holds=T.show(event.holds))
        return [(0, head)] + [(1, f"{text} = {T.show(value)}") for text, value in event.steps if text != cond]
    if isinstance(event, T.Output):
        arithmetic = "; ".join(f"{t} = {T.show(v)}" for t, v in event.steps if t != event.text)
        shown = T.show(event.value)
        line = f"{event.name} = {shown}" if event.text == shown else f"{event.name} = {event.text} = {shown}"
        line += f"  ({arithmetic})" if arithmetic else ""
        return [(0, say(lang, "trace.said", citation=event.clause.citation, words=line))]
    if isinstance(event, T.Definition):
        return [(0, say(lang, "trace.definition", name=event.name, text=event.text, value=T.show(event.value)))]
    if isinstance(event, T.Chain):
        chain = " → ".join(f"{r.name} {r.code}" for r in event.region.chain)
        return [(0, say(lang, "trace.chain", chain=chain, day=event.day.isoformat()))]
    if isinstance(event, T.Expired):
        return [(0, say(lang, "trace.said", citation=event.clause.citation, words=say(lang, "trace.expired")))]
    if isinstance(event, T.Precedence):
        return [(0, say(lang, "trace.precedence", order=" > ".join(c.citation for c in event.clauses)))]
    if isinstance(event, T.Redirect):
        shown = ", ".join(f"{k} = {T.show(v)}" for k, v in event.facts)
        kind = vocab.kinds[event.kind].zh if lang == "zh" else event.kind
        return [(0, say(lang, "trace.redirect", citation=event.clause.citation, kind=kind, facts=shown))]
    if isinstance(event, T.Improving):
        return [(0, say(lang, "trace.improving", citation=event.clause.citation))]
    if isinstance(event, T.Excepted):
        return [(0, say(lang, "trace.said", citation=event.clause.citation, words=f"excepted = {T.show_answer(event.answer)}"))]
    if isinstance(event, T.SubAnswer):
        given = "".join(f", {k} = {T.show(v)}" for k, v in event.facts)
        return [(0, say(lang, "trace.sub_answer", call=f"answer({event.kind}{given})", answer=T.show_answer(event.answer)))]
    raise TypeError(f"not a trace event: {event!r}")


class LineWriter:
    """JSON Lines text of results without a trace: the same text as
    ``json.dumps(result_json(result, lang, trace=False), ensure_ascii=False)``, faster. What follows
    the outputs (bounds, governing, displaced, pending, notes) depends only on the result's
    ``shape`` (see policy_dsl.fast.plans), so its text is made once per shape; the first result of each
    shape is also written the slow way and compared, and a shape whose texts differ is always
    written the slow way. ``tails`` holds the texts so checked (policy_dsl.fast.lane writes with them)."""

    def __init__(self, lang: str = "zh", stream=None, vocab=None, extra: dict | None = None):
        global json
        import json  # the module's, for every method here: imported with the first writer (applies needs none)

        self.lang = lang
        self.extra = extra  # the keys every line ends with (result_json's ``extra``)
        self.vocab = vocab or vocabulary()  # the policy set's kinds table (policy.vocab)
        self.tails: dict = {}  # shape -> the text from "bounds" to the end, or None: write it the slow way
        self._regions: dict = {}  # id(region) -> (region, its text)
        self._slots: dict = {}  # kind -> (the head of its lines as a %-format, the names of its outputs)
        self.stream = stream
        self._buffer = getattr(stream, "buffer", None)  # bytes go straight there, a few hundred lines at a time
        self._pending: list = []  # lines as bytes
        self._text: list = []  # then these lines, as text made of checked parts (encoded together)
        self._flushed_text = False
        self._fixed: dict = {}  # template -> its pieces for write_answer
        self._pieces_off = self._buffer is None  # write_answer's pieces once gave another text: not used again
        self._kind_region: dict = {}  # (kind, id(region)) -> (region, the UTF-8 from "kind" to the decision date's quote)
        self._days: dict = {}  # day -> the UTF-8 of its text, the closing quote and comma

    def write(self, result: Result) -> None:
        """Write the line of ``result`` to the stream (``line`` + a line end)."""
        if self._buffer is None:
            self.stream.write(self.line(result) + "\n")
            return
        shape = result.shape
        tail = self.tails.get(shape) if shape is not None and not result.trace else None
        if tail is None:
            self._add((self.line(result) + "\n").encode())
            return
        case = result.case
        self.write_text(self.head(case.id, case.kind, case.region, case.decision_date, result.status, result.outputs)
                        + tail + "\n")

    def write_text(self, line: str) -> None:
        """Write a line made of a ``head`` and a checked tail (text that encodes as UTF-8)."""
        text = self._text
        text.append(line)
        if len(text) >= 512:
            self._add(None)

    def write_json(self, data) -> None:
        """Write any JSON value as a line (an error, an answer with its trace)."""
        text = json.dumps(data, ensure_ascii=False) + "\n"
        if self._buffer is None:
            self.stream.write(text)
        else:
            self._add(text.encode())

    def _add(self, line: bytes | None) -> None:
        if not self._flushed_text:
            self.stream.flush()  # what was written as text goes first
            self._flushed_text = True
        pending = self._pending
        if self._text:
            pending.append("".join(self._text).encode())
            self._text.clear()
        if line is not None:
            pending.append(line)
        if len(pending) >= 256 or line is None:
            self._buffer.write(b"".join(pending))
            pending.clear()

    def flush(self) -> None:
        if self._text or self._pending:
            self._add(None)
        if self._buffer is not None:
            self._buffer.flush()

    def line(self, result: Result) -> str:
        shape = result.shape
        tail = self.tails.get(shape, False) if shape is not None and not result.trace else None
        case = result.case
        if tail is False:
            slow = json.dumps(result_json(result, self.lang, trace=False, vocab=self.vocab, extra=self.extra),
                              ensure_ascii=False)
            tail = self.tails[shape] = self._tail(result)
            if tail is not None and self.head(case.id, case.kind, case.region, case.decision_date, result.status,
                                              result.outputs) + tail != slow:
                tail = self.tails[shape] = None
            if tail is not None:
                try:
                    tail.encode()
                except UnicodeError:
                    tail = self.tails[shape] = None
            return slow
        if tail is None:
            return json.dumps(result_json(result, self.lang, trace=False, vocab=self.vocab, extra=self.extra),
                              ensure_ascii=False)
        return self.head(case.id, case.kind, case.region, case.decision_date, result.status, result.outputs) + tail

    def write_answer(self, case_id, kind: str, region, day: dt.date, t, outputs: dict) -> bool:
        """Write the line ``head(case_id, kind, region, day, t.mode, outputs) + tails[t]`` (policy_dsl.fast.lane:
        ``t`` a template of policy_dsl.fast.plans, its tail checked) from pieces kept as UTF-8: the
        kind and region, the day, the status and outputs (fixed unless decided) with the tail. A
        line with a piece made for it is compared with that text first; False (nothing written)
        if the tail is not checked or the pieces do not give that text."""
        if not self._flushed_text or self._pieces_off:
            return False
        fixed = self._fixed.get(t)
        fresh = False
        if fixed is None:
            tail = self.tails.get(t)
            if tail is None:
                return False
            fixed = self._fixed[t] = self._fixed_piece(kind, t.mode, tail)
            fresh = True
        pieces = self._kind_region.get((kind, id(region)))
        if pieces is None or pieces[0] is not region:
            text = self.head(None, kind, region, day, "", {})
            cut = text.index(', "decision_date": "') + len(', "decision_date": "')
            pieces = self._kind_region[(kind, id(region))] = (region, text[1:cut].encode())
            fresh = True
        day_text = self._days.get(day)
        if day_text is None:
            day_text = self._days[day] = (day.isoformat() + '", ').encode()
            fresh = True
        if case_id is None:
            first = b"{"
        elif case_id.__class__ is int:
            first = b'{"id": %d, ' % case_id
        else:
            first = ('{"id": ' + json.dumps(case_id, ensure_ascii=False) + ", ").encode()
        middle, form, names, end = fixed
        if middle is None:
            middle = (form % tuple([_value_text(outputs.get(name)) for name in names])).encode()
        if fresh:
            want = (self.head(case_id, kind, region, day, t.mode, outputs) + self.tails[t] + "\n").encode()
            if first + pieces[1] + day_text + middle + end != want:  # never seen: then never again
                self._pieces_off = True
                return False
        pending = self._pending
        if self._text:
            pending.append("".join(self._text).encode())
            self._text.clear()
        pending += (first, pieces[1], day_text, middle, end)
        if len(pending) >= 2048:
            self._buffer.write(b"".join(pending))
            pending.clear()
        return True

    def _fixed_piece(self, kind_name: str, status: str, tail: str) -> tuple:
        """For a template: the UTF-8 of the status and the outputs when no output has a value (no_rule; else
        None), else their %-format and the names of the outputs; the tail's UTF-8 with the line end."""
        fmt, names = self._slots.get(kind_name) or self._slots.setdefault(kind_name, self._kind_form(kind_name))
        rest = fmt[fmt.index('"status": %s'):].replace('"status": %s', '"status": ' + (
            _STATUS.get(status) or json.dumps(status)).replace("%", "%%"), 1)
        end = (tail + "\n").encode()
        if status == "no_rule":  # no outputs (a delegation of some outputs may give the others)
            return (rest % tuple(["null"] * len(names))).encode(), None, (), end
        return None, rest, tuple(names), end

    def _tail(self, result: Result) -> str | None:
        full = result_json(result, self.lang, trace=False, vocab=self.vocab, extra=self.extra)
        keys = list(full)
        if "bounds" not in keys:
            return None
        rest = {k: full[k] for k in keys[keys.index("bounds"):]}
        return json.dumps(rest, ensure_ascii=False)[1:]

    def head(self, case_id, kind: str, region, day: dt.date, status: str, outputs: dict) -> str:
        """The line up to the text of its shape: id, kind, region, decision date, status, outputs."""
        text = self._regions.get(id(region))
        if text is None or text[0] is not region:
            r = region.city.to_json()
            if region.city is not region:
                r["district"] = region.to_json()
            text = self._regions[id(region)] = (region, json.dumps(r, ensure_ascii=False))
        form = self._slots.get(kind)
        if form is None:
            form = self._slots[kind] = self._kind_form(kind)
        fmt, names = form
        head = fmt % (text[1], day.isoformat(), _STATUS.get(status) or json.dumps(status),
                      *[_value_text(outputs.get(name)) for name in names])
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


_STATUS = {s: f'"{s}"' for s in ("decided", "delegated", "no_rule")}  # json.dumps(s)


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
    import json

    return json.dumps(to_json(value), ensure_ascii=False)
