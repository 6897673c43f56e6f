"""Static types of expressions: every fact, definition and output has a type, every function a
signature, and the checker infers each expression's type or reports where it goes wrong."""

from __future__ import annotations

from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)

from policy_dsl.language.expr import ast
from policy_dsl.language.messages import N_, join, t


@dataclass(frozen=True)
class Type:
    name: str  # bool int number str date month duration region null list record any
    item: "Type | None" = None
    fields: tuple = ()  # ((name, Type), ...) for records
    values: tuple = ()  # allowed strings, for enums

    def __str__(self) -> str:
        if self.name == "list" and self.item:
            return t("expr.list_of", item=self.item)
        if self.values:
            return t("expr.one_of", values="|".join(self.values))
        return self.name

    def field(self, name: str) -> "Type | None":
        return dict(self.fields).get(name)


BOOL, INT, NUMBER, STR, DATE, MONTH, DURATION, REGION, NULL, ANY = (
    Type(n) for n in ("bool", "int", "number", "str", "date", "month", "duration", "region", "null", "any"))


def from_spec(spec: dict) -> Type:
    """The Type of a fact or output as written in kinds.yaml."""
    t = spec["type"]
    if t == "enum":
        return Type("str", values=tuple(spec["values"]))
    if t == "list" and "items" in spec:
        fields = tuple((k, from_spec(v)) for k, v in spec["items"].items())
        return Type("list", item=Type("record", fields=fields))
    if t == "list":  # a list of words, e.g. the options an answer offers
        return Type("list", item=Type("str", values=tuple(spec["values"])))
    return Type(t)


STATUS = Type("str", values=("decided", "delegated", "no_rule"))


def answer_record(kinds, kind_name: str) -> Type:
    """The type of an answer of ``kind_name`` as an expression reads it (``answer(...)`` and an
    improving exception's ``excepted``): the kind's outputs (null when not decided) and ``status``."""
    kind = kinds.kinds[kind_name]
    fields = tuple((name, kinds.output_type(name)) for name in kind.outputs)
    return Type("record", fields=fields + (("status", STATUS),))


class Scope(dict):
    """The types of the names an expression may read, and the kinds table (``kinds``: a
    Vocabulary) that ``answer(...)`` is checked against."""

    kinds = None

    def __init__(self, *args, kinds=None, **kw):
        super().__init__(*args, **kw)
        self.kinds = kinds


def assignable(value: Type, target: Type) -> bool:
    """Whether a value of type ``value`` may stand where ``target`` is expected."""
    if ANY in (value, target) or value.name == "any" or target.name == "any":
        return True
    if value.name == "null":
        return True
    if value.name == target.name:
        if value.name == "str" and target.values and value.values:
            return set(value.values) <= set(target.values)
        return True
    return value.name == "int" and target.name == "number"


def numeric(t: Type) -> bool:
    return t.name in ("int", "number", "any")


class TypeError_(Exception):
    def __init__(self, message: str, node: ast.Node, hint: str | None = None, code: str = "E-TYPE"):
        super().__init__(message)
        self.message, self.node, self.hint, self.code = message, node, hint, code


# name -> (list of accepted argument type tuples, result type (None: the type of the first argument), doc)
FUNCTIONS: dict[str, tuple[list[tuple[str, ...]], Type, str]] = {
    "month": ([("date",)], MONTH, N_("expr.fn.month")),
    "start": ([("month",)], DATE, N_("expr.fn.start")),
    "end": ([("month",)], DATE, N_("expr.fn.end")),
    "year": ([("date",), ("month",)], INT, N_("expr.fn.year")),
    "month_number": ([("date",), ("month",)], INT, N_("expr.fn.month_number")),
    "month_of": ([("int", "int")], MONTH, N_("expr.fn.month_of")),
    "period_end": ([("date", "duration")], DATE, N_("expr.fn.period_end")),
    "working_days_after": ([("date", "int")], DATE, N_("expr.fn.working_days_after")),
    "is_workday": ([("date",)], BOOL, N_("expr.fn.is_workday")),
    "city": ([("region",)], REGION, N_("expr.fn.city")),
    "province": ([("region",)], REGION, N_("expr.fn.province")),
    "within": ([("region", "str")], BOOL, N_("expr.fn.within")),
    "min": ([("date", "date"), ("month", "month"), ("int", "int"), ("number", "number")], None,
            N_("expr.fn.min")),
    "max": ([("date", "date"), ("month", "month"), ("int", "int"), ("number", "number")], None,
            N_("expr.fn.max")),
}


def infer(node: ast.Node, scope: dict[str, Type]) -> Type:
    """The type of ``node`` given the types of the names in scope; raises TypeError_ at the culprit."""
    if isinstance(node, ast.Literal):
        return {"date": DATE, "month": MONTH, "duration": DURATION, "string": Type("str", values=(node.value,)),
                "bool": BOOL, "null": NULL}.get(node.kind) or (INT if isinstance(node.value, int) else NUMBER)
    if isinstance(node, ast.Name):
        if node.name == "excepted" and node.name not in scope:
            raise TypeError_(t("expr.excepted_outside"), node, t("expr.excepted_outside.hint"))
        if node.name not in scope:
            from policy_dsl.language.errors import did_you_mean

            raise TypeError_(t("expr.unknown_name", name=node.name), node,
                             did_you_mean(node.name, scope) or t("expr.unknown_name.hint"),
                             code="E-UNKNOWN-FACT")
        return scope[node.name]
    if isinstance(node, ast.ListExpr):
        items = [infer(i, scope) for i in node.items]
        if not items:
            return Type("list", item=ANY)
        first = items[0]
        for t_, n in zip(items[1:], node.items[1:]):
            if t_.name != first.name:
                raise TypeError_(t("expr.list_mixes", first=first.name, second=t_.name), n)
        if first.name == "str":
            vals = tuple(v for t_ in items for v in t_.values)
            return Type("list", item=Type("str", values=vals))
        return Type("list", item=first)
    if isinstance(node, ast.Call):
        return _call(node, scope)
    if isinstance(node, ast.Answer):
        return _answer(node, scope)
    if isinstance(node, ast.Unary):
        t_ = infer(node.operand, scope)
        if node.op == "not":
            _expect(t_, BOOL, node.operand, N_("expr.not_takes_condition"))
            return BOOL
        if not numeric(t_):
            raise TypeError_(t("expr.cannot_negate", type=t_.name), node.operand)
        return t_
    if isinstance(node, ast.If):
        _expect(infer(node.cond, scope), BOOL, node.cond, N_("expr.if_condition"))
        a, b = infer(node.then, scope), infer(node.other, scope)
        if a.name == "null":
            return b
        if b.name == "null" or assignable(b, a):
            return a if not (a.values or b.values) else Type("str", values=tuple(dict.fromkeys(a.values + b.values)))
        if assignable(a, b):
            return b
        raise TypeError_(t("expr.if_branches", first=a.name, second=b.name), node.other)
    if isinstance(node, ast.Index):
        t_ = infer(node.obj, scope)
        if t_.name != "list":
            raise TypeError_(t("expr.cannot_index", type=t_.name), node.obj)
        _expect(infer(node.index, scope), INT, node.index, N_("expr.index_whole"))
        return t_.item or ANY
    if isinstance(node, ast.Field):
        t_ = infer(node.obj, scope)
        if t_.name != "record":
            raise TypeError_(t("expr.no_field_on", type=t_.name, field=node.name), node)
        ft = t_.field(node.name)
        if ft is None:
            from policy_dsl.language.errors import did_you_mean

            names = [k for k, _ in t_.fields]
            raise TypeError_(t("expr.no_field", field=node.name), node,
                             did_you_mean(node.name, names) or t("expr.fields", fields=join(names)), code="E-UNKNOWN-FACT")
        return ft
    if isinstance(node, ast.Binary):
        return _binary(node, scope)
    raise TypeError_(t("expr.unknown_expression"), node)


def _expect(t_: Type, want: Type, node: ast.Node, hint: str, **args) -> None:
    """A TypeError_ unless ``t_`` may stand for ``want``; ``hint``: a message id, with ``args``
    (made into words only when there is an error to report)."""
    if not assignable(t_, want):
        raise TypeError_(t("expr.expected", want=want.name, found=t_), node, t(hint, **args))


def _call(node: ast.Call, scope) -> Type:
    if node.func not in FUNCTIONS:
        from policy_dsl.language.errors import did_you_mean

        raise TypeError_(t("expr.unknown_function", name=node.func), node,
                         did_you_mean(node.func, FUNCTIONS) or t("expr.functions", names=join(sorted(FUNCTIONS))),
                         code="E-UNKNOWN-FUNCTION")
    sigs, result, doc = FUNCTIONS[node.func]
    args = [infer(a, scope) for a in node.args]
    for sig in sigs:
        if len(sig) == len(args) and all(assignable(a, Type(s)) for a, s in zip(args, sig)):
            if node.func == "within" and not (isinstance(node.args[1], ast.Literal)):
                raise TypeError_(t("expr.within_literal"), node.args[1], t("expr.within_literal.hint"))
            return result or Type(sig[0])
    got = ", ".join(str(a.name) for a in args)
    raise TypeError_(t("expr.does_not_take", name=node.func, types=got), node, t(doc))


def _answer(node: ast.Answer, scope) -> Type:
    """``answer(kind, fact: expr, ...)``: the kind exists, each fact is one of its facts (or a
    person flag) with a value of its type, given once, and every fact it requires is given."""
    from policy_dsl.language.errors import did_you_mean

    kinds = getattr(scope, "kinds", None)
    if kinds is None:
        raise TypeError_(t("expr.answer_here"), node, t("expr.answer_here.hint"))
    kind = kinds.kinds.get(node.kind)
    if kind is None:
        raise TypeError_(t("expr.unknown_kind", kind=node.kind), node, did_you_mean(node.kind, kinds.kinds)
                         or t("expr.kinds", kinds=join(kinds.kinds)), code="E-UNKNOWN-KIND")
    specs = {**kinds.person_flags, **kind.facts}
    given = set()
    for name, value in node.facts:
        spec = specs.get(name)
        if spec is None:
            raise TypeError_(t("expr.kind_has_no_fact", kind=node.kind, fact=name), value, did_you_mean(name, specs)
                             or t("expr.facts", facts=join(specs)), code="E-UNKNOWN-FACT")
        if name in given:
            raise TypeError_(t("expr.fact_twice", fact=name), value, t("expr.fact_twice.hint"))
        given.add(name)
        want = from_spec(spec)
        t_ = infer(value, scope)
        if not assignable(t_, want):
            raise TypeError_(t("expr.fact_type", fact=name, kind=node.kind, want=want, text=_text(value), found=t_), value)
    missing = [f for f, spec in kind.facts.items() if f not in given and not spec.get("optional") and "default" not in spec]
    if missing:
        raise TypeError_(t("expr.answer_needs", kind=node.kind, fact=missing[0]), node,
                         t("expr.answer_needs.hint", facts=", ".join(f"{f} = …" for f in missing)))
    return answer_record(kinds, node.kind)


def _text(node: ast.Node) -> str:
    from policy_dsl.language.expr.printer import to_text

    return to_text(node)


_ORDERED = {"int", "number", "date", "month", "any"}


def _binary(node: ast.Binary, scope) -> Type:
    op = node.op
    if op in ("and", "or"):
        _expect(infer(node.left, scope), BOOL, node.left, N_("expr.joins_conditions"), op=op)
        _expect(infer(node.right, scope), BOOL, node.right, N_("expr.joins_conditions"), op=op)
        return BOOL
    a, b = infer(node.left, scope), infer(node.right, scope)
    if op in ("+", "-"):
        if numeric(a) and numeric(b):
            return NUMBER if "number" in (a.name, b.name) else INT
        if a.name == "month" and b.name == "int":
            return MONTH
        if a.name == "month" and b.name == "month" and op == "-":
            return INT
        if a.name == "int" and b.name == "month" and op == "+":
            return MONTH
        raise TypeError_(t("expr.cannot_compute", left=a.name, op=op, right=b.name), node,
                         t("expr.cannot_compute.hint"), code="E-TYPE")
    if op in ("in", "not in"):
        if b.name != "list":
            raise TypeError_(t("expr.in_needs_list", op=op, found=b.name), node.right, t("expr.in_needs_list.hint"))
        _same_kind(a, b.item or ANY, node)
        return BOOL
    # comparisons
    _same_kind(a, b, node)
    if op not in ("==", "!=") and a.name not in _ORDERED and b.name not in _ORDERED:
        raise TypeError_(t("expr.does_not_order", op=op, type=a.name), node)
    return BOOL


def _same_kind(a: Type, b: Type, node: ast.Binary) -> None:
    if "any" in (a.name, b.name) or "null" in (a.name, b.name):
        return
    if numeric(a) and numeric(b):
        return
    if a.name != b.name:
        raise TypeError_(t("expr.compares", left=a.name, right=b.name), node, t("expr.compares.hint"), code="E-TYPE")
    if a.name == "str" and a.values and b.values:
        wide, narrow = (a, b) if len(a.values) >= len(b.values) else (b, a)
        stray = [v for v in narrow.values if v not in wide.values]
        if stray and len(wide.values) > 1:
            from policy_dsl.language.errors import did_you_mean

            raise TypeError_(t("expr.not_one_of", value=stray[0], values="|".join(wide.values)), node,
                             did_you_mean(stray[0], wide.values), code="E-ENUM-VALUE")
