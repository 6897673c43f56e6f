"""Expressions of ``language/expr`` over whole columns: the AST computed on numpy arrays (over the
Arrow buffers of a batch) for all the rows of a frame at once, with the meaning of
``expr.compile`` (the reference closures):

- dates are day numbers (``date32``), months month numbers (``values.Month``: year*12+month-1),
  text interned codes, regions indices into the backend's list of region records, a
  ``period_end`` its nominal day with the extended day (民法典 第二百零三条) looked up only
  where a comparison needs it (``periods.compare_to_period``);
- ``and``/``or``/``if`` evaluate their right side or branch only on the rows where the reference
  would, so an error there counts only for those rows;
- where the reference would raise on a row (a missing value, a date outside the calendar tables,
  arithmetic leaving the calendar) the row is *declined* (``Frame.decline``): the reference
  evaluator answers it and says what is wrong.

An expression form not written here raises ``Unsupported``: the frame's rows go to the
reference (declined as ``expression``)."""

from __future__ import annotations

import numpy as np

from policy_dsl.fast import daytables
from policy_dsl.fast.daytables import OUT
from policy_dsl.language.expr import ast
from policy_dsl.language.values import Duration, Month

M1970 = 1970 * 12
MONTH_MIN, MONTH_MAX = 1 * 12, 9999 * 12 + 11  # the months datetime.date can hold
DAY_MIN, DAY_MAX = -719162, 2932896  # 0001-01-01 and 9999-12-31 as day numbers


class Unsupported(Exception):
    """An expression form (or a type of value) the columnar backend does not compute."""


class V:
    """A column value: ``t`` its type (bool, int, num, date, month, str, region, period, null, set,
    list, item), ``a`` the values (an array, or a scalar for a constant), ``null`` where it is null
    (None: nowhere)."""

    __slots__ = ("t", "a", "null", "ext")

    def __init__(self, t: str, a, null=None):
        self.t, self.a, self.null = t, a, null
        self.ext = None  # a period: its extended days, once looked up


def _or(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _and(a, b):
    """Row masks: None stands for every row."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


class Strings:
    """Text values as codes: the same text, the same code (shared by every frame of a backend)."""

    def __init__(self):
        self.codes: dict = {}
        self.texts: list = []

    def code(self, text: str) -> int:
        c = self.codes.get(text)
        if c is None:
            c = self.codes[text] = len(self.texts)
            self.texts.append(text)
        return c


class Frame:
    """The rows of one kind in a batch: ``n`` rows, ``env`` the columns an expression reads by
    name, ``declined`` the rows left to the reference with the reason of each (``why``)."""

    def __init__(self, backend, n: int, env: dict, regions):
        self.backend = backend
        self.n = n
        self.env = env
        self.regions = regions  # the backend's Regions (city, province, within, codes)
        self.declined = np.zeros(n, dtype=bool)
        self.why = np.zeros(n, dtype=np.int8)
        self.tables = daytables.tables()

    # -- declining rows ------------------------------------------------------------------------
    def decline(self, mask, where, reason: int) -> None:
        """Rows of ``mask`` (within ``where``: None = all) are left to the reference for ``reason``."""
        if mask is None or mask is False:
            return
        if np.ndim(mask) == 0:
            if not mask:
                return
            mask = np.ones(self.n, dtype=bool)
        m = mask if where is None else mask & where
        new = m & ~self.declined
        if new.any():
            self.why[new] = reason
            self.declined |= new

    # -- evaluation ----------------------------------------------------------------------------
    def value(self, node: ast.Node, where=None, local: dict | None = None) -> V:
        """``node`` on every row (its errors count on the rows of ``where``; ``local``: names that
        shadow the environment, a clause's outputs decided before)."""
        m = getattr(self, "_" + type(node).__name__, None)
        if m is None:
            raise Unsupported(type(node).__name__)
        return m(node, where, local)

    def _Literal(self, node, where, local) -> V:
        v, kind = node.value, node.kind
        if kind == "bool" or v is True or v is False:
            return V("bool", bool(v))
        if v is None:
            return V("null", None)
        if isinstance(v, Month):
            return V("month", int(v))
        if isinstance(v, Duration):
            return V("duration", v)
        if isinstance(v, str):
            return V("str", self.backend.strings.code(v))
        if isinstance(v, bool):
            return V("bool", v)
        if isinstance(v, int):
            return V("int", v)
        if isinstance(v, float):
            return V("num", v)
        import datetime as dt

        if isinstance(v, dt.date):
            return V("date", daytables.day_number(v))
        raise Unsupported(f"literal {kind}")

    def _ListExpr(self, node, where, local) -> V:
        if not all(isinstance(i, ast.Literal) for i in node.items):
            raise Unsupported("list of expressions")
        items = [self._Literal(i, where, local) for i in node.items]
        types = {i.t for i in items}
        if len(types) > 1:
            raise Unsupported("list of mixed types")
        return V("set", (types.pop() if types else "null", [i.a for i in items]))

    def _Name(self, node, where, local) -> V:
        if local is not None and node.name in local:
            return local[node.name]
        try:
            return self.env[node.name]
        except KeyError:
            raise Unsupported(f"name {node.name}") from None

    def _Unary(self, node, where, local) -> V:
        v = self.value(node.operand, where, local)
        self._no_null(v, where)
        if node.op == "not":
            if v.t != "bool":
                raise Unsupported("not of a non-bool")
            return V("bool", ~v.a if isinstance(v.a, np.ndarray) else not v.a)
        if v.t not in ("int", "num"):
            raise Unsupported("minus of a non-number")
        return V(v.t, -v.a)

    def _If(self, node, where, local) -> V:
        c = self.value(node.cond, where, local)
        cond = self._truth(c, where)
        if np.ndim(cond) == 0:
            return self.value(node.then if cond else node.other, where, local)
        a = self.value(node.then, _and(where, cond), local)
        b = self.value(node.other, _and(where, ~cond), local)
        if a.t == "period" or b.t == "period":
            raise Unsupported("if of a period")
        t = a.t if a.t == b.t or b.t == "null" else b.t if a.t == "null" else None
        if t is None and {a.t, b.t} == {"int", "num"}:
            t = "num"
        if t is None or t in ("set", "list", "item", "duration"):
            raise Unsupported(f"if of {a.t} and {b.t}")
        va = 0 if a.t == "null" else a.a
        vb = 0 if b.t == "null" else b.a
        null = _null_where(cond, a, b, self.n)
        return V(t, np.where(cond, va, vb), null)

    def _Binary(self, node, where, local) -> V:
        op = node.op
        if op in ("and", "or"):
            a = self.value(node.left, where, local)
            left = self._truth(a, where)
            if np.ndim(left) == 0:
                if (op == "and") != bool(left):  # decided by the left side: the right is not evaluated
                    return V("bool", bool(left))
                b = self.value(node.right, where, local)
                return V("bool", self._truth(b, where))
            b = self.value(node.right, _and(where, left if op == "and" else ~left), local)
            right = self._truth(b, _and(where, left if op == "and" else ~left))
            return V("bool", (left & right) if op == "and" else (left | right))
        a = self.value(node.left, where, local)
        b = self.value(node.right, where, local)
        if op in ("in", "not in"):
            return self._member(a, b, op == "not in", where)
        if op in ("+", "-"):
            return self._arith(op, a, b, where)
        return self._compare(op, a, b, where)

    def _Index(self, node, where, local) -> V:
        seq = self.value(node.obj, where, local)
        idx = node.index
        if seq.t != "list" or not (isinstance(idx, ast.Literal) and type(idx.value) is int):
            raise Unsupported("index")
        length, items = seq.a
        i = idx.value
        self.decline(seq.null, where, REASON["value"])
        self.decline(length <= i, where, REASON["value"])
        fields = items.get(i)
        if fields is None:
            raise Unsupported("index beyond the columns")
        return V("item", fields)

    def _Field(self, node, where, local) -> V:
        obj = self.value(node.obj, where, local)
        if obj.t != "item":
            raise Unsupported("field of a non-record")
        found = obj.a.get(node.name)
        return found if found is not None else V("null", None)

    def _Call(self, node, where, local) -> V:
        args = [self.value(a, where, local) for a in node.args]
        fn = getattr(self, "_f_" + node.func, None)
        if fn is None:
            raise Unsupported(f"function {node.func}")
        return fn(where, *args)

    # -- helpers -------------------------------------------------------------------------------
    def _no_null(self, v: V, where) -> None:
        """A null here makes the reference raise: decline those rows."""
        if v.t == "null":
            self.decline(True, where, REASON["value"])
        elif v.null is not None:
            self.decline(v.null, where, REASON["value"])

    def _truth(self, v: V, where):
        """The truth of a condition's value (``bool(value)``), as a bool array or a bool."""
        if v.t == "null":
            return False
        if v.t != "bool":
            raise Unsupported(f"truth of {v.t}")
        if v.null is not None:
            a = np.asarray(v.a, dtype=bool)
            return np.where(v.null, False, a) if a.ndim else np.where(v.null, False, bool(a))
        return v.a

    def as_date(self, v: V, where) -> V:
        """``_as_date``: a period's extended day (looked up; outside the tables: declined)."""
        if v.t != "period":
            return v
        return V("date", self.extended(v, where), v.null)

    def extended(self, v: V, where) -> np.ndarray:
        if v.ext is None:
            v.ext = self.tables.next_workday(v.a)
        self.decline(v.ext == OUT, where, REASON["calendar"])
        return v.ext

    def _arith(self, op: str, a: V, b: V, where) -> V:
        self._no_null(a, where)
        self._no_null(b, where)
        ta, tb = a.t, b.t
        if ta in ("int", "num") and tb in ("int", "num"):
            t = "num" if "num" in (ta, tb) else "int"
            return V(t, a.a + b.a if op == "+" else a.a - b.a)
        if ta == "month" and tb == "int":
            return V("month", a.a + b.a if op == "+" else a.a - b.a)
        if ta == "int" and tb == "month" and op == "+":
            return V("month", a.a + b.a)
        if ta == "month" and tb == "month" and op == "-":
            return V("int", a.a - b.a)
        raise Unsupported(f"{ta} {op} {tb}")

    def _compare(self, op: str, a: V, b: V, where) -> V:
        if a.t == "null" or b.t == "null" or a.null is not None or b.null is not None:
            if op not in ("==", "!="):
                self._no_null(a, where)
                self._no_null(b, where)
            else:
                return self._equal_nulls(op, a, b, where)
        if a.t == "period" and b.t == "date":
            return self._period_compare(_SWAP[op], b, a, where)
        if b.t == "period" and a.t == "date":
            return self._period_compare(op, a, b, where)
        a, b = self.as_date(a, where), self.as_date(b, where)
        if a.t != b.t and not {a.t, b.t} <= {"int", "num"}:
            raise Unsupported(f"{a.t} {op} {b.t}")
        if a.t in ("str", "region", "bool") and op not in ("==", "!="):
            raise Unsupported(f"order of {a.t}")
        x, y = a.a, b.a
        if a.t == "region":
            x, y = self.regions.code_ids(x), self.regions.code_ids(y)
        return V("bool", _OPS[op](x, y))

    def _equal_nulls(self, op: str, a: V, b: V, where) -> V:
        """``==``/``!=`` where a side may be null (None == None; None != a value)."""
        if a.t == "null" and b.t == "null":
            return V("bool", op == "==")
        if b.t == "null":
            a, b = b, a
        if a.t == "null":  # x == null
            null = b.null if b.null is not None else False
            eq = np.asarray(null) if np.ndim(null) else bool(null)
            return V("bool", eq if op == "==" else ~eq if np.ndim(eq) else not eq)
        if "period" in (a.t, b.t):
            raise Unsupported("null and a period")
        an = a.null if a.null is not None else False
        bn = b.null if b.null is not None else False
        plain = self._compare(op, V(a.t, a.a), V(b.t, b.a), where).a
        both, one = np.logical_and(an, bn), np.logical_xor(an, bn)
        if op == "==":
            return V("bool", np.where(both, True, np.where(one, False, plain)))
        return V("bool", np.where(both, False, np.where(one, True, plain)))

    def _period_compare(self, op: str, day: V, end: V, where) -> V:
        """``day op end`` (``periods.compare_to_period``): the extended day only where the
        nominal one does not decide."""
        d, nominal = day.a, end.a
        if op in ("<=", ">"):
            decided = d <= nominal
        elif op in ("<", ">="):
            decided = d < nominal
        else:
            decided = False
        need = ~np.asarray(decided, dtype=bool)
        if need.any():
            ext = self.extended(end, _and(where, need) if need.ndim else where)
            late = _OPS[op](d, ext)
        else:
            late = False
        if op in ("<=", "<"):
            return V("bool", np.where(decided, True, late))
        if op in (">", ">="):
            return V("bool", np.where(decided, False, late))
        return V("bool", np.asarray(late) if np.ndim(late) else late)

    def _member(self, a: V, b: V, negate: bool, where) -> V:
        if b.t != "set":
            raise Unsupported("in of a non-list")
        t, items = b.a
        if a.t == "null":
            found = None in items
            return V("bool", found != negate)
        if t != a.t and not (t == "null" and not items):
            raise Unsupported(f"{a.t} in a list of {t}")
        found = np.isin(a.a, np.array(items)) if items else np.zeros(np.shape(a.a), dtype=bool)
        if a.null is not None:
            found = np.where(a.null, False, found)
        return V("bool", ~found if negate else found)

    # -- functions (expr.compile.FUNCTIONS) ----------------------------------------------------
    def _date_arg(self, v: V, where) -> np.ndarray:
        self._no_null(v, where)
        v = self.as_date(v, where)
        if v.t != "date":
            raise Unsupported(f"a date function of {v.t}")
        return v.a

    def _f_month(self, where, d: V) -> V:
        days = self._date_arg(d, where)
        return V("month", np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
                 + M1970)

    def _month_arg(self, m: V, where) -> np.ndarray:
        self._no_null(m, where)
        if m.t != "month":
            raise Unsupported(f"a month function of {m.t}")
        months = np.asarray(m.a, dtype=np.int64)
        self.decline((months < MONTH_MIN) | (months > MONTH_MAX), where, REASON["value"])
        return np.clip(months, MONTH_MIN, MONTH_MAX)

    def _f_start(self, where, m: V) -> V:
        months = self._month_arg(m, where)
        return V("date", (months - M1970).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64))

    def _f_end(self, where, m: V) -> V:
        months = self._month_arg(m, where)
        self.decline(months >= MONTH_MAX, where, REASON["value"])  # the day after needs the next month
        nxt = (months + 1 - M1970).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        return V("date", nxt - 1)

    def _f_year(self, where, d: V) -> V:
        self._no_null(d, where)
        if d.t == "month":
            return V("int", np.asarray(d.a, dtype=np.int64) // 12)
        days = self._date_arg(d, where)
        return V("int", np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
                 + 1970)

    def _f_month_number(self, where, d: V) -> V:
        self._no_null(d, where)
        if d.t == "month":
            return V("int", np.asarray(d.a, dtype=np.int64) % 12 + 1)
        m = self._f_month(where, d)
        return V("int", m.a % 12 + 1)

    def _f_month_of(self, where, y: V, n: V) -> V:
        self._no_null(y, where)
        self._no_null(n, where)
        if y.t != "int" or n.t != "int":
            raise Unsupported("month_of of non-integers")
        return V("month", np.asarray(y.a, dtype=np.int64) * 12 + np.asarray(n.a, dtype=np.int64) - 1)

    def _f_period_end(self, where, d: V, dur: V) -> V:
        days = np.asarray(self._date_arg(d, where), dtype=np.int64)
        if dur.t != "duration":
            raise Unsupported("period_end of a non-duration")
        n, unit = dur.a.n, dur.a.unit
        if unit.startswith("month"):
            nominal = self.tables.add_months(days, n)
            self.decline(nominal == OUT, where, REASON["calendar"])
        else:
            nominal = days + n
            self.decline((nominal < DAY_MIN) | (nominal > DAY_MAX), where, REASON["value"])
        return V("period", nominal)

    def _f_working_days_after(self, where, d: V, n: V) -> V:
        days = self._date_arg(d, where)
        self._no_null(n, where)
        if n.t != "int":
            raise Unsupported("working_days_after of a non-integer")
        found = self.tables.working_days_after(days, n.a)
        self.decline(found == OUT, where, REASON["calendar"])
        return V("date", found)

    def _f_is_workday(self, where, d: V) -> V:
        days = self._date_arg(d, where)
        yes, unknown = self.tables.is_workday(days)
        self.decline(unknown, where, REASON["calendar"])
        return V("bool", yes)

    def _f_city(self, where, r: V) -> V:
        self._no_null(r, where)
        if r.t != "region":
            raise Unsupported("city of a non-region")
        return V("region", self.regions.city_of(r.a))

    def _f_province(self, where, r: V) -> V:
        self._no_null(r, where)
        if r.t != "region":
            raise Unsupported("province of a non-region")
        return V("region", self.regions.province_of(r.a))

    def _f_within(self, where, r: V, code: V) -> V:
        self._no_null(r, where)
        if r.t != "region" or code.t != "str" or np.ndim(code.a):
            raise Unsupported("within of a non-region or a computed code")
        return V("bool", self.regions.within(r.a, self.backend.strings.texts[code.a]))

    def _least_greatest(self, where, a: V, b: V, pick) -> V:
        for v in (a, b):
            self.decline(True if v.t == "null" else v.null, where, REASON["value"])  # ValueError
        a, b = self.as_date(a, where), self.as_date(b, where)
        if a.t != b.t and not {a.t, b.t} <= {"int", "num"}:
            raise Unsupported(f"min/max of {a.t} and {b.t}")
        if a.t in ("str", "region", "bool"):
            raise Unsupported(f"min/max of {a.t}")
        return V(a.t if a.t == b.t else "num", pick(a.a, b.a))

    def _f_min(self, where, a: V, b: V) -> V:
        return self._least_greatest(where, a, b, np.minimum)

    def _f_max(self, where, a: V, b: V) -> V:
        return self._least_greatest(where, a, b, np.maximum)


def _null_where(cond, a: V, b: V, n: int):
    """The null mask of ``if cond then a else b``."""
    na = True if a.t == "null" else a.null
    nb = True if b.t == "null" else b.null
    if na is None and nb is None:
        return None
    na = False if na is None else na
    nb = False if nb is None else nb
    out = np.where(cond, na, nb)
    return np.broadcast_to(out, (n,)) if out.ndim == 0 else out


# the reasons a row is left to the reference (counted in the run's summary)
REASONS = ("", "input", "expression", "value", "calendar", "conflict", "reject", "improving", "conditional-note",
           "nested", "sub-answer", "output", "partial-delegation")
REASON = {name: i for i, name in enumerate(REASONS)}

_SWAP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_OPS = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
