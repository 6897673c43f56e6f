"""`policy-dsl check`: clean on the shipped files; each bad file in tests/check/bad reports its
problem at the right line and column. The expected output lives beside each input
(``<name>.expected``); POLICY_DSL_REGEN=1 rewrites them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REGEN

HERE = Path(__file__).resolve().parent / "check"
# a bad policy file, or a folder of them (findings that need several documents); `<name>.args`
# beside it holds extra arguments (e.g. --coverage)
BAD = sorted([*(HERE / "bad").glob("*.yaml"), *(p for p in (HERE / "bad").iterdir() if p.is_dir())])
# the warnings `check` gives on the shipped policies, each explained in docs/errors.md
EXPLAINED_WARNINGS: list = []


def test_shipped_policies_are_clean(shipped_check):
    run = shipped_check
    assert run.code == 0, run.out
    assert "0 个错误" in run.out


def test_check_json_lists_no_diagnostics(cli):
    run = cli("check", "--format", "json")
    data = run.json
    assert data["errors"] == 0
    warnings = [d for d in data["diagnostics"] if d["severity"] != "note"]
    assert [(d["code"], d["message"].replace("：", ":").split(":")[0]) for d in warnings] == EXPLAINED_WARNINGS
    assert all(d["severity"] == "warning" for d in warnings)
    # and the one declared, authorised deviation from a higher rule (tests/test_hierarchy.py)
    assert [d["code"] for d in data["diagnostics"] if d["severity"] == "note"] == ["I-HIERARCHY-AUTHORISED"]
    assert len(data["files"]) >= 7


def test_good_minimal_file(cli):
    assert cli("check", HERE / "good" / "minimal.yaml").code == 0


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_reports_at_position(cli, path, monkeypatch):
    monkeypatch.chdir(HERE / "bad")
    args = path.with_suffix(".args").read_text().split() if path.with_suffix(".args").exists() else []
    run = cli("check", path.name, "--lang", "en", *args)
    findings = "".join(line + "\n" for line in run.out.splitlines() if not line.startswith("checked "))
    errors = [line for line in findings.splitlines() if ": E-" in line]
    assert run.code == (1 if errors else 0), run.out
    assert ": E-" in findings or ": W-" in findings, "a bad file shows at least one finding"
    expected = path.with_suffix(".expected")
    if REGEN or not expected.exists():
        expected.write_text(findings, encoding="utf-8")
    assert findings == expected.read_text(encoding="utf-8")


def test_every_bad_file_has_its_expected_output():
    for path in BAD:
        assert path.with_suffix(".expected").exists(), path


@pytest.mark.parametrize("name,code,line,col", [
    ("misspelt_key", "E-SCHEMA-UNKNOWN-KEY", 22, 7),
    ("bad_expression", "E-EXPR-SYNTAX", 21, 18),
    ("unknown_fact", "E-UNKNOWN-FACT", 23, 34),
    ("type_error", "E-TYPE", 21, 11),
    ("tied_clauses", "E-CONFLICT", 24, 9),
    ("jurisdiction_abolished", "E-JURISDICTION-PERIOD", 9, 17),
])
def test_issue_positions(cli, name, code, line, col, monkeypatch):
    monkeypatch.chdir(HERE / "bad")
    data = cli("check", f"{name}.yaml", "--format", "json").json
    first = data["diagnostics"][0]
    assert first["code"] == code
    assert first["where"] == f"{name}.yaml:{line}:{col}"
    assert first["hint"]
