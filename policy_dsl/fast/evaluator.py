"""``FastEvaluator``: the fast backend (policy_dsl.fast.plans) in front of the reference evaluator.
Without the trace a case gets the backend's answer, or the reference's where the backend declines
it; with the trace, always the reference's. The backend is compiled only when a case asks for an
answer without the trace (one case with its trace, the commonest command line, never loads it).
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

    @property
    def plans(self):
        """The compiled backend (policy_dsl.fast.plans.Plans), made when first needed."""
        if self._plans is None:
            from policy_dsl.fast.plans import Plans

            self._plans = Plans(self.reference)
        return self._plans

    def evaluate(self, case: Case, explain: bool = False, depth: int = 0) -> Result:
        if not explain:
            fast = self.plans.evaluate(case, depth)
            if fast is not None:
                return fast
        return self.reference.evaluate(case, explain, depth)
