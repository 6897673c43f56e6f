"""``FastEvaluator``: the fast backend (policy_dsl.fast.plans) in front of the reference evaluator.
Without the trace a case gets the backend's answer, or the reference's where the backend declines
it; with the trace, always the reference's. The backend is compiled when a second answer without
the trace is asked: the first is the reference's, so one case alone (``eval CASE``, the commonest
command line) never loads it — compiling it costs more than that one answer (about 2 ms of a
50 ms start, docs/performance.md).
``policy_dsl.face.api.evaluator_for`` chooses it for the command line and programs."""

from __future__ import annotations

from policy_dsl.engine.evaluate import Evaluator
from policy_dsl.language.model import Case, Result


class FastEvaluator:
    """An evaluator with the fast backend in front of the reference (same ``evaluate``)."""

    def __init__(self, reference: Evaluator):
        self.reference = reference
        self.policy = reference.policy
        self._plans = None
        self._answered = False  # an answer without the trace has been given

    @property
    def plans(self):
        """The compiled backend (policy_dsl.fast.plans.Plans), made when first needed."""
        if self._plans is None:
            from policy_dsl.fast.plans import Plans

            self._plans = Plans(self.reference)
        return self._plans

    def evaluate(self, case: Case, explain: bool = False, depth: int = 0) -> Result:
        if not explain:
            if self._plans is None and not self._answered:  # the first: the reference's (module docstring)
                self._answered = True
            else:
                fast = self.plans.evaluate(case, depth)
                if fast is not None:
                    return fast
        return self.reference.evaluate(case, explain, depth)
