"""AST of the expression language. Every node keeps its span in the expression text
(1-based line and column), so that the checker and the trace can point at it."""

from __future__ import annotations

from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)


@dataclass(frozen=True)
class Span:
    line: int = 1
    col: int = 1
    end_line: int = 1
    end_col: int = 1


@dataclass(eq=False)
class Node:
    span: Span = field(default_factory=Span, kw_only=True, compare=False, repr=False)


@dataclass(eq=False)
class Literal(Node):
    """A date, month, number, string, boolean, null or duration; ``kind`` names which."""

    value: object
    kind: str


@dataclass(eq=False)
class ListExpr(Node):
    items: list


@dataclass(eq=False)
class Name(Node):
    name: str


@dataclass(eq=False)
class Call(Node):
    func: str
    args: list


@dataclass(eq=False)
class Answer(Node):
    """``answer(kind, fact: expr, ...)``: the answer of another kind, for facts built from this case
    (in the same region, decided on that kind's own decision fact); its value is a record of that
    kind's outputs and ``status``."""

    kind: str
    facts: list  # [(fact name, Node)]


@dataclass(eq=False)
class Unary(Node):
    op: str  # "-" | "not"
    operand: Node


@dataclass(eq=False)
class Binary(Node):
    """Arithmetic (+ -), comparison (== != < <= > >=), membership (in, not in), logic (and, or)."""

    op: str
    left: Node
    right: Node


@dataclass(eq=False)
class If(Node):
    cond: Node
    then: Node
    other: Node


@dataclass(eq=False)
class Index(Node):
    obj: Node
    index: Node


@dataclass(eq=False)
class Field(Node):
    obj: Node
    name: str


def children(node: Node) -> list[Node]:
    if isinstance(node, ListExpr):
        return list(node.items)
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Answer):
        return [value for _, value in node.facts]
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, If):
        return [node.cond, node.then, node.other]
    if isinstance(node, Index):
        return [node.obj, node.index]
    if isinstance(node, Field):
        return [node.obj]
    return []


def walk(node: Node):
    """Every node of the tree, parents before children."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def names(node: Node) -> set[str]:
    """The free names an expression reads."""
    return {n.name for n in walk(node) if isinstance(n, Name)}


def answers(node: Node) -> list[Answer]:
    """The sub-answers (``answer(...)``) an expression asks for."""
    return [n for n in walk(node) if isinstance(n, Answer)]
