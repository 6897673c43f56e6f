"""The hierarchy, checked: a lower rule that gives another answer than a binding higher rule is
W-HIERARCHY with a case that shows it; a deviation a higher text authorises is declared and then
noted (I-HIERARCHY-AUTHORISED), its quote checked against the source."""

from __future__ import annotations

import json
import re

import pytest

from conftest import case_file


def _jinan_waiting(policies, months: int) -> None:
    """济医保发〔2022〕2号 一, the long gap: waiting period ``months`` instead of 3."""
    jn = policies / "jn-2022-2.yaml"
    text = jn.read_text(encoding="utf-8")
    i = text.index("id: arrears-flexible-long-gap")
    jn.write_text(text[:i] + text[i:].replace("waiting_months: 3", f"waiting_months: {months}", 1), encoding="utf-8")


def _findings(run, code):
    return [d for d in run.json["diagnostics"] if d["code"] == code]


def test_jinan_six_months_against_shandong_three(cli, policies_copy, tmp_path):
    _jinan_waiting(policies_copy, 6)
    run = cli("check", policies_copy, "--format", "json", "--lang", "en")
    assert run.code == 0  # a warning
    found = _findings(run, "W-HIERARCHY")
    assert len(found) == 1, found
    d = found[0]
    assert d["severity"] == "warning" and d["where"].startswith(str(policies_copy / "jn-2022-2.yaml"))
    assert d["message"].startswith("a lower rule departs from a binding higher one: ")
    assert "[jn-2022-2/arrears-flexible-long-gap]" in d["message"]
    assert "鲁医保发〔2021〕54号 › 一(二) [lu-2021-54/arrears-flexible-long-gap]" in d["message"]
    assert "waiting_months = 6 vs 3" in d["message"]
    assert "deviations" in d["hint"]
    # the case it shows, rerun: 6 months under the edited files, 3 under the shipped ones (as 54号 says)
    case = json.loads(re.search(r" for (\{.*?\}) on ", d["message"]).group(1))
    assert case["kind"] == "arrears" and case["worker"] == "flexible"
    path = case_file(tmp_path, case)
    assert cli("eval", "--policies", policies_copy, path, "--format", "json").json["waiting_months"] == 6
    assert cli("eval", path, "--format", "json").json["waiting_months"] == 3
    zh = _findings(cli("check", policies_copy, "--format", "json"), "W-HIERARCHY")[0]  # in Chinese, by default
    assert zh["message"].startswith("下位规定与上位规定不一致：") and "waiting_months = 6 与 3" in zh["message"]
    assert "deviations" in zh["hint"] and "请遵从" in zh["hint"]
    assert run.json["warnings"] == len([x for x in run.json["diagnostics"] if x["severity"] == "warning"])


def test_shipped_set_declares_its_one_deviation(cli, shipped_check):
    run = cli("check", "--format", "json", "--lang", "en")
    assert run.code == 0 and not _findings(run, "W-HIERARCHY")
    notes = _findings(run, "I-HIERARCHY-AUTHORISED")
    assert len(notes) == 1 and notes[0]["severity"] == "note"
    n = notes[0]["message"]
    assert "[lu-2021-54/transfer-intra-late]" in n and "[yb-2021-43/transfer-short-gap-back-paid]" in n
    assert "可按转入地规定办理职工基本医疗保险费补缴手续" in n and "gap_covered = false vs true" in n
    assert run.json["notes"] == 1
    text = shipped_check.out
    assert "1 条说明" in text.splitlines()[-1]


def test_without_the_declaration_the_deviation_is_a_warning(cli, policies_copy):
    lu = policies_copy / "lu-2021-54.yaml"
    text = lu.read_text(encoding="utf-8")
    start = text.index("    deviations:\n")
    end = text.index("\n\n", start)
    lu.write_text(text[:start] + text[end + 1:], encoding="utf-8")
    run = cli("check", policies_copy, "--format", "json", "--lang", "en")
    found = _findings(run, "W-HIERARCHY")
    assert [("[lu-2021-54/transfer-intra-late]" in d["message"], "[yb-2021-43/transfer-short-gap-back-paid]" in d["message"])
            for d in found] == [(True, True)]
    assert "[jn-2022-2/" not in found[0]["message"]  # 济南 adopts 54号 一(三): reported once, at 54号


DECLARED = """    deviations:
      - from: lu-2021-54/arrears-flexible-long-gap
        text: {quote}
"""


def _declare(policies, quote: str, source: str = "lu-2021-54/arrears-flexible-long-gap", by: str | None = None):
    jn = policies / "jn-2022-2.yaml"
    text = jn.read_text(encoding="utf-8")
    i = text.index("id: arrears-flexible-long-gap")
    j = text.index("benefit_start: start(month(paid_on) + waiting_months)", i)
    j = text.index("\n", j) + 1
    block = DECLARED.format(quote=quote).replace("lu-2021-54/arrears-flexible-long-gap", source)
    if by:
        block += f"        authorised_by: {by}\n"
    jn.write_text(text[:j] + block + text[j:], encoding="utf-8")


def test_declared_deviation_is_noted_with_its_text(cli, policies_copy):
    _jinan_waiting(policies_copy, 6)
    _declare(policies_copy, "各市要根据本通知规定，调整当地相关政策")
    run = cli("check", policies_copy, "--format", "json", "--lang", "en")
    assert run.code == 0 and not _findings(run, "W-HIERARCHY")
    notes = [d for d in _findings(run, "I-HIERARCHY-AUTHORISED") if "[jn-2022-2/" in d["message"]]
    assert len(notes) == 1
    assert "各市要根据本通知规定，调整当地相关政策" in notes[0]["message"] and "waiting_months = 6 vs 3" in notes[0]["message"]


def test_declared_quote_is_checked_against_the_source(cli, policies_copy):
    _jinan_waiting(policies_copy, 6)
    _declare(policies_copy, "各市可自行规定等待期")
    run = cli("check", policies_copy, "--format", "json", "--lang", "en")
    assert run.code == 1
    bad = _findings(run, "E-SOURCE-TEXT")
    assert bad and "deviations" in bad[0]["message"] and "各市可自行规定等待期" in bad[0]["message"]


@pytest.mark.parametrize("source, by, code", [
    ("lu-2021-54/arrears-flexible-lng-gap", None, "E-REFERENCE"),
    ("jn-2022-2/arrears-flexible-short-gap", None, "E-DEVIATION"),  # the same level
    ("lu-2021-54/arrears-flexible-long-gap", "jn-2022-2", "E-DEVIATION"),  # authorised by itself
    ("lu-2021-54/arrears-flexible-long-gap", "lu-2021-5x", "E-REFERENCE"),
])
def test_declared_deviation_must_name_a_higher_clause_and_document(cli, policies_copy, source, by, code):
    _declare(policies_copy, "各市要根据本通知规定，调整当地相关政策", source, by)
    run = cli("check", policies_copy, "--format", "json", "--lang", "en")
    assert run.code == 1 and _findings(run, code), run.json["diagnostics"]
