"""Shared fixtures: the shipped policy set, an evaluator, and a CLI runner that captures output."""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from policy_dsl.language import resources

REPO = Path(__file__).resolve().parent.parent
REGEN = bool(os.environ.get("POLICY_DSL_REGEN"))  # POLICY_DSL_REGEN=1 pytest rewrites *.expected files


@pytest.fixture(scope="session")
def policy():
    from policy_dsl.face.api import load_policy

    return load_policy()


@pytest.fixture(scope="session")
def evaluator(policy):
    from policy_dsl.engine.evaluate import Evaluator

    return Evaluator(policy)


class Run:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def lines(self):
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``policy-dsl ARGS`` in-process; returns exit code, stdout, stderr."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")

    def run(*args) -> Run:
        from policy_dsl.face.cli import main

        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def shipped_check() -> Run:
    """``policy-dsl check`` of the shipped set as people read it (a table, in Chinese): one run of
    the whole check for the tests that read that output, taken as the ``cli`` fixture takes it."""
    import contextlib
    import io

    from policy_dsl.face.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        env.setenv("NO_COLOR", "1")
        env.setenv("COLUMNS", "120")
        code = main(["check"])
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def policies_copy(tmp_path) -> Path:
    """A writable copy of the shipped policies (with their sources and tests)."""
    dest = tmp_path / "policies"
    shutil.copytree(resources.policies_dir(), dest)
    return dest


_GENERATED: dict[int, tuple[list, object]] = {}


def generated_cases(n: int, seed: int) -> list[dict]:
    """``list(generate(n, seed))`` of bench/gen_cases.py (the shipped policies' generated cases),
    each case made once a session. ``generate`` numbers its cases by ``id`` from 0 and its output
    for ``n`` is exactly its cases with ``id < n`` for any larger ``n`` (one random stream, drawn
    in order), so one generator per seed serves every test; each caller gets its own copies."""
    if seed not in _GENERATED:
        sys.path.insert(0, str(REPO / "bench"))
        from gen_cases import generate

        _GENERATED[seed] = ([], generate(10**9, seed))
    made, more = _GENERATED[seed]
    while not made or made[-1]["id"] < n - 1:
        made.append(next(more))
    return copy.deepcopy([c for c in made if c["id"] < n])


def case_file(tmp_path: Path, case: dict, name: str = "case.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    return p
