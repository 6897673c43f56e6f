"""docs/errors.md documents every diagnostic code the source can emit (what it means, an
example, how to fix it): a code added without an entry fails here."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CODE = re.compile(r"""["']([EWI]-[A-Z0-9]+(?:-[A-Z0-9]+)*)["']""")


def emitted_codes() -> set[str]:
    codes = set()
    for path in (REPO / "policy_dsl").rglob("*.py"):
        codes |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return codes


def test_every_code_is_documented():
    doc = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\*\*([EWI]-[A-Z0-9-]+)\*\*", doc))
    missing = sorted(emitted_codes() - documented)
    assert not missing, f"codes without an entry in docs/errors.md: {missing}"
    assert len(emitted_codes()) > 60


def test_every_code_is_documented_in_chinese_too():
    """The Chinese part of the page: a table row for each code (meaning, example, hint)."""
    doc = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    chinese = doc.partition("## Diagnostic codes in English")[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([EWI]-[A-Z0-9-]+)` \| ([^|]+)\|", chinese, re.M)}
    missing = sorted(emitted_codes() - set(rows))
    assert not missing, f"codes without a row in the Chinese part of docs/errors.md: {missing}"
    assert all(re.search("[\u4e00-\u9fff]", meaning) for meaning in rows.values())


def test_warnings_are_w_codes_and_errors_e_codes():
    for path in (REPO / "policy_dsl").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r'Diagnostic\(\s*"(W-[A-Z-]+)"', text):
            window = text[m.start(): m.start() + 1500]
            assert 'severity="warning"' in window or "severity=" in window, (path.name, m.group(1))
