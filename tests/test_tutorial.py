"""docs/tutorial.md, followed exactly as written: every ```sh block runs in order in a fresh folder
holding a copy of `policies/` (as a clone of the project would), and every ```text block after it
("应当看到") must appear in that block's output, line by line in order (`…` stands for anything).
So the tutorial's numbers are the project's numbers: when a change moves them, this test says so.
The set-up lines of the first block (clone, venv, pip install) are the only lines not run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

TUTORIAL = REPO / "docs" / "tutorial.md"
SETUP = ("git clone", "cd policy_dsl", "python3 -m venv", ". .venv/bin/activate", "pip install")


def blocks(text: str) -> list[tuple[str, str]]:
    """The fenced blocks of the tutorial: (info string, body), in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, flags=re.M | re.S)]


def steps(text: str) -> list[tuple[str, list[str]]]:
    """Each sh block with the expected blocks that follow it before the next sh block."""
    out: list[tuple[str, list[str]]] = []
    for info, body in blocks(text):
        if info == "sh":
            lines = [ln for ln in body.splitlines() if not ln.startswith(SETUP)]
            out.append(("\n".join(lines) + "\n", []))
        elif info == "text":
            assert out, "an expected block before any command"
            out[-1][1].append(body)
    return out


def _pattern(line: str) -> re.Pattern:
    parts = [re.escape(p) for p in line.strip().split("…")]
    return re.compile(".*".join(parts))


def appears(expected: str, output: str) -> str | None:
    """None if each expected line matches an output line, in order; else the first that does not."""
    lines = [ln.strip() for ln in output.splitlines()]
    at = 0
    for want in (ln for ln in expected.splitlines() if ln.strip()):
        pat = _pattern(want)
        while at < len(lines) and not pat.search(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


def test_the_tutorial_runs_as_written(tmp_path):
    work = tmp_path / "policy_dsl"
    work.mkdir()
    shutil.copytree(REPO / "policies", work / "policies")
    (work / ".git").mkdir()  # a clone: discovery stops at its top
    bindir = Path(sys.executable).parent
    if not (bindir / "policy-dsl").exists():
        pytest.fail("policy-dsl is not installed beside this Python (pip install '.[test]')")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1",
           "COLUMNS": "250", "POLICY_DSL_LANG": "zh", "POLICY_DSL_NO_PROGRESS": "1"}
    env.pop("POLICY_DSL_POLICIES", None)
    ran = 0
    for script, expected in steps(TUTORIAL.read_text(encoding="utf-8")):
        run = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        output = run.stdout + run.stderr
        if not any(re.search(r"\d+ 个未通过", e) and not re.search(r"\b0 个未通过", e) for e in expected):
            assert run.returncode == 0, f"tutorial step failed:\n{script}\n{output[-3000:]}"
        for block in expected:
            missing = appears(block, output)
            assert missing is None, f"tutorial says `{missing}` after\n{script}\nbut the output was:\n{output[-4000:]}"
        ran += 1
    assert ran >= 10
