"""Cold start: one command line, start to exit, against the bare interpreter.

    python bench/startup.py [--quick] [--rounds N] [--as-is] [--before REV] [--json OUT]

Times, in interleaved rounds (each round runs every command once, so drift hits them alike):
``python3 -c pass`` (the same Python), ``policy-dsl applies --date 2022-04-01 --region 济南 --format
json``, the same with a new day at every run (2022-04-06 and every 5th day after it: a question
no earlier run asked, where only what earlier runs kept in the cache helps), ``policy-dsl eval
examples/arrears-jinan.yaml --format json`` (the README's case, YAML) and the same case as JSON.
Medians of the wall clock and of the
CPU time (user + system, ``getrusage``), each with its ratio to the bare interpreter's. The
benchmark's policy cache is emptied first (the days it asks are the same at every run of it: a day
an earlier run asked would be no new day), then filled by a warm-up run; the same commands with an
empty cache are timed too. Also lists which of rich, jsonschema, lark, yaml, argparse, dataclasses the JSON commands
load (``python -X importtime``).

``--before REV`` (or a folder holding another tree) measures a change before and after in the
same run: REV is exported into the benchmark's folder (``git archive``), and ``applies`` (the
same question, and a new one each run), ``eval CASE.yaml`` and ``eval CASE.json`` are also timed
as ``python -m policy_dsl`` from REV's tree and from this one (PYTHONPATH, run from the
benchmark's folder so that the repository does not shadow it), in the same interleaved rounds;
the table then gives each one's ratio to the bare interpreter and now/before. On a shared
machine the CPU times are the steadier figure."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile

from common import REPO, environment, machine, median, ms, report, run, run_timed, run_tree, spread, tool, tree_of, work_dir

HEAVY = ("rich", "jsonschema", "lark", "yaml", "argparse", "dataclasses")
NEW_DAY = "applies, a new day each run"
DAY = "<a new day>"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--as-is", action="store_true", help="time with the environment exactly as it is")
    ap.add_argument("--before", metavar="REV", help="also time REV's tree and this one as python -m policy_dsl")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    rounds = args.rounds or (10 if args.quick else 40)
    env = environment(args.as_is)
    exe, pd = sys.executable, tool()
    case_json = work_dir() / "arrears-jinan.json"
    case_json.write_text(json.dumps({"id": "example-arrears", "kind": "arrears", "region": "济南", "worker": "flexible",
                                     "last_paid_month": "2022-06", "paid_on": "2022-11-03"}, ensure_ascii=False),
                         encoding="utf-8")
    commands = {
        "python3 -c pass": [exe, "-c", "pass"],
        "applies --format json": [pd, "applies", "--date", "2022-04-01", "--region", "济南", "--format", "json"],
        NEW_DAY: [pd, "applies", "--date", DAY, "--region", "济南", "--format", "json"],
        "eval CASE.yaml --format json": [pd, "eval", str(REPO / "examples" / "arrears-jinan.yaml"), "--format", "json"],
        "eval CASE.json --format json": [pd, "eval", str(case_json), "--format", "json"],
    }
    envs = {name: env for name in commands}
    pairs = []  # (before, now) command names
    trees = {}
    if args.before:
        before_tree = tree_of(args.before)
        for name in ("applies --format json", NEW_DAY, "eval CASE.yaml --format json", "eval CASE.json --format json"):
            for label, tree in ((f"before ({args.before}): {name}", before_tree), (f"now: {name}", REPO)):
                commands[label] = [exe, "-m", "policy_dsl"] + commands[name][1:]
                envs[label] = env
                trees[label] = tree
            pairs.append((f"before ({args.before}): {name}", f"now: {name}"))
    cpu: dict = {k: [] for k in commands}
    days = {k: 0 for k in commands}  # runs so far of each command: the day of its next new question

    def timed(name, cmd):
        if DAY in cmd:  # a new day at every run of this command: 2022-04-06 and every 5th day after it
            cmd = [(dt.date(2022, 4, 6) + dt.timedelta(days=5 * days[name])).isoformat() if a == DAY else a for a in cmd]
            days[name] += 1
        wall, used = run_tree(cmd, envs[name], trees[name]) if name in trees else run_timed(cmd, envs[name])
        cpu[name].append(used)
        return wall

    if not args.as_is:  # the benchmark's own cache (common.environment), never the user's
        shutil.rmtree(env["POLICY_DSL_CACHE_DIR"], ignore_errors=True)
    for name, cmd in commands.items():  # warm up: bytecode, policy cache, the OS's file cache
        for _ in range(3):
            timed(name, cmd)
    for v in cpu.values():
        v.clear()
    times: dict = {k: [] for k in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            times[name].append(timed(name, cmd))
    bare = median(times["python3 -c pass"])

    cold: dict = {}  # the same with the policy cache empty (the first run after an upgrade or an edit)
    if not args.as_is:
        for name, cmd in list(commands.items())[1:]:
            if name in trees or DAY in cmd:
                continue
            cold[name] = []
            for _ in range(3 if args.quick else 5):
                d = tempfile.mkdtemp(dir=work_dir())
                cold[name].append(run(cmd, {**env, "POLICY_DSL_CACHE_DIR": d}))
                shutil.rmtree(d, ignore_errors=True)

    loaded = {}
    for name in ("applies --format json", "eval CASE.json --format json"):
        cmd = [exe, "-X", "importtime", "-m", "policy_dsl"] + commands[name][1:]
        err = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO).stderr.decode()
        mods = {line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
        loaded[name] = sorted(m for m in HEAVY if m in mods)

    print(f"cold start — {machine()['cpu']}, {machine()['nproc']} cores, Python {machine()['python']}; "
          f"{rounds} interleaved rounds, medians; load average {os.getloadavg()[0]:.1f} at the end")
    width = max(32, *(len(k) for k in times))
    print(f"{'command':{width}} {'median':>10} {'ratio':>7} {'CPU':>10} {'ratio':>7}   {'empty cache':>12}")
    rows = {}
    bare_cpu = median(cpu["python3 -c pass"])
    for name, xs in times.items():
        m, c = median(xs), median(cpu[name])
        e = median(cold[name]) if cold.get(name) else None
        rows[name] = {**spread(xs), "ratio_to_bare": m / bare, "empty_cache_median": e, "cpu_median": c,
                      "cpu_ratio_to_bare": c / bare_cpu}
        print(f"{name:{width}} {ms(m):>10} {m / bare:>6.2f}x {ms(c):>10} {c / bare_cpu:>6.2f}x   {ms(e) if e else '':>12}")
    for before, now in pairs:
        change = median(times[now]) / median(times[before])
        rows[now]["ratio_to_before"] = change
        rows[now]["cpu_ratio_to_before"] = median(cpu[now]) / median(cpu[before])
        print(f"{now}: {change:.3f}x of before (wall); CPU {ms(median(cpu[now]))} = "
              f"{median(cpu[now]) / bare_cpu:.2f}x bare, {rows[now]['cpu_ratio_to_before']:.3f}x of before "
              f"({ms(median(cpu[before]))} = {median(cpu[before]) / bare_cpu:.2f}x bare)")
    for name, mods in loaded.items():
        print(f"{name}: loads {', '.join(mods) if mods else 'none'} of {', '.join(HEAVY)}")
    report("startup", {"rounds": rounds, "as_is": args.as_is, "commands": {k: " ".join(v) for k, v in commands.items()},
                       "results": rows, "heavy_modules_loaded": loaded, "goal": "<= 5x python3 -c pass"}, args.json)


if __name__ == "__main__":
    main()
