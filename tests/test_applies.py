"""`policy-dsl applies`: which clauses are in force and pending on a date in a region."""

from __future__ import annotations


def _rules(data, key="in_force"):
    return {(topic, r["rule"]) for topic, t in data["topics"].items() for r in t[key]}


def test_jinan_2022_03_31_to_04_01_differs_by_the_clauses_starting_that_day(cli, policy):
    before = cli("applies", "--date", "2022-03-31", "--region", "济南", "--format", "json").json
    after = cli("applies", "--date", "2022-04-01", "--region", "济南", "--format", "json").json
    added = _rules(after) - _rules(before)
    removed = _rules(before) - _rules(after)
    assert removed == set()
    region = __import__("policy_dsl.language.regions", fromlist=["x"]).default_registry().get("370100")
    import datetime as dt

    starting = {(t, c.ref) for c in policy.clauses.values() for t in c.topics
                if c.applies_to_region(region) and c.local_start(region) == dt.date(2022, 4, 1)}
    assert added == starting
    docs = {policy.clauses[ref].doc.number for _, ref in added}
    assert docs == {"鲁医保发〔2021〕54号", "济医保发〔2022〕2号"}
    # and they were pending the day before
    assert starting <= _rules(before, "pending")


def test_qingdao_54_pending_until_april_2022(cli):
    for day in ("2021-12-15", "2022-01-10", "2022-03-31"):
        data = cli("applies", "--date", day, "--region", "青岛", "--format", "json").json
        in_force_docs = {r["document"] for t in data["topics"].values() for r in t["in_force"]}
        pending = {(r["document"], r["in_force_from"]) for t in data["topics"].values() for r in t["pending"]}
        assert "鲁医保发〔2021〕54号" not in in_force_docs, day
        assert ("鲁医保发〔2021〕54号", "2022-04-01") in pending, day
    after = cli("applies", "--date", "2022-04-01", "--region", "青岛", "--format", "json").json
    assert "鲁医保发〔2021〕54号" in {r["document"] for t in after["topics"].values() for r in t["in_force"]}


def test_43_pending_everywhere_on_2021_11_15(cli):
    for region in ("济南", "青岛", "广州", "000000", "370102"):
        data = cli("applies", "--date", "2021-11-15", "--region", region, "--format", "json").json
        pending = {r["document"] for t in data["topics"].values() for r in t["pending"]}
        in_force = {r["document"] for t in data["topics"].values() for r in t["in_force"]}
        assert "医保办发〔2021〕43号" in pending, region
        assert "医保办发〔2021〕43号" not in in_force, region


def test_guangzhou_never_sees_shandong_or_jinan(cli):
    for day in ("2020-09-01", "2021-12-20", "2022-04-01", "2023-06-30", "2026-01-01"):
        data = cli("applies", "--date", day, "--region", "广州", "--format", "json").json
        docs = {r["document"] for t in data["topics"].values() for key in ("in_force", "pending") for r in t[key]}
        assert not any(d.startswith(("鲁", "济")) for d in docs), (day, docs)


def test_district_answers_as_its_city(cli):
    district = cli("applies", "--date", "2022-04-01", "--region", "370102", "--format", "json").json
    city = cli("applies", "--date", "2022-04-01", "--region", "济南", "--format", "json").json
    assert district["topics"] == city["topics"]
    assert district["region"]["city"] == {"code": "370100", "name": "济南市"}


def test_laiwu_after_2019_is_an_input_error_naming_successors(cli):
    run = cli("applies", "--date", "2020-01-01", "--region", "371200", "--format", "json")
    assert run.code == 2
    message = run.json["error"]["message"]
    for name in ("莱芜区", "钢城区", "济南"):
        assert name in message
    assert "Traceback" not in run.err


def test_laiwu_before_2019_is_a_city_of_shandong(cli):
    data = cli("applies", "--date", "2018-06-01", "--region", "371200", "--format", "json").json
    assert data["region"]["name"] == "莱芜市"


def test_displacement_only_where_both_apply(cli):
    data = cli("applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arrears", "--format", "json").json
    rows = {r["rule"]: r for r in data["topics"]["arrears"]["in_force"]}
    displaced = {d["rule"] for d in rows["jn-2022-2/arrears-flexible-short-gap"]["displaces"]}
    assert "lu-2021-54/arrears-flexible-short-gap" in displaced
    assert "lu-2021-54/arrears-employed" not in displaced  # employed and flexible never meet
    assert rows["jn-2022-2/arrears-flexible-short-gap"]["displaces"][0]["reason"] == "specificity"


def test_table_output_in_chinese_and_english(cli):
    zh = cli("applies", "--date", "2022-04-01", "--region", "济南", "--topic", "newborn")
    assert zh.code == 0 and "新生儿参保" in zh.out and "鲁医保发〔2021〕54号" in zh.out
    en = cli("applies", "--date", "2022-04-01", "--region", "jinan", "--topic", "newborn", "--lang", "en")
    assert "newborn enrollment" in en.out and "province" in en.out


def test_unknown_topic_and_bad_date_are_input_errors(cli):
    assert cli("applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arears").code == 2
    run = cli("applies", "--date", "2022-02-30", "--region", "济南")
    assert run.code == 2 and "2022-02-30" in run.err
