"""The same evaluation beyond one machine: a generated population (with a bad row) as Parquet
row groups, answered on a local Dask cluster of two worker processes (``map_partitions`` into the
answering code of ``eval``), gives exactly the rows ``eval --out ANSWERS.parquet`` writes — the
bad row's error with its row number in the whole file included."""

from __future__ import annotations

import json

import pytest

from conftest import generated_cases

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")


def test_dask_cluster_gives_the_rows_eval_writes(cli, tmp_path):
    cases = generated_cases(700, seed=9)
    cases.insert(300, {"id": 10**6, "kind": "arrears", "region": "370100", "worker": "flexible",
                       "last_paid_month": "2021-10", "paid_on": "2022-02-30"})
    rows = []
    for c in cases:
        r = {k: v for k, v in c.items() if k != "enrollments"}
        if "enrollments" in c:
            r["enrollments"] = json.dumps(c["enrollments"], ensure_ascii=False)
        if "continuous_years" in r:
            r["continuous_years"] = float(r["continuous_years"])
        rows.append(r)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table({k: pa.array([r.get(k) for r in rows]) for k in keys}), path, row_group_size=200)

    assert cli("eval", path, "--out", tmp_path / "answers.parquet").code == 2
    reference = pq.read_table(tmp_path / "answers.parquet").to_pylist()

    from policy_dsl.face.distributed import evaluate_parquet

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        answers = evaluate_parquet(str(path), split_row_groups=True).persist()  # answered once, on the workers
        assert answers.npartitions == 4
        answers.to_parquet(tmp_path / "dask-out", write_index=False)
        got = answers.compute()
    got_rows = pa.Table.from_pandas(got, preserve_index=False).to_pylist()
    assert got_rows == reference
    assert got_rows[300]["error"].startswith(f"{path}:301: E-CASE-DATE")
    written = pq.read_table(tmp_path / "dask-out").to_pylist()
    assert sorted(written, key=lambda r: r["id"]) == sorted(reference, key=lambda r: r["id"])
