"""Canonical text of an expression: the form shown in diffs and traces; parsing it gives the same AST."""

from __future__ import annotations

import datetime as dt

from policy_dsl.language.expr import ast

_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "neg": 6, "postfix": 7, "atom": 8}
_CMP = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}


def _prec(node: ast.Node) -> int:
    if isinstance(node, ast.If):
        return 0
    if isinstance(node, ast.Binary):
        if node.op in _CMP:
            return 4
        return _PREC[node.op]
    if isinstance(node, ast.Unary):
        return 3 if node.op == "not" else 6
    if isinstance(node, (ast.Index, ast.Field)):
        return 7
    return 8


def to_text(node: ast.Node) -> str:
    """Canonical text: single spaces, minimal parentheses, double-quoted strings."""
    if isinstance(node, ast.Literal):
        v = node.value
        if node.kind == "string":
            return f'"{v}"'
        if node.kind == "bool":
            return "true" if v else "false"
        if node.kind == "null":
            return "null"
        if isinstance(v, dt.date):
            return v.isoformat()
        return str(v)
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.ListExpr):
        return "[" + ", ".join(to_text(i) for i in node.items) + "]"
    if isinstance(node, ast.Call):
        return f"{node.func}(" + ", ".join(to_text(a) for a in node.args) + ")"
    if isinstance(node, ast.Answer):
        return f"answer({node.kind}" + "".join(f", {name} = {to_text(value)}" for name, value in node.facts) + ")"
    if isinstance(node, ast.Field):
        return f"{_wrap(node.obj, 7)}.{node.name}"
    if isinstance(node, ast.Index):
        return f"{_wrap(node.obj, 7)}[{to_text(node.index)}]"
    if isinstance(node, ast.Unary):
        if node.op == "not":
            return f"not {_wrap(node.operand, 3)}"
        return f"-{_wrap(node.operand, 6)}"
    if isinstance(node, ast.If):
        return f"if {to_text(node.cond)} then {to_text(node.then)} else {_wrap(node.other, 0)}"
    if isinstance(node, ast.Binary):
        p = _prec(node)
        if node.op in _CMP:  # non-associative: both sides one level tighter
            return f"{_wrap(node.left, p + 1)} {node.op} {_wrap(node.right, p + 1)}"
        # left-associative
        return f"{_wrap(node.left, p)} {node.op} {_wrap(node.right, p + 1)}"
    raise TypeError(f"unknown node {node!r}")


def _wrap(node: ast.Node, min_prec: int) -> str:
    text = to_text(node)
    return text if _prec(node) >= min_prec else f"({text})"


def same(a: ast.Node, b: ast.Node) -> bool:
    """Structural equality, ignoring positions."""
    return to_text(a) == to_text(b)
