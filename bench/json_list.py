"""A JSON list of cases against the same cases as JSON Lines.

    python bench/json_list.py [--n 100000] [--rounds R] [--explain] [--before REV [--before-n 5000]] [--json OUT]

N generated cases (bench/gen_cases.py), written once as JSON Lines and as a JSON list (one case a
line inside ``[`` … ``]``, as a program exporting a list writes it). Each round runs, in turn,
``policy-dsl eval CASES.jsonl --format json`` and ``policy-dsl eval CASES.json --format json``
(answers to a file), and the list again with N/10 cases: wall time, CPU time of the child (user +
system: steadier on a shared machine) and its maximum RSS. Both give answers of one shape (the
trace only with ``--explain``); with ``--explain`` each round also runs both with ``--explain``.
Reported: the medians, the list's time as a ratio of the JSON Lines time (measured in the same
run; the goal is at most 2), and the peak memory at N against N/10, of the list and of JSON Lines
(the answers are written as they come, and a list file is read a window at a time: memory holds
neither the answers nor the text of the list). The child is
started by /usr/bin/time, which reports its CPU time and peak RSS (see ``run``)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import cases_file, environment, median, report, tool, tree_of, work_dir


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


TIME = "/usr/bin/time"


def run(args: list, env: dict, tree=None) -> dict:
    """Wall seconds, CPU seconds and max RSS (MB) of ``policy-dsl ARGS``, its answers to a file.

    The child is started by /usr/bin/time (a small process), which reports its CPU time and maximum
    RSS: on Linux a child's ``ru_maxrss`` counts the memory of the process that forked it (this
    benchmark, which has generated the cases), so ``wait4`` here would report that instead."""
    out, usage = work_dir() / "json-list-answers.out", work_dir() / "json-list-usage.txt"
    with open(out, "wb") as fh:
        t = time.perf_counter()
        command = [tool()] if tree is None else [sys.executable, "-m", "policy_dsl"]  # tree: common.tree_of's code
        proc = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", usage, *command, *map(str, args)],
                              env=env if tree is None else {**env, "PYTHONPATH": str(tree)}, stdout=fh,
                              stderr=subprocess.PIPE, cwd=None if tree is None else work_dir())
        wall = time.perf_counter() - t
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{args} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    _, user, system, kb = usage.read_text().split()[-4:]
    return {"wall": wall, "cpu": float(user) + float(system), "rss_mb": int(kb) / 1024, "bytes": out.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--explain", action="store_true", help="also time both with --explain (the trace: slower)")
    ap.add_argument("--before", metavar="REV", help="also time REV's code (or a folder holding another tree) and this "
                    "tree's on --before-n cases, as a list and as JSON Lines, once each, after the rounds")
    ap.add_argument("--before-n", type=int, default=5_000, help="cases for --before (the old code may be quadratic)")
    ap.add_argument("--json", help="also write the report here")
    args = ap.parse_args()
    env = environment()
    full = cases_file(args.n)
    lines = first_lines(full, args.n)
    listed, small = as_list(full, args.n), as_list(full, args.n // 10)
    runs = {"jsonl": [], "list": [], "list_tenth": [], "jsonl_tenth": []}
    small_lines = first_lines(full, args.n // 10)
    if args.explain:
        runs.update({"jsonl_explain": [], "list_explain": []})
    run(["eval", small, "--format", "json"], env)  # warm: the policy set's cache, plans
    for _ in range(args.rounds):
        runs["jsonl"].append(run(["eval", lines, "--format", "json"], env))
        runs["list"].append(run(["eval", listed, "--format", "json"], env))
        runs["list_tenth"].append(run(["eval", small, "--format", "json"], env))
        runs["jsonl_tenth"].append(run(["eval", small_lines, "--format", "json"], env))
        if args.explain:
            runs["jsonl_explain"].append(run(["eval", lines, "--format", "json", "--explain"], env))
            runs["list_explain"].append(run(["eval", listed, "--format", "json", "--explain"], env))
    med = {k: {m: median([r[m] for r in v]) for m in ("wall", "cpu", "rss_mb", "bytes")} for k, v in runs.items()}
    out = {
        "n": args.n, "rounds": args.rounds, "medians": med, "runs": runs,
        "list_over_jsonl_cpu": med["list"]["cpu"] / med["jsonl"]["cpu"],
        "list_over_jsonl_wall": med["list"]["wall"] / med["jsonl"]["wall"],
        "list_rss_n_over_tenth": med["list"]["rss_mb"] / med["list_tenth"]["rss_mb"],
        "jsonl_rss_n_over_tenth": med["jsonl"]["rss_mb"] / med["jsonl_tenth"]["rss_mb"],
        "list_rss_over_jsonl": med["list"]["rss_mb"] / med["jsonl"]["rss_mb"],
        "list_file_mb": listed.stat().st_size / 1024 / 1024,
    }
    if args.explain:
        out["list_over_jsonl_explain_cpu"] = med["list_explain"]["cpu"] / med["jsonl_explain"]["cpu"]
        out["list_over_jsonl_explain_wall"] = med["list_explain"]["wall"] / med["jsonl_explain"]["wall"]

    def shown(k: str) -> str:
        m = med[k]
        return f"{m['wall']:.1f} s wall, {m['cpu']:.1f} s CPU, {m['rss_mb']:.0f} MB, {m['bytes'] / 2 ** 20:.0f} MiB out"

    print(f"{args.n:,} cases ({out['list_file_mb']:.0f} MiB as a list), medians of {args.rounds}:\n"
          f"  JSON Lines            {shown('jsonl')}\n  JSON list             {shown('list')}\n"
          f"  JSON list of {args.n // 10:,}  {shown('list_tenth')}\n  JSON Lines of {args.n // 10:,} {shown('jsonl_tenth')}")
    if args.explain:
        print(f"  JSON Lines --explain  {shown('jsonl_explain')}\n  JSON list --explain   {shown('list_explain')}")
    print(f"list / JSON Lines: ×{out['list_over_jsonl_cpu']:.2f} CPU, ×{out['list_over_jsonl_wall']:.2f} wall; "
          f"peak RSS {args.n:,} / {args.n // 10:,}: list ×{out['list_rss_n_over_tenth']:.2f}, "
          f"JSON Lines ×{out['jsonl_rss_n_over_tenth']:.2f}; "
          f"list / JSON Lines peak RSS: ×{out['list_rss_over_jsonl']:.2f}")
    if args.explain:
        print(f"with --explain, list / JSON Lines: ×{out['list_over_jsonl_explain_cpu']:.2f} CPU, "
              f"×{out['list_over_jsonl_explain_wall']:.2f} wall")
    if args.before:
        tree, m = tree_of(args.before), args.before_n
        few_lines, few_list = first_lines(full, m), as_list(full, m)
        run(["eval", few_list, "--format", "json"], env, tree)  # warm: its bytecode
        out["before"] = {"rev": args.before, "n": m}
        for who, where in (("now", None), ("before", tree)):
            got = out["before"][who] = {"jsonl": run(["eval", few_lines, "--format", "json"], env, where),
                                        "list": run(["eval", few_list, "--format", "json"], env, where)}
            print(f"{who} ({args.before if where else 'this tree'}), {m:,} cases: JSON Lines {got['jsonl']['cpu']:.1f} s CPU "
                  f"{got['jsonl']['rss_mb']:.0f} MB, list {got['list']['cpu']:.1f} s CPU {got['list']['rss_mb']:.0f} MB")
    report("json_list", out, args.json)


if __name__ == "__main__":
    main()
