"""Parsing expression text with the lark grammar into the AST. Errors say where, what was
found, what was expected, with an example."""

from __future__ import annotations

import datetime as dt
import functools

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, PolicyError, Where
from policy_dsl.language.expr import ast
from policy_dsl.language.messages import N_, join, t
from policy_dsl.language.values import Duration, parse_date, parse_month

MAX_EXPR_CHARS = 4000


class ExprSyntaxError(Exception):
    """A syntax error at (line, col) of the expression text."""

    def __init__(self, message: str, line: int, col: int, hint: str | None = None):
        super().__init__(message)
        self.message, self.line, self.col, self.hint = message, line, col, hint


@functools.cache
def _parser() -> Lark:
    return Lark(resources.grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _span(meta) -> ast.Span:
    if getattr(meta, "empty", False):
        return ast.Span()
    return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(tok: Token) -> ast.Span:
    return ast.Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column)


@v_args(meta=True)
class _ToAst(Transformer):
    def if_expr(self, meta, c):
        return ast.If(c[0], c[1], c[2], span=_span(meta))

    def or_expr(self, meta, c):
        return ast.Binary("or", c[0], c[1], span=_span(meta))

    def and_expr(self, meta, c):
        return ast.Binary("and", c[0], c[1], span=_span(meta))

    def not_expr(self, meta, c):
        return ast.Unary("not", c[0], span=_span(meta))

    def compare(self, meta, c):
        return ast.Binary(str(c[1]), c[0], c[2], span=_span(meta))

    def in_expr(self, meta, c):
        return ast.Binary("in", c[0], c[1], span=_span(meta))

    def not_in_expr(self, meta, c):
        return ast.Binary("not in", c[0], c[1], span=_span(meta))

    def binop(self, meta, c):
        return ast.Binary(str(c[1]), c[0], c[2], span=_span(meta))

    def neg(self, meta, c):
        return ast.Unary("-", c[0], span=_span(meta))

    def index(self, meta, c):
        return ast.Index(c[0], c[1], span=_span(meta))

    def field(self, meta, c):
        return ast.Field(c[0], str(c[1]), span=_span(meta))

    def date(self, meta, c):
        value = parse_date(str(c[0]))
        if value is None:
            raise ExprSyntaxError(t("date.does_not_exist", text=c[0]), c[0].line, c[0].column, t("expr.real_day.hint"))
        return ast.Literal(value, "date", span=_tok_span(c[0]))

    def month(self, meta, c):
        value = parse_month(str(c[0]))
        if value is None:
            raise ExprSyntaxError(t("expr.not_a_month", text=c[0]), c[0].line, c[0].column, t("expr.not_a_month.hint"))
        return ast.Literal(value, "month", span=_tok_span(c[0]))

    def duration(self, meta, c):
        n = str(c[0])
        if "." in n:
            raise ExprSyntaxError(t("expr.whole_duration", unit=c[1]), c[0].line, c[0].column, t("expr.whole_duration.hint"))
        unit = "months" if str(c[1]).startswith("month") else "days"
        return ast.Literal(Duration(int(n), unit), "duration", span=_span(meta))

    def number(self, meta, c):
        text = str(c[0])
        if len(text) > 18:
            raise ExprSyntaxError(t("yaml.number_too_large", number=text[:20]), c[0].line, c[0].column, None)
        return ast.Literal(float(text) if "." in text else int(text), "number", span=_tok_span(c[0]))

    def string(self, meta, c):
        return ast.Literal(str(c[0])[1:-1], "string", span=_tok_span(c[0]))

    def true(self, meta, c):
        return ast.Literal(True, "bool", span=_span(meta))

    def false(self, meta, c):
        return ast.Literal(False, "bool", span=_span(meta))

    def null(self, meta, c):
        return ast.Literal(None, "null", span=_span(meta))

    def list(self, meta, c):
        return ast.ListExpr(list(c), span=_span(meta))

    def fact_arg(self, meta, c):
        return str(c[0]), c[1]

    def answer(self, meta, c):
        return ast.Answer(str(c[0]), list(c[1:]), span=_span(meta))

    def call(self, meta, c):
        return ast.Call(str(c[0]), list(c[1:]), span=_span(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), span=_tok_span(c[0]))


# the grammar's tokens in words (the others are shown as written: `(`, `if`, `and`…)
_TOKEN_WORDS = {
    "COMP_OP": N_("expr.token.comparison"), "ADD_OP": N_("expr.token.plus_minus"), "NAME": N_("expr.token.name"),
    "NUMBER": N_("expr.token.number"), "DATE": N_("expr.token.date"), "MONTH": N_("expr.token.month"),
    "STRING": N_("expr.token.string"), "DURATION_UNIT": N_("expr.token.duration_unit"), "$END": N_("expr.token.end"),
}
_TOKEN_SIGNS = {
    "LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "COMMA": ",", "DOT": ".", "MINUS": "-", "EQUAL": "=",
}

# Known mistakes mapped to friendly messages (cf. lark examples/advanced/error_reporting_lalr.py).
_KNOWN = [
    ("=", N_("expr.single_equals"), N_("expr.single_equals.hint")),
    ("&&", N_("expr.double_ampersand"), N_("expr.double_ampersand.hint")),
    ("||", N_("expr.double_bar"), N_("expr.double_bar.hint")),
    ("!", N_("expr.bang"), N_("expr.bang.hint")),
    ("'", N_("expr.single_quotes"), N_("expr.single_quotes.hint")),
    ("*", N_("expr.multiplication"), N_("expr.arithmetic.hint")),
    ("/", N_("expr.division"), N_("expr.arithmetic.hint")),
]


def _expected(exc: UnexpectedInput) -> str:
    names = sorted({t(_TOKEN_WORDS[k]) if k in _TOKEN_WORDS else _TOKEN_SIGNS.get(k, k.lower())
                    for k in getattr(exc, "expected", ()) or ()})
    return join(names[:8])


MAX_EXPR_DEPTH = 64  # the type checker, the compiler and the evaluator recurse over the tree


def parse_expression(text: str) -> ast.Node:
    """The AST of ``text``; raises ExprSyntaxError with a position relative to ``text``. A tree
    nested deeper than MAX_EXPR_DEPTH (``not not not …``, ``1 + 1 + …``) is refused here, so
    nothing after the parser meets a recursion it cannot finish."""
    def too_deep():
        return ExprSyntaxError(t("expr.too_deep", levels=MAX_EXPR_DEPTH), 1, 1, t("expr.split.hint"))

    try:
        node = _parse(text)
    except RecursionError:
        raise too_deep() from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, RecursionError):
            raise too_deep() from None
        raise
    stack = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        if depth > MAX_EXPR_DEPTH:
            raise too_deep()
        stack.extend((c, depth + 1) for c in ast.children(n))
    return node


def _parse(text: str) -> ast.Node:
    if len(text) > MAX_EXPR_CHARS:
        raise ExprSyntaxError(t("expr.too_long", chars=len(text), limit=MAX_EXPR_CHARS), 1, 1, t("expr.split.hint"))
    try:
        tree = _parser().parse(text)
        return _ToAst().transform(tree)
    except VisitError as exc:  # surface the original error
        if isinstance(exc.orig_exc, ExprSyntaxError):
            raise exc.orig_exc from None
        raise
    except UnexpectedCharacters as exc:
        rest = text[exc.pos_in_stream:]
        for prefix, message, hint in _KNOWN:
            if rest.startswith(prefix) and not rest.startswith(prefix * 2 if prefix in "=" else "\0"):
                raise ExprSyntaxError(t(message), exc.line, exc.column, t(hint)) from None
        if rest[:1].isupper():
            raise ExprSyntaxError(t("expr.upper_case", text=rest[:12]), exc.line, exc.column,
                                  t("expr.upper_case.hint")) from None
        raise ExprSyntaxError(t("expr.unexpected_character", char=text[exc.pos_in_stream]), exc.line, exc.column,
                              t("expr.expected_tokens", tokens=_expected(exc)) if _expected(exc) else None) from None
    except UnexpectedEOF as exc:
        lines = text.splitlines() or [""]
        raise ExprSyntaxError(t("expr.ends_early"), len(lines), len(lines[-1]) + 1,
                              t("expr.expected_tokens", tokens=_expected(exc))) from None
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            lines = text.splitlines() or [""]
            raise ExprSyntaxError(t("expr.ends_early"), len(lines), len(lines[-1]) + 1,
                                  t("expr.expected_tokens", tokens=_expected(exc))) from None
        if str(tok) == "=":
            if "EQUAL" in getattr(exc, "expected", ()):  # inside answer(...) is the place of one `=`
                pass
            elif text[tok.start_pos - 1: tok.start_pos] == "=" and "answer(" in text[:tok.start_pos]:
                raise ExprSyntaxError(t("expr.answer_one_equals"), tok.line, tok.column - 1,
                                      t("expr.answer_one_equals.hint")) from None
            else:
                raise ExprSyntaxError(t("expr.single_equals"), tok.line, tok.column, t("expr.single_equals.hint")) from None
        raise ExprSyntaxError(t("expr.unexpected", text=tok), tok.line, tok.column,
                              t("expr.expected_tokens", tokens=_expected(exc))) from None


def position_in_file(where: Where, line: int, col: int, offset_col: int = 0) -> Where:
    """The file position of (line, col) of an expression written at ``where`` (a YAML scalar)."""
    if where.line is None:
        return where
    if line == 1:
        return Where(where.file, where.line, (where.col or 1) + offset_col + col - 1)
    return Where(where.file, where.line + line - 1, col)


def parse_in_file(text: str, where: Where, quoted: bool = False) -> ast.Node:
    """Parse an expression written at ``where``; errors become PolicyError at the file position."""
    try:
        return parse_expression(text)
    except ExprSyntaxError as exc:
        raise PolicyError(Diagnostic("E-EXPR-SYNTAX", t("expr.syntax_in", problem=exc.message, text=_clip(text)),
                                     position_in_file(where, exc.line, exc.col, 1 if quoted else 0), exc.hint)) from None


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


_ = dt  # dates are parsed through policy_dsl.language.values
