"""Cases as columns: an Arrow record batch of cases (a table's columns as ``tools/tables.Columns``
names them) read into typed numpy columns for the columnar backend, with the checks of
``engine/cases.CaseValidator`` made on whole columns.

A row is *taken* only when every check passes as it passes for the validator's quick path on the
same value: a kind by its name, a region code valid on the decision date (or a name the registry
resolves), dates written ``YYYY-MM-DD`` (or Arrow dates), months ``YYYY-MM``, numbers in range, an
enumerated value or a word the kinds table lists for it, no key the kind does not have, every
required fact present. Any other row is *declined* (``input``): the reference path reads it as
``eval`` does and answers it, or says what is wrong with it — the same answer or error row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policy_dsl.fast.columns import V
from policy_dsl.fast.daytables import day_number
from policy_dsl.language.errors import PolicyDslError
from policy_dsl.language.safeio import DATE_MAX, DATE_MIN

DAY_FIRST, DAY_LAST = day_number(DATE_MIN), day_number(DATE_MAX)
TRUE_WORDS = frozenset({"true", "是", "1", "yes", "y", "对", "√"})  # tools/tables.py's cell words
FALSE_WORDS = frozenset({"false", "否", "0", "no", "n", "错", "×"})


class Col:
    """One column read for one fact type: ``values`` (numpy), ``present`` (a value given: not null,
    not blank text, not NaN), ``bad`` (given, but not one the quick checks take)."""

    __slots__ = ("t", "values", "present", "bad")

    def __init__(self, t, values, present, bad):
        self.t, self.values, self.present, self.bad = t, values, present, bad


def _np_bool(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _valid(arr) -> np.ndarray:
    """Not null."""
    if not arr.null_count:
        return np.ones(len(arr), bool)
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _text_buffers(arr) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a text column, read in place from its Arrow buffers."""
    n = len(arr)
    bufs = arr.buffers()
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=kind, count=n + 1, offset=arr.offset * np.dtype(kind).itemsize)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


_SPACE = np.zeros(256, bool)
_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_SPACE[128:] = True  # a byte of a character beyond ASCII: it may be a space (U+3000 …), Arrow looks


def _present(arr: pa.Array, json: bool = False) -> np.ndarray:
    """A value given: not null and, for a table's cells, not blank text and not NaN (``json``: a
    JSON value is given whatever it is)."""
    present = _valid(arr)
    if json:
        return present
    t = arr.type
    if _is_text(t):
        offsets, data = _text_buffers(arr)
        present &= offsets[1:] > offsets[:-1]
        if len(data):  # only text that starts or ends with what may be a space can be blank
            first = data[np.minimum(offsets[:-1], len(data) - 1)]
            last = data[np.clip(offsets[1:] - 1, 0, len(data) - 1)]
            rows = np.flatnonzero(present & (_SPACE[first] | _SPACE[last]))
            if len(rows):
                blank = _np_bool(pc.equal(pc.utf8_trim_whitespace(arr.take(pa.array(rows))), ""))
                present[rows[blank]] = False
    elif pa.types.is_floating(t):
        present &= ~_np_bool(pc.is_nan(arr))
    return present


def _is_text(t) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _ints(arr, present, json: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Whole numbers of an integer, float or text column: (values, bad); ``json``: of an integer
    column only (JSON's ``2.0`` or ``"2"`` is no whole number)."""
    t = arr.type
    n = len(arr)
    if pa.types.is_integer(t):
        return np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)), np.zeros(n, bool)
    if json:
        return np.zeros(n, np.int64), present.copy()
    if pa.types.is_floating(t):
        f = np.asarray(pc.fill_null(arr, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
        f = np.where(present, f, 0.0)
        ok = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 1e15)
        return np.where(ok, f, 0).astype(np.int64), present & ~ok
    if _is_text(t):
        ok = _np_bool(pc.match_substring_regex(arr, r"^[0-9]{1,15}$"))
        vals = pc.cast(pc.if_else(pc.match_substring_regex(arr, r"^[0-9]{1,15}$"), arr, "0"), pa.int64())
        return np.asarray(pc.fill_null(vals, 0).to_numpy(zero_copy_only=False)), present & ~ok
    return np.zeros(n, np.int64), present.copy()


def _digits(arr, width: int) -> tuple[np.ndarray, list]:
    """The rows of a text column holding exactly ``width`` bytes, and for each k < width the k-th
    byte of those rows less ``'0'`` (a digit is 0..9, ``-`` is -3)."""
    offsets, data = _text_buffers(arr)
    starts = offsets[:-1]
    rows = np.flatnonzero(((offsets[1:] - starts) == width) & _valid(arr))
    at = starts[rows]
    return rows, [data[at + k].astype(np.int16) - 48 for k in range(width)]


def _text_days(arr) -> tuple[np.ndarray, np.ndarray]:
    """(day numbers, ok) of the rows written exactly ``YYYY-MM-DD``, a day that exists."""
    n = len(arr)
    out, ok = np.zeros(n, np.int64), np.zeros(n, bool)
    rows, c = _digits(arr, 10)
    if not len(rows):
        return out, ok
    good = (c[4] == -3) & (c[7] == -3)
    for k in (0, 1, 2, 3, 5, 6, 8, 9):
        good &= (c[k] >= 0) & (c[k] <= 9)
    y = c[0].astype(np.int64) * 1000 + c[1] * 100 + c[2] * 10 + c[3]
    m = c[5] * 10 + c[6]
    d = c[8] * 10 + c[9]
    good &= (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1)
    months = np.where(good, (y - 1970) * 12 + m - 1, 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    length = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - first
    good &= d <= length
    out[rows] = np.where(good, first + d - 1, 0)
    ok[rows] = good
    return out, ok


def _text_months(arr) -> tuple[np.ndarray, np.ndarray]:
    """(month numbers, year*12 + month - 1, and ok) of the rows written exactly ``YYYY-MM``."""
    n = len(arr)
    out, ok = np.zeros(n, np.int64), np.zeros(n, bool)
    rows, c = _digits(arr, 7)
    if not len(rows):
        return out, ok
    good = c[4] == -3
    for k in (0, 1, 2, 3, 5, 6):
        good &= (c[k] >= 0) & (c[k] <= 9)
    y = c[0].astype(np.int64) * 1000 + c[1] * 100 + c[2] * 10 + c[3]
    m = c[5] * 10 + c[6]
    good &= (m >= 1) & (m <= 12)
    out[rows] = np.where(good, y * 12 + m - 1, 0)
    ok[rows] = good
    return out, ok


def _days(arr, present) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of a date32 column or of text written YYYY-MM-DD: (values, bad)."""
    t = arr.type
    n = len(arr)
    if pa.types.is_date32(t):
        d = np.asarray(pc.fill_null(arr.cast(pa.int32()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    elif _is_text(t):
        d, ok = _text_days(arr)
        return d, present & ~(ok & (d >= DAY_FIRST) & (d <= DAY_LAST))
    else:
        return np.zeros(n, np.int64), present.copy()
    return d, present & ~((d >= DAY_FIRST) & (d <= DAY_LAST))


def _months(arr, present) -> tuple[np.ndarray, np.ndarray]:
    """Month numbers of text written YYYY-MM or of a date32 column's first days: (values, bad)."""
    t = arr.type
    n = len(arr)
    if pa.types.is_date32(t):
        d, bad = _days(arr, present)
        dd = d.astype("datetime64[D]")
        first = dd.astype("datetime64[M]")
        m = first.astype(np.int64) + 1970 * 12
        return m, bad | (present & (first.astype("datetime64[D]") != dd))
    if not _is_text(t):
        return np.zeros(n, np.int64), present.copy()
    m, ok = _text_months(arr)
    ok &= (m >= DATE_MIN.year * 12) & (m <= DATE_MAX.year * 12 + 11)
    return np.where(ok, m, 0), present & ~ok


def _uniques(arr):
    """(codes per row, unique values as Python objects) of a column."""
    enc = pc.dictionary_encode(arr)
    return np.asarray(pc.fill_null(enc.indices, 0).to_numpy(zero_copy_only=False), dtype=np.int64), enc.dictionary.to_pylist()


class Reader:
    """Reads record batches for one backend (its kinds table, regions, text codes)."""

    def __init__(self, backend):
        self.backend = backend
        self.vocab = backend.vocab
        self.registry = backend.registry
        self.strings = backend.strings
        self.regions = backend.regions
        self.json = False  # the batch was read from JSON Lines: values mean what they mean in JSON

    def column(self, arr: pa.Array, spec: dict, name: str, days) -> Col:
        """The column ``arr`` read as a fact of ``spec`` (``days``: each row's decision day, for
        regions; None while the decision day is being read). A table's cells are read as
        ``tools/tables.cell_value`` reads them (text trimmed, ``是`` true, ``2.0`` a whole number);
        JSON values (``json``) as ``engine/cases`` takes them (a bool only from true or false, a
        whole number only from an integer, text as it is)."""
        json = self.json
        present = _present(arr, json)
        t = spec["type"]
        n = len(arr)
        if json and t in ("bool", "int", "number", "enum", "kind", "region", "date", "month"):
            wanted = {"bool": pa.types.is_boolean, "int": pa.types.is_integer,
                      "number": lambda x: pa.types.is_integer(x) or pa.types.is_floating(x)}.get(t, _is_text)
            if not wanted(arr.type):  # another JSON type: the row path says what is wrong
                return Col({"number": "num", "enum": "str"}.get(t, t), np.zeros(n, np.int64), present, present.copy())
        if t == "date":
            values, bad = _days(arr, present)
            return Col("date", values, present, bad)
        if t == "month":
            values, bad = _months(arr, present)
            return Col("month", values, present, bad)
        if t == "bool":
            if pa.types.is_boolean(arr.type):
                return Col("bool", _np_bool(arr), present, np.zeros(n, bool))
            if pa.types.is_integer(arr.type):
                v, _ = _ints(arr, present)
                return Col("bool", v == 1, present, present & (v != 0) & (v != 1))
            if _is_text(arr.type):
                codes, uniq = _uniques(pc.utf8_lower(pc.utf8_trim_whitespace(arr)))
                truth = np.array([u in TRUE_WORDS for u in uniq] + [False], dtype=bool)
                known = np.array([u in TRUE_WORDS or u in FALSE_WORDS for u in uniq] + [False], dtype=bool)
                return Col("bool", truth[codes], present, present & ~known[codes])
            return Col("bool", np.zeros(n, bool), present, present.copy())
        if t in ("int", "number"):
            if t == "number" and (pa.types.is_floating(arr.type) or _is_text(arr.type)):
                if _is_text(arr.type):
                    shaped = pc.match_substring_regex(arr, r"^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
                    f = pc.cast(pc.if_else(shaped, arr, "0"), pa.float64())
                    ok = _np_bool(shaped)
                else:
                    f, ok = arr, np.ones(n, bool)
                values = np.asarray(pc.fill_null(f, 0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
                ok &= np.isfinite(values) & (values >= 0) & (values <= 10**6)
                return Col("num", np.where(ok, values, 0.0), present, present & ~ok)
            values, bad = _ints(arr, present)
            ok = (values >= 0) & (values <= 10**6)
            if t == "int" and name.endswith("year"):
                ok &= (values >= DATE_MIN.year) & (values <= DATE_MAX.year)
            return Col("int" if t == "int" else "num", values if t == "int" else values.astype(np.float64),
                       present, bad | (present & ~ok))
        if t == "enum":
            if not _is_text(arr.type):
                return Col("str", np.zeros(n, np.int64), present, present.copy())
            codes, uniq = _uniques(arr)
            table = []
            for u in uniq:
                found = self.vocab.value_named(name, u if json else u.strip(), spec["values"]) if u is not None else None
                table.append(-1 if found is None else self.strings.code(found))
            mapped = np.array(table + [-1], dtype=np.int64)[codes]
            return Col("str", mapped, present, present & (mapped < 0))
        if t == "region":
            return self.region_column(arr, present, days)
        if t == "id":
            return self.id_column(arr, present)
        if t == "kind":
            if not _is_text(arr.type):
                return Col("kind", np.full(n, -1, np.int64), present, present.copy())
            codes, uniq = _uniques(arr)
            names = list(self.vocab.kinds)
            table = []
            for u in uniq:
                k = self.vocab.kind_named(u if self.json else u.strip()) if u is not None else None
                table.append(-1 if k is None else names.index(k))
            mapped = np.array(table + [-1], dtype=np.int64)[codes]
            return Col("kind", mapped, present, present & (mapped < 0))
        return Col(t, None, present, present.copy())  # a list given other than as Arrow structs

    def id_column(self, arr, present) -> Col:
        n = len(arr)
        t = arr.type
        if pa.types.is_integer(t):
            return Col("id", arr, present, np.zeros(n, bool))
        if _is_text(t):
            trimmed = _np_bool(pc.equal(pc.utf8_trim_whitespace(arr), arr))
            short = _np_bool(pc.less_equal(pc.utf8_length(arr), 200))  # longer ones are not echoed in an error
            return Col("id", arr, present, present & ~(trimmed & short))
        return Col("id", arr, present, present.copy())

    def region_column(self, arr, present, days) -> Col:
        """Region records (indices into the backend's Regions) valid on each row's day."""
        n = len(arr)
        if pa.types.is_integer(arr.type):
            arr = pc.cast(arr, pa.string())
        if not _is_text(arr.type) or days is None:
            return Col("region", np.zeros(n, np.int64), present, present.copy())
        codes, uniq = _uniques(arr)
        out = np.full(n, -1, dtype=np.int64)
        for k, u in enumerate(uniq):
            if u is None:
                continue
            rows = (codes == k) & present
            if not rows.any():
                continue
            latest = self.registry.by_code.get(u) if len(u) == 6 and u.isdigit() else None
            if latest is not None:
                d = days[rows]
                ok = np.ones(len(d), bool)
                if latest.valid_from is not None:
                    ok &= d >= day_number(latest.valid_from)
                if latest.valid_to is not None:
                    ok &= d <= day_number(latest.valid_to)
                idx = np.flatnonzero(rows)
                out[idx[ok]] = self.regions.index(latest)
                rest = idx[~ok]
            else:
                rest = np.flatnonzero(rows)
            if len(rest):
                for day in np.unique(days[rest]):
                    at = rest[days[rest] == day]
                    try:
                        r = self.registry.resolve(u, _date(int(day)), None, self.backend.lang)
                    except PolicyDslError:
                        continue  # the row path says what is wrong
                    out[at] = self.regions.index(r)
        return Col("region", out, present, present & (out < 0))

    def list_column(self, arr, spec: dict, name: str, days) -> tuple:
        """A list of mappings given as Arrow lists of structs: (lengths, {(index, field): Col}, bad)."""
        n = len(arr)
        present = _present(arr, self.json)
        t = arr.type
        if not (pa.types.is_list(t) or pa.types.is_large_list(t)) or not pa.types.is_struct(t.value_type):
            return None, {}, present.copy()
        items = spec.get("items") or {}
        struct = t.value_type
        bad = present.copy() if any(struct.field(i).name not in items for i in range(struct.num_fields)) \
            else np.zeros(n, bool)
        lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        length = spec.get("length")
        if length:
            bad |= present & (lengths != length)
        count = length or (int(lengths.max()) if n else 0)
        fields: dict = {}
        safe = pc.if_else(pc.and_(pc.is_valid(arr), pc.greater_equal(pc.list_value_length(arr), count)), arr,
                          pa.scalar(None, t))
        for i in range(count):
            element = pc.list_element(safe, i) if count else None
            item_null = np.asarray(element.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            bad |= present & item_null
            for field, fspec in items.items():
                if struct.get_field_index(field) < 0:
                    col = Col(fspec["type"], np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, bool))
                else:
                    col = self.column(pc.struct_field(element, field), fspec, f"{name}[{i}].{field}", days)
                if not fspec.get("optional"):
                    bad |= present & ~col.present
                bad |= present & col.bad
                fields[(i, field)] = col
        return lengths, fields, bad


def _date(n: int):
    import datetime as dt

    return dt.date(1970, 1, 1) + dt.timedelta(days=n)


def col_value(col: Col, rows=None) -> V:
    """The ``V`` of a read column on ``rows`` (an index array; None: all): a value left out is null."""
    values = col.values if rows is None else col.values[rows]
    present = col.present if rows is None else col.present[rows]
    null = None if present.all() else ~present
    return V(col.t, values, null)

