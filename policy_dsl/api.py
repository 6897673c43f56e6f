"""Entry points shared by the CLI and by programs: load a policy set (checked), evaluate cases."""

from __future__ import annotations

from pathlib import Path

from policy_dsl import check, resources
from policy_dsl.errors import Diagnostic, PolicyError
from policy_dsl.load import load_files, policy_files
from policy_dsl.model import PolicySet

# passes that must succeed before any answer is given
ESSENTIAL = ("link", "types", "dates", "exceptions")


def run_checks(policy: PolicySet, names=None) -> list[Diagnostic]:
    out = []
    for name, fn in check.PASSES:
        if names is None or name in names:
            out.extend(fn(policy))
    return out


def load_policy(paths: list[Path] | None = None) -> PolicySet:
    """The policy set in ``paths`` (default: the shipped policies), linked and type-checked.
    Raises PolicyError with every diagnostic if the files have errors."""
    files = policy_files(paths or [resources.policies_dir()])
    if not files:
        raise PolicyError(Diagnostic("E-FILE", f"no policy files in {', '.join(map(str, paths or []))}", hint="give a folder of *.yaml policy files"))
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
    check.link(policy)
    return policy
