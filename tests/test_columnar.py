"""The columnar backend (policy_dsl.fast.columnar) held to the reference evaluator: a population
written as Parquet and answered by ``eval``'s batches through the columnar backend gives, row for
row, the bytes the row-wise path gives with the reference evaluator (engine.evaluate) alone —
JSON Lines, Parquet and CSV out — on generated cases (bench/gen_cases.py) and on every case of the
shipped policy tests; the rows it declines are counted by named reason (columns.REASONS), and
most rows are its own."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("numpy")

from policy_dsl.engine.evaluate import Evaluator  # noqa: E402
from policy_dsl.face import batch  # noqa: E402
from policy_dsl.fast.columns import REASONS  # noqa: E402

from test_backends import REPO, _policy_test_cases  # noqa: E402


def _floats(rows: list) -> list:
    """A column given as whole and fractional numbers is written as numbers with fractions (as a
    data team's file holds it), in the items of a list too."""
    mixed: set = set()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float):
                mixed.add(k)
            for item in v if isinstance(v, list) else ():
                mixed |= {f"{k}.{f}" for f, x in item.items() if isinstance(x, float)}
    out = []
    for r in rows:
        r = {k: float(v) if k in mixed and isinstance(v, int) and not isinstance(v, bool) else v for k, v in r.items()}
        for k, v in r.items():
            if isinstance(v, list):
                r[k] = [{f: float(x) if f"{k}.{f}" in mixed and isinstance(x, int) and not isinstance(x, bool) else x
                         for f, x in item.items()} for item in v]
        out.append(r)
    return out


def _parquet(tmp_path, rows: list, name: str = "cases.parquet", dates: bool = False) -> str:
    rows = _floats(rows)
    if dates:  # some dates as Arrow dates, not text
        rows = [{k: dt.date.fromisoformat(v) if k in ("paid_on", "date", "event_date") and isinstance(v, str)
                 and len(v) == 10 else v for k, v in r.items()} for r in rows]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table({k: pa.array([r.get(k) for r in rows]) for k in keys})
    path = tmp_path / name
    pq.write_table(table, path)
    return str(path)


def _answers(policy, path: str, fmt: str, columnar: bool, monkeypatch):
    """The chunks ``eval PATH --out x.FMT`` writes for the file, through the columnar backend or
    (``columnar`` False) the row-wise path with the reference evaluator alone."""
    monkeypatch.setenv("POLICY_DSL_COLUMNAR", "1" if columnar else "0")
    answering = batch.Answering(policy, "zh", None, fmt, False, "int" if fmt == "parquet" else "text")
    if not columnar:
        answering.answers.evaluator = Evaluator(policy)
    return [answering.answer(b) for b in batch.batches(path, "parquet", [], {})]


def _payload(chunks, fmt: str):
    if fmt == "parquet":
        return pa.Table.from_batches([c.payload for c in chunks]).to_pylist()
    return b"".join(c.payload for c in chunks)


def _compare(policy, path: str, monkeypatch, formats=("jsonl", "parquet", "csv")) -> dict:
    counts = {"columnar": 0, "declined": {}}
    for fmt in formats:
        mine = _answers(policy, path, fmt, True, monkeypatch)
        theirs = _answers(policy, path, fmt, False, monkeypatch)
        got, want = _payload(mine, fmt), _payload(theirs, fmt)
        if got != want:
            if fmt == "parquet":
                bad = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
                assert got[bad] == want[bad], f"row {bad}"
            else:
                a, b = got.splitlines(), want.splitlines()
                bad = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
                assert a[bad].decode() == b[bad].decode(), f"line {bad}"
            assert got == want
        assert [c.bad for c in mine] == [c.bad for c in theirs]
        assert [c.errors for c in mine] == [c.errors for c in theirs]
        assert all(c.columnar is not None for c in mine)
        counts["columnar"] = sum(c.columnar["columnar"] for c in mine)
        declined: dict = {}
        for c in mine:
            for k, v in c.columnar["declined"].items():
                declined[k] = declined.get(k, 0) + v
        counts["declined"] = declined
    assert set(counts["declined"]) <= set(REASONS[1:])
    return counts


def _generated(n: int, seed: int) -> list:
    sys.path.insert(0, str(REPO / "bench"))
    from gen_cases import generate

    return list(generate(n, seed))


def test_generated_cases(policy, tmp_path, monkeypatch):
    rows = _generated(3000, seed=5)
    counts = _compare(policy, _parquet(tmp_path, rows), monkeypatch)
    taken = counts["columnar"]
    assert taken > 0.9 * len(rows), counts  # the backend is not silently out of use


def test_the_shipped_policy_tests_cases(policy, tmp_path, monkeypatch):
    rows = list(_policy_test_cases())
    assert len(rows) > 200
    counts = _compare(policy, _parquet(tmp_path, rows), monkeypatch)
    assert counts["columnar"] > len(rows) / 2, counts


def test_arrow_dates_and_bad_rows(policy, tmp_path, monkeypatch):
    """Dates given as Arrow dates, and rows the column checks do not take (an unknown kind, a
    region that does not exist, a date that is no date, a missing fact): the same answers and
    error rows, each declined as ``input``."""
    rows = _generated(600, seed=9)
    rows[3] = {**rows[3], "kind": "no_such_kind"}
    rows[10] = {**rows[10], "region": "999999"}
    rows[20] = {**rows[20], "paid_on": "2022-02-30"} if "paid_on" in rows[20] else {**rows[20], "region": ""}
    rows[30] = {k: v for k, v in rows[30].items() if k not in ("paid_on", "date", "event_date")}
    counts = _compare(policy, _parquet(tmp_path, rows, dates=False), monkeypatch, ("jsonl",))
    assert counts["declined"].get("input", 0) >= 4, counts
    _compare(policy, _parquet(tmp_path, [r for r in rows if "paid_on" not in r or len(str(r["paid_on"])) == 10],
                              "dated.parquet", dates=True), monkeypatch, ("jsonl", "parquet"))
