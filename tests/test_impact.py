"""`impact OLD NEW --cases FILE`: 济南's long-gap waiting period changed from 3 to 4 months in a copy
of the shipped set reports exactly the people whose answers change (checked against evaluating
the population under both sets and comparing), grouped by region, kind, deciding clause and output;
the changed cases are written out, and the page renders in Chromium with no console error."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import generated_cases
from headless import Browser, find_chromium

REPO = Path(__file__).resolve().parent.parent
RULE = "jn-2022-2/arrears-flexible-long-gap"


@pytest.fixture(scope="module")
def changed_set(tmp_path_factory):
    """A copy of the shipped policies with 济南's long-gap waiting period 3 → 4 months."""
    import shutil

    from policy_dsl.language import resources

    d = tmp_path_factory.mktemp("impact") / "policies"
    shutil.copytree(resources.policies_dir(), d)
    path = d / "jn-2022-2.yaml"
    text = path.read_text(encoding="utf-8")
    block = text.index("arrears-flexible-long-gap")
    at = text.index("waiting_months: 3", block)
    path.write_text(text[:at] + "waiting_months: 4" + text[at + len("waiting_months: 3"):], encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    path = tmp_path_factory.mktemp("people") / "people.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in generated_cases(4000, seed=5)), encoding="utf-8")
    return path


def _compared(answer: dict):
    if "error" in answer:
        return ("error", answer["error"]["code"])
    from policy_dsl.language.kinds import vocabulary

    outputs = vocabulary().outputs
    return (answer["status"], tuple(json.dumps(answer[o]) for o in outputs), json.dumps(answer["bounds"]),
            tuple(g["rule"] for g in answer["governing"]))


def test_impact_reports_exactly_the_people_whose_answers_change(cli, people, changed_set, tmp_path):
    shipped = REPO / "policies"
    old = cli("eval", people, "--format", "json", "--policies", shipped).lines
    new = cli("eval", people, "--format", "json", "--policies", changed_set).lines
    expected = {a.get("id") for a, b in zip(old, new, strict=True) if _compared(a) != _compared(b)}
    assert len(expected) >= 5  # the population holds people the change reaches

    r = cli("impact", shipped, changed_set, "--cases", people, "--format", "json", "--out", tmp_path / "site")
    assert r.code == 0, r.err
    data = r.json
    assert data["cases"] == len(old) and data["changed"] == len(expected)
    groups = data["groups"]
    assert {(g["region"], g["kind"], g["rule"]) for g in groups} == {("370100", "arrears", RULE)}
    waiting = [g for g in groups if g["field"] == "waiting_months"]
    assert waiting == [{"region": "370100", "kind": "arrears", "rule": RULE, "field": "waiting_months", "old": 3, "new": 4,
                        "count": len(expected)}]
    assert data["shifts"] == [{"region": "370100", "kind": "arrears", "rule": RULE, "field": "benefit_start",
                               "shift": {"months": 1}, "count": len(expected)}]
    assert {f["field"] for f in data["by_field"]} == {"waiting_months", "benefit_start"}
    assert data["examples"] and all(e["id"] in expected for e in data["examples"])
    rows = [json.loads(line) for line in (tmp_path / "site" / "changed.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {row["id"] for row in rows} == expected
    row = rows[0]
    assert set(row["changed"]) == {"waiting_months", "benefit_start"}
    assert (row["old"]["waiting_months"], row["new"]["waiting_months"]) == (3, 4)
    assert old[row["row"] - 1]["id"] == row["id"]  # the row is the line of the case in the file

    text = cli("impact", shipped, changed_set, "--cases", people, "--exit-code")
    assert text.code == 1
    assert "等待期（月） 3 → 4" in text.out and "待遇起始日 推迟 1 个月" in text.out and f"{len(expected):,} 人" in text.out
    same = cli("impact", shipped, shipped, "--cases", people, "--format", "json", "--exit-code")
    assert same.code == 0 and same.json["changed"] == 0 and same.json["groups"] == []


def test_impact_on_parquet_with_two_processes(cli, people, changed_set, tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from policy_dsl.face import batch

    monkeypatch.setattr(batch, "ARROW_ROWS", 500)  # several batches for the pool
    cases = [json.loads(line) for line in people.read_text(encoding="utf-8").splitlines()]
    flat = []
    for c in cases:
        row = {k: v for k, v in c.items() if k != "enrollments"}
        if "enrollments" in c:
            row["enrollments"] = json.dumps(c["enrollments"], ensure_ascii=False)  # JSON text in a cell
        flat.append(row)
    cols = list(dict.fromkeys(k for r in flat for k in r))
    table = pa.table({c: pa.array([r.get(c) for r in flat]) for c in cols})
    path = tmp_path / "people.parquet"
    pq.write_table(table, path)
    one = cli("impact", REPO / "policies", changed_set, "--cases", path, "--format", "json")
    two = cli("impact", REPO / "policies", changed_set, "--cases", path, "--format", "json", "--jobs", "2",
              "--out", tmp_path / "site")
    assert one.code == two.code == 0, two.err
    a, b = one.json, two.json
    b.pop("files")
    assert a == b and a["changed"] >= 5
    changed = pq.read_table(tmp_path / "site" / "changed.parquet")
    assert changed.num_rows == a["changed"]
    assert set(changed.column("old.waiting_months").to_pylist()) == {3}
    assert set(changed.column("new.waiting_months").to_pylist()) == {4}


@pytest.mark.skipif(find_chromium() is None and not os.environ.get("POLICY_DSL_REQUIRE_BROWSER"),
                    reason="chromium is not installed (apt-get install chromium); the browser test runs in CI (.ci/run)")
def test_the_page_renders_in_chromium(cli, people, changed_set, tmp_path):
    assert find_chromium(), "POLICY_DSL_REQUIRE_BROWSER is set but chromium is not installed"
    site = tmp_path / "site"
    assert cli("impact", REPO / "policies", changed_set, "--cases", people, "--out", site).code == 0
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and not re.search(r"(src|href)=\"https?:", page)  # nothing from elsewhere
    with Browser() as browser:
        problems = browser.open((site / "index.html").resolve().as_uri())
        assert not problems, problems
        info = json.loads(browser.eval("""JSON.stringify({
            charts: document.querySelectorAll('svg.chart').length,
            bars: document.querySelectorAll('svg.chart rect.bar').length,
            width: document.querySelector('svg.chart').getBoundingClientRect().width,
            summary: document.querySelector('#summary').innerText,
            rows: document.querySelectorAll('table tbody tr').length,
            link: document.querySelector('a[href="changed.jsonl"]') !== null})"""))
    assert info["charts"] >= 4 and info["bars"] >= 5 and info["width"] > 300
    assert "答复变化" in info["summary"] and info["rows"] >= 2 and info["link"]
