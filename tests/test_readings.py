"""The project's reading of the law is its own: docs/readings.md carries every reading the policy
files record (generated from their ``reading:`` fields, never out of date), and nothing the
project prints or ships cites the team's internal working papers (RULES.md, INTERFACE.md, or
their sections as "§n")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# what is shipped or shown: the package, the policy set and its tests, the documentation, the
# benchmarks and scripts, examples, the grammar and the project's own description
SHIPPED = ["policy_dsl", "policies", "docs", "bench", "scripts", "examples", "grammar", "README.md", "pyproject.toml"]
sys.path.insert(0, str(REPO / "scripts"))
from readings import END, START  # noqa: E402

WORKING_PAPERS = re.compile(r"\bRULES\b|\bINTERFACE\b|RULES\.md|INTERFACE\.md|§")


def _files(names=SHIPPED):
    for name in names:
        path = REPO / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix not in {".mo", ".pyc", ".parquet", ".xlsx", ".png"} and "__pycache__" not in f.parts:
                    yield f


def _citing(names) -> list[str]:
    found = []
    for f in _files(names):
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if f.name == "readings.md":  # its generated part quotes the policy files: checked with them
            text = text.partition(START)[0] + text.partition(END)[2]
        for n, line in enumerate(text.splitlines(), 1):
            if WORKING_PAPERS.search(line):
                found.append(f"{f.relative_to(REPO)}:{n}: {line.strip()[:120]}")
    return found


def test_nothing_shipped_cites_the_working_papers():
    found = _citing([n for n in SHIPPED if n != "policies"])
    assert not found, "cites RULES/INTERFACE (say it in docs/readings.md instead):\n" + "\n".join(found)


def test_no_policy_file_cites_the_working_papers():
    found = _citing(["policies"]) + [line for line in (REPO / "docs" / "readings.md").read_text(encoding="utf-8")
                                      .partition(START)[2].splitlines() if WORKING_PAPERS.search(line)]
    assert not found, "cites RULES/INTERFACE (say it in docs/readings.md instead):\n" + "\n".join(found)


def test_the_detector():
    assert WORKING_PAPERS.search("依RULES §2：")
    assert WORKING_PAPERS.search("(INTERFACE.md)")
    assert not WORKING_PAPERS.search("rules of precedence; the interface of a case")


def test_readings_page_is_what_the_policy_files_say():
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "readings.py"), "--check"],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_reading_is_on_the_page():
    import yaml

    page = (REPO / "docs" / "readings.md").read_text(encoding="utf-8")
    count = 0
    for path in (REPO / "policies").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in (data.get("definitions") or []) + (data.get("clauses") or []):
            if item.get("reading"):
                assert item["reading"]["zh"].strip() in page, (path.name, item.get("id") or item.get("name"))
                count += 1
    assert count >= 5
