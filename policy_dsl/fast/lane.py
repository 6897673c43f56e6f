"""The batch lane: a JSON Lines file answered line by line without the trace, from the JSON text to
the output line, with no RawCase, Case or Result for a well-formed case whose answer is known in
shape. Each step is the reference's own fast step — ``CaseValidator.fast_parts`` (the checks of
``validate``), ``Plans.answer`` (the plan and template ``Plans.evaluate`` would use), the head of
``LineWriter`` and the tail it has checked against ``json.dumps(result_json(...))`` for that
template — and at the first doubt (a line that is not a clean JSON object, a value or region not
accepted at once, a plan or template not built yet, a redirect, generated code that raises, a
tail not checked yet) the line goes to the reference code (``fallback``: validate, evaluate,
write, or report the error), which gives the same answer and builds what was missing.
tests/test_plans.py holds the lane to the reference, line for line."""

from __future__ import annotations


def answer_lines(path, validator, evaluator, writer, as_of, fallback, body=None) -> None:
    """Answer the JSON Lines file ``path`` into ``writer`` (a LineWriter); ``fallback(raw)``
    answers one RawCase the reference way. ``body``: an open binary stream read instead of
    ``path``, which then only names it (policy_dsl.engine.cases.jsonl_items)."""
    from policy_dsl.engine.cases import jsonl_items, raw_line

    parts_of = validator.fast_parts
    write = writer.write_answer
    plans = None
    for n, data, clean in jsonl_items(path, body):
        if clean and data.__class__ is dict:
            parts = parts_of(data, as_of)
            if parts is not None:
                if plans is None:
                    plans = evaluator._plans
                if plans is not None:
                    kind, region, facts, day, case_id = parts
                    try:
                        got = plans.answer(kind, region, day, facts)
                    except Exception:  # noqa: BLE001 - the reference code answers, or raises properly
                        got = None
                    if got is not None and write(case_id, kind, region, day, got[0], got[1]):
                        continue
        fallback(raw_line(path, n, data, clean))
