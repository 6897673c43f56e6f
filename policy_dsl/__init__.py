"""policy_dsl: Chinese basic-medical-insurance policy as versioned, layered data, and an
interpreter that answers from it.

Pipeline (one module per stage): ``yamlsafe``/``load`` (files → documents with positions) →
``expr`` (lark expressions → AST → closures) → ``check`` (ordered passes) → ``resolve``
(date × region → clauses in force, precedence) → ``evaluate`` (facts → outcome + trace) →
``render`` (the only module that imports rich) ← ``cli``.
"""

__version__ = "0.1.0"
