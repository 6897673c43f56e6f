"""`policy-dsl fmt`: the canonical layout. Idempotent on every shipped file, which is already
fmt-clean; comments and quoted texts unchanged; a scrambled file comes out in canonical order
with the same data and comments; a result that would lose anything is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy_dsl.language import resources
from policy_dsl.tools.fmt import FormatRefused, canonical_data, comments, format_text
from policy_dsl.language.load import policy_files
from policy_dsl.language.yamlsafe import load_yaml

SHIPPED = policy_files([resources.policies_dir()])
TEXT_KEYS = re.compile(r"^\s*-?\s*(text|title|change|by|to|zh|en):\s")

SCRAMBLED = """\
# yaml-language-server: $schema=../policy_dsl/schemas/policy.schema.json
clauses:
    # 一 first section
    -   topic: arrears
        id: a-one
        text: "自2022年4月1日起，灵活就业人员…因故中断缴费的"   # quoted, with a comment
        decide:
            waiting_months: 0
            benefit_start: start(month(paid_on) + 1)
        when: worker == "flexible"
        article: 一
        in_force: {text: 自2022年4月1日起, from: "2022-04-01"}
    -   id: a-two
        topic: arrears
        article: 一
        text: '单引号的原文，it''s kept'
        delegate: {to: 统筹地区}
        reading: {en: English, zh: 中文}
        when: >-
          worker == "flexible"
          and gap_months > 3
        # a comment before the last key


        notes:
          - en: note
            zh: 说明



    # 二 second section
    - exception_to: all
      id: a-three
      topic: arrears
      article: 二
      text: 第三条原文
      decide:
        benefit_start: paid_on
        waiting_months: 0
document:
  number: 济医保发〔2022〕2号
  id: jn-2022-2
  aliases: []
  title: 标题
  issuers: [a, b]
  level: city
  jurisdiction: "370100"
  issued: "2022-03-08"
  source: 000_f0abc4aefafc31ea.txt
  in_force:
    from: "2022-03-08"
  encoding:
    changelog:
      - {date: "2026-11-24", version: 1, change: 首次编码}
    version: 1
  forwards: []   # eol


"""


def _keys(text: str, path: tuple) -> list:
    node = load_yaml(text, "t").data
    for p in path:
        node = node[p]
    return list(node)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_are_fmt_clean_and_fmt_is_idempotent(path: Path):
    text = path.read_text(encoding="utf-8")
    once = format_text(text, str(path))
    assert once == text, f"{path.name} is not fmt-clean: run `policy-dsl fmt`"
    assert format_text(once, str(path)) == once
    assert comments(once) == comments(text)
    # every line carrying quoted text is there unchanged, byte for byte
    quoted = [line for line in text.splitlines() if TEXT_KEYS.match(line)]
    out_lines = set(once.splitlines())
    assert all(line in out_lines for line in quoted)


def test_scrambled_file_comes_out_canonical():
    out = format_text(SCRAMBLED)
    assert format_text(out) == out  # idempotent
    assert _keys(out, ()) == ["document", "clauses"]
    assert _keys(out, ("document",))[:3] == ["id", "number", "aliases"]
    assert _keys(out, ("document", "encoding")) == ["version", "changelog"]
    assert _keys(out, ("document", "encoding", "changelog", 0)) == ["version", "date", "change"]
    assert _keys(out, ("clauses", 0)) == ["id", "topic", "article", "text", "in_force", "when", "decide"]
    assert _keys(out, ("clauses", 1)) == ["id", "topic", "article", "text", "when", "delegate", "reading", "notes"]
    assert _keys(out, ("clauses", 2))[-1] == "exception_to"
    # the outputs of `decide` keep their written order (it is meaningful)
    assert _keys(out, ("clauses", 2, "decide")) == ["benefit_start", "waiting_months"]
    # same data, same comments, quoted texts as written
    assert load_yaml(out, "t").data == canonical_data(load_yaml(SCRAMBLED, "t").data)
    assert comments(out) == comments(SCRAMBLED)
    assert '"自2022年4月1日起，灵活就业人员…因故中断缴费的"' in out
    assert "'单引号的原文，it''s kept'" in out
    # layout: 2-space indent, list dashes under their key, one blank line between clauses, none at the end
    assert "\n  - id: a-one\n    topic: arrears\n" in out
    assert "\n\n  # 二 second section\n  - id: a-three\n" in out
    assert "\n\n\n" not in out and not out.endswith("\n\n")
    assert out.index("# 一 first section") < out.index("id: a-one") < out.index("id: a-two")


def test_refuses_rather_than_lose_content(monkeypatch):
    import policy_dsl.tools.fmt as fmt

    monkeypatch.setattr(fmt, "_reindent_comments", lambda t: t.replace("# eol", ""))
    with pytest.raises(FormatRefused) as exc:
        format_text(SCRAMBLED, "x.yaml")
    assert exc.value.first.code == "E-FMT-REFUSED"
    monkeypatch.setattr(fmt, "_reindent_comments", lambda t: t.replace("标题", "题"))
    with pytest.raises(FormatRefused):
        format_text(SCRAMBLED, "x.yaml")


def test_cli_check_write_and_refuse(tmp_path, cli, monkeypatch):
    f = tmp_path / "p.yaml"
    f.write_text(SCRAMBLED, encoding="utf-8")
    r = cli("fmt", "--check", f)
    assert r.code == 1 and str(f) in r.out
    assert f.read_text(encoding="utf-8") == SCRAMBLED  # --check writes nothing
    r = cli("fmt", "--check", "--format", "json", f)
    assert r.code == 1 and r.json["changed"] == [str(f)]
    r = cli("fmt", f)
    assert r.code == 0
    assert f.read_text(encoding="utf-8") == format_text(SCRAMBLED)
    assert cli("fmt", "--check", f).code == 0
    # a refusal leaves the file alone and exits 1
    g = tmp_path / "q.yaml"
    g.write_text(SCRAMBLED, encoding="utf-8")
    import policy_dsl.tools.fmt as fmt

    monkeypatch.setattr(fmt, "_reindent_comments", lambda t: t.replace("# eol", ""))
    r = cli("fmt", g)
    assert r.code == 1 and "E-FMT-REFUSED" in r.err
    assert g.read_text(encoding="utf-8") == SCRAMBLED


def test_cli_on_the_shipped_policies(policies_copy, cli):
    before = {p.name: p.read_bytes() for p in policies_copy.glob("*.yaml")}
    r = cli("fmt", "--check", "--policies", policies_copy)
    assert r.code == 0, r.out
    r = cli("fmt", policies_copy, "--lang", "en")
    assert r.code == 0 and "reformatted 0 files" in r.out
    assert {p.name: p.read_bytes() for p in policies_copy.glob("*.yaml")} == before


def test_not_yaml_is_an_error_not_a_rewrite(tmp_path, cli):
    f = tmp_path / "bad.yaml"
    f.write_text("document: [unclosed\n", encoding="utf-8")
    r = cli("fmt", f)
    assert r.code == 1 and "bad.yaml" in r.err
    assert f.read_text(encoding="utf-8") == "document: [unclosed\n"
    assert cli("fmt", tmp_path / "missing.yaml").code == 2



def test_one_blank_line_after_a_clause_ending_in_a_flow_list():
    text = "clauses:\n  - id: a\n    exception_to: [x/y, x/z]\n\n  - id: b\n    exception_to: all\n"
    assert format_text(text) == text
