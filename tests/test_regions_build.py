"""scripts/update_regions.py: the packaged registry is what the script makes of its source. The
script is run on a slice of the source (tests/data/regions-source: 北京, 山东, 福建) and every line
it makes for those codes must be in policy_dsl/data/regions.tsv as it is, and no other line of
theirs; its readers of dates and names hold on the cases the source has."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "data" / "regions-source"
PACKAGED = REPO / "policy_dsl" / "data" / "regions.tsv"


def _script():
    spec = importlib.util.spec_from_file_location("update_regions", REPO / "scripts" / "update_regions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()


def _packaged() -> tuple[dict, list[str]]:
    header, lines = {}, []
    for line in PACKAGED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#@"):
            key, _, value = line[2:].partition("\t")
            header[key] = value
        elif not line.startswith("#"):
            lines.append(line)
    return header, lines


@pytest.fixture(scope="module")
def built():
    source = SCRIPT.read_source(FIXTURE, commit="fixture", date="2025-11-04")
    since = dt.date.fromisoformat(_packaged()[0]["since"])
    return SCRIPT.build(source, SCRIPT.load_readings(), since)


def test_packaged_file_is_what_the_script_makes(built):
    _, packaged = _packaged()
    made = [SCRIPT.line(r) for r in built]
    assert len(made) > 200  # 北京, 山东, 福建 with their changes since 2000
    missing = [line for line in made if line not in set(packaged)]
    assert not missing, "regions.tsv differs from the script's output (rerun scripts/update_regions.py):\n" + "\n".join(missing[:5])
    codes = {r.code for r in built if r.code.startswith(("11", "35", "37"))}
    extra = [line for line in packaged if line.split("\t")[0] in codes and line not in made]
    assert not extra, extra[:5]


def test_packaged_header_cites_its_source():
    header, lines = _packaged()
    assert header["standard"] == "GB/T 2260" and header["publisher"] == "中华人民共和国民政部"
    assert header["source_url"].endswith("yescallop/areacodes") and header["licence"] == "CC0-1.0"
    assert len(header["source_commit"]) == 40 and dt.date.fromisoformat(header["source_date"])
    assert dt.date.fromisoformat(header["data_as_of"]) >= dt.date(2024, 12, 31)
    assert header["columns"].split() == list(SCRIPT.COLUMNS)
    assert all(len(line.split("\t")) == len(SCRIPT.COLUMNS) for line in lines)
    assert [line.split("\t")[0] for line in lines] == sorted(line.split("\t")[0] for line in lines)


def test_laiwu_change_from_the_approval_and_the_projects_reading(built):
    by = {(r.code, r.name): r for r in built}
    laiwu = by[("371200", "莱芜市")]
    assert laiwu.valid_to == dt.date(2018, 12, 31) and laiwu.successors == ["370116", "370117"]
    assert "国函〔2018〕163号（2018-12-26）" in "；".join(laiwu.change)  # the approval, then the reading
    assert by[("370116", "莱芜区")].valid_from == dt.date(2019, 1, 1)
    assert by[("371202", "莱城区")].successors == ["370116"]
    # a change without a reading takes the approval's day: 济阳县 → 济阳区, 国函〔2018〕86号 of 2018-06-19
    assert by[("370125", "济阳县")].valid_to == dt.date(2018, 6, 18)
    assert by[("370115", "济阳区")].valid_from == dt.date(2018, 6, 19)
    # a province-level approval of 2021 (三明): 梅列区 and the old 三元区 → the new 三元区, one code
    assert by[("350402", "梅列区")].successors == ["350404"] and by[("350404", "三元区")].valid_from == dt.date(2021, 2, 2)
    assert by[("110000", "北京市")].municipality and not by[("370000", "山东省")].municipality


@pytest.mark.parametrize("text,number,day", [
    ("# 国务院关于同意山东省调整济南市莱芜市行政区划的批复（节选）\n文号：国函〔2018〕163号\n日期：2018年12月26日", "国函〔2018〕163号", dt.date(2018, 12, 26)),
    ("# 福建省人民政府关于同意调整三明市部分行政区划的批复\n文号：闽政文〔2021〕49号\n时间：2021年2月2日", "闽政文〔2021〕49号", dt.date(2021, 2, 2)),
    ("# 国务院关于同意甘肃省撤销武威县设立武威市的批复\n文号：（85）国函字53号\n日期：一九八五年四月十五日", "（85）国函字53号", dt.date(1985, 4, 15)),
    ("# 国务院关于…的批复\n日期：一九八二年八月二十日", None, dt.date(1982, 8, 20)),
    ("# 苏政复〔2019〕54号\n\n将泰州市姜堰区华港镇划归泰州市海陵区管辖。", "苏政复〔2019〕54号", None),
])
def test_approval_number_and_date(text, number, day):
    got_number, got_day, _ = SCRIPT.approval(text)
    assert (got_number, got_day) == (number, day)


@pytest.mark.parametrize("name,short", [
    ("济南市", "济南"), ("历下区", "历下"), ("浦东新区", "浦东"), ("延边朝鲜族自治州", "延边"), ("内蒙古自治区", "内蒙古"),
    ("广西壮族自治区", "广西"), ("海西蒙古族藏族自治州", "海西"), ("白沙黎族自治县", "白沙"), ("锡林郭勒盟", "锡林郭勒"),
    ("神农架林区", "神农架"), ("香港特别行政区", "香港"), ("城区", "城区"), ("赵县", "赵县"), ("沙县区", "沙县"),
])
def test_short_names(name, short):
    assert SCRIPT.short_name(name) == short


@pytest.mark.parametrize("name,pinyin", [
    ("济南", "jinan"), ("历下", "lixia"), ("长清", "changqing"), ("长子", "zhangzi"), ("西安", "xi'an"), ("六安", "lu'an"),
    ("吕梁", "lvliang"), ("陕西", "shaanxi"), ("山西", "shanxi"), ("郫都", "pidu"), ("朝阳", "chaoyang"), ("蚌埠", "bengbu"),
])
def test_pinyin_of_place_names(name, pinyin):
    assert SCRIPT.pinyin_of(name, SCRIPT.load_readings()) == pinyin
