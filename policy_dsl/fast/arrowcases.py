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


def _present(arr: pa.Array) -> np.ndarray:
    present = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        blank = _np_bool(pc.equal(pc.utf8_trim_whitespace(arr), ""))
        present &= ~blank
    elif pa.types.is_floating(t):
        present &= ~_np_bool(pc.is_nan(arr))
    return present


def _is_text(t) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _ints(arr, present) -> tuple[np.ndarray, np.ndarray]:
    """Whole numbers of an integer, float or text column: (values, bad)."""
    t = arr.type
    n = len(arr)
    if pa.types.is_integer(t):
        return np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)), np.zeros(n, bool)
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


def _days(arr, present) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of a date32 column or of text written YYYY-MM-DD: (values, bad)."""
    t = arr.type
    n = len(arr)
    if pa.types.is_date32(t):
        d = np.asarray(pc.fill_null(arr.cast(pa.int32()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    elif _is_text(t):
        shaped = pc.match_substring_regex(arr, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        parsed = pc.strptime(pc.if_else(shaped, arr, "1970-01-01"), format="%Y-%m-%d", unit="s", error_is_null=True)
        ok = _np_bool(shaped) & ~np.asarray(parsed.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        d = np.asarray(pc.fill_null(parsed.cast(pa.date32()).cast(pa.int32()), 0).to_numpy(zero_copy_only=False),
                       dtype=np.int64)
        # strptime also takes what is no date (2022-02-30 rolls over): the text must be the date's own
        back = pc.strftime(parsed.cast(pa.timestamp("s")), format="%Y-%m-%d")
        ok &= _np_bool(pc.equal(back, arr))
        return np.where(ok, d, 0), present & ~(ok & (d >= DAY_FIRST) & (d <= DAY_LAST))
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
    shaped = pc.match_substring_regex(arr, r"^[0-9]{4}-[0-9]{2}$")
    text = pc.if_else(shaped, arr, "0000-00")
    year = np.asarray(pc.cast(pc.utf8_slice_codeunits(text, 0, 4), pa.int64()).to_numpy(zero_copy_only=False))
    month = np.asarray(pc.cast(pc.utf8_slice_codeunits(text, 5, 7), pa.int64()).to_numpy(zero_copy_only=False))
    ok = _np_bool(shaped) & (month >= 1) & (month <= 12) & (year >= DATE_MIN.year) & (year <= DATE_MAX.year)
    return np.where(ok, year * 12 + month - 1, 0), present & ~ok


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

    def column(self, arr: pa.Array, spec: dict, name: str, days) -> Col:
        """The column ``arr`` read as a fact of ``spec`` (``days``: each row's decision day, for
        regions; None while the decision day is being read)."""
        present = _present(arr)
        t = spec["type"]
        n = len(arr)
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
                found = self.vocab.value_named(name, u.strip(), spec["values"]) if u is not None else None
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
                k = self.vocab.kind_named(u.strip()) if u is not None else None
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
        present = _present(arr)
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

