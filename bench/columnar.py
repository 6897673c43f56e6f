"""The columnar backend against the row-wise paths, in one run: ``eval CASES --out ANSWERS`` of N
generated cases, Parquet → Parquet and JSON Lines → JSON Lines, one process, with the columnar
backend (the default) and without it (``POLICY_DSL_COLUMNAR=0``: the row-wise path for Parquet,
the batch lane for JSON Lines), and the hand-written baseline (bench/baseline.py) on the same
cases; optionally (``--big M``) M cases Parquet → Parquet with ``--jobs 2``.

    python bench/columnar.py [--n N] [--rounds R] [--big 10000000] [--json OUT]

The runs alternate round by round; figures are medians of wall-clock and of CPU time (user +
system of the program and its children, ``getrusage``), with peak memory (the resident memory of
the process and its children, sampled every 20 ms). Each pair of outputs is compared byte for
byte (the answers must be identical). The M-case file is the N-case Parquet file repeated (ids
offset), made once."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from common import BENCH, environment, machine, median, report, tool, work_dir
from population import _same_file, cases_file, parquet_file, timed


def repeated(parquet: Path, total: int) -> Path:
    """``total`` rows: the cases of ``parquet`` again and again, each copy's ids offset."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = parquet.with_name(f"{parquet.stem}-x{total}.parquet")
    if path.exists():
        return path
    table = pq.read_table(parquet)
    writer = pq.ParquetWriter(str(path) + ".part", table.schema)
    done, copy = 0, 0
    while done < total:
        part = table.slice(0, min(table.num_rows, total - done))
        ids = pc.add(part.column("id"), copy * 10_000_000)
        writer.write_table(part.set_column(part.schema.get_field_index("id"), "id", ids))
        done += part.num_rows
        copy += 1
    writer.close()
    os.replace(str(path) + ".part", path)
    return path


def cpu_timed(cmd, env, out_path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, peak = timed(cmd, env, out_path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--big", type=int, default=0, help="also M cases Parquet → Parquet with --jobs 2")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    jsonl = cases_file(args.n)
    parquet = parquet_file(jsonl)
    d = work_dir()
    env = environment()
    env["POLICY_DSL_NO_PROGRESS"] = "1"
    row = {**env, "POLICY_DSL_COLUMNAR": "0"}
    pdsl = tool()
    runs = {
        "parquet>parquet, columnar": ([pdsl, "eval", str(parquet), "--out", str(d / "col-a.parquet")], env, None),
        "parquet>parquet, row-wise": ([pdsl, "eval", str(parquet), "--out", str(d / "col-b.parquet")], row, None),
        "jsonl>jsonl, columnar": ([pdsl, "eval", str(jsonl), "--out", str(d / "col-c.jsonl")], env, None),
        "jsonl>jsonl, row-wise (the lane)": ([pdsl, "eval", str(jsonl), "--out", str(d / "col-d.jsonl")], row, None),
        "baseline (bench/baseline.py)": ([sys.executable, str(BENCH / "baseline.py"), str(jsonl)], env,
                                         d / "col-base.jsonl"),
    }
    if args.big:
        big = repeated(parquet, args.big)
        runs[f"{args.big:,} parquet>parquet, columnar, --jobs 2"] = (
            [pdsl, "eval", str(big), "--out", str(d / "col-big.parquet"), "--jobs", "2"], env, None)
    import subprocess

    subprocess.run([pdsl, "eval", str(BENCH.parent / "examples" / "arrears-jinan.yaml")], env=env,
                   stdout=subprocess.DEVNULL)  # fill the policy cache
    walls: dict = {k: [] for k in runs}
    cpus: dict = {k: [] for k in runs}
    peaks: dict = {k: 0 for k in runs}
    names = list(runs)
    started = time.strftime("%H:%M", time.gmtime())
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            cmd, e, out = runs[name]
            wall, cpu, peak = cpu_timed(cmd, e, out)
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], peak)
            print(f"  {name:44} {wall:7.2f} s wall {cpu:7.2f} s CPU  peak {peak / 2**20:6.0f} MiB  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    base = median(cpus["baseline (bench/baseline.py)"])
    results = {}
    print(f"\n{args.n:,} cases ({parquet.name}), medians of {args.rounds} round(s), {started}-"
          f"{time.strftime('%H:%M', time.gmtime())} UTC:")
    for name in names:
        w, c = median(walls[name]), median(cpus[name])
        results[name] = {"wall": w, "cpu": c, "peak_bytes": peaks[name], "walls": walls[name], "cpus": cpus[name],
                         "command": " ".join(runs[name][0]), "cpu_ratio_to_baseline": base / c}
        print(f"  {name:44} {w:7.2f} s wall {c:7.2f} s CPU  peak {peaks[name] / 2**20:6.0f} MiB  "
              f"{base / c:5.2f}x the baseline's CPU speed")
    same = {"parquet": _same_parquet(d / "col-a.parquet", d / "col-b.parquet"),
            "jsonl": _same_file(d / "col-c.jsonl", d / "col-d.jsonl")}
    print(f"  identical answers, columnar and row-wise: Parquet {same['parquet']}, JSON Lines {same['jsonl']}")
    for kind in ("parquet", "jsonl"):
        c, r = median(cpus[f"{kind}>{kind}, columnar"]), median(cpus[next(k for k in names if k.startswith(f"{kind}>{kind}, row"))])
        print(f"  {kind}: columnar / row-wise CPU = {c / r:.3f} ({r / c:.2f}x faster)")
    report("columnar", {"cases": args.n, "rounds": args.rounds, "results": results, "identical": same,
                        "machine_load": os.getloadavg(), "machine": machine()}, args.json)


def _same_parquet(a: Path, b: Path) -> bool:
    import pyarrow.parquet as pq

    return pq.read_table(a).equals(pq.read_table(b))


if __name__ == "__main__":
    main()
