"""A JSON list of cases against the same cases as JSON Lines.

    python bench/json_list.py [--n 100000] [--rounds R] [--json OUT]

N generated cases (bench/gen_cases.py), written once as JSON Lines and as a JSON list (one case a
line inside ``[`` … ``]``, as a program exporting a list writes it). Each round runs, in turn,
``policy-dsl eval CASES.jsonl --format json`` and ``policy-dsl eval CASES.json --format json``
(answers to a file), and the list again with N/10 cases: wall time, CPU time of the child (user +
system: steadier on a shared machine) and its maximum RSS. Reported: the medians, the list's time
as a ratio of the JSON Lines time (measured in the same run; the goal is at most 2), and the
list's memory at N against N/10 (flat: the answers are written as they come, the memory holds
the text of the list and one case, not the answers). Note the two outputs differ by design: a
list's answers carry their trace (``eval`` gives the trace for one case or a list), JSON Lines
answers only with ``--explain`` — ``--explain`` on the JSON Lines run too (``--traced``) compares
like with like."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time

from common import cases_file, environment, median, report, tool, work_dir


def as_list(jsonl, n: int):
    """The first ``n`` cases of ``jsonl`` as a JSON list file (made once)."""
    path = work_dir() / f"{jsonl.stem}-first-{n}.json"
    if not path.exists():
        with open(jsonl, encoding="utf-8") as src:
            lines = [line.rstrip("\n") for _, line in zip(range(n), src)]
        tmp = path.with_suffix(".part")
        tmp.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
        tmp.replace(path)
    return path


def first_lines(jsonl, n: int):
    path = work_dir() / f"{jsonl.stem}-first-{n}.jsonl"
    if not path.exists():
        with open(jsonl, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as out:
            for _, line in zip(range(n), src):
                out.write(line)
    return path


def run(args: list, env: dict) -> dict:
    """Wall seconds, CPU seconds and max RSS (MB) of ``policy-dsl ARGS``, its answers to a file."""
    out = work_dir() / "json-list-answers.out"
    with open(out, "wb") as fh:
        t = time.perf_counter()
        proc = subprocess.Popen([tool(), *map(str, args)], env=env, stdout=fh, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise SystemExit(f"{args} failed ({code}): {proc.stderr.read().decode()[-500:]}")
    proc.stderr.close()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "bytes": out.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--traced", action="store_true", help="JSON Lines with --explain (answers with their trace, as a list's)")
    ap.add_argument("--json", help="also write the report here")
    args = ap.parse_args()
    env = environment()
    full = cases_file(args.n)
    lines = first_lines(full, args.n)
    listed, small = as_list(full, args.n), as_list(full, args.n // 10)
    extra = ["--explain"] if args.traced else []
    runs = {"jsonl": [], "list": [], "list_tenth": []}
    run(["eval", small, "--format", "json"], env)  # warm: the policy set's cache, plans
    for _ in range(args.rounds):
        runs["jsonl"].append(run(["eval", lines, "--format", "json", *extra], env))
        runs["list"].append(run(["eval", listed, "--format", "json"], env))
        runs["list_tenth"].append(run(["eval", small, "--format", "json"], env))
    med = {k: {m: median([r[m] for r in v]) for m in ("wall", "cpu", "rss_mb", "bytes")} for k, v in runs.items()}
    out = {
        "n": args.n, "rounds": args.rounds, "jsonl_explain": args.traced, "medians": med, "runs": runs,
        "list_over_jsonl_cpu": med["list"]["cpu"] / med["jsonl"]["cpu"],
        "list_over_jsonl_wall": med["list"]["wall"] / med["jsonl"]["wall"],
        "list_rss_n_over_tenth": med["list"]["rss_mb"] / med["list_tenth"]["rss_mb"],
        "list_file_mb": listed.stat().st_size / 1024 / 1024,
    }
    print(f"{args.n:,} cases: JSON Lines{' --explain' if args.traced else ''} {med['jsonl']['wall']:.1f} s wall "
          f"{med['jsonl']['cpu']:.1f} s CPU {med['jsonl']['rss_mb']:.0f} MB; JSON list {med['list']['wall']:.1f} s wall "
          f"{med['list']['cpu']:.1f} s CPU {med['list']['rss_mb']:.0f} MB (×{out['list_over_jsonl_cpu']:.2f} CPU, "
          f"×{out['list_over_jsonl_wall']:.2f} wall); the list of {args.n // 10:,}: {med['list_tenth']['rss_mb']:.0f} MB")
    report("json_list", out, args.json)


if __name__ == "__main__":
    main()
