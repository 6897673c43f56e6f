"""Batch throughput, and the differential test against the hand-written baseline.

    python bench/batch.py [--quick] [--n N] [--seed S] [--rounds R] [--as-is] [--before REV] [--json OUT]
    python bench/batch.py --cases bench/second_reading_cases.jsonl --rounds 1

``--cases FILE`` answers the cases of FILE instead of generated ones (bench/second_reading_cases.jsonl
holds hand-written cases with the facts of the second reading the generator does not make:
``military``, ``retired``, ``hukou``/``seasonal`` bases, ``land_requisitioned``, ``school_entry_year``,
``form_received_on``, ``assistance_subsidised``, ``resident_transfer``).

N generated cases (bench/gen_cases.py; 1 000 000, or 100 000 with --quick) answered
- in process: the interpreter (``policy_dsl.face.api.Answerer.result``: validation, then evaluation,
  no trace) and the baseline (``bench/baseline.py``'s ``answer``) on the same case dicts, read from
  the file beforehand (not timed), a chunk at a time, both timed on each chunk in turn;
- from the JSON Lines file, as programs: ``policy-dsl eval CASES.jsonl --format json`` and
  ``python bench/baseline.py CASES.jsonl``, each writing its answers to a file, in turn.
Medians over the rounds, in cases per second, and the interpreter's throughput as a ratio of the
baseline's. Then the two files of answers are compared case by case: status, every output, the
bounds and the governing clauses (with the outputs each gives). A disagreement either falls under
a known, explained reading (KNOWN below, and docs/performance.md) or is listed as unexplained.

``--before REV`` (or a folder holding another tree) also times this tree against REV's in the same
run, in interleaved rounds: the JSON Lines run as ``python -m policy_dsl eval CASES.jsonl --format
json`` from each tree (PYTHONPATH), and the in-process loop of ``Answerer.result`` in a process of
each; wall clock and CPU time (on a shared machine the CPU time is the steadier figure)."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from collections import Counter

from common import BENCH, REPO, cases_file, environment, median, report, run, run_tree, spread, tool, tree_of, work_dir

# Disagreements understood: where the baseline (the readings as written) and the policy files differ.
# The two found by the first full run (R4, R5 of bench/baseline.py) were mistakes in the policy
# files, fixed in encoding version 2 of 医保办发〔2021〕43号 and 医保发〔2020〕33号; none remain.
KNOWN: dict[str, str] = {}


def classify(case: dict, mine: dict, base: dict) -> str:
    return "unexplained"


def normal(rec: dict, outputs) -> dict:
    """An answer as the differential compares it."""
    if "error" in rec:
        e = rec["error"]
        return {"id": rec.get("id"), "error": e["code"] if isinstance(e, dict) else e}
    out = {"id": rec.get("id"), "status": rec["status"]}
    for name in outputs:
        out[name] = rec.get(name)
    b = rec.get("bounds")
    out["bounds"] = None if b is None else {"max_waiting_months": b["max_waiting_months"], "soft": b["soft"]}
    out["governing"] = [[g["rule"], sorted(g.get("outputs", []))] if isinstance(g, dict) else [g[0], sorted(g[1])]
                        for g in rec.get("governing", [])]
    return out


def differential(cases_path, mine_path, base_path) -> dict:
    from baseline import OUTPUTS

    counts, examples, n = Counter(), {}, 0
    with open(cases_path, encoding="utf-8") as fc, open(mine_path, encoding="utf-8") as fm, \
            open(base_path, encoding="utf-8") as fb:
        for lc, lm, lb in zip(fc, fm, fb, strict=True):
            n += 1
            mine, base = normal(json.loads(lm), OUTPUTS), normal(json.loads(lb), OUTPUTS)
            if mine != base:
                case = json.loads(lc)
                why = classify(case, mine, base)
                counts[why] += 1
                if why not in examples:
                    diff = sorted(k for k in set(mine) | set(base) if mine.get(k) != base.get(k))
                    examples[why] = {"case": case, "interpreter": {k: mine.get(k) for k in diff},
                                     "baseline": {k: base.get(k) for k in diff}}
    return {"cases": n, "disagreements": sum(counts.values()), "by_reason": dict(counts),
            "explanations": {k: KNOWN.get(k, "not understood: see the example") for k in counts}, "examples": examples}


def in_process(path, rounds: int, chunk: int = 100_000) -> dict:
    """Seconds per round for each engine, over all cases, a chunk at a time."""
    from baseline import answer

    from policy_dsl.face.api import Answerer
    from policy_dsl.language.errors import InputError

    answerer = Answerer()
    result = answerer.result

    def interpreter(cases):
        for data in cases:
            try:
                result(data)
            except InputError:
                pass

    def baseline(cases):
        for data in cases:
            answer(data)

    totals = {"interpreter": [0.0] * rounds, "baseline": [0.0] * rounds}
    n = 0
    with open(path, encoding="utf-8") as fh:
        while True:
            lines = [line for _, line in zip(range(chunk), fh)]
            if not lines:
                break
            cases = [json.loads(line) for line in lines]
            n += len(cases)
            interpreter(cases[:2000])  # the plans and templates of the first cases are built once in any batch
            gc.collect()
            gc.freeze()  # the chunk stays in memory: not for the collector to walk again and again
            for r in range(rounds):
                for name, fn in (("interpreter", interpreter), ("baseline", baseline))[:: 1 if r % 2 == 0 else -1]:
                    t = time.perf_counter()
                    fn(cases)
                    totals[name][r] += time.perf_counter() - t
            gc.unfreeze()
            del cases
    return {"cases": n, "seconds": totals}


IN_PROCESS = r"""
import json, sys, time
from policy_dsl.face.api import Answerer, load_policy
from policy_dsl.language.errors import InputError
cases = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
result = Answerer(load_policy([sys.argv[2]]) if len(sys.argv) > 2 else None).result
for data in cases[:2000]:  # the plans of the first cases are built once in any batch
    try:
        result(data)
    except InputError:
        pass
wall, cpu = time.perf_counter(), time.process_time()
for data in cases:
    try:
        result(data)
    except InputError:
        pass
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def before_after(path, n: int, rounds: int, before: str, env: dict, policies: str | None = None) -> dict:
    """This tree against ``before``'s, in interleaved rounds: JSON Lines from a file, and in process
    (``policies``: the policy folder both answer from; by default each tree's own)."""
    import subprocess

    trees = {"now": REPO, "before": tree_of(before)}
    cmd = [sys.executable, "-m", "policy_dsl", "eval", str(path), "--format", "json"]
    cmd += ["--policies", str(policies)] if policies else []
    for tree in trees.values():  # warm up: bytecode, the policy cache
        run_tree([sys.executable, "-m", "policy_dsl", "eval", str(BENCH.parent / "examples" / "arrears-jinan.yaml")],
                 env, tree)
    got: dict = {(k, t): {"wall": [], "cpu": []} for k in trees for t in ("jsonl", "in process")}
    for r in range(rounds):
        for name in (("now", "before") if r % 2 == 0 else ("before", "now")):
            with open(work_dir() / f"answers-{name}-{n}.jsonl", "wb") as fh:
                wall, cpu = run_tree(cmd, env, trees[name], out=fh)
            got[(name, "jsonl")]["wall"].append(wall)
            got[(name, "jsonl")]["cpu"].append(cpu)
            out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(path)] + ([str(policies)] if policies else []),
                                 cwd=work_dir(), check=True,
                                 env={**env, "PYTHONPATH": str(trees[name])}, capture_output=True, text=True)
            wall, cpu = map(float, out.stdout.split())
            got[(name, "in process")]["wall"].append(wall)
            got[(name, "in process")]["cpu"].append(cpu)
    out: dict = {}
    for how in ("jsonl", "in process"):
        row = {}
        for name in trees:
            row[name] = {k: n / median(v) for k, v in got[(name, how)].items()}  # cases per second
        row["now_over_before"] = {k: row["now"][k] / row["before"][k] for k in ("wall", "cpu")}
        out[how] = row
        print(f"{how}: now {row['now']['cpu']:,.0f} cases/s CPU ({row['now']['wall']:,.0f} wall), before ({before}) "
              f"{row['before']['cpu']:,.0f} CPU ({row['before']['wall']:,.0f} wall): now/before "
              f"{row['now_over_before']['cpu']:.3f} CPU, {row['now_over_before']['wall']:.3f} wall")
    same = (work_dir() / f"answers-now-{n}.jsonl").read_bytes() == (work_dir() / f"answers-before-{n}.jsonl").read_bytes()
    print(f"answers of now and before: {'the same bytes' if same else 'different'}")
    out["same_answers"] = same
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 000 cases")
    ap.add_argument("--n", type=int)
    ap.add_argument("--seed", type=int, default=7, help="the generator's seed (default 7)")
    ap.add_argument("--cases", metavar="FILE", help="answer the cases of FILE (JSON Lines) instead of generated ones")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--as-is", action="store_true", help="run the programs with the environment exactly as it is")
    ap.add_argument("--before", metavar="REV", help="also time REV's tree against this one, in the same run")
    ap.add_argument("--only-before", action="store_true", help="with --before: only that comparison")
    ap.add_argument("--policies", metavar="DIR", help="with --before: the policy folder both trees answer from "
                    "(default: each tree's own; give the older one's to compare the code alone)")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)
    t = time.perf_counter()
    if args.cases:
        path = Path(args.cases)
        with path.open(encoding="utf-8") as fh:
            n = sum(1 for line in fh if line.strip())
    else:
        path = cases_file(n, args.seed)
    print(f"{n:,} cases in {path} ({time.perf_counter() - t:.1f} s to make or find)")

    if args.before and args.only_before:
        report("batch-before-after", {"cases": n, "rounds": args.rounds, "before": args.before,
                                      "results": before_after(path, n, args.rounds, args.before, environment(args.as_is),
                                                              args.policies)},
               args.json)
        return
    proc = in_process(path, args.rounds)
    ip = {k: {**spread(v), "cases_per_s": proc["cases"] / median(v)} for k, v in proc["seconds"].items()}
    ratio_ip = ip["interpreter"]["cases_per_s"] / ip["baseline"]["cases_per_s"]
    print(f"in process: interpreter {ip['interpreter']['cases_per_s']:,.0f} cases/s, "
          f"baseline {ip['baseline']['cases_per_s']:,.0f} cases/s, ratio {ratio_ip:.2f}")

    env = environment(args.as_is)
    mine_out, base_out = work_dir() / f"answers-interpreter-{n}.jsonl", work_dir() / f"answers-baseline-{n}.jsonl"
    cmds = {"interpreter": [tool(), "eval", str(path), "--format", "json"],
            "baseline": [sys.executable, str(BENCH / "baseline.py"), str(path)]}
    outs = {"interpreter": mine_out, "baseline": base_out}
    run(cmds["interpreter"][:2] + [str(BENCH.parent / "examples" / "arrears-jinan.yaml")], env)  # fill the policy cache
    times = {k: [] for k in cmds}
    for r in range(args.rounds):
        for name in (("interpreter", "baseline") if r % 2 == 0 else ("baseline", "interpreter")):
            with open(outs[name], "wb") as fh:
                times[name].append(run(cmds[name], env, out=fh, ok=(0, 2)))
    jl = {k: {**spread(v), "cases_per_s": n / median(v)} for k, v in times.items()}
    ratio_jl = jl["interpreter"]["cases_per_s"] / jl["baseline"]["cases_per_s"]
    print(f"JSON Lines: interpreter {jl['interpreter']['cases_per_s']:,.0f} cases/s "
          f"({median(times['interpreter']):.1f} s), baseline {jl['baseline']['cases_per_s']:,.0f} cases/s "
          f"({median(times['baseline']):.1f} s), ratio {ratio_jl:.2f}")

    compared = before_after(path, n, args.rounds, args.before, env, args.policies) if args.before else None
    diff = differential(path, mine_out, base_out)
    print(f"differential: {diff['cases']:,} cases, {diff['disagreements']:,} disagreements "
          + ", ".join(f"{k}: {v:,}" for k, v in diff["by_reason"].items()))
    for why, ex in diff["examples"].items():
        print(f"  {why}: {diff['explanations'][why]}")
        print(f"     e.g. {json.dumps(ex['case'], ensure_ascii=False)}")
        print(f"     interpreter {json.dumps(ex['interpreter'], ensure_ascii=False)}")
        print(f"     baseline    {json.dumps(ex['baseline'], ensure_ascii=False)}")
    report("batch", {"cases": n, "rounds": args.rounds, "in_process": ip, "in_process_ratio": ratio_ip,
                     "jsonl": jl, "jsonl_ratio": ratio_jl, "commands": {k: " ".join(v) for k, v in cmds.items()},
                     "differential": diff, "before_after": compared, "goal": "interpreter throughput >= baseline"},
           args.json)
    if diff["by_reason"].get("unexplained"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
