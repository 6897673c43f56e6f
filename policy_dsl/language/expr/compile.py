"""Expressions compiled to Python closures: ``compile_expr(node)(env) -> value``. No ``eval``;
each closure only combines the closures of its children. With ``trace=True`` the closures of
calls, arithmetic and comparisons also record ``(text, value)`` into ``env["__trace__"]``."""

from __future__ import annotations

import datetime as dt
import operator

from policy_dsl.language import periods
from policy_dsl.language.expr import ast
from policy_dsl.language.expr.printer import to_text
from policy_dsl.language.messages import t
from policy_dsl.language.values import Duration, Month


class EvalError(Exception):
    """A runtime error in an expression (a missing value, an index out of range)."""

    def __init__(self, message: str, node: ast.Node):
        super().__init__(message)
        self.node = node


def item(seq, i, node: ast.Node | None = None):
    """Item ``i`` of a list, counted from 0. An index below 0 or past the last item (or no list)
    is an EvalError: a negative index never counts from the end. Every backend indexes through here."""
    if isinstance(seq, (list, tuple)) and type(i) is int and 0 <= i < len(seq):
        return seq[i]
    raise EvalError(t("expr.no_item", index=i), node)


def constant_items(node: ast.Node) -> tuple | None:
    """The values of a list written with constants only (``["death", "military"]``), in order, or None."""
    if isinstance(node, ast.ListExpr) and all(isinstance(i, ast.Literal) for i in node.items):
        return tuple(i.value for i in node.items)
    return None


def _as_date(value):
    return value.extended if isinstance(value, periods.PeriodEnd) else value


def _month(d):
    d = _as_date(d)
    return Month(d.year * 12 + d.month - 1)


def _year(d):
    return d.year if isinstance(d, Month) else _as_date(d).year


def _month_number(d):
    return d.month if isinstance(d, Month) else _as_date(d).month


def _period_end(d, dur: Duration):
    return periods.period_end(_as_date(d), dur.n, dur.unit)


def _least(a, b):
    if a is None or b is None:
        raise ValueError(t("expr.min_missing"))
    a, b = _as_date(a), _as_date(b)
    return b if b < a else a


def _greatest(a, b):
    if a is None or b is None:
        raise ValueError(t("expr.max_missing"))
    a, b = _as_date(a), _as_date(b)
    return b if b > a else a


FUNCTIONS = {
    "month": _month,
    "start": lambda m: m.first_day(),
    "end": lambda m: m.last_day(),
    "year": _year,
    "month_number": _month_number,
    "month_of": lambda y, n: Month.of(y, n),
    "period_end": _period_end,
    "working_days_after": lambda d, n: periods.working_days_after(_as_date(d), n),
    "is_workday": lambda d: periods.is_workday(_as_date(d)),
    "city": lambda r: r.city,
    "province": lambda r: r.province,
    "within": lambda r, code: r.within(code),
    "min": _least,
    "max": _greatest,
}

ANSWER = "__answer__"  # the environment's entry that answers a sub-answer: fn(kind, facts) -> record

_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_SWAP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _compare(op: str):
    fn = _CMP[op]

    def cmp(a, b):
        if isinstance(b, periods.PeriodEnd) and isinstance(a, dt.date):
            return periods.compare_to_period(op, a, b)
        if isinstance(a, periods.PeriodEnd) and isinstance(b, dt.date):
            return periods.compare_to_period(_SWAP[op], b, a)
        if a is None or b is None:
            if op in ("==", "!="):
                return fn(a, b)
            raise TypeError(t("expr.missing_value"))
        return fn(_as_date(a), _as_date(b))

    return cmp


def compile_expr(node: ast.Node, trace: bool = False):
    """A function of an environment (a dict of names to values) computing ``node``."""
    fn = _compile(node, trace)
    return fn


def _record(node: ast.Node, fn):
    text = to_text(node)

    def traced(env):
        value = fn(env)
        log = env.get("__trace__")
        if log is not None:
            log.append((text, value))
        return value

    return traced


def _compile(node: ast.Node, trace: bool):
    for cls in type(node).__mro__:  # each kind of node has its maker (one look-up, not a chain of tests)
        make = _MAKERS.get(cls)
        if make is not None:
            return make(node, trace)
    raise TypeError(f"unknown node {node!r}")


def _literal(node, trace):
    value = node.value
    return lambda env: value


def _name(node, trace):
    name = node.name

    def get(env):
        try:
            return env[name]
        except KeyError:
            raise EvalError(t("expr.no_value", name=name), node) from None

    return get


def _list(node, trace):
    items = [_compile(i, trace) for i in node.items]
    constant = constant_items(node)
    if constant is not None:
        return lambda env: constant
    return lambda env: [f(env) for f in items]


def _call(node, trace):
    impl = FUNCTIONS[node.func]
    args = [_compile(a, trace) for a in node.args]
    if len(args) == 1:
        a0 = args[0]
        fn = lambda env: impl(a0(env))  # noqa: E731
    elif len(args) == 2:
        a0, a1 = args
        fn = lambda env: impl(a0(env), a1(env))  # noqa: E731
    else:
        fn = lambda env: impl(*[a(env) for a in args])  # noqa: E731
    return _record(node, fn) if trace else fn


def _answer(node, trace):
    kind = node.kind
    facts = [(name, _compile(value, trace)) for name, value in node.facts]

    def answer(env):
        return env[ANSWER](kind, {name: fn(env) for name, fn in facts})

    return _record(node, answer) if trace else answer


def _unary(node, trace):
    inner = _compile(node.operand, trace)
    if node.op == "not":
        return lambda env: not inner(env)
    return lambda env: -inner(env)


def _if(node, trace):
    cond, then, other = _compile(node.cond, trace), _compile(node.then, trace), _compile(node.other, trace)
    return lambda env: then(env) if cond(env) else other(env)


def _index(node, trace):
    obj, idx = _compile(node.obj, trace), _compile(node.index, trace)
    return lambda env: item(obj(env), idx(env), node)


def _field(node, trace):
    obj, name = _compile(node.obj, trace), node.name
    return lambda env: obj(env).get(name)


def _binary(node, trace):
    op = node.op
    constant = constant_items(node.right) if op in ("in", "not in") else None
    left, right = _compile(node.left, trace), _compile(node.right, trace)
    if constant is not None:  # membership in a list of constants: a set, looked up in one step
        members = frozenset(constant)
        right = lambda env: members  # noqa: E731
    if op == "and":
        return lambda env: left(env) and right(env)
    if op == "or":
        return lambda env: left(env) or right(env)
    if op == "+":
        fn = lambda env: left(env) + right(env)  # noqa: E731
    elif op == "-":
        fn = lambda env: left(env) - right(env)  # noqa: E731
    elif op == "in":
        fn = lambda env: left(env) in right(env)  # noqa: E731
    elif op == "not in":
        fn = lambda env: left(env) not in right(env)  # noqa: E731
    else:
        fn = _comparison(op, left, right, node.right)
    return _record(node, fn) if trace else fn


_PLAIN: dict = {}  # type -> whether two values of it compare with Python's operator alone (``_plain_type``)


def _plain_type(tp: type) -> bool:
    """Whether ``_compare`` of two values of type ``tp`` is Python's operator on them: neither is a
    period's end (nor missing, but for ``==`` and ``!=``: see ``_comparison``)."""
    found = _PLAIN.get(tp)
    if found is None:
        found = _PLAIN[tp] = tp is not type(None) and not issubclass(tp, periods.PeriodEnd)
    return found


def _comparison(op: str, left, right, right_node: ast.Node):
    """``left op right`` as ``_compare`` gives it, with Python's operator straight away where
    ``_compare`` comes to it: two values of one type that is not a period's end (the usual case: a
    number against a number written in the file, a region's city against another's), or, for
    ``==`` and ``!=``, a missing value on either side."""
    cmp, plain = _compare(op), _CMP[op]
    equality = op in ("==", "!=")
    if isinstance(right_node, ast.Literal) and right_node.value is not None and _plain_type(type(right_node.value)):
        b = right_node.value
        tb = type(b)

        def against_literal(env):
            a = left(env)
            return plain(a, b) if type(a) is tb or equality and a is None else cmp(a, b)

        return against_literal

    def compared(env):
        a, b = left(env), right(env)
        ta = type(a)
        if ta is type(b):
            if _PLAIN.get(ta) or _plain_type(ta) or equality and a is None:
                return plain(a, b)
        elif equality and (a is None or b is None):
            return plain(a, b)
        return cmp(a, b)

    return compared


_MAKERS = {ast.Literal: _literal, ast.Name: _name, ast.ListExpr: _list, ast.Call: _call, ast.Answer: _answer,
           ast.Unary: _unary, ast.If: _if, ast.Index: _index, ast.Field: _field, ast.Binary: _binary}
