"""`policy-dsl regions NAME`: what a name may mean, for a person choosing what to type."""

from __future__ import annotations


def test_an_ambiguous_name_lists_every_candidate(cli):
    got = cli("regions", "市中区", "--format", "json").json
    assert got["resolves_to"] is None and "370103" in got["problem"] and "370402" in got["problem"]
    assert {"370103", "370402"} <= {c["code"] for c in got["candidates"]}
    table = cli("regions", "市中区")
    assert table.code == 0 and "山东省枣庄市市中区" in table.out and "山东省济南市市中区" in table.out


def test_a_name_that_says_one_region_resolves_to_its_pooling_region(cli):
    got = cli("regions", "济南历下", "--format", "json").json
    assert got["resolves_to"]["code"] == "370102" and got["resolves_to"]["city"]["code"] == "370100"
    assert "按 济南市 统筹地区计" in cli("regions", "济南历下").out


def test_an_abolished_city_by_date(cli):
    before = cli("regions", "莱芜", "--date", "2018-06-01", "--format", "json").json
    assert before["resolves_to"]["code"] == "371200"
    assert before["candidates"][0]["successors"] == ["370116", "370117"]
    after = cli("regions", "371200", "--date", "2019-06-01", "--format", "json").json
    assert after["resolves_to"] is None and "370116" in after["problem"]
