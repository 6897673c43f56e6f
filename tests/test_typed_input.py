"""What officers type: dates as 2022年4月1日, 2022/4/1 or with full-width digits, values and kinds
by their Chinese names from the kinds table. A wrong form says "format"; only a date written
correctly that does not exist (2022-02-30) says "does not exist"."""

from __future__ import annotations

import json

import pytest

from conftest import case_file

ISO = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}


@pytest.mark.parametrize("typed", [
    {"paid_on": "2022年11月3日"}, {"paid_on": "2022/11/3"}, {"paid_on": "２０２２－１１－０３"}, {"paid_on": "2022.11.3"},
    {"last_paid_month": "2022年6月"}, {"last_paid_month": "2022/6"}, {"worker": "灵活就业"}, {"worker": "灵活就业人员"},
    {"kind": "中断缴费（欠费）"}, {"kind": "欠费"},
])
def test_typed_forms_give_the_same_answer(cli, tmp_path, typed):
    want = cli("eval", case_file(tmp_path, ISO, "iso.json"), "--format", "json").json
    got = cli("eval", case_file(tmp_path, {**ISO, **typed}), "--format", "json")
    assert got.code == 0, got.err
    assert got.json["benefit_start"] == want["benefit_start"] == "2023-02-01"
    assert got.json["kind"] == "arrears"


@pytest.mark.parametrize("text, word", [("2022-02-30", "impossible"), ("2022年2月30日", "impossible"),
                                        ("2022-11", "format"), ("03/11/2022", "format"), ("明天", "format")])
def test_a_wrong_form_says_format_and_a_missing_day_says_so(cli, tmp_path, text, word):
    got = cli("eval", case_file(tmp_path, {**ISO, "paid_on": text}), "--format", "json", "--lang", "en")
    assert got.code == 2
    assert word in got.json["error"]["message"], got.json


def test_command_line_dates(cli):
    a = cli("applies", "--date", "2022年4月1日", "--region", "济南", "--topic", "arrears", "--format", "json")
    b = cli("applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arrears", "--format", "json")
    assert a.code == b.code == 0 and a.json["topics"] == b.json["topics"]
    bad = cli("applies", "--date", "2022-02-30", "--region", "济南", "--format", "json")
    assert bad.code == 2 and "这一天不存在" in bad.json["error"]["message"]
    form = cli("applies", "--date", "4/1/2022", "--region", "济南", "--format", "json")
    assert form.code == 2 and "不是日期格式" in form.json["error"]["message"]
    bad = cli("applies", "--date", "2022-02-30", "--region", "济南", "--format", "json", "--lang", "en")
    assert bad.code == 2 and "not a date that exists" in bad.json["error"]["message"]
    form = cli("applies", "--date", "4/1/2022", "--region", "济南", "--format", "json", "--lang", "en")
    assert form.code == 2 and "format" in form.json["error"]["message"]


def test_unknown_kind_lists_the_chinese_names(cli, tmp_path):
    got = cli("eval", case_file(tmp_path, {**ISO, "kind": "补缴"}), "--format", "json")
    assert got.code == 2 and "中断缴费（欠费）" in json.dumps(got.json, ensure_ascii=False)


def test_no_rule_names_the_documents_searched_on_both_paths(cli, tmp_path):
    """A no_rule answer says which documents were searched and that local rules may exist — the
    same words from the reference (one case) and from the batch path (JSON Lines)."""
    jinan = {"kind": "first_enrollment", "region": "济南", "worker": "flexible", "paid_on": "2022-01-10"}  # 54号 pending
    guangzhou = {"kind": "first_enrollment", "region": "广州", "worker": "flexible", "paid_on": "2022-05-01"}
    one = cli("eval", case_file(tmp_path, jinan), "--format", "json").json
    assert one["status"] == "no_rule"
    note = one["notes"][-1]
    assert note.startswith("所收录文件中无适用规定") and "鲁医保发〔2021〕54号" in note and "可能另有规定" in note
    lines = tmp_path / "b.jsonl"
    lines.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in (jinan, guangzhou)) + "\n", encoding="utf-8")
    batch = cli("eval", lines, "--format", "json").lines
    assert batch[0]["notes"] == one["notes"]
    assert batch[1]["status"] == "no_rule" and "没有就此类事项适用于该地区的文件" in batch[1]["notes"][-1]
    en = cli("eval", case_file(tmp_path, jinan), "--format", "json", "--lang", "en").json
    assert "local rules not in this policy set" in en["notes"][-1]
    table = cli("eval", case_file(tmp_path, jinan))
    assert "所收录文件中无适用规定" in table.out and "无适用规定\n" not in table.out.replace("所收录文件中无适用规定", "")


def test_every_answer_names_its_policy_set(cli, tmp_path):
    """One case, a list and each JSON Lines line end with the policy set that answered them."""
    one = cli("eval", case_file(tmp_path, ISO), "--format", "json").json
    assert list(one)[-1] == "policy_set"
    ps = one["policy_set"]
    assert ps["kind"] in ("repository", "installed", "folder") and len(ps["hash"]) == 16
    lines = tmp_path / "b.jsonl"
    lines.write_text((json.dumps(ISO, ensure_ascii=False) + "\n") * 3, encoding="utf-8")
    for line in cli("eval", lines, "--format", "json").lines:
        assert line["policy_set"] == ps and line["benefit_start"] == one["benefit_start"]
    other = cli("eval", case_file(tmp_path, ISO), "--format", "json", "--policies", tmp_path / "..")
    assert other.code != 0 or other.json["policy_set"]["kind"] == "folder"
