"""The columnar backend: the engine's one intermediate form (``engine.resolve``: stretches and
selections) compiled to whole-column operations on a batch of cases held as Arrow data.

For a record batch of cases (``fast.arrowcases`` reads and checks it column by column):

1. the rows are grouped by kind; each row's stretch comes from its region and decision date
   (``Stretches.breaks``/``at``);
2. each clause's condition is computed as a mask over the kind's columns (``fast.columns``), on the
   rows where the clause is in force or pending; the masks make one number a row: which live
   clauses hold — with the stretch, the *template* of the row;
3. each template's selection is ``resolve.select``'s (through ``Evaluator.selection``, the one the
   reference interprets): for a decided one, the deciding clauses' outputs are computed on whole
   columns and each output taken from the clause ``settle`` assigns it to, tied values compared;
   a redirect (``evaluate_as``) evaluates its facts and answers them as a frame of the other kind;
4. rows with the same template (and the same bound note and redirected answer) have the same
   answer apart from its values: the text of that part — status, bounds, governing, displaced,
   pending, notes — is the reference's, made once from the first such row answered by the
   reference path (whose values are checked against the columns': a difference is a bug, raised).

Rows the backend does not take are *declined*, each for a named reason (``columns.REASONS``):
``input`` (a value the column checks do not take: the reference path reads it and says what is
wrong), ``expression`` (a form ``fast.columns`` does not compute), ``value`` (an expression the
reference cannot compute on the row's values), ``calendar`` (a date outside the calendar tables),
``conflict``, ``reject``, ``improving`` (an improving exception), ``conditional-note``, ``nested``
(redirects nested too deep), ``output`` (an output type not written as a column),
``partial-delegation`` (a delegation of some outputs whose others are decided below it). Declined rows
are answered by the reference path, row by row, in their place; the counts go to the summary.
Any other exception is a bug and propagates."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policy_dsl.engine.evaluate import MAX_REDIRECTS
from policy_dsl.fast import arrowcases, columns
from policy_dsl.fast.columns import REASON, REASONS, Frame, Strings, Unsupported, V
from policy_dsl.fast.daytables import EPOCH, day_number

ORDINAL_0 = EPOCH.toordinal()  # the ordinal of day number 0
STATUS = ("decided", "delegated", "no_rule", "error")  # error: a clause rejects the case


class Regions:
    """The region records rows refer to, by index, with what expressions ask of them."""

    def __init__(self):
        self.records: list = []
        self._at: dict = {}
        self._built = -1
        self._codes = self._city = self._province = None
        self._within: dict = {}
        self._code_ids: dict = {}

    def index(self, region) -> int:
        i = self._at.get(id(region))
        if i is None or self.records[i] is not region:
            i = self._at[id(region)] = len(self.records)
            self.records.append(region)
        return i

    def _build(self) -> None:
        if self._built == len(self.records):
            return
        recs = list(self.records)
        for r in recs:
            self.index(r.city)
            self.index(r.province)
        self._codes = np.array([self._code_ids.setdefault(r.code, len(self._code_ids)) for r in self.records], np.int64)
        self._city = np.array([self.index(r.city) for r in self.records], np.int64)
        self._province = np.array([self.index(r.province) for r in self.records], np.int64)
        self._within = {}
        self._built = len(self.records)

    def code_ids(self, idx):
        self._build()
        return self._codes[idx]

    def city_of(self, idx):
        self._build()
        return self._city[idx]

    def province_of(self, idx):
        self._build()
        return self._province[idx]

    def within(self, idx, code: str):
        self._build()
        table = self._within.get(code)
        if table is None:
            table = self._within[code] = np.array([r.within(code) for r in self.records], dtype=bool)
        return table[idx]


class Template:
    """What rows of one stretch with the same conditions holding have in common: the selection
    (``sel``), and how the backend computes it (``mode``: decided, fixed, redirect, declined)."""

    __slots__ = ("mode", "sel", "reason", "assign", "ties", "clauses", "limit", "target", "facts")

    def __init__(self, mode: str, sel=None, reason: str | None = None):
        self.mode, self.sel, self.reason = mode, sel, reason
        self.assign, self.ties, self.clauses, self.limit = (), (), (), None
        self.target = self.facts = None


class KindAnswers:
    """The answers of a frame: per row the status, the key of its answer's text, the outputs."""

    __slots__ = ("status", "key", "outputs")

    def __init__(self, n: int):
        self.status = np.zeros(n, np.int8)  # index into STATUS
        self.key = np.full(n, -1, np.int64)
        self.outputs: dict = {}  # name -> V (full length, null where not decided)


class ColumnarBackend:
    """Answers record batches of cases against the reference evaluator's policy set."""

    def __init__(self, reference, registry, lang: str = "zh", as_of=None):
        self.ev = reference
        self.policy = reference.policy
        self.vocab = reference.vocab
        self.registry = registry
        self.lang = lang
        self.as_of = as_of
        self.kinds = list(self.vocab.kinds)
        self.strings = Strings()
        self.regions = Regions()
        self.reader = arrowcases.Reader(self)
        self.stretches = reference.stretches
        self._stretch_ids: dict = {}  # id(Stretch) -> (index, Stretch)
        self._stretch_list: list = []
        self._states: dict = {}  # kind -> (state matrix rows built, matrix)
        self._templates: dict = {}  # (Stretch, bits) -> Template
        self._keys: dict = {}  # the key of an answer's text -> its index
        self.key_list: list = []
        self.texts: dict = {}  # key index -> what the reference made of its first row (``Texts``)
        self.declined = dict.fromkeys(REASONS[1:], 0)

    # -- stretches ----------------------------------------------------------------------------
    def _stretch_index(self, stretch) -> int:
        found = self._stretch_ids.get(id(stretch))
        if found is None or found[1] is not stretch:
            found = self._stretch_ids[id(stretch)] = (len(self._stretch_list), stretch)
            self._stretch_list.append(stretch)
        return found[0]

    def stretch_ids(self, kind: str, region_idx: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Each row's stretch (index into the backend's list) for its region and day."""
        out = np.empty(len(days), np.int64)
        for r in np.unique(region_idx):
            rows = np.flatnonzero(region_idx == r)
            region = self.regions.records[r]
            breaks = np.array(self.stretches.breaks(kind, region), dtype=np.int64) - ORDINAL_0
            d = days[rows]
            pos = np.searchsorted(breaks, d, side="right")
            for p in np.unique(pos):
                at = pos == p
                day = EPOCH.fromordinal(int(d[at][0]) + ORDINAL_0)
                out[rows[at]] = self._stretch_index(self.stretches.at(kind, region, day))
        return out

    def _state_matrix(self, kind: str, clauses) -> np.ndarray:
        """For each stretch known and each clause of the kind: 1 in force, 2 pending, 0 otherwise."""
        built = self._states.get(kind)
        if built is not None and built[0] == len(self._stretch_list):
            return built[1]
        index = {id(c): i for i, c in enumerate(clauses)}
        m = np.zeros((len(self._stretch_list), len(clauses)), np.int8)
        for s, stretch in enumerate(self._stretch_list):
            if stretch.kind != kind:
                continue
            for c, state, _ in stretch.live:
                m[s, index[id(c)]] = 1 if state == "in_force" else 2
        self._states[kind] = (len(self._stretch_list), m)
        return m

    # -- templates ----------------------------------------------------------------------------
    def template(self, kind: str, stretch, bits: int, clauses) -> Template:
        t = self._templates.get((stretch, bits))
        if t is None:
            t = self._templates[(stretch, bits)] = self._template(kind, stretch, bits, clauses)
        return t

    def _template(self, kind: str, stretch, bits: int, clauses) -> Template:
        index = {id(c): i for i, c in enumerate(clauses)}
        holding = [c for c, state, _ in stretch.live
                   if state == "in_force" and bits >> index[id(c)] & 1 and c.effective().outcome != "inform"]
        sel = self.ev.selection(kind, holding)
        mode = sel.mode
        if mode == "no_rule":
            return Template("fixed", sel)
        if mode == "reject":
            return Template("error", sel)
        top = sel.top
        if mode in ("delegated", "redirect") and (top.note_whens or top.effective().note_whens):
            return Template("declined", sel, "conditional-note")
        if mode == "delegated" and sel.groups:  # a delegation of some outputs, the others decided below
            return Template("declined", sel, "partial-delegation")
        if mode == "delegated":
            return Template("declined", sel, "conflict") if sel.conflict is not None else Template("fixed", sel)
        if mode == "redirect":
            t = Template("redirect", sel)
            t.target, t.facts = top.effective().evaluate_as
            return t
        if sel.improving:
            return Template("declined", sel, "improving")
        if any(c.note_whens for g in sel.groups for c in (g.clause, g.clause.effective())):
            return Template("declined", sel, "conditional-note")
        outputs = self.vocab.kinds[kind].outputs
        t = Template("decided", sel)
        t.assign = tuple((name, sel.groups[gi].clause) for name, gi in sel.settled.assign)
        t.ties = tuple((name, sel.groups[w].clause, sel.groups[o].clause) for name, w, o in sel.settled.ties)
        t.clauses = tuple(g.clause for g in sel.groups)
        t.limit = sel.limit if sel.limit is not None and "waiting_months" in dict(t.assign) else None
        for name, _ in t.assign:
            if name in outputs and self.vocab.outputs[name]["type"] not in ("date", "int", "bool", "enum"):
                return Template("declined", sel, "output")
        return t

    # -- a frame of one kind ------------------------------------------------------------------
    def answer_frame(self, kind: str, frame: Frame, region: np.ndarray, days: np.ndarray, depth: int = 0) -> KindAnswers:
        """The answers of ``frame`` (rows of ``kind``; ``region`` and ``days`` per row). Rows it
        cannot answer are marked in ``frame.declined``."""
        n = frame.n
        out = KindAnswers(n)
        try:
            for d in self.ev.definitions(kind):
                frame.env[d.name] = _plain_value(frame, frame.value(d.expr.node))
            clauses = list(self.policy.by_topic.get(kind, ()))
            if len(clauses) > 50:
                raise Unsupported("more than 50 clauses of a kind")
            sids = self.stretch_ids(kind, region, days)
            states = self._state_matrix(kind, clauses)[sids]
            bits = np.zeros(n, np.int64)
            for i, c in enumerate(clauses):
                live = states[:, i] > 0
                if not live.any():
                    continue
                when = c.effective().when
                holds = live if when is None else live & frame._truth(frame.value(when.node, live), live)
                bits |= holds.astype(np.int64) << i
        except Unsupported:
            frame.decline(True, None, REASON["expression"])
            return out
        keyed = sids * (1 << len(clauses)) + bits
        uniq, inv = unique_inverse(keyed)
        templates = [self.template(kind, self._stretch_list[int(u) >> len(clauses)], int(u) & ((1 << len(clauses)) - 1),
                                   clauses) for u in uniq]
        modes = np.array([("decided", "fixed", "redirect", "declined", "error").index(t.mode) for t in templates],
                         np.int8)[inv]
        for ti, t in enumerate(templates):
            if t.mode == "declined":
                frame.decline(inv == ti, None, REASON[t.reason])
        sub_keys = np.full(n, -1, np.int64)
        over = np.full(n, -1, np.int64)
        try:
            self._decided(kind, frame, templates, inv, modes == 0, out, over)
            if (modes == 2).any():
                self._redirects(kind, frame, templates, inv, modes == 2, region, days, depth, out, sub_keys)
        except Unsupported:
            frame.decline(True, None, REASON["expression"])
            return out
        for ti, t in enumerate(templates):
            if t.mode == "fixed":
                out.status[inv == ti] = STATUS.index(t.sel.mode)
            elif t.mode == "error":
                out.status[inv == ti] = STATUS.index("error")
        for name in self.vocab.kinds[kind].outputs:
            if name not in out.outputs:
                out.outputs[name] = _empty(self.vocab.outputs[name]["type"], n)
        # the key of each row's answer text: its template, its bound note, its redirected answer
        uover, over_i = unique_inverse(over)
        usub, sub_i = unique_inverse(sub_keys)
        ukeys, kinv = unique_inverse((inv.astype(np.int64) * len(uover) + over_i) * len(usub) + sub_i)
        ids = np.empty(len(ukeys), np.int64)
        for k, code in enumerate(ukeys.tolist()):
            rest, si = divmod(code, len(usub))
            ti, wi = divmod(rest, len(uover))
            w, sk = int(uover[wi]), int(usub[si])
            key = (kind, id(templates[ti]), templates[ti], w, sk)
            found = self._keys.get(key)
            if found is None:
                found = self._keys[key] = len(self.key_list)
                self.key_list.append(key)
            ids[k] = found
        out.key = ids[kinv]
        out.key[frame.declined] = -1
        return out

    def _decided(self, kind, frame, templates, inv, rows, out: KindAnswers, over) -> None:
        """Outputs of the rows of decided templates: each deciding clause's expressions on the rows
        it decides for, each output from the clause the selection assigns it to."""
        if not rows.any():
            return
        n = frame.n
        users: dict = {}  # clause -> the templates it decides in
        for ti, t in enumerate(templates):
            if t.mode == "decided":
                for c in t.clauses:
                    users.setdefault(c, []).append(ti)
        values: dict = {}
        for c, tis in users.items():
            where = np.isin(inv, tis)
            local: dict = {}
            for name, expr in c.effective().decide:
                local[name] = _plain_value(frame, frame.value(expr.node, where, local))
            values[c] = local
        outputs = self.vocab.kinds[kind].outputs
        for name in outputs:
            out.outputs[name] = _empty(self.vocab.outputs[name]["type"], n)
        for ti, t in enumerate(templates):
            if t.mode != "decided":
                continue
            at = inv == ti
            out.status[at] = 0
            for name, a, b in t.ties:
                va, vb = values[a][name], values[b][name]
                frame.decline(_differ(va, vb, at), at, REASON["conflict"])
            for name, c in t.assign:
                if name not in outputs:
                    continue
                _put(out.outputs[name], values[c][name], at, n)
            if t.limit is not None:
                w = out.outputs["waiting_months"]
                big = at & (w.a > t.limit) & ~w.null
                over[big] = w.a[big]

    def _redirects(self, kind, frame, templates, inv, rows, region, days, depth, out: KindAnswers, sub_keys) -> None:
        """Rows whose selection redirects (``evaluate_as``): their facts computed, then answered as
        a frame of the other kind; the row's answer is that frame's, its text keyed by both."""
        for ti, t in enumerate(templates):
            if t.mode != "redirect":
                continue
            at = inv == ti
            rows_i = np.flatnonzero(at & ~frame.declined)
            if depth >= MAX_REDIRECTS:
                frame.decline(at, None, REASON["nested"])
                continue
            if not len(rows_i):
                continue
            env: dict = {}
            for name, expr in t.facts:
                v = _plain_value(frame, frame.value(expr.node, at))
                env[name] = _take(v, rows_i)
            target = t.target
            for flag in self.vocab.person_flags:
                env.setdefault(flag, _take(frame.env[flag], rows_i))
            for name, spec in self.vocab.kinds[target].facts.items():
                if name not in env:
                    if spec.get("optional") or "default" in spec:
                        from policy_dsl.language.kinds import absent_value

                        env[name] = _constant(absent_value(spec), len(rows_i), self)
                    else:
                        raise Unsupported(f"{target}: {name} not given by evaluate_as")
            sub_days = days[rows_i] if self.as_of is not None else self._decided_on(frame, target, env, rows_i)
            env["region"] = V("region", region[rows_i])
            env["decision_date"] = V("date", sub_days)
            sub = Frame(self, len(rows_i), env, self.regions)
            answers = self.answer_frame(target, sub, region[rows_i], sub_days, depth + 1)
            bad = rows_i[sub.declined]
            frame.decline(_mask(bad, frame.n), None, REASON["nested"] if depth + 1 >= MAX_REDIRECTS else sub_reason(sub))
            out.status[rows_i] = answers.status
            sub_keys[rows_i] = answers.key
            for name in self.vocab.kinds[kind].outputs:
                if name not in out.outputs:
                    out.outputs[name] = _empty(self.vocab.outputs[name]["type"], frame.n)
            for name, v in answers.outputs.items():
                if name in out.outputs:
                    _put(out.outputs[name], v, _mask(rows_i, frame.n), frame.n, rows_i)
            # outputs of the redirected kind the case's kind does not give are not shown (result_json)

    def _decided_on(self, frame, target: str, env: dict, rows_i) -> np.ndarray:
        """The day each redirected row is decided on (``Evaluator.redirected_case``): the value of
        the target kind's decision fact (the first day of a month). A row where it is null is
        declined: the reference refuses it."""
        on = env[self.vocab.kinds[target].decided_on]
        if on.t == "null":
            frame.decline(_mask(rows_i, frame.n), None, REASON["value"])
            return np.zeros(len(rows_i), np.int64)
        if on.t not in ("date", "month"):
            raise Unsupported(f"{target}: a decision fact of {on.t}")
        values = np.asarray(on.a, dtype=np.int64)
        if on.null is not None:
            frame.decline(_mask(rows_i[np.asarray(on.null, bool)], frame.n), None, REASON["value"])
        if on.t == "month":
            values = (values - columns.M1970).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        return values


def unique_inverse(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an integer array (in the order they first come) and each row's index
    among them: ``np.unique(a, return_inverse=True)`` by hashing (Arrow), not by sorting."""
    if not len(a):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    enc = pc.dictionary_encode(pa.array(np.asarray(a, np.int64)))
    return (np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), np.int64),
            np.asarray(enc.indices.to_numpy(zero_copy_only=False), np.int64))


def sub_reason(sub: Frame) -> int:
    """The reason of the first declined row of a sub-frame (one reason for the rows it sends back)."""
    found = sub.why[sub.declined]
    return int(found[0]) if len(found) else REASON["value"]


# -- column values ---------------------------------------------------------------------------
def _plain_value(frame: Frame, v: V) -> V:
    """``evaluate.plain``: a period's end as its extended day."""
    return frame.as_date(v, None) if v.t == "period" else v


def _full(v: V, n: int) -> V:
    a = v.a
    if np.ndim(a) == 0:
        a = np.full(n, a)
    null = v.null
    if null is not None and np.ndim(null) == 0:
        null = np.full(n, bool(null))
    return V(v.t, a, null)


def _take(v: V, rows) -> V:
    v = _full(v, max(int(rows.max()) + 1, 1) if len(rows) else 1) if np.ndim(v.a) == 0 else v
    return V(v.t, v.a[rows], None if v.null is None else v.null[rows])


def _constant(value, n: int, backend) -> V:
    if value is None:
        return V("null", None, np.ones(n, bool))
    if value is False or value is True:
        return V("bool", np.full(n, value))
    raise Unsupported(f"a default of {value!r}")


def _empty(t: str, n: int) -> V:
    dtype = {"bool": bool, "num": np.float64, "number": np.float64}.get(t, np.int64)
    return V(t if t != "enum" else "str", np.zeros(n, dtype=dtype), np.ones(n, bool))


def _put(dest: V, src: V, at: np.ndarray, n: int, rows=None) -> None:
    """Copy ``src`` into ``dest`` on the rows ``at`` (``rows``: src holds only those rows, in order)."""
    if src.t == "null":
        dest.null[at] = True
        return
    want = dest.t
    got = src.t
    if want == "date" and got != "date" or want == "int" and got not in ("int",) or want == "bool" and got != "bool" \
            or want == "str" and got != "str":
        raise Unsupported(f"an output of type {want} given {got}")
    if rows is None:
        a = src.a[at] if np.ndim(src.a) else src.a
        null = (src.null[at] if np.ndim(src.null) else src.null) if src.null is not None else False
    else:
        a = src.a if np.ndim(src.a) else src.a
        null = src.null if src.null is not None else False
    dest.a[at] = a
    dest.null[at] = null


def _differ(a: V, b: V, at) -> np.ndarray:
    """Rows where two values of a tie differ (null equals only null)."""
    x, y = _full(a, len(at)), _full(b, len(at))
    if x.t != y.t:
        return at
    xn = x.null if x.null is not None else np.zeros(len(at), bool)
    yn = y.null if y.null is not None else np.zeros(len(at), bool)
    return at & ((xn != yn) | (~xn & (x.a != y.a)))


def _mask(rows, n: int) -> np.ndarray:
    m = np.zeros(n, bool)
    m[rows] = True
    return m



# -- a record batch ------------------------------------------------------------------------------
class BatchAnswers:
    """The answers of a record batch of ``n`` cases: ``taken`` the rows answered here (the others
    declined, each with its reason in ``why``), and for those the kind, region record, decision day
    (day number), id, status, outputs and the key of the answer's text."""

    def __init__(self, n: int):
        self.n = n
        self.taken = np.zeros(n, bool)
        self.why = np.zeros(n, np.int8)
        self.kind = np.full(n, -1, np.int64)
        self.region = np.zeros(n, np.int64)
        self.day = np.zeros(n, np.int64)
        self.ids = None  # the id column (Arrow), or None
        self.id_present = np.zeros(n, bool)
        self.status = np.zeros(n, np.int8)
        self.key = np.full(n, -1, np.int64)
        self.outputs: dict = {}
        self.source, self.first, self.after = "<batch>", 1, ""  # where a row's error is: source:row(after)

    def decline(self, mask, reason: str) -> None:
        new = mask & self.taken
        self.why[new] = REASON[reason]
        self.taken &= ~mask

    def counts(self) -> dict:
        """How many rows were declined, by reason."""
        found = np.bincount(self.why[~self.taken], minlength=len(REASONS))
        return {REASONS[i]: int(c) for i, c in enumerate(found) if i and c}


def _list_value(lengths, fields: dict, present, rows) -> V:
    items: dict = {}
    for (i, field), col in fields.items():
        items.setdefault(i, {})[field] = arrowcases.col_value(col, rows)
    return V("list", (lengths[rows], items), None if present[rows].all() else ~present[rows])


def evaluate_batch(backend: ColumnarBackend, rb, paths, specs, source: str = "<batch>", first: int = 1,
                   json: bool = False) -> BatchAnswers:
    """The answers of the record batch ``rb`` whose columns give ``paths`` (``tables.Columns``: a
    case key or fact, None for a column not read) with ``specs``; ``source`` and ``first`` (the
    number of its first row) say where an error is. ``json``: the rows are lines of JSON Lines
    (values read with JSON's meaning, an error at ``source:line:1``)."""
    n = rb.num_rows
    ba = BatchAnswers(n)
    ba.source, ba.first, ba.after = source, first, ":1" if json else ""
    reader = backend.reader
    reader.json = json
    vocab = backend.vocab
    arrays = {}
    for i, path in enumerate(paths):
        if path is not None:
            arrays[path] = (rb.column(i), specs[i])
    if n == 0 or ("kind",) not in arrays or ("region",) not in arrays:
        return ba
    kcol = reader.column(arrays[("kind",)][0], {"type": "kind"}, "kind", None)
    ba.kind = np.where(kcol.bad | ~kcol.present, -1, kcol.values)
    ba.taken = ba.kind >= 0
    ba.why[~ba.taken] = REASON["input"]
    read: dict = {}

    def column(path, spec, days):
        key = (path, spec["type"])
        col = read.get(key)
        if col is None:
            col = read[key] = reader.column(arrays[path][0], spec, path[-1], days)
        return col

    # the decision day of each row
    days = np.zeros(n, np.int64)
    for k in np.unique(ba.kind[ba.taken]):
        kind = vocab.kinds[backend.kinds[k]]
        rows = ba.kind == k
        if backend.as_of is not None:
            days[rows] = day_number(backend.as_of)
            continue
        spec = kind.facts[kind.decided_on]
        if (kind.decided_on,) not in arrays:
            ba.decline(rows, "input")
            continue
        col = column((kind.decided_on,), spec, None)
        ba.decline(rows & (col.bad | ~col.present), "input")
        if col.t == "month":
            days[rows] = (col.values[rows] - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        else:
            days[rows] = col.values[rows]
    ba.day = days
    rcol = reader.column(arrays[("region",)][0], {"type": "region"}, "region", days)
    ba.decline(rcol.bad | ~rcol.present, "input")
    ba.region = rcol.values
    if ("id",) in arrays:
        icol = reader.column(arrays[("id",)][0], {"type": "id"}, "id", None)
        ba.decline(icol.bad, "input")
        ba.ids, ba.id_present = icol.values, icol.present
    flags = vocab.person_flags
    presents: dict = {}
    for k in np.unique(ba.kind[ba.taken]):
        kind_name = backend.kinds[k]
        kind = vocab.kinds[kind_name]
        mask = (ba.kind == k) & ba.taken
        allowed = set(kind.facts) | set(flags) | {"id", "kind", "region"}
        for path in arrays:
            if path[0] not in allowed or len(path) > 1:  # a key the kind does not have, or flattened items
                present = presents.get(path)
                if present is None:
                    present = presents[path] = arrowcases._present(arrays[path][0], reader.json)
                ba.decline(mask & present, "input")
        rows = np.flatnonzero(mask & ba.taken)
        if not len(rows):
            continue
        env: dict = {}
        for name, spec in list(kind.facts.items()) + list(flags.items()):
            optional = bool(spec.get("optional")) or "default" in spec or name in flags
            if (name,) not in arrays:
                if not optional:
                    ba.decline(mask, "input")
                env[name] = _absent(spec, len(rows), name in flags)
                continue
            if spec["type"] == "list":
                lengths, fields, bad = reader.list_column(arrays[(name,)][0], spec, name, days)
                present = arrowcases._present(arrays[(name,)][0], reader.json)
                ba.decline(mask & (bad | (~present if not optional else False)), "input")
                if lengths is None:
                    ba.decline(mask & present, "input")
                    env[name] = V("null", None, np.ones(len(rows), bool))
                else:
                    env[name] = _list_value(lengths, fields, present, rows)
                continue
            col = column((name,), spec, days)
            ba.decline(mask & col.bad, "input")
            if not optional:
                ba.decline(mask & ~col.present, "input")
            v = arrowcases.col_value(col, rows)
            if name in flags and spec["type"] == "bool" and v.null is not None:  # a flag left out: false
                v = V("bool", np.where(v.null, False, v.a))
            env[name] = v
        rows_all = rows
        env["region"] = V("region", ba.region[rows_all])
        env["decision_date"] = V("date", days[rows_all])
        frame = Frame(backend, len(rows_all), env, backend.regions)
        frame.decline(~ba.taken[rows_all], None, REASON["input"])
        try:
            for c in vocab.constraints_for(kind_name):
                ok = frame._truth(frame.value(c.require), None)
                frame.decline(~np.asarray(ok, bool) if np.ndim(ok) else not ok, None, REASON["input"])
        except Unsupported:
            frame.decline(True, None, REASON["expression"])
        if not frame.declined.all():
            answers = backend.answer_frame(kind_name, frame, ba.region[rows_all], days[rows_all])
        else:
            answers = KindAnswers(frame.n)
        declined = rows_all[frame.declined]
        still = ba.taken[declined]
        ba.why[declined[still]] = frame.why[frame.declined][still]
        ba.taken[declined] = False
        ba.status[rows_all] = answers.status
        ba.key[rows_all] = answers.key
        for name, v in answers.outputs.items():
            dest = ba.outputs.get(name)
            if dest is None:
                dest = ba.outputs[name] = _empty(vocab.outputs[name]["type"], n)
            _put(dest, v, _mask(rows_all, n), n, rows_all)
    return ba


def _absent(spec: dict, n: int, flag: bool) -> V:
    from policy_dsl.language.kinds import absent_value

    value = absent_value(spec)
    if value is None:
        t = {"date": "date", "month": "month", "enum": "str", "region": "region", "int": "int", "number": "num",
             "bool": "bool"}.get(spec["type"], "null")
        return V(t, np.zeros(n, np.int64) if t != "bool" else np.zeros(n, bool), np.ones(n, bool))
    if value is True or value is False:
        return V("bool", np.full(n, value))
    raise Unsupported(f"a default of {value!r}")


# -- the answers as columns ----------------------------------------------------------------------
class Texts:
    """What the reference made of the first row of a key: the status, the row's ``bounds``,
    ``governing``, ``rule`` and ``notes`` cells, and the JSON Lines text from ``"bounds"`` on."""

    __slots__ = ("status", "cells", "tail")

    def __init__(self, status: str, cells: tuple, tail: str):
        self.status, self.cells, self.tail = status, cells, tail


def missing_keys(backend: ColumnarBackend, ba: BatchAnswers) -> dict:
    """Each key of a taken row whose texts are not known yet → the first row that has it."""
    rows = np.flatnonzero(ba.taken)
    keys, inv = unique_inverse(ba.key[rows])
    # the distinct keys are numbered as they first come: a row holds a new one where its number
    # is above every number before it
    first = np.flatnonzero(np.r_[True, inv[1:] > np.maximum.accumulate(inv)[:-1]]) if len(inv) else inv
    return {int(k): int(rows[i]) for k, i in zip(keys, first) if int(k) not in backend.texts}


def learn(backend: ColumnarBackend, ba: BatchAnswers, key: int, row: int, answer: dict, cells: list,
          where: str) -> None:
    """Keep the texts of ``key`` from the reference's JSON ``answer`` for ``row`` (``cells``: its
    row's bounds, governing, rule and notes; ``where``: where an error on that row is said to be),
    after checking that the backend's status and outputs for that row are the reference's (a
    difference is a bug: AssertionError)."""
    mine = {"status": STATUS[ba.status[row]]}
    if "error" in answer:
        e = answer["error"]
        if mine["status"] != "error" or e["where"] != where:
            raise AssertionError(f"columnar backend: row {row} answered ({mine['status']}), the reference says {e}")
        backend.texts[key] = Texts("error", (e["code"], e["message"], e.get("hint")), None)
        return
    keys = list(answer)
    rest = {k: answer[k] for k in keys[keys.index("bounds"):]}
    tail = json.dumps(rest, ensure_ascii=False)[1:]
    for name in backend.vocab.outputs:
        v = ba.outputs.get(name)
        mine[name] = None if v is None or v.null[row] else _json_value(backend, v, row)
    theirs = {name: answer[name] for name in mine}
    if mine != theirs:
        raise AssertionError(f"columnar backend differs from the reference on row {row}: {mine} != {theirs}")
    backend.texts[key] = Texts(answer["status"], tuple(cells), tail)


def _json_value(backend, v: V, row: int):
    a = v.a[row]
    if v.t == "date":
        return (EPOCH.fromordinal(int(a) + ORDINAL_0)).isoformat()
    if v.t == "bool":
        return bool(a)
    if v.t == "str":
        return backend.strings.texts[int(a)]
    if v.t == "month":
        from policy_dsl.language.values import Month

        return str(Month(int(a)))
    return int(a)


def _date32(values, null) -> pa.Array:
    return pa.array(np.asarray(values, np.int32), pa.int32(), mask=null).cast(pa.date32())


def output_array(backend: ColumnarBackend, v: V | None, t: str, rows, n: int) -> pa.Array:
    """The Parquet column of an output on ``rows`` (types as ``tables.arrow_schema``)."""
    if v is None:
        return pa.nulls(n, _ARROW[t])
    a, null = v.a[rows], v.null[rows]
    if null.all():
        return pa.nulls(n, _ARROW[t])
    if t == "date":
        return _date32(a, null)
    if t == "int":
        return pa.array(a.astype(np.int64), pa.int64(), mask=null)
    if t == "bool":
        return pa.array(a.astype(bool), pa.bool_(), mask=null)
    if t == "enum":
        texts = pa.array(backend.strings.texts, pa.string())
        return texts.take(pa.array(np.where(null, 0, a), pa.int64(), mask=null))
    raise Unsupported(f"an output column of type {t}")


_ARROW = {"date": pa.date32(), "int": pa.int64(), "bool": pa.bool_(), "number": pa.float64(), "enum": pa.string(),
          "list": pa.list_(pa.string())}


def arrow_rows(backend: ColumnarBackend, ba: BatchAnswers, schema) -> pa.RecordBatch:
    """The answer rows (``tables.arrow_schema``) of the taken rows, in order."""
    rows = np.flatnonzero(ba.taken)
    n = len(rows)
    keys = ba.key[rows]
    ukeys, kinv = unique_inverse(keys)
    texts = [backend.texts[int(k)] for k in ukeys]
    kidx = pa.array(kinv)
    arrays = []
    for field in schema:
        name = field.name
        if name == "id":
            if ba.ids is None:
                arrays.append(pa.nulls(n, field.type))
            else:
                ids = ba.ids.take(pa.array(rows))
                if field.type == pa.int64() and not pa.types.is_integer(ids.type):
                    arrays.append(pa.nulls(n, pa.int64()))
                else:
                    arrays.append(ids.cast(field.type))
        elif name == "kind":
            arrays.append(pa.array(backend.kinds, pa.string()).take(pa.array(ba.kind[rows])))
        elif name == "region":
            recs = backend.regions.records
            arrays.append(pa.array([r.city.code for r in recs], pa.string()).take(pa.array(ba.region[rows])))
        elif name == "decision_date":
            arrays.append(_date32(ba.day[rows], None))
        elif name == "status":
            arrays.append(pa.array([t.status if t.status != "error" else None for t in texts], pa.string()).take(kidx))
        elif name in backend.vocab.outputs:
            arrays.append(output_array(backend, ba.outputs.get(name), backend.vocab.outputs[name]["type"], rows, n))
        elif name in _CELLS:
            i = _CELLS.index(name)
            arrays.append(pa.array([t.cells[i] if t.status != "error" else None for t in texts], pa.string()).take(kidx))
        else:  # error
            arrays.append(pa.nulls(n, field.type))
    errors = np.array([t.status == "error" for t in texts] + [False])[kinv] if n else np.zeros(0, bool)
    if errors.any():  # a rejected case: its id and its error, nothing else
        mask = pa.array(errors)
        said = pa.array([f"{ba.after}: {t.cells[0]} {t.cells[1]}" if t.status == "error" else "" for t in texts], pa.string())
        error = pc.binary_join_element_wise(ba.source + ":", pa.array(rows + ba.first).cast(pa.string()), said.take(kidx), "")
        arrays = [a if f.name == "id" else pc.if_else(mask, error, a) if f.name == "error"
                  else pc.if_else(mask, pa.nulls(n, f.type), a) for f, a in zip(schema, arrays)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


_CELLS = ("bounds", "governing", "rule", "notes")


def _text_of(backend, v: V | None, t: str, rows, n: int) -> pa.Array:
    """JSON text of an output on ``rows`` (null where it is null)."""
    if v is None:
        return pa.array(["null"] * n, pa.string()) if n else pa.array([], pa.string())
    a, null = v.a[rows], v.null[rows]
    if null.all():
        return pa.array(["null"] * n, pa.string())
    if t == "date":
        text = pc.binary_join_element_wise('"', _date32(a, None).cast(pa.string()), '"', "")
    elif t == "int":
        text = pa.array(a.astype(np.int64)).cast(pa.string())
    elif t == "bool":
        text = pc.if_else(pa.array(a.astype(bool)), "true", "false")
    elif t == "enum":
        words = pa.array([json.dumps(x, ensure_ascii=False) for x in backend.strings.texts], pa.string())
        text = words.take(pa.array(np.where(null, 0, a).astype(np.int64)))
    else:
        raise Unsupported(f"an output of type {t} in JSON Lines")
    return pc.if_else(pa.array(null), "null", text) if null.any() else text


_PLAIN_ID = r'^[^"\\\x00-\x1f\x7f]*$'


def json_lines(backend: ColumnarBackend, ba: BatchAnswers) -> pa.Array:
    """The JSON Lines text (each with its line end) of the taken rows, in order: the bytes
    ``json.dumps(result_json(...), ensure_ascii=False)`` gives, the part from ``"bounds"`` on
    being the reference's own text for the row's key."""
    rows = np.flatnonzero(ba.taken)
    n = len(rows)
    if not n:
        return pa.array([], pa.string())
    vocab = backend.vocab
    # the id
    if ba.ids is None:
        head = pa.array(["{"] * n, pa.string())
    else:
        ids = ba.ids.take(pa.array(rows))
        present = pa.array(ba.id_present[rows])
        if pa.types.is_integer(ids.type):
            id_text = ids.cast(pa.string())
        else:
            plain = pc.match_substring_regex(ids, _PLAIN_ID)
            id_text = pc.binary_join_element_wise('"', ids, '"', "")
            if not pc.all(plain).as_py():
                fixed = [json.dumps(x, ensure_ascii=False) if x is not None else None for x in ids.to_pylist()]
                id_text = pc.if_else(plain, id_text, pa.array(fixed, pa.string()))
        head = pc.if_else(present, pc.binary_join_element_wise('{"id": ', id_text, ", ", ""), "{")
    # kind and region, as LineWriter.head writes them
    kr = ba.kind[rows] * len(backend.regions.records) + ba.region[rows]
    ukr, krinv = unique_inverse(kr)
    pieces = []
    for v in ukr.tolist():
        k, r = divmod(v, len(backend.regions.records))
        region = backend.regions.records[r]
        rj = region.city.to_json()
        if region.city is not region:
            rj["district"] = region.to_json()
        pieces.append('"kind": ' + json.dumps(backend.kinds[k]) + ', "region": ' + json.dumps(rj, ensure_ascii=False)
                      + ', "decision_date": "')
    kr_text = pa.array(pieces, pa.string()).take(pa.array(krinv))
    day_text = _date32(ba.day[rows], None).cast(pa.string())
    keys = ba.key[rows]
    ukeys, kinv = unique_inverse(keys)
    kidx = pa.array(kinv)
    texts = [backend.texts[int(k)] for k in ukeys]
    status = pa.array(['", "status": ' + json.dumps(t.status) for t in texts], pa.string()).take(kidx)
    tail = pa.array([", " + (t.tail or "") + "\n" for t in texts], pa.string()).take(kidx)
    # the outputs: every output of the kinds table, null unless the row's kind gives it
    parts = [head, kr_text, day_text, status]
    kinds = ba.kind[rows]
    for name, spec in vocab.outputs.items():
        v = ba.outputs.get(name)
        if v is None:
            parts.append(', "' + name + '": null')
            continue
        text = _text_of(backend, v, spec["type"], rows, n)
        has = np.array([name in vocab.kinds[k].outputs for k in backend.kinds] + [False])[kinds]
        if not has.all():
            text = pc.if_else(pa.array(has), text, "null")
        parts.append(pc.binary_join_element_wise(', ' + json.dumps(name) + ': ', text, ""))
    parts.append(tail)
    arrays = [p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.array([p] * n, pa.string()) for p in parts]
    lines = pc.binary_join_element_wise(*arrays, "")
    errors = np.array([backend.texts[int(k)].status == "error" for k in ukeys] + [False])[kinv]
    if errors.any():  # a rejected case: {"id": …, "error": {…}} as eval writes it
        words = []
        for k in ukeys:
            t = backend.texts[int(k)]
            if t.status != "error":
                words.append("")
                continue
            code, message, hint = t.cells
            words.append(ba.after + '"' + (', "hint": ' + json.dumps(hint, ensure_ascii=False) if hint is not None else "") + "}}\n")
        head_id = pc.if_else(present, id_text, "null") if ba.ids is not None else pa.array(["null"] * n, pa.string())
        said = pa.array([', "error": {"code": ' + json.dumps(backend.texts[int(k)].cells[0]) + ', "message": '
                         + json.dumps(backend.texts[int(k)].cells[1], ensure_ascii=False) + ', "where": '
                         if backend.texts[int(k)].status == "error" else "" for k in ukeys], pa.string()).take(kidx)
        where = json.dumps(ba.source + ":", ensure_ascii=False)[:-1]
        error = pc.binary_join_element_wise('{"id": ', head_id, said, where, pa.array(rows + ba.first).cast(pa.string()),
                                            pa.array(words, pa.string()).take(kidx), "")
        lines = pc.if_else(pa.array(errors), error, lines)
    return lines
