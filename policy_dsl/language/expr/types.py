"""Static types of expressions: every fact, definition and output has a type, every function a
signature, and the checker infers each expression's type or reports where it goes wrong."""

from __future__ import annotations

from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)

from policy_dsl.language.expr import ast


@dataclass(frozen=True)
class Type:
    name: str  # bool int number str date month duration region null list record any
    item: "Type | None" = None
    fields: tuple = ()  # ((name, Type), ...) for records
    values: tuple = ()  # allowed strings, for enums

    def __str__(self) -> str:
        if self.name == "list" and self.item:
            return f"list of {self.item}"
        if self.values:
            return "one of " + "|".join(self.values)
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
    "month": ([("date",)], MONTH, "month(d): the month of date d"),
    "start": ([("month",)], DATE, "start(m): the first day of month m"),
    "end": ([("month",)], DATE, "end(m): the last day of month m"),
    "year": ([("date",), ("month",)], INT, "year(d): the year of a date or month"),
    "month_number": ([("date",), ("month",)], INT, "month_number(d): 1–12"),
    "month_of": ([("int", "int")], MONTH, "month_of(y, n): month n of year y"),
    "period_end": ([("date", "duration")], DATE, "period_end(d, 6 months): last day of a 民法典 period"),
    "working_days_after": ([("date", "int")], DATE, "working_days_after(d, n): the n-th working day after d"),
    "is_workday": ([("date",)], BOOL, "is_workday(d): a working day of the official schedule"),
    "city": ([("region",)], REGION, "city(r): the pooling city of region r"),
    "province": ([("region",)], REGION, "province(r): the province of region r"),
    "within": ([("region", "str")], BOOL, 'within(r, "370000"): whether r lies inside that code'),
    "min": ([("date", "date"), ("month", "month"), ("int", "int"), ("number", "number")], None,
            "min(a, b): the earlier date or month, the smaller number (both given, not null)"),
    "max": ([("date", "date"), ("month", "month"), ("int", "int"), ("number", "number")], None,
            "max(a, b): the later date or month, the larger number (both given, not null)"),
}


def infer(node: ast.Node, scope: dict[str, Type]) -> Type:
    """The type of ``node`` given the types of the names in scope; raises TypeError_ at the culprit."""
    if isinstance(node, ast.Literal):
        return {"date": DATE, "month": MONTH, "duration": DURATION, "string": Type("str", values=(node.value,)),
                "bool": BOOL, "null": NULL}.get(node.kind) or (INT if isinstance(node.value, int) else NUMBER)
    if isinstance(node, ast.Name):
        if node.name == "excepted" and node.name not in scope:
            raise TypeError_("`excepted` is read outside the outputs of an improving exception", node,
                             "only a clause with `exception_to` and `improves: true` may read `excepted`, "
                             "and only in its `decide` outputs")
        if node.name not in scope:
            from policy_dsl.language.errors import did_you_mean

            raise TypeError_(f"unknown name `{node.name}`", node,
                             did_you_mean(node.name, scope) or "use a fact of this kind (kinds.yaml), a definition, or an output above",
                             code="E-UNKNOWN-FACT")
        return scope[node.name]
    if isinstance(node, ast.ListExpr):
        items = [infer(i, scope) for i in node.items]
        if not items:
            return Type("list", item=ANY)
        first = items[0]
        for t, n in zip(items[1:], node.items[1:]):
            if t.name != first.name:
                raise TypeError_(f"list mixes {first.name} and {t.name}", n)
        if first.name == "str":
            vals = tuple(v for t in items for v in t.values)
            return Type("list", item=Type("str", values=vals))
        return Type("list", item=first)
    if isinstance(node, ast.Call):
        return _call(node, scope)
    if isinstance(node, ast.Answer):
        return _answer(node, scope)
    if isinstance(node, ast.Unary):
        t = infer(node.operand, scope)
        if node.op == "not":
            _expect(t, BOOL, node.operand, "`not` takes a condition")
            return BOOL
        if not numeric(t):
            raise TypeError_(f"cannot negate a {t.name}", node.operand)
        return t
    if isinstance(node, ast.If):
        _expect(infer(node.cond, scope), BOOL, node.cond, "the condition of `if` must be true or false")
        a, b = infer(node.then, scope), infer(node.other, scope)
        if a.name == "null":
            return b
        if b.name == "null" or assignable(b, a):
            return a if not (a.values or b.values) else Type("str", values=tuple(dict.fromkeys(a.values + b.values)))
        if assignable(a, b):
            return b
        raise TypeError_(f"the branches of `if` differ: {a.name} and {b.name}", node.other)
    if isinstance(node, ast.Index):
        t = infer(node.obj, scope)
        if t.name != "list":
            raise TypeError_(f"cannot index a {t.name}", node.obj)
        _expect(infer(node.index, scope), INT, node.index, "an index is a whole number, e.g. [0]")
        return t.item or ANY
    if isinstance(node, ast.Field):
        t = infer(node.obj, scope)
        if t.name != "record":
            raise TypeError_(f"a {t.name} has no field `{node.name}`", node)
        ft = t.field(node.name)
        if ft is None:
            from policy_dsl.language.errors import did_you_mean

            names = [k for k, _ in t.fields]
            raise TypeError_(f"no field `{node.name}`", node,
                             did_you_mean(node.name, names) or "fields: " + ", ".join(names), code="E-UNKNOWN-FACT")
        return ft
    if isinstance(node, ast.Binary):
        return _binary(node, scope)
    raise TypeError_("unknown expression", node)


def _expect(t: Type, want: Type, node: ast.Node, hint: str) -> None:
    if not assignable(t, want):
        raise TypeError_(f"expected {want.name}, found {t}", node, hint)


def _call(node: ast.Call, scope) -> Type:
    if node.func not in FUNCTIONS:
        from policy_dsl.language.errors import did_you_mean

        raise TypeError_(f"unknown function `{node.func}`", node,
                         did_you_mean(node.func, FUNCTIONS) or "functions: " + ", ".join(sorted(FUNCTIONS)),
                         code="E-UNKNOWN-FUNCTION")
    sigs, result, doc = FUNCTIONS[node.func]
    args = [infer(a, scope) for a in node.args]
    for sig in sigs:
        if len(sig) == len(args) and all(assignable(a, Type(s)) for a, s in zip(args, sig)):
            if node.func == "within" and not (isinstance(node.args[1], ast.Literal)):
                raise TypeError_("the region code of `within` must be written out", node.args[1], 'e.g. within(from_region, "370000")')
            return result or Type(sig[0])
    got = ", ".join(str(a.name) for a in args)
    raise TypeError_(f"`{node.func}` does not take ({got})", node, doc)


def _answer(node: ast.Answer, scope) -> Type:
    """``answer(kind, fact: expr, ...)``: the kind exists, each fact is one of its facts (or a
    person flag) with a value of its type, given once, and every fact it requires is given."""
    from policy_dsl.language.errors import did_you_mean

    kinds = getattr(scope, "kinds", None)
    if kinds is None:
        raise TypeError_("`answer(...)` is not available here", node, "ask for another kind's answer in a clause or definition")
    kind = kinds.kinds.get(node.kind)
    if kind is None:
        raise TypeError_(f"unknown kind `{node.kind}`", node, did_you_mean(node.kind, kinds.kinds)
                         or "kinds: " + ", ".join(kinds.kinds), code="E-UNKNOWN-KIND")
    specs = {**kinds.person_flags, **kind.facts}
    given = set()
    for name, value in node.facts:
        spec = specs.get(name)
        if spec is None:
            raise TypeError_(f"{node.kind} has no fact `{name}`", value, did_you_mean(name, specs)
                             or "facts: " + ", ".join(specs), code="E-UNKNOWN-FACT")
        if name in given:
            raise TypeError_(f"fact `{name}` is given twice", value, "give each fact once")
        given.add(name)
        want = from_spec(spec)
        t = infer(value, scope)
        if not assignable(t, want):
            raise TypeError_(f"fact `{name}` of {node.kind} is a {want}, but `{_text(value)}` is a {t}", value)
    missing = [f for f, spec in kind.facts.items() if f not in given and not spec.get("optional")]
    if missing:
        raise TypeError_(f"answer({node.kind}, ...) needs fact `{missing[0]}`", node,
                         "give every fact of the kind: " + ", ".join(f"{f}: …" for f in missing))
    return answer_record(kinds, node.kind)


def _text(node: ast.Node) -> str:
    from policy_dsl.language.expr.printer import to_text

    return to_text(node)


_ORDERED = {"int", "number", "date", "month", "any"}


def _binary(node: ast.Binary, scope) -> Type:
    op = node.op
    if op in ("and", "or"):
        _expect(infer(node.left, scope), BOOL, node.left, f"`{op}` joins conditions")
        _expect(infer(node.right, scope), BOOL, node.right, f"`{op}` joins conditions")
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
        raise TypeError_(f"cannot compute {a.name} {op} {b.name}", node,
                         "months take + and - of whole numbers; month - month is a number of months; "
                         "for dates use start(month(d) + n) or period_end(d, n months)", code="E-TYPE")
    if op in ("in", "not in"):
        if b.name != "list":
            raise TypeError_(f"`{op}` needs a list on its right, found {b.name}", node.right, 'e.g. reason in ["death", "military"]')
        _same_kind(a, b.item or ANY, node)
        return BOOL
    # comparisons
    _same_kind(a, b, node)
    if op not in ("==", "!=") and a.name not in _ORDERED and b.name not in _ORDERED:
        raise TypeError_(f"`{op}` does not order {a.name} values", node)
    return BOOL


def _same_kind(a: Type, b: Type, node: ast.Binary) -> None:
    if "any" in (a.name, b.name) or "null" in (a.name, b.name):
        return
    if numeric(a) and numeric(b):
        return
    if a.name != b.name:
        raise TypeError_(f"compares {a.name} with {b.name}", node,
                         "compare like with like: month(paid_on) with a month, paid_on with a date", code="E-TYPE")
    if a.name == "str" and a.values and b.values:
        wide, narrow = (a, b) if len(a.values) >= len(b.values) else (b, a)
        stray = [v for v in narrow.values if v not in wide.values]
        if stray and len(wide.values) > 1:
            from policy_dsl.language.errors import did_you_mean

            raise TypeError_(f'"{stray[0]}" is not one of {"|".join(wide.values)}', node,
                             did_you_mean(stray[0], wide.values), code="E-ENUM-VALUE")
