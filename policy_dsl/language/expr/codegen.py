"""Expressions as Python source text, for the evaluator's fast path (``policy_dsl.fast.plans``).

The closures of ``expr.compile`` stay the reference semantics, and the only ones that build a
trace. The code generated here computes the same value whenever it finishes without an exception;
when a value cannot be computed (a missing value, a date leaving the calendar, a date the holiday
schedule does not cover) it raises what the closures raise, and the fast backend leaves the case
to the reference evaluator, which reports it. So there is no error handling here, only the values.
A sub-answer (``answer(kind, ...)``) is a call of the generated function's parameter ``A``.

Operators are written inline. A comparison goes through the reference comparison (``_C_le``…)
only when one side may be a ``PeriodEnd`` (the value of ``period_end``, which consults the holiday
schedule only when it must); plain Python comparison is the same for every other value."""

from __future__ import annotations

import re

from policy_dsl.language.expr import ast
from policy_dsl.language.expr.compile import FUNCTIONS, _as_date, _compare, constant_items, item

_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_PLAIN = (int, float, str, bool, type(None))
_ATOM = re.compile(r"(?:f_\w+|region|decision_date|_K\d+|t\d+|-?\d+|'[^'\\]*')\Z")  # plain values, no computation


def base_namespace() -> dict:
    """The names generated code may use: the function table, the reference comparisons, ``_plain``,
    ``_item`` (the reference's indexing)."""
    ns = {"_F_" + name: fn for name, fn in FUNCTIONS.items()}
    ns.update({"_C_" + word: _compare(op) for op, word in _OPS.items()})
    ns["_plain"] = _plain
    ns["_item"] = item
    return ns


def _plain(value):
    """What ``evaluate._plain`` does to an output: a period's end as its (extended) date."""
    return _as_date(value)


# functions cheap and total enough to compute once up front when an expression uses them twice
_CHEAP = frozenset({"city", "province", "within", "month", "start", "end", "year", "month_number", "month_of"})


class Emitter:
    """Source for one generated function: the constants it needs are collected in ``namespace``.

    Common calls: ``count(node)`` every expression the function will compute, then emit them: a
    cheap call (``_CHEAP``) on plain values (facts, ``region``, ``decision_date``, constants, other
    such calls) that occurs twice or more is computed once, in ``temps`` (lines to put after the
    loads), and read from a local after."""

    def __init__(self, namespace: dict | None = None):
        self.namespace = base_namespace() if namespace is None else namespace
        self._consts: dict[int, str] = {}
        self._counts: dict = {}
        self._hoisted: dict = {}
        self.temps: list[str] = []

    def count(self, node: ast.Node) -> None:
        for n in ast.walk(node):
            if isinstance(n, ast.Call):
                key = _shape(n)
                if key is not None:
                    self._counts[key] = self._counts.get(key, 0) + 1

    def const(self, value) -> str:
        if type(value) in _PLAIN and not (type(value) is float and value != value):
            return repr(value)
        key = id(value)
        name = self._consts.get(key)
        if name is None:
            name = f"_K{len(self._consts)}"
            self._consts[key] = name
            self.namespace[name] = value
        return name

    def emit(self, node: ast.Node, name, periods: frozenset = frozenset()) -> str:
        """Python expression text computing ``node``; ``name(n)`` gives the text that reads name n,
        ``periods`` the names whose value may be a PeriodEnd."""
        e = lambda n: self.emit(n, name, periods)  # noqa: E731
        if isinstance(node, ast.Literal):
            return self.const(node.value)
        if isinstance(node, ast.Name):
            return name(node.name)
        if isinstance(node, ast.ListExpr):
            constant = constant_items(node)
            if constant is not None:
                return self.const(constant)
            return "[" + ", ".join(e(i) for i in node.items) + "]"
        if isinstance(node, ast.Call):
            if node.func not in FUNCTIONS:
                raise KeyError(node.func)
            args = [e(a) for a in node.args]
            text = f"_F_{node.func}(" + ", ".join(args) + ")"
            if self._counts.get(_shape(node), 0) >= 2 and all(_ATOM.match(a) for a in args):
                temp = self._hoisted.get(text)
                if temp is None:
                    temp = self._hoisted[text] = f"t{len(self._hoisted)}"
                    self.temps.append(f"    {temp} = {text}")
                return temp
            return text
        if isinstance(node, ast.Answer):  # the generated function's parameter A answers it
            return f"A({node.kind!r}, {{" + ", ".join(f"{n!r}: {e(v)}" for n, v in node.facts) + "})"
        if isinstance(node, ast.Unary):
            return f"(not {e(node.operand)})" if node.op == "not" else f"(-{e(node.operand)})"
        if isinstance(node, ast.If):
            return f"({e(node.then)} if {e(node.cond)} else {e(node.other)})"
        if isinstance(node, ast.Index):
            return f"_item({e(node.obj)}, {e(node.index)})"
        if isinstance(node, ast.Field):
            return f"{e(node.obj)}.get({node.name!r})"
        if isinstance(node, ast.Binary):
            op = node.op
            constant = constant_items(node.right) if op in ("in", "not in") else None
            left = e(node.left)
            if constant is None:
                right = e(node.right)
            else:  # membership in a list of constants: a set, as in the reference
                right = self.const(frozenset(constant))
            if op in ("and", "or", "+", "-", "in", "not in"):
                return f"({left} {op} {right})"
            if may_be_period(node.left, periods) or may_be_period(node.right, periods):
                return f"_C_{_OPS[op]}({left}, {right})"
            return f"({left} {op} {right})"
        raise TypeError(f"unknown node {node!r}")


def _shape(node: ast.Node):
    """A key for a cheap call on names and constants (or such calls), the same for the same call."""
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Literal):
        return (node.kind, node.value)
    if isinstance(node, ast.Call) and node.func in _CHEAP:
        args = tuple(_shape(a) for a in node.args)
        return None if None in args else (node.func, args)
    return None


def may_be_period(node: ast.Node, periods: frozenset = frozenset()) -> bool:
    """Whether ``node``'s value may be a PeriodEnd: a ``period_end`` call, or what passes one on."""
    if isinstance(node, ast.Call):
        return node.func == "period_end"
    if isinstance(node, ast.If):
        return may_be_period(node.then, periods) or may_be_period(node.other, periods)
    if isinstance(node, ast.Binary) and node.op in ("and", "or"):
        return may_be_period(node.left, periods) or may_be_period(node.right, periods)
    if isinstance(node, ast.Name):
        return node.name in periods
    return False


def build(source: str, namespace: dict, name: str):
    """Compile generated source defining ``name`` and return that function."""
    code = compile(source, f"<policy-dsl {name}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated text, from a parsed and checked AST
    return namespace[name]
