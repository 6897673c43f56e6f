"""The region registry: codes, names with and without suffix, pinyin, validity dates."""

from __future__ import annotations

import datetime as dt

import pytest

from policy_dsl.language.errors import InputError
from policy_dsl.language.regions import default_registry

REG = default_registry()
DAY = dt.date(2022, 6, 1)


@pytest.mark.parametrize("text", ["370100", "济南市", "济南", "jinan", "JiNan", " 济南 "])
def test_jinan_spellings(text):
    assert REG.resolve(text, DAY).code == "370100"


def test_district_chain():
    r = REG.resolve("370102", DAY)
    assert r.name == "历下区" and r.city.code == "370100" and r.province.code == "370000"
    assert [x.code for x in r.chain] == ["370102", "370100", "370000", "000000"]


def test_registry_content():
    shandong = [r for r in REG.by_code.values() if r.level == "city" and r.parent_code == "370000" and r.valid_to is None]
    assert len(shandong) == 16
    provinces = [r for r in REG.by_code.values() if r.level == "province"]
    assert len(provinces) == 34
    assert REG.get("000000").name == "全国"
    assert REG.source["standard"] == "GB/T 2260"
    for code in ("370116", "370117"):
        assert REG.get(code).city.code == "370100"


def test_laiwu_before_and_after():
    assert REG.resolve("371200", dt.date(2018, 12, 31)).name == "莱芜市"
    with pytest.raises(InputError) as info:
        REG.resolve("371200", dt.date(2019, 1, 1))
    msg = str(info.value)
    assert "莱芜区" in msg and "钢城区" in msg and "济南" in msg


def test_municipality_is_its_own_pooling_region():
    assert REG.resolve("110105", DAY).city.code == "110000"


def test_unknown_region_suggests():
    with pytest.raises(InputError) as info:
        REG.resolve("济男", DAY)
    assert info.value.first.code == "E-REGION-UNKNOWN"
