"""The columnar backend (policy_dsl.fast.columnar) held to the reference evaluator: a population
written as Parquet or JSON Lines and answered by ``eval``'s batches through the columnar backend
gives, row for row, the bytes the row-wise path gives with the reference evaluator
(engine.evaluate) alone — JSON Lines, Parquet and CSV out — on generated cases
(bench/gen_cases.py), on every case of the shipped policy tests, and on rows it must not take as
they look (bad values, JSON that means something else than Arrow reads); the rows it declines are
counted by named reason (columns.REASONS), and most rows are its own."""

from __future__ import annotations

import datetime as dt
import json

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("numpy")

from policy_dsl.engine.evaluate import Evaluator  # noqa: E402
from policy_dsl.face import batch  # noqa: E402
from policy_dsl.fast.columns import REASONS  # noqa: E402

from conftest import generated_cases  # noqa: E402
from test_backends import _policy_test_cases  # noqa: E402


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


def _jsonl(tmp_path, rows: list, name: str = "cases.jsonl", lines: list | None = None) -> str:
    path = tmp_path / name
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "".join(lines or ())
    path.write_text(text, encoding="utf-8")
    return str(path)


def _answers(policy, path: str, fmt: str, columnar: bool, monkeypatch):
    """The chunks ``eval PATH --out x.FMT`` writes for the file, through the columnar backend or
    (``columnar`` False) the row-wise path with the reference evaluator alone."""
    monkeypatch.setenv("POLICY_DSL_COLUMNAR", "1" if columnar else "0")
    id_type = "int" if fmt == "parquet" and path.endswith(".parquet") else "text"
    answering = batch.Answering(policy, "zh", None, fmt, False, id_type)
    if not columnar:
        answering.answers.evaluator = Evaluator(policy)
    return [answering.answer(b) for b in batch.batches(path, batch.input_format(path), [], {}, None, columnar)]


def _payload(chunks, fmt: str):
    if fmt == "parquet":
        return pa.Table.from_batches([c.payload for c in chunks]).to_pylist()
    return b"".join(c.payload for c in chunks)


def _compare(policy, path: str, monkeypatch, formats=("jsonl", "parquet", "csv")) -> dict:
    counts = {"columnar": 0, "declined": {}, "row-wise": 0}
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
        counts["row-wise"] = sum(c.columnar is None for c in mine)
        mine = [c for c in mine if c.columnar is not None]
        counts["columnar"] = sum(c.columnar["columnar"] for c in mine)
        declined: dict = {}
        for c in mine:
            for k, v in c.columnar["declined"].items():
                declined[k] = declined.get(k, 0) + v
        counts["declined"] = declined
    assert set(counts["declined"]) <= set(REASONS[1:])
    return counts


def _generated(n: int, seed: int) -> list:
    return generated_cases(n, seed)


def test_generated_cases(policy, tmp_path, monkeypatch):
    rows = _generated(2000, seed=5)
    counts = _compare(policy, _parquet(tmp_path, rows), monkeypatch)
    taken = counts["columnar"]
    # the backend is not silently out of use (the second reading's improving exceptions, conditional
    # notes and new facts are declined by name for now: about 69% of these rows are taken)
    assert taken > 0.6 * len(rows), counts


def test_the_shipped_policy_tests_cases(policy, tmp_path, monkeypatch):
    rows = list(_policy_test_cases())
    assert len(rows) > 200
    counts = _compare(policy, _parquet(tmp_path, rows), monkeypatch)
    # (the second reading's improving exceptions, conditional notes and new facts are declined by
    # name for now: the bound follows what the backend takes of the revised set)
    assert counts["columnar"] > 0.4 * len(rows), counts


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


def test_json_lines(policy, tmp_path, monkeypatch):
    rows = _generated(2000, seed=13)
    counts = _compare(policy, _jsonl(tmp_path, rows), monkeypatch)
    # (the second reading's improving exceptions, conditional notes and new facts are declined by
    # name for now: the bound follows what the backend takes of the revised set)
    assert counts["row-wise"] == 0 and counts["columnar"] > 0.6 * len(rows), counts


def test_json_lines_of_the_shipped_policy_tests(policy, tmp_path, monkeypatch):
    rows = list(_policy_test_cases())
    counts = _compare(policy, _jsonl(tmp_path, rows), monkeypatch, ("jsonl",))
    # (the second reading's improving exceptions, conditional notes and new facts are declined by
    # name for now: the bound follows what the backend takes of the revised set)
    assert counts["row-wise"] == 0 and counts["columnar"] > 0.4 * len(rows), counts


def test_json_values_mean_what_they_mean_in_json(policy, tmp_path, monkeypatch):
    """Values a table's cell would give but a JSON line does not (``2.0`` for a whole number, text
    with spaces around an enumerated value, a heading's name for a key, a key of another kind, a
    key of no kind): declined, the reference says what is wrong; the others in the same slice are
    the backend's."""
    rows = _generated(400, seed=17)
    year = next(i for i, r in enumerate(rows) if "benefit_year" in r)
    rows[year] = {**rows[year], "benefit_year": float(rows[year]["benefit_year"])}
    enum = next(i for i, r in enumerate(rows) if "worker" in r)
    rows[enum] = {**rows[enum], "worker": " " + rows[enum]["worker"]}
    rows[5] = {"类型" if k == "kind" else k: v for k, v in rows[5].items()}
    rows[6] = {**rows[6], "paid_on" if "paid_on" not in rows[6] else "event_date": "2022-01-01"}
    rows[7] = {**rows[7], "no_such_fact": 1}
    counts = _compare(policy, _jsonl(tmp_path, rows), monkeypatch, ("jsonl", "parquet"))
    assert counts["row-wise"] == 0 and counts["declined"].get("input", 0) >= 6, counts


@pytest.mark.parametrize("odd", ["blank", "null", "nan", "bom", "twice", "not-an-object", "text-for-true", "true-id"])
def test_json_lines_arrow_would_misread_go_the_row_wise_way(policy, tmp_path, monkeypatch, odd):
    rows = _generated(60, seed=19)
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in rows]
    if odd == "blank":
        lines[3] = "\n"
    elif odd == "null":
        lines[3] = lines[3][:-2] + ', "scope": null}\n'
    elif odd == "nan":
        lines[3] = lines[3][:-2] + ', "continuous_years": NaN}\n'
    elif odd == "bom":
        lines[0] = "\ufeff" + lines[0]
    elif odd == "twice":
        lines[3] = lines[3][:-2] + ', "kind": "transfer"}\n'
    elif odd == "text-for-true":
        flag = next(i for i, r in enumerate(rows) if "back_paid" in r)
        lines[flag] = json.dumps({**rows[flag], "back_paid": "是"}, ensure_ascii=False) + "\n"
    elif odd == "true-id":
        lines[3] = json.dumps({**rows[3], "id": True}, ensure_ascii=False) + "\n"
    else:
        lines[3] = "[1, 2]\n"
    counts = _compare(policy, _jsonl(tmp_path, [], lines=lines), monkeypatch, ("jsonl",))
    assert counts["row-wise"] == 1 and counts["columnar"] == 0, counts


def test_a_redirect_is_decided_on_its_own_kinds_decision_fact(policies_copy, tmp_path, monkeypatch):
    """``evaluate_as`` goes on to a case of the other kind decided on that kind's decision fact
    (``Evaluator.redirected_case``). Edited so that a newborn paying after 12 months is asked about
    as a resident payment made on the birth date, that case is decided on the birth date — when
    54号 二(四) was not yet in force in 济南: no rule (decided on the newborn's own day, it would be
    an invalid case, a payment before the collection period). The reference, the fast backend and
    the columnar backend answer alike."""
    from policy_dsl.engine.cases import RawCase
    from policy_dsl.face.api import Answerer, load_policy
    from policy_dsl.fast.plans import Plans
    from policy_dsl.language.errors import Where

    f = policies_copy / "lu-2021-54.yaml"
    text = f.read_text(encoding="utf-8")
    old = "          else year(paid_on)\n        paid_on: paid_on\n"
    assert text.count(old) == 1
    f.write_text(text.replace(old, "          else year(paid_on)\n        paid_on: birth_date\n"), encoding="utf-8")
    policy = load_policy([policies_copy])
    rows = [{"id": i, "kind": "newborn", "region": "济南", "birth_date": born, "paid_on": "2022-05-01"}
            for i, born in enumerate(["2021-03-10", "2021-04-10", "2020-12-31"])]
    reference = Evaluator(policy)
    for row in rows:
        case = Answerer(policy).validator.validate(RawCase(row, Where("<data>"), "c"))
        want = reference.evaluate(case)
        assert (want.status, want.redirected) == ("no_rule", ["resident_enrollment"])
        fast = Plans(reference).evaluate(case)
        assert fast is not None and (fast.status, fast.outputs, fast.redirected) == (want.status, want.outputs, want.redirected)
    counts = _compare(policy, _parquet(tmp_path, rows), monkeypatch, formats=("jsonl",))
    assert counts["columnar"] == len(rows), counts
