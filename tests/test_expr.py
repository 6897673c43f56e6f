"""The expression language: parsing, canonical printing, types, evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_dsl.language.expr import types as T
from policy_dsl.language.expr.compile import compile_expr
from policy_dsl.language.expr.parse import ExprSyntaxError, parse_expression
from policy_dsl.language.expr.printer import to_text
from policy_dsl.language.values import Month


def ev(text, **env):
    return compile_expr(parse_expression(text))(env)


def test_month_arithmetic():
    env = {"paid_on": dt.date(2022, 11, 3), "last_paid_month": Month.of(2022, 6)}
    assert ev("month(paid_on) - last_paid_month - 1", **env) == 4
    assert ev("start(month(paid_on) + 3)", **env) == dt.date(2023, 2, 1)
    assert ev("end(2024-02)") == dt.date(2024, 2, 29)
    assert ev("month_of(2024 - 1, 9)") == Month.of(2023, 9)
    assert str(ev("2022-12 + 1")) == "2023-01"


def test_period_comparison_and_conditional():
    env = {"birth": dt.date(2023, 3, 31), "paid": dt.date(2023, 10, 7)}
    assert ev("paid <= period_end(birth, 6 months)", **env) is True
    assert ev("if paid > period_end(birth, 6 months) then 1 else 0", **env) == 0
    assert ev('"a" in ["a", "b"] and not ("c" in ["a"])') is True


@pytest.mark.parametrize("text,line,col", [("a = 1", 1, 3), ("a +", 1, 4), ("2022-02-30 < x", 1, 1), ("x == 'a'", 1, 6)])
def test_syntax_errors_have_positions(text, line, col):
    with pytest.raises(ExprSyntaxError) as info:
        parse_expression(text)
    assert (info.value.line, info.value.col) == (line, col)
    assert info.value.hint


SCOPE = {"paid_on": T.DATE, "last_paid_month": T.MONTH, "worker": T.Type("str", values=("employed", "flexible")),
         "n": T.INT, "flag": T.BOOL}


@pytest.mark.parametrize("text,want", [
    ("month(paid_on) - last_paid_month", "int"), ("start(last_paid_month + 1)", "date"),
    ('worker == "flexible" and flag', "bool"), ("if flag then 1 else 2.5", "number"),
])
def test_types(text, want):
    assert T.infer(parse_expression(text), SCOPE).name == want


@pytest.mark.parametrize("text,code", [
    ("paid_on > 3", "E-TYPE"), ("month(paid_on) + paid_on", "E-TYPE"), ('worker == "flexibel"', "E-ENUM-VALUE"),
    ("payed_on", "E-UNKNOWN-FACT"), ("months(paid_on)", "E-UNKNOWN-FUNCTION"), ("not n", "E-TYPE"),
])
def test_type_errors(text, code):
    with pytest.raises(T.TypeError_) as info:
        T.infer(parse_expression(text), SCOPE)
    assert info.value.code == code


# -- generated expressions round-trip through printer and parser -----------------------------
names = st.sampled_from(["paid_on", "gap_months", "worker", "back_paid", "x"])
atoms = st.one_of(
    names,
    st.integers(0, 999).map(str),
    st.sampled_from(['"flexible"', "true", "false", "null", "2022-04-01", "2022-04", "6 months", "90 days"]),
)


def _combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "==", "!=", "<", "<=", ">", ">=", "and", "or"]), children)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"not ({c})"),
        children.map(lambda c: f"-({c})"),
        st.tuples(children, children, children).map(lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"),
        st.tuples(st.sampled_from(["month", "start", "year"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.lists(children, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        children.map(lambda c: f"({c})[0].basis"),
    )


expressions = st.recursive(atoms, _combine, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_print_parse_round_trip(text):
    tree = parse_expression(text)
    printed = to_text(tree)
    again = parse_expression(printed)
    assert to_text(again) == printed


def _generated(text, **env):
    """``text`` computed by the fast backend's generated code (policy_dsl.language.expr.codegen)."""
    from policy_dsl.language.expr.codegen import Emitter

    em = Emitter()
    source = em.emit(parse_expression(text), lambda n: "f_" + n)
    params = ", ".join("f_" + k for k in env)
    fn = eval(compile(f"lambda {params}: {source}", "<test>", "eval"), em.namespace)  # noqa: S307 - the test inspects the emitter
    return fn(*env.values())


@pytest.mark.parametrize("text, env, want", [
    ("[1, 2][1]", {}, 2),
    ("[1, 2][0]", {}, 1),
    ('["death", "military"][1]', {}, "military"),
    ("[2022-04-01, 2023-01-01][1]", {}, dt.date(2023, 1, 1)),
    ("[1, 2][i]", {"i": 1}, 2),
    ("[3, 1, 2][i - 1] + 10", {"i": 2}, 11),
    ("[x, 2][0]", {"x": 7}, 7),
    ("x in [1, 7]", {"x": 7}, True),
    ("x not in [1, 7]", {"x": 7}, False),
])
def test_items_of_a_list(text, env, want):
    """A list written with constants is indexed like any list (counted from 0), and the fast
    backend's generated code computes what the reference computes."""
    assert ev(text, **env) == want
    assert _generated(text, **env) == want


@pytest.mark.parametrize("text, env, index", [
    ("[1, 2][0 - 1]", {}, -1),  # a negative index never counts from the end
    ("[1, 2][2]", {}, 2),
    ("[x, 2][0 - 1]", {"x": 7}, -1),
    ("[x, 2][i]", {"x": 7, "i": 5}, 5),
    ("[][0]", {}, 0),
])
def test_an_index_outside_the_list_is_an_evaluation_error(text, env, index):
    """Outside the list: the reference raises EvalError at the item (the evaluator reports it as a
    coded error), and the generated code raises the same, so the fast backend leaves it to the reference."""
    from policy_dsl.language.expr.compile import EvalError

    with pytest.raises(EvalError, match=rf"\[{index}\]") as got:
        ev(text, **env)
    assert to_text(got.value.node) == to_text(parse_expression(text))
    with pytest.raises(EvalError):
        _generated(text, **env)


def test_comparisons_give_what_the_general_comparison_gives():
    """A comparison takes Python's operator straight away for two values of one plain type, or a
    missing value under == and != (``compile._comparison``); on every pair of values, of every
    type an expression can compare, and on each operator, it gives what ``compile._compare`` gives
    — or raises what it raises — with a name or a literal on the right."""
    from policy_dsl.language.expr import ast as A
    from policy_dsl.language.expr.compile import _compare
    from policy_dsl.language.periods import PeriodEnd
    from policy_dsl.language.regions import default_registry

    reg = default_registry()
    values = [None, 0, 3, 3.0, 3.5, True, False, "a", "b", dt.date(2023, 3, 31), dt.date(2023, 4, 3),
              Month.of(2023, 3), Month.of(2023, 4), PeriodEnd(dt.date(2023, 4, 1)), PeriodEnd(dt.date(2023, 3, 31)),
              reg.get("370100"), reg.get("370200"), reg.get("370102")]
    where = A.Name("a")

    def outcome(fn, *args):
        try:
            return "value", fn(*args)
        except Exception as exc:  # noqa: BLE001 - the general comparison's exception is the expected outcome
            return "raises", type(exc)

    for op in ("==", "!=", "<", "<=", ">", ">="):
        general = _compare(op)
        for a in values:
            for b in values:
                expected = outcome(general, a, b)
                by_name = compile_expr(A.Binary(op, where, A.Name("b")))
                assert outcome(by_name, {"a": a, "b": b}) == expected, (op, a, b)
                if not isinstance(b, (PeriodEnd, A.Node)) and b is not None and not hasattr(b, "code"):
                    by_literal = compile_expr(A.Binary(op, where, A.Literal(b, "value")))
                    assert outcome(by_literal, {"a": a}) == expected, (op, a, b)
