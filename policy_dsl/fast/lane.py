"""The batch lane: a JSON Lines file answered line by line without the trace, from the JSON text to
the output line, with no RawCase, Case or Result for a well-formed case whose answer the fast
backend gives at once. Each step is a standard one — ``CaseValidator.fast_parts`` (the checks of
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

    parts_of = validator.fast_parts
    write = writer.write_answer
    plans = getattr(evaluator, "plans", None)  # a FastEvaluator's; a reference Evaluator: every line falls back
    for n, data, clean in jsonl_items(path, body, first_line):
        if plans is not None and clean and data.__class__ is dict:
            parts = parts_of(data, as_of)
            if parts is not None:
                kind, region, facts, day, case_id = parts
                got = plans.answer(kind, region, day, facts)
                if got is not None and write(case_id, kind, region, day, got[0], got[1]):
                    continue
        fallback(raw_line(path, n, data, clean))
