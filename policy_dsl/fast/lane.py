"""The batch lane: a JSON Lines file (or the cases of a list) answered one by one without the
trace, from the JSON text (or data) to the output line, with no RawCase, Case or Result for a
well-formed case whose answer the fast backend gives at once. Each step is a standard one — ``CaseValidator.fast_parts`` (the checks of
``validate``), ``Plans.answer`` (the template ``Plans.evaluate`` would use), the head of
``LineWriter`` and the tail it has checked against ``json.dumps(result_json(...))`` for that
variant — and any line that is not a clean JSON object, a value or region not accepted at once,
a case that needs a Case (a redirect, a sub-answer), one the fast backend declines (plans.DECLINED)
or a tail not checked yet goes to ``fallback`` (validate, evaluate, write, or report the error),
which gives the same answer. tests/test_plans.py holds the lane to the reference, line for line."""

from __future__ import annotations


def answer_lines(path, validator, evaluator, writer, as_of, fallback, body=None, first_line: int = 1) -> None:
    """Answer the JSON Lines file ``path`` into ``writer`` (a LineWriter); ``fallback(raw)``
    answers one RawCase as ``eval`` does (with ``evaluator``, a FastEvaluator). ``body``: an open binary stream read instead of
    ``path``, which then only names it, and ``first_line`` the number of its first line
    (policy_dsl.engine.cases.jsonl_items)."""
    from policy_dsl.engine.cases import jsonl_items, raw_line

    quick = _quick(validator, evaluator, writer, as_of)
    for n, data, clean in jsonl_items(path, body, first_line):
        if not (clean and data.__class__ is dict and quick(data)):
            fallback(raw_line(path, n, data, clean))


def answer_cases(raws, validator, evaluator, writer, as_of, fallback) -> None:
    """Answer RawCases read otherwise (the items of a JSON or YAML list) as ``answer_lines``
    answers lines: a case known to hold no lone surrogate (``RawCase.clean``, else ``_is_clean``)
    through the lane, any other, and any the lane does not answer at once, by ``fallback(raw)``."""
    from policy_dsl.engine.cases import _is_clean

    quick = _quick(validator, evaluator, writer, as_of)
    for raw in raws:
        data = raw.data
        if not (data.__class__ is dict and (raw.clean or _is_clean(data)) and quick(data)):
            fallback(raw)


def _quick(validator, evaluator, writer, as_of):
    """``quick(data)``: True when the case ``data`` (a clean mapping) was answered into ``writer``
    at once; False when nothing was written and the case goes to the fallback."""
    parts_of = validator.fast_parts
    write = writer.write_answer
    plans = getattr(evaluator, "plans", None)  # a FastEvaluator's; a reference Evaluator: every case falls back
    if plans is None:
        return lambda data: False

    def quick(data) -> bool:
        parts = parts_of(data, as_of)
        if parts is None:
            return False
        kind, region, facts, day, case_id = parts
        got = plans.answer(kind, region, day, facts)
        return got is not None and write(case_id, kind, region, day, got[0], got[1])

    return quick
