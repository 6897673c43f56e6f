"""policy_dsl: Chinese basic-medical-insurance policy as versioned, layered data, and an
interpreter that answers from it.

Parts, by stage of the pipeline (``docs/architecture.md``): ``language`` (files → the policy
model with positions) → ``engine`` (resolve builds the intermediate form; the reference evaluator
interprets it) → ``fast`` (compiled backends of that form) · ``analysis`` (static checks) ·
``tools`` (diff, timeline, fmt, report, policy tests) ← ``face`` (CLI, rendering, API).
"""

__version__ = "0.1.0"
