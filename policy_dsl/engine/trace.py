"""The trace of an evaluation, as data: the reference evaluator (``engine.evaluate``) records typed
events, each at a depth (``Result.trace``: ``[(depth, event)]``); ``engine.results`` words them in
Chinese or English and ``face.render`` draws their tree. Values are kept as they are (dates,
months, regions, answers as records) and shown by ``show``."""

from __future__ import annotations

import datetime as dt

from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)


@dataclass(eq=False)
class Chain:
    """The case's region chain (district → city → province → country) and decision date."""

    region: object
    day: dt.date


@dataclass(eq=False)
class Definition:
    """A definition of the kind, computed for the case."""

    name: str
    text: str
    value: object


@dataclass(eq=False)
class Expired:
    """A clause of the kind no longer in force at the case's region and date."""

    clause: object


@dataclass(eq=False)
class Condition:
    """A clause in force or pending, its condition and whether it holds, with the steps
    (``(text, value)`` of calls, arithmetic and comparisons) that decided it."""

    clause: object
    state: str  # in_force | pending
    start: dt.date | None
    holds: bool
    steps: tuple = ()


@dataclass(eq=False)
class Precedence:
    """The candidates left by explicit exceptions, the governing one first."""

    clauses: tuple


@dataclass(eq=False)
class Output:
    """An output a deciding clause computes: its expression, value and arithmetic."""

    clause: object
    name: str
    text: str
    value: object
    steps: tuple = ()


@dataclass(eq=False)
class Redirect:
    """The governing clause treats the case as one of another kind (``evaluate_as``), with these facts."""

    clause: object
    kind: str
    facts: tuple  # ((fact, value), ...), person facts left out


@dataclass(eq=False)
class Improving:
    """An improving exception: the answer of the rules it excepts follows (nested)."""

    clause: object


@dataclass(eq=False)
class Excepted:
    """An improving exception's ``excepted``: the answer of the rules it excepts, without it."""

    clause: object
    answer: dict  # the record: the kind's outputs and status


@dataclass(eq=False)
class SubAnswer:
    """``answer(kind, ...)``: the facts it was asked with and the answer (its trace follows, nested)."""

    kind: str
    facts: tuple  # ((fact, value), ...), person facts at their default left out
    answer: dict  # the record: the kind's outputs and status


def show(value) -> str:
    """A value as the trace and messages show it."""
    from policy_dsl.language.periods import PeriodEnd

    if isinstance(value, PeriodEnd):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    if isinstance(value, (list, tuple)):  # a list in its order (one written with constants is a tuple)
        return "[" + ", ".join(map(show, value)) + "]"
    if isinstance(value, dict) and "status" in value:  # an answer as a record (answer(...), excepted)
        return show_answer(value)
    return str(value)


def show_answer(record: dict) -> str:
    """An answer as a record: ``decided (benefit_start = 2023-05-01, waiting_months = 3)``."""
    status = record["status"]
    shown = ", ".join(f"{name} = {show(v)}" for name, v in record.items() if name != "status" and v is not None)
    return status + (f" ({shown})" if shown and status == "decided" else "")
