"""The region registry: every GB/T 2260 code with its days, and what users type for a region —
codes, names with and without suffix, names after their city or province, pinyin — to one
division, or an error listing the candidates or saying what a division became."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from policy_dsl.language.errors import InputError, Where
from policy_dsl.language.regions import MESSAGES, default_registry

REG = default_registry()
DAY = dt.date(2022, 6, 1)
Y2018, Y2019 = dt.date(2018, 6, 1), dt.date(2019, 6, 1)

# (what is typed, the decision date, the code it resolves to — or the error code and words the
# message must hold)
TABLE = [
    ("历下区", DAY, "370102"),
    ("济南市历下区", DAY, "370102"),
    ("济南历下", DAY, "370102"),
    ("济南市历下", DAY, "370102"),
    ("山东省济南市历下区", DAY, "370102"),
    ("山东济南历下", DAY, "370102"),
    ("济南", DAY, "370100"),
    ("济南市", DAY, "370100"),
    (" 济南 ", DAY, "370100"),
    ("370102", DAY, "370102"),
    ("370100", DAY, "370100"),
    ("３７０１００", DAY, "370100"),  # full-width digits
    ("jinan", DAY, "370100"),
    ("JiNan", DAY, "370100"),
    ("lixia", DAY, "370102"),
    ("jinan lixia", DAY, "370102"),
    ("jinanlixia", DAY, "370102"),
    ("000000", DAY, "000000"),
    ("全国", DAY, "000000"),
    ("枣庄市市中区", DAY, "370402"),
    ("枣庄市中区", DAY, "370402"),
    ("济南市市中区", DAY, "370103"),
    ("浦东新区", DAY, "310115"),
    ("浦东", DAY, "310115"),
    ("北京市朝阳区", DAY, "110105"),
    ("长春朝阳区", DAY, "220104"),
    ("朝阳市", DAY, "211300"),
    ("杭州西湖区", DAY, "330106"),
    ("南京市鼓楼区", DAY, "320106"),
    ("吉林市", DAY, "220200"),  # the full name of one: not 吉林省
    ("东营", DAY, "370500"),  # 东营市 and its 东营区: the city
    ("延边", DAY, "222400"),
    ("shaanxi", DAY, "610000"),
    ("shanxi", DAY, "140000"),
    ("xi'an", DAY, ("E-REGION-AMBIGUOUS", "陕西省西安市 610100", "吉林省辽源市西安区 220403")),
    ("lu'an", DAY, "341500"),
    ("luan", DAY, "341500"),  # without the syllable mark, when nothing is spelled so
    ("changqing", DAY, "370113"),
    # 莱芜: a city until the end of 2018, then two districts of 济南
    ("371200", Y2018, "371200"),
    ("371200", dt.date(2018, 12, 31), "371200"),
    ("莱芜", Y2018, "371200"),
    ("莱芜市", Y2018, "371200"),
    ("371202", Y2018, "371202"),
    ("371200", Y2019, ("E-REGION-ABOLISHED", "莱芜市 371200", "2019-01-01", "莱芜区 370116", "钢城区 370117", "济南市")),
    ("371200", dt.date(2019, 1, 1), ("E-REGION-ABOLISHED", "莱芜区 370116")),
    ("莱芜市", Y2019, ("E-REGION-ABOLISHED", "莱芜区 370116")),
    ("莱芜", Y2019, "370116"),
    ("370116", Y2019, "370116"),
    ("370116", Y2018, ("E-REGION-NOT-YET", "2019-01-01", "莱芜市 371200")),
    ("济阳县", dt.date(2018, 6, 18), "370125"),
    ("济阳县", dt.date(2018, 6, 19), ("E-REGION-ABOLISHED", "济阳区 370115")),
    ("襄樊", DAY, ("E-REGION-ABOLISHED", "襄阳市 420600")),
    ("沙县", dt.date(2020, 6, 1), "350427"),
    ("沙县", DAY, "350405"),
    # ambiguous names: every candidate with its city and code
    ("市中区", DAY, ("E-REGION-AMBIGUOUS", "济南市市中区 370103", "枣庄市市中区 370402", "乐山市市中区 511102",
                     "内江市市中区 511002")),
    ("朝阳区", DAY, ("E-REGION-AMBIGUOUS", "北京市朝阳区 110105", "长春市朝阳区 220104")),
    ("朝阳", DAY, ("E-REGION-AMBIGUOUS", "辽宁省朝阳市 211300", "北京市朝阳区 110105")),
    ("鼓楼区", DAY, ("E-REGION-AMBIGUOUS", "南京市鼓楼区 320106", "徐州市鼓楼区 320302", "福州市鼓楼区 350102",
                     "开封市鼓楼区 410204")),
    ("西湖区", DAY, ("E-REGION-AMBIGUOUS", "杭州市西湖区 330106", "南昌市西湖区 360103")),
    ("吉林", DAY, ("E-REGION-AMBIGUOUS", "吉林省 220000", "吉林省吉林市 220200")),
    ("nanjing", DAY, ("E-REGION-AMBIGUOUS", "江苏省南京市 320100", "漳州市南靖县 350627")),
    ("shizhong", DAY, ("E-REGION-AMBIGUOUS", "济南市市中区 370103")),
    # unknown
    ("济男", DAY, ("E-REGION-UNKNOWN", "济男")),
    ("火星", DAY, ("E-REGION-UNKNOWN", "火星")),
    ("370199", DAY, ("E-REGION-UNKNOWN", "370199")),
    ("3701", DAY, ("E-REGION-UNKNOWN", "6")),
    ("济南市鼓楼区", DAY, ("E-REGION-UNKNOWN",)),
    ("x" * 65, DAY, ("E-REGION-UNKNOWN", "65")),
]


@pytest.mark.parametrize("text,day,want", TABLE, ids=[f"{t[:12]}@{d}" for t, d, _ in TABLE])
def test_region_inputs(text, day, want):
    if isinstance(want, str):
        assert REG.resolve(text, day).code == want
        return
    with pytest.raises(InputError) as info:
        REG.resolve(text, day, Where("--region"))
    d = info.value.first
    assert d.code == want[0], d.format()
    for words in want[1:]:
        assert words in d.message + (d.hint or ""), d.format()
    assert d.where == Where("--region") and d.hint and "Traceback" not in d.format()


def test_ambiguous_lists_every_candidate_and_suggests_the_city():
    with pytest.raises(InputError) as info:
        REG.resolve("市中区", DAY)
    d = info.value.first
    assert "4 个行政区划" in d.message and d.message.count("市中区 ") == 4
    assert "济南市市中区" in d.hint and "代码" in d.hint
    assert REG.resolve("济南市市中区", DAY).code == "370103"  # what the hint says resolves


def test_english_messages():
    with pytest.raises(InputError) as info:
        REG.resolve("市中区", DAY, lang="en")
    d = info.value.first
    assert d.message.startswith("`市中区` names 4 divisions:") and "with its city" in d.hint
    with pytest.raises(InputError) as info:
        REG.resolve("371200", Y2019, lang="en")
    assert "was abolished from 2019-01-01; its area is now" in info.value.first.message
    assert info.value.first.hint.startswith("use 370116")


def test_every_message_has_both_languages():
    assert set(MESSAGES) == {"zh", "en"}
    for key in MESSAGES["zh"].keys():
        assert MESSAGES["zh"][key] != MESSAGES["en"][key] or key in {"list-sep", "span"} or not MESSAGES["zh"][key], key


def test_district_chain():
    r = REG.resolve("370102", DAY)
    assert r.name == "历下区" and r.city.code == "370100" and r.province.code == "370000"
    assert [x.code for x in r.chain] == ["370102", "370100", "370000", "000000"]
    assert r.full_name == "山东省济南市历下区"


def test_pooling_regions():
    assert REG.resolve("110105", DAY).city.code == "110000"  # a municipality is its own pooling region
    assert REG.resolve("济源", DAY).city.code == "419001"  # a county-level city under its province
    assert REG.resolve("东莞", DAY).city.code == "441900"
    assert REG.resolve("莱芜区", DAY).city.code == "370100"
    assert REG.resolve("371202", Y2018).city.code == "371200"


def test_registry_content():
    current = REG.current()
    assert len([r for r in current if r.level == "province"]) == 34
    assert len([r for r in current if r.level == "city"]) >= 330
    assert len(current) >= 3200  # GB/T 2260 at county level, all of it
    shandong = [r for r in current if r.level == "city" and r.parent_code == "370000"]
    assert len(shandong) == 16
    assert REG.get("000000").name == "全国"
    assert REG.source["standard"] == "GB/T 2260" and REG.source["source_date"]
    for code in ("370116", "370117"):
        assert REG.get(code).city.code == "370100"
    assert [r.name for r in REG.records("130503")] == ["桥西区", "信都区"]  # renamed, one code
    assert REG.by_code["370100"] is REG.get("370100") and "371200" in REG.by_code and "999999" not in REG.by_code


def test_changes_since_2018_have_days_and_successors():
    """Every code that ended since 2018 says what it became, and those successors exist."""
    for r in REG.all():
        if r.valid_to is not None and r.valid_to >= dt.date(2018, 1, 1) and r.level != "country":
            assert r.successors, r
            assert REG.became(r), r


def test_on_none_means_now():
    assert REG.resolve("济南").code == "370100"
    with pytest.raises(InputError) as info:
        REG.resolve("371200")
    assert info.value.first.code == "E-REGION-ABOLISHED"


@pytest.mark.parametrize("q,first", [
    ("济", "370100"), ("济南", "370100"), ("历下", "370102"), ("jin", None), ("lix", None), ("3701", "370100"),
    ("370102", "370102"), ("济南历", "370102"), ("jinanli", "370102"), ("xian", "610100"),
])
def test_search(q, first):
    found = REG.search(q, limit=5, on=DAY)
    assert 0 < len(found) <= 5
    if first:
        assert found[0]["code"] == first, found
    for f in found:
        assert set(f) >= {"code", "name", "full_name", "level", "valid_from", "valid_to", "city"}
        assert f["valid_to"] is None or f["valid_to"] >= DAY.isoformat()


def test_search_on_a_date_and_limits():
    assert [f["code"] for f in REG.search("莱芜", on=Y2018)] == ["371200"]
    assert [f["code"] for f in REG.search("莱芜", on=DAY)] == ["370116"]
    assert REG.search("3701", limit=3, on=DAY)[2]["full_name"] == "山东省济南市市中区"
    assert "370102" in [f["code"] for f in REG.search("lix", on=DAY)]
    assert REG.search("", on=DAY) == [] and REG.search("火星", on=DAY) == [] and REG.search("济", limit=0) == []
    sz = REG.search("市中区", on=DAY)
    assert {f["code"] for f in sz} == {"370103", "370402", "511002", "511102"}
    assert {f["city"]["name"] for f in sz} == {"济南市", "枣庄市", "内江市", "乐山市"}


def test_jurisdiction_period():
    where = Where("p.yaml", 7, 17)
    assert REG.jurisdiction_problem("371200", dt.date(2017, 1, 1), dt.date(2018, 12, 31), where) is None
    d = REG.jurisdiction_problem("371200", dt.date(2017, 1, 1), None, where)
    assert d.code == "E-JURISDICTION-PERIOD" and d.where == where and "2018-12-31" in d.message
    assert "莱芜区 370116" in d.hint and 'until: "2018-12-31"' in d.hint
    assert REG.jurisdiction_problem("370116", dt.date(2018, 6, 1), None, where).code == "E-JURISDICTION-PERIOD"
    assert REG.jurisdiction_problem("370116", dt.date(2019, 1, 1), None, where) is None
    assert REG.jurisdiction_problem("370100", dt.date(2020, 1, 1), None, where) is None
    assert REG.jurisdiction_problem("999999", dt.date(2020, 1, 1), None, where).code == "E-REGION-UNKNOWN"
    gone = REG.jurisdiction_problem("371200", dt.date(2022, 1, 1), None, where)  # abolished before the document
    assert gone.code == "E-JURISDICTION-PERIOD" and "2019-01-01" in gone.hint and "钢城区 370117" in gone.hint
    assert "until" not in gone.hint
    # a renaming keeps the division: 邢台市桥西区 became 信都区 under the same code 130503 in 2020
    assert REG.jurisdiction_problem("130503", dt.date(2019, 1, 1), None, where) is None
    en = REG.jurisdiction_problem("371200", dt.date(2017, 1, 1), None, where, lang="en")
    assert en.message.startswith("jurisdiction 莱芜市 371200 is valid") and "370116, " in en.hint


# -- as users meet it: the command line and policy files ----------------------------------------
def test_cli_ambiguous_region_is_an_input_error(cli):
    run = cli("applies", "--date", "2022-06-01", "--region", "市中区")
    assert run.code == 2
    assert "E-REGION-AMBIGUOUS" in run.err and "枣庄市市中区 370402" in run.err and "济南市市中区 370103" in run.err
    run = cli("applies", "--date", "2022-06-01", "--region", "市中区", "--lang", "en", "--format", "json")
    assert run.code == 2 and run.json["error"]["code"] == "E-REGION-AMBIGUOUS"
    assert run.json["error"]["message"].startswith("`市中区` names 4 divisions")


def test_cli_district_answers_for_its_city_and_keeps_the_district(cli):
    run = cli("applies", "--date", "2022-06-01", "--region", "枣庄市市中区", "--format", "json")
    assert run.code == 0 and run.json["region"] == {"code": "370402", "name": "市中区", "city": {"code": "370400", "name": "枣庄市"}}
    run = cli("applies", "--date", "2018-06-01", "--region", "371200", "--format", "json")
    assert run.code == 0 and run.json["region"]["code"] == "371200"
    run = cli("applies", "--date", "2019-06-01", "--region", "371200")
    assert run.code == 2 and "E-REGION-ABOLISHED" in run.err and "莱芜区 370116" in run.err


def test_eval_case_region_forms(cli, tmp_path):
    cases = [{"id": i, "kind": "arrears", "region": r, "worker": "flexible", "last_paid_month": "2022-06",
              "paid_on": "2022-11-03"} for i, r in enumerate(["济南市历下区", "jinan", "朝阳区", "371200"])]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n", encoding="utf-8")
    run = cli("eval", str(path), "--format", "json")
    out = run.lines
    assert run.code == 2
    assert out[0]["region"] == {"code": "370100", "name": "济南市", "district": {"code": "370102", "name": "历下区"}}
    assert out[1]["region"]["code"] == "370100"
    assert out[2]["error"]["code"] == "E-REGION-AMBIGUOUS" and "北京市朝阳区 110105" in out[2]["error"]["message"]
    assert out[3]["error"]["code"] == "E-REGION-ABOLISHED"


def test_check_accepts_the_jurisdiction_for_the_days_it_existed(cli, tmp_path):
    bad = Path(__file__).resolve().parent / "check" / "bad" / "jurisdiction_abolished.yaml"
    text = bad.read_text(encoding="utf-8")
    path = tmp_path / "laiwu.yaml"
    path.write_text(text, encoding="utf-8")
    run = cli("check", str(path), "--format", "json")
    assert run.code == 1 and [d["code"] for d in run.json["diagnostics"]] == ["E-JURISDICTION-PERIOD"]
    assert run.json["diagnostics"][0]["where"].endswith("laiwu.yaml:9:17")
    path.write_text(text.replace('from: "2017-07-01"', 'from: "2017-07-01"\n    until: "2018-12-31"'), encoding="utf-8")
    run = cli("check", str(path), "--format", "json")
    assert run.code == 0 and run.json["errors"] == 0


def test_a_key_of_cjk_ideographs_alone_is_what_nfkc_makes_of_it():
    """``normal_key`` leaves a name written in CJK unified ideographs alone (no unicodedata at
    start-up): the same as NFKC and the replacements make of it, for every ideograph of the block
    and for names of several."""
    import random
    import unicodedata

    from policy_dsl.language.regions import normal_key

    def slow(text):
        text = unicodedata.normalize("NFKC", text).replace("ü", "v").replace("Ü", "v").replace("’", "'").replace("‘", "'")
        for sep in " \u3000·、，,/":
            text = text.replace(sep, "")
        return text

    block = [chr(c) for c in range(0x4E00, 0xA000)]
    assert all(normal_key(ch) == slow(ch) == ch for ch in block)
    rng = random.Random(7)
    names = ["济南", "历下区", "石家庄市"] + ["".join(rng.choices(block, k=rng.randint(2, 8))) for _ in range(2000)]
    assert all(normal_key(n) == slow(n) for n in names)
    assert normal_key("济南 市") == "济南市" and normal_key("ｊｉｎａｎ") == "jinan"
