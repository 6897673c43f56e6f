"""Populations: eval of N generated cases from and to files, one core and two, with peak memory,
against the hand-written baseline in the same run; and impact on the same N people.

    python bench/population.py [--n N] [--rounds R] [--jobs 2] [--json OUT]

N (default 1 000 000) cases of bench/gen_cases.py, as JSON Lines and as Parquet (converted once,
not timed). Each program runs as a user runs it (bench/common.py: its own policy cache, bytecode
cached), its answers going to a file; the runs alternate round by round, and the figures are
medians. Peak memory is the largest sum of the resident memory of the process and its children,
sampled every 20 ms. Ratios are to ``python bench/baseline.py CASES.jsonl`` (the readings written
by hand) measured in the same rounds: on a shared machine only ratios within one run compare.

Timed:
- ``eval CASES.jsonl --format json > answers.jsonl`` (the batch lane, one process);
- ``eval CASES.jsonl --out answers.jsonl [--jobs 2]``;
- ``eval CASES.parquet --out answers.parquet [--jobs 2]``;
- ``impact POLICIES COPY --cases CASES.parquet --out DIR [--jobs 2]`` (COPY: 济南's long-gap
  waiting period 3 → 4 months);
- the baseline."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import BENCH, REPO, cases_file, environment, machine, median, report, tool, work_dir


def parquet_file(jsonl: Path) -> Path:
    """The cases of ``jsonl`` as Parquet (enrollments as a list of structs), made once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = jsonl.with_suffix(".parquet")
    if path.exists():
        return path
    writer = None
    with open(jsonl, encoding="utf-8") as fh:
        while True:
            lines = [line for _, line in zip(range(200_000), fh)]
            if not lines:
                break
            rows = [json.loads(line) for line in lines]
            for r in rows:
                if "continuous_years" in r:
                    r["continuous_years"] = float(r["continuous_years"])
                for e in r.get("enrollments") or ():
                    e["continuous_employee_years"] = float(e["continuous_employee_years"])
            if writer is None:  # every key of every kind (the first rows hold them all)
                keys = list(dict.fromkeys(k for r in rows for k in r))
                table = pa.table({k: pa.array([r.get(k) for r in rows]) for k in keys})
            else:
                table = pa.Table.from_pylist(rows, schema=writer.schema)
            if writer is None:
                writer = pq.ParquetWriter(str(path) + ".part", table.schema)
            writer.write_table(table)
    writer.close()
    os.replace(str(path) + ".part", path)
    return path


def changed_copy() -> Path:
    """A copy of the shipped policies with 济南's long-gap waiting period 3 → 4 months."""
    dest = work_dir() / "policies-jn-wait-4"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO / "policies", dest)
    path = dest / "jn-2022-2.yaml"
    text = path.read_text(encoding="utf-8")
    at = text.index("waiting_months: 3", text.index("arrears-flexible-long-gap"))
    path.write_text(text[:at] + "waiting_months: 4" + text[at + 17:], encoding="utf-8")
    return dest


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def timed(cmd: list[str], env: dict, out_path: Path | None) -> tuple[float, int]:
    """Seconds and peak resident bytes (with children) of ``cmd`` (which must succeed: exit 0, or
    2 when some generated cases are bad)."""
    out = open(out_path, "wb") if out_path else subprocess.DEVNULL
    peak = [0]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE, cwd=REPO)
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - t
    done.set()
    sampler.join()
    if out_path:
        out.close()
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-800:]}")
    return elapsed, peak[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip", nargs="*", default=[], help="names of runs to leave out")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    t = time.perf_counter()
    jsonl = cases_file(args.n)
    parquet = parquet_file(jsonl)
    copy = changed_copy()
    print(f"{args.n:,} cases: {jsonl} and {parquet} ({time.perf_counter() - t:.1f} s to make or find)", flush=True)
    env = environment()
    env["POLICY_DSL_NO_PROGRESS"] = "1"
    d = work_dir()
    pdsl = tool()
    j = str(args.jobs)
    runs = {
        "jsonl>jsonl stdout (eval --format json)": ([pdsl, "eval", str(jsonl), "--format", "json"], d / "pop-a.jsonl", True),
        "jsonl>jsonl --out, 1 process": ([pdsl, "eval", str(jsonl), "--out", str(d / "pop-b.jsonl")], None, False),
        f"jsonl>jsonl --out, --jobs {j}": ([pdsl, "eval", str(jsonl), "--out", str(d / "pop-c.jsonl"), "--jobs", j], None, False),
        "parquet>parquet, 1 process": ([pdsl, "eval", str(parquet), "--out", str(d / "pop-d.parquet")], None, False),
        f"parquet>parquet, --jobs {j}": ([pdsl, "eval", str(parquet), "--out", str(d / "pop-e.parquet"), "--jobs", j], None, False),
        "impact parquet, 1 process": ([pdsl, "impact", str(REPO / "policies"), str(copy), "--cases", str(parquet),
                                       "--out", str(d / "impact-1"), "--format", "json"], d / "impact-1.json", False),
        f"impact parquet, --jobs {j}": ([pdsl, "impact", str(REPO / "policies"), str(copy), "--cases", str(parquet),
                                         "--out", str(d / "impact-2"), "--format", "json", "--jobs", j], d / "impact-2.json", False),
        "baseline (bench/baseline.py)": ([sys.executable, str(BENCH / "baseline.py"), str(jsonl)], d / "pop-base.jsonl", False),
    }
    runs = {k: v for k, v in runs.items() if not any(s in k for s in args.skip)}
    subprocess.run([pdsl, "eval", str(REPO / "examples" / "arrears-jinan.yaml")], env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL)  # fill the policy cache
    times: dict = {k: [] for k in runs}
    peaks: dict = {k: 0 for k in runs}
    names = list(runs)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            cmd, out, _ = runs[name]
            seconds, peak = timed(cmd, env, out)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
            print(f"  {name:42} {seconds:7.1f} s  peak {peak / 2**20:7.0f} MiB", flush=True)
    base = median(times["baseline (bench/baseline.py)"]) if "baseline (bench/baseline.py)" in times else None
    results = {}
    print(f"\n{args.n:,} cases, medians of {args.rounds} round(s):")
    for name in names:
        s = median(times[name])
        results[name] = {"seconds": s, "cases_per_s": args.n / s, "peak_bytes": peaks[name], "runs": times[name],
                         "command": " ".join(runs[name][0]), "ratio_to_baseline": (base / s) if base else None}
        ratio = f"{base / s:5.2f}x the baseline's speed" if base else ""
        print(f"  {name:42} {s:7.1f} s {args.n / s:11,.0f} cases/s  peak {peaks[name] / 2**20:6.0f} MiB  {ratio}")
    a, b = d / "pop-a.jsonl", d / "pop-c.jsonl"
    same = a.exists() and b.exists() and _same_file(a, b)
    print(f"  --jobs {j} JSON Lines identical to one process: {same}")
    impact = {}
    if (d / "impact-1.json").exists():
        impact = json.loads((d / "impact-1.json").read_text(encoding="utf-8"))
        print(f"  impact: {impact['changed']:,} of {impact['cases']:,} answers change")
    report("population", {"cases": args.n, "rounds": args.rounds, "jobs": args.jobs, "results": results,
                          "jobs_identical": same, "impact_changed": impact.get("changed"),
                          "goals": {"parquet>parquet 1M, one core": "<= 1 s", "jsonl>jsonl 1M, one core": "<= 3 s",
                                    "parquet>parquet 10M, two cores": "<= 10 s, < 2 GB"},
                          "machine_load": os.getloadavg(), "machine": machine()}, args.json)


def _same_file(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


if __name__ == "__main__":
    main()
