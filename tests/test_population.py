"""A population evaluated from the files a data team holds: the same generated cases written as
JSON Lines, CSV, Excel and Parquet (with one bad row each) give the same answers, the bad row
reported in its place with its row number; --jobs 2 writes the same bytes as one process; tables
get Chinese headings under --lang zh; a file is replaced whole or not at all."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import generated_cases

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
openpyxl = pytest.importorskip("openpyxl")

BAD_AT = 7  # the 8th case is bad: 2022-02-30 does not exist
BAD = {"id": "bad", "kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": "2021-10",
       "paid_on": "2022-02-30"}


def population(n: int = 240) -> list[dict]:
    cases = generated_cases(n, seed=11)
    cases.insert(BAD_AT, dict(BAD))
    return cases


def flat(case: dict) -> dict:
    """A case as a table row: enrollments as flattened columns enrollments.0.scheme …"""
    out = {}
    for k, v in case.items():
        if isinstance(v, list):
            for i, item in enumerate(v):
                for kk, vv in item.items():
                    out[f"{k}.{i}.{kk}"] = vv
        else:
            out[k] = v
    return out


def header(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(k for r in rows for k in r))


def write_csv(path: Path, cases: list[dict], names: dict | None = None) -> None:
    rows = [flat(c) for c in cases]
    cols = header(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([(names or {}).get(c, c) for c in cols])
        for r in rows:
            w.writerow(["" if r.get(c) is None else str(r[c]).lower() if isinstance(r[c], bool) else r[c] for c in cols])


def write_xlsx(path: Path, cases: list[dict]) -> None:
    rows = [flat(c) for c in cases]
    cols = header(rows)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(cols)
    for r in rows:
        sheet.append([r.get(c) for c in cols])
    book.save(path)


def write_parquet(path: Path, cases: list[dict]) -> None:
    rows = [flat(c) for c in cases]
    cols = header(rows)
    data = {}
    for c in cols:
        values = [r.get(c) for r in rows]
        if c == "id":
            values = [str(v) for v in values]
        data[c] = pa.array(values)
    pq.write_table(pa.table(data), path, row_group_size=50)


def write_jsonl(path: Path, cases: list[dict]) -> None:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("population")
    cases = population()
    out = {"jsonl": d / "people.jsonl", "csv": d / "people.csv", "xlsx": d / "people.xlsx", "parquet": d / "people.parquet"}
    write_jsonl(out["jsonl"], cases)
    write_csv(out["csv"], cases)
    write_xlsx(out["xlsx"], cases)
    write_parquet(out["parquet"], cases)
    return cases, out


def _answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _same(answer: dict) -> dict:
    """An answer as formats compare it: the id as text, an error without its file and row."""
    out = {**answer, "id": str(answer.get("id"))}
    if "error" in out:
        out["error"] = {k: v for k, v in out["error"].items() if k != "where"}
    return out


def test_formats_agree_and_the_bad_row_is_reported(files, cli, tmp_path):
    cases, paths = files
    reference = None
    for fmt, path in paths.items():
        out = tmp_path / f"answers-{fmt}.jsonl"
        r = cli("eval", path, "--out", out, "--lang", "en")
        assert r.code == 2, (fmt, r.err)  # a bad case: exit 2, every other case answered
        answers = _answers(out)
        assert len(answers) == len(cases)
        bad = answers[BAD_AT]
        row = {"jsonl": BAD_AT + 1, "csv": BAD_AT + 2, "xlsx": BAD_AT + 2, "parquet": BAD_AT + 1}[fmt]
        assert bad["id"] == "bad" and bad["error"]["code"] == "E-CASE-DATE", bad
        assert "`paid_on`" in bad["error"]["message"] and "2022-02-30" in bad["error"]["message"]
        assert bad["error"]["where"].startswith(f"{path}:{row}"), bad["error"]["where"]
        assert f"{path}:{row}" in r.err  # and said on stderr
        bad_count = sum("error" in a for a in answers)
        assert f"answered {len(cases)} cases" in r.out and f"{bad_count} of them" in r.out
        same = [_same(a) for i, a in enumerate(answers) if i != BAD_AT]
        if reference is None:
            reference = same
            assert sum(a.get("status") == "decided" for a in same) > 100
        else:
            assert same == reference, fmt


def test_tables_out_agree(files, cli, tmp_path):
    cases, paths = files
    tables = {}
    for fmt in ("csv", "xlsx", "parquet"):
        out = tmp_path / f"answers-{fmt}.csv"
        assert cli("eval", paths[fmt], "--out", out, "--lang", "en").code == 2
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert len(rows) == len(cases)
        assert rows[BAD_AT]["error"].startswith(f"{paths[fmt]}:") and "E-CASE-DATE" in rows[BAD_AT]["error"]
        tables[fmt] = [{k: v for k, v in r.items() if k != "error"} for r in rows]
    assert tables["csv"] == tables["xlsx"] == tables["parquet"]
    first = next(r for r in tables["csv"] if r["status"] == "decided" and r["kind"] == "arrears")
    assert first["governing"] and " › " in first["governing"] and first["rule"]


def test_parquet_out_is_typed(files, cli, tmp_path):
    import datetime as dt

    _, paths = files
    out = tmp_path / "answers.parquet"
    assert cli("eval", paths["jsonl"], "--out", out, "--format", "json").code == 2
    table = pq.read_table(out)
    assert table.schema.field("benefit_start").type == pa.date32()
    assert table.schema.field("waiting_months").type == pa.int64()
    rows = table.to_pylist()
    decided = [r for r in rows if r["status"] == "decided" and r["benefit_start"] is not None]
    assert decided and isinstance(decided[0]["benefit_start"], dt.date)
    assert rows[BAD_AT]["error"] and rows[BAD_AT]["status"] is None


def test_jobs_give_the_same_bytes(files, cli, tmp_path, monkeypatch):
    from policy_dsl.face import batch

    _, paths = files
    monkeypatch.setattr(batch, "SLICE_BYTES", 4096)  # many batches from a small file
    monkeypatch.setattr(batch, "ROWS", 40)
    people = tmp_path / "people.jsonl"  # with a line longer than 16 slices, read as it goes
    long = dict(BAD, id="x" * 100_000, paid_on="2022-02-28")
    people.write_text(paths["jsonl"].read_text(encoding="utf-8") + json.dumps(long) + "\n" + json.dumps(BAD) + "\n",
                      encoding="utf-8")
    plain = cli("eval", people, "--format", "json")
    assert plain.code == 2 and plain.lines[-2]["id"] == long["id"] and "status" in plain.lines[-2]
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.jsonl"
        assert cli("eval", people, "--out", out, "--jobs", jobs).code == 2
        assert out.read_text(encoding="utf-8") == plain.out, jobs
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert cli("eval", paths["xlsx"], "--out", one).code == 2
    assert cli("eval", paths["xlsx"], "--out", two, "--jobs", "2").code == 2
    assert one.read_bytes() == two.read_bytes()


def test_chinese_headings_for_people_field_names_for_programs(files, cli, tmp_path):
    _, paths = files
    zh, en, parquet = tmp_path / "zh.csv", tmp_path / "en.xlsx", tmp_path / "zh.parquet"
    cli("eval", paths["csv"], "--out", zh)
    text = zh.read_text(encoding="utf-8")
    assert text.startswith("\ufeff编号,案例类型,地区代码,")  # a BOM: Excel opens it as UTF-8
    assert "待遇起始日" in text.splitlines()[0] and "依据（文号 › 条款）" in text.splitlines()[0]
    cli("eval", paths["csv"], "--out", en, "--lang", "en")
    sheet = openpyxl.load_workbook(en, read_only=True).worksheets[0]
    head = next(sheet.iter_rows(values_only=True))
    assert head[:5] == ("id", "kind", "region", "decision_date", "status")
    cli("eval", paths["csv"], "--out", parquet)
    assert pq.read_schema(parquet).names[:3] == ["id", "kind", "region"]


def test_labels_typed_cells_and_columns_not_read(cli, tmp_path):
    """A sheet as an officer keeps it: Chinese headings, dates as typed, 是/否, an extra column."""
    path = tmp_path / "人员.csv"
    path.write_text("编号,类型,地区,参保人员类别,最后缴费月份,缴费日期,姓名\n"
                    "a,欠费,济南,灵活就业,2022/6,2022年11月3日,张三\n"
                    "b,arrears,370100,flexible,2022-06,2022-11-03,李四\n", encoding="gb18030")
    r = cli("eval", path, "--format", "jsonl", "--lang", "en")
    assert r.code == 0, r.err
    a, b = r.lines
    assert a["status"] == "decided" and a["waiting_months"] == 3
    assert {**a, "id": "b"} == b
    assert "columns not read" in r.err and "`姓名`" in r.err


def test_a_header_without_kind_is_refused(cli, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,region,paid_on\n1,370100,2022-01-01\n", encoding="utf-8")
    r = cli("eval", path, "--format", "jsonl")
    assert r.code == 2 and "E-CASE-COLUMN" in r.err and "kind" in r.err


def test_the_target_is_replaced_whole_or_not_at_all(files, cli, tmp_path):
    _, paths = files
    out = tmp_path / "answers.xlsx"
    out.write_bytes(b"old")
    r = cli("eval", paths["parquet"], "--out", tmp_path / "no-such-folder" / "a.csv")
    assert r.code == 2 and "E-WRITE" in r.err
    r = cli("eval", tmp_path / "missing.csv", "--out", out)
    assert r.code == 2 and out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_binary_formats_need_a_file(files, cli):
    _, paths = files
    r = cli("eval", paths["csv"], "--format", "parquet")
    assert r.code == 2 and "--out" in r.err


def test_a_file_that_is_not_what_its_name_says(cli, tmp_path):
    for name, code in (("people.xlsx", "E-CASE-XLSX"), ("people.parquet", "E-CASE-PARQUET")):
        path = tmp_path / name
        path.write_bytes(b"id,kind,region\n1,arrears,370100\n")
        r = cli("eval", path, "--out", tmp_path / "answers.csv")
        assert r.code == 2 and code in r.err, r.err
