"""Entry points shared by the CLI and by programs: load a policy set (checked), evaluate cases."""

from __future__ import annotations

from pathlib import Path

from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, PolicyDslError, PolicyError, Where
from policy_dsl.language.load import load_files, policy_files
from policy_dsl.language.model import PolicySet

_IN_MEMORY = Where("<data>")  # where a case given as data is

# passes that must succeed before any answer is given
# (cycles: circular precedence would make the answer depend on the order the files are read)
ESSENTIAL = ("link", "types", "dates", "exceptions", "cycles")


def run_checks(policy: PolicySet, names=None) -> list[Diagnostic]:
    from policy_dsl.analysis import check

    out = []
    for name, fn in check.PASSES:
        if names is None or name in names:
            out.extend(fn(policy))
    return out


def load_policy(paths: list[Path] | None = None) -> PolicySet:
    """The policy set in ``paths`` (default: the shipped policies), linked and type-checked.
    Raises PolicyError with every diagnostic if the files have errors. A set checked before (the
    same files, byte for byte, by the same interpreter) comes from the user's cache (policy_dsl.language.cache)."""
    files = policy_files(paths or [resources.policies_dir()])
    if not files:
        raise PolicyError(Diagnostic("E-FILE", f"no policy files in {', '.join(map(str, paths or []))}", hint="give a folder of *.yaml policy files"))
    from policy_dsl.language import cache
    from policy_dsl.language.load import _display

    from policy_dsl.language.load import MAX_POLICY_BYTES
    from policy_dsl.language.safeio import read_limited

    try:  # the key: each file's name as diagnostics show it, and its bytes (stat first: no device, pipe, huge file)
        entry_key = cache.key(*(part for f in files for part in (_display(f, None), read_limited(f, MAX_POLICY_BYTES))))
    except (OSError, ValueError, PolicyDslError):  # a file that cannot be read: load_files says so
        entry_key = None
    policy = cache.load("policy", entry_key) if entry_key else None
    if policy is None:
        policy = _load_checked(files)
        if entry_key:
            cache.store("policy", entry_key, policy)
    return policy


def _load_checked(files: list[Path]) -> PolicySet:
    policy, diags, _ = load_files(files)
    errors = [d for d in diags if d.severity == "error"]
    if policy is None or errors:
        raise PolicyError(errors or diags)
    errors = [d for d in run_checks(policy, ESSENTIAL) if d.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return policy


def load_unchecked(paths: list[Path]) -> PolicySet:
    """A policy set that is only read and linked (no type checks): enough to compare files,
    e.g. a single policy file in a git diff without the definitions beside it."""
    policy, diags, _ = load_files(policy_files(paths))
    errors = [d for d in diags if d.severity == "error"]
    if policy is None or errors:
        raise PolicyError(errors or diags)
    from policy_dsl.analysis import check

    check.link(policy)
    return policy


class Answerer:
    """Cases given as data, answered one after another against one policy set: how a program (or a
    batch) asks without the command line. ``result(data)`` is the Result of one case (INTERFACE.md's
    case keys; ``policy_dsl.engine.results.result_json`` makes it the JSON answer), without the trace unless
    ``explain``; a bad case raises InputError, as ``eval`` reports it."""

    def __init__(self, policy: PolicySet | None = None, as_of=None):
        from policy_dsl.engine.cases import CaseValidator, _is_clean
        from policy_dsl.engine.evaluate import Case, Evaluator
        from policy_dsl.language.regions import default_registry

        self.policy = policy if policy is not None else load_policy()
        self.evaluator = Evaluator(self.policy)
        self.validator = CaseValidator(default_registry())
        self.as_of = as_of
        self._clean, self._case = _is_clean, Case

    def result(self, data, explain: bool = False, where=None):
        if data.__class__ is dict and self._clean(data):  # CaseValidator._fast, without the RawCase
            parts = self.validator.fast_parts(data, self.as_of)
            if parts is not None:
                kind, region, facts, day, case_id = parts
                return self.evaluator.evaluate(self._case(kind, region, facts, day, case_id, where or _IN_MEMORY),
                                               explain=explain)
        from policy_dsl.engine.cases import RawCase

        raw = RawCase(data, where or _IN_MEMORY, "the case")
        return self.evaluator.evaluate(self.validator.validate(raw, self.as_of), explain=explain)
