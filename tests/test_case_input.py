"""Bad case files: exit 2, a message naming the problem, never a traceback."""

from __future__ import annotations

import pytest

from conftest import case_file

GOOD = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}


@pytest.mark.parametrize("change,code,words", [
    ({"kind": "arrear"}, "E-CASE-KIND", ["arrear", "arrears"]),
    ({"paid_on": None}, "E-CASE-MISSING-KEY", ["paid_on"]),
    ({"paid_on": "2022-02-30"}, "E-CASE-DATE", ["paid_on", "2022-02-30"]),
    ({"region": "火星"}, "E-REGION-UNKNOWN", ["火星"]),
    ({"worker": "freelance"}, "E-CASE-VALUE", ["worker", "employed|flexible"]),
    ({"last_paid_month": "2022-13"}, "E-CASE-MONTH", ["last_paid_month"]),
    ({"paied_on": "2022-10-20"}, "E-CASE-UNKNOWN-KEY", ["paied_on", "paid_on"]),
    ({"low_income": "yes"}, "E-CASE-TYPE", ["low_income"]),
])
def test_bad_case(cli, tmp_path, change, code, words):
    case = {**GOOD, **change}
    case = {k: v for k, v in case.items() if v is not None}
    run = cli("eval", case_file(tmp_path, case), "--format", "json")
    assert run.code == 2
    assert "Traceback" not in run.err
    data = run.json
    error = data["error"] if "error" in data else data[0]["error"]
    assert error["code"] == code
    for w in words:
        assert w in error["message"] + error.get("hint", "")


def test_yaml_on_key_is_refused(cli, tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text("kind: arrears\nregion: 济南\nworker: flexible\nlast_paid_month: 2022-06\npaid_on: 2022-10-20\non: true\n",
                 encoding="utf-8")
    run = cli("eval", p, "--format", "json")
    assert run.code == 2
    assert run.json["error"]["code"] == "E-YAML-BOOL-KEY"
    assert "`on`" in run.json["error"]["message"]
    assert run.json["error"]["where"].endswith(":6:1")


def test_yaml_case_with_unquoted_dates(cli, tmp_path):
    p = tmp_path / "case.yaml"
    p.write_text("kind: arrears\nregion: 济南\nworker: flexible\nlast_paid_month: 2022-06\npaid_on: 2022-10-20\n",
                 encoding="utf-8")
    assert cli("eval", p, "--format", "json").json["benefit_start"] == "2022-11-01"


def test_missing_case_file(cli, tmp_path):
    run = cli("eval", tmp_path / "nope.yaml")
    assert run.code == 2 and "nope.yaml" in run.err


def test_usage_error_is_exit_2(cli):
    run = cli("eval")
    assert run.code == 2 and "Traceback" not in run.err


def test_as_of_decides_under_earlier_rules(cli, tmp_path):
    path = case_file(tmp_path, GOOD)
    now = cli("eval", path, "--format", "json").json
    before = cli("eval", path, "--format", "json", "--as-of", "2022-03-31").json
    assert now["governing"][0]["document"] == "济医保发〔2022〕2号"
    assert before["status"] == "no_rule"
    assert {p["document"] for p in before["pending"]} == {"鲁医保发〔2021〕54号", "济医保发〔2022〕2号"}


def test_invalid_under_a_clause_is_exit_2(cli, tmp_path):
    case = {"kind": "resident_enrollment", "region": "济南", "benefit_year": 2024, "paid_on": "2023-08-31"}
    run = cli("eval", case_file(tmp_path, case), "--format", "json")
    assert run.code == 2 and run.json["error"]["code"] == "E-CASE-INVALID"


# -- a JSON list file read a window at a time (engine/cases._ListReader) --------------------------
def _read_whole(text: str, name: str):
    """What the whole-text reading makes of a JSON file: its items with their places, or its error."""
    from policy_dsl.engine import cases
    from policy_dsl.language.errors import InputError

    try:
        shape, items = cases._json_cases(text, name)
        return [(r.data, r.where.line, r.where.col, r.clean) for r in items] if shape == "list" else "single"
    except InputError as exc:
        return exc.first.code, exc.first.where.line, exc.first.where.col


def _read(path, monkeypatch, chunk: int):
    from policy_dsl.engine import cases
    from policy_dsl.language.errors import InputError

    monkeypatch.setattr(cases, "_CHUNK", chunk)
    try:
        shape, items = cases.read_cases(str(path))
        return [(r.data, r.where.line, r.where.col, r.clean) for r in items] if shape == "list" else "single"
    except InputError as exc:
        return exc.first.code, exc.first.where.line, exc.first.where.col


def test_a_json_list_read_by_windows_is_the_list_read_whole(tmp_path, monkeypatch):
    """Whatever the window (down to one byte: items, numbers, multi-byte characters and a BOM cut
    anywhere), the items, their places and their errors are those of the file read whole."""
    import json
    import random

    rng = random.Random(13)
    values = [7, -4.5e3, 12345678901234567890, "济南", "a\\nb", {"k": "v", "n": [1, {"x": None}]}, [], {}, True, None]
    space = ["", " ", "\n", "\r\n", "\t"]
    path = tmp_path / "cases.json"
    for _ in range(250):
        items = [rng.choice(space) + json.dumps(rng.choice(values), ensure_ascii=rng.random() < 0.5) + rng.choice(space)
                 for _ in range(rng.randint(0, 6))]
        text = rng.choice(space) + "[" + ",".join(items) + "]" + rng.choice(space)
        if rng.random() < 0.25:  # broken somewhere
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(["", "x", ",", "]", '"', "{"]) + text[at + 1:]
        bom = rng.random() < 0.2
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        want = _read_whole(text, str(path))
        for chunk in (1, 2, 5, 64):
            assert _read(path, monkeypatch, chunk) == want, (text, chunk)


def test_a_json_list_file_is_read_in_flat_memory(tmp_path, monkeypatch):
    """Reading a list four times as long takes no more memory: a window and one case."""
    import json
    import tracemalloc

    from policy_dsl.engine import cases

    monkeypatch.setattr(cases, "_CHUNK", 1 << 14)
    peaks = []
    for n in (2000, 8000):
        path = tmp_path / f"cases-{n}.json"
        path.write_text("[\n" + ",\n".join(json.dumps({**GOOD, "id": i}, ensure_ascii=False) for i in range(n)) + "\n]\n",
                        encoding="utf-8")
        tracemalloc.start()
        shape, items = cases.read_cases(str(path))
        assert shape == "list" and sum(1 for _ in items) == n
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 256 * 1024, peaks  # the whole text of the longer list: over 1 MB


def test_a_json_list_file_that_changes_between_its_readings(tmp_path):
    """Checked whole, then changed before its cases are read: a coded error, never a wrong case."""
    import json

    from policy_dsl.engine import cases
    from policy_dsl.language.errors import InputError

    path = tmp_path / "cases.json"
    path.write_text(json.dumps([GOOD, GOOD]), encoding="utf-8")
    shape, items = cases.read_cases(str(path))
    path.write_text("[" + json.dumps(GOOD) + ", {", encoding="utf-8")
    assert next(items).data == GOOD
    with pytest.raises(InputError) as got:
        next(items)
    assert got.value.first.code == "E-CASE-FILE"
