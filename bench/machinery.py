"""What each second copy of standard machinery buys: the tool as it is against the same tree with
that copy replaced by the standard one, in the same run.

    python bench/machinery.py [--quick] [--n N] [--rounds R] [--json OUT]

The copies (docs/performance.md says which stay: one stays where it buys at least 20% on its
benchmark — the tool with the standard one takes at least 1.20× the time):

- ``records``: policy_dsl/language/records.py, a ``dataclass`` that does not import ``inspect``
  and makes its methods quickly — against the standard ``dataclasses``; benchmark: cold start of
  ``eval CASE.json --format json`` and ``applies --format json`` (bench/startup.py's commands).

- ``line-writer``: engine/results.py's ``LineWriter`` (JSON Lines text made once a shape, and the
  batch lane of fast/lane.py that writes with it) — against ``json.dumps(result_json(...))`` a
  line; benchmark: ``eval CASES.jsonl --format json`` (bench/batch.py's JSON Lines run).
- ``fast-parts``: engine/cases.py's ``CaseValidator.fast_parts`` (the set-based validation of a
  well-formed case) — against ``validate`` for every case; benchmark: the same JSON Lines run, and
  in process ``Answerer.result`` over the cases (bench/batch.py's in-process run).

Each variant is a copy of this tree (package, grammar, policies) in the benchmark's folder with
one replacement; a replacement whose text is no longer in the source stops the benchmark (the copy
changed: update it here). Times are CPU times (user + system, of the program, or of the loop in
process), medians of interleaved rounds: on a shared machine the wall clock also measures the
neighbours."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

import resource

from common import REPO, cases_file, environment, machine, median, ms, report, spread, work_dir


def cpu_run(cmd: list[str], env: dict, out=subprocess.DEVNULL) -> float:
    """CPU seconds (user + system) the program takes, start to exit: on a shared machine the wall
    clock measures the neighbours too. It may exit 2 (generated cases include facts that cannot
    be true). Run from the benchmark's folder: ``python -m`` and ``-c`` put the current folder first
    on the path, and the repository's would shadow PYTHONPATH's tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.PIPE, cwd=work_dir())  # not REPO: -m and -c
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

VARIANTS = {  # (file, text to replace — None: the whole file —, the replacement)
    "records": [("policy_dsl/language/records.py", None,
                 '"""The standard dataclasses (bench/machinery.py)."""\n'
                 "from dataclasses import FrozenInstanceError, dataclass, field  # noqa: F401\n")],
    "line-writer": [
        ("policy_dsl/engine/results.py", '    def write(self, result: Result) -> None:\n',
         '    def write(self, result: Result) -> None:\n'
         '        return self.write_json(result_json(result, self.lang, trace=False, vocab=self.vocab))\n'),
        ("policy_dsl/engine/results.py", "        if not self._flushed_text or self._pieces_off:\n",
         "        if True:  # bench/machinery.py: no lines made of pieces, no batch lane\n"),
    ],
    "fast-parts": [("policy_dsl/engine/cases.py", '        kind_name = data.get("kind")\n        shape = self._shapes.get(',
                    '        return None  # bench/machinery.py: validate every case\n'
                    '        kind_name = data.get("kind")\n        shape = self._shapes.get(')],
}


def _copy(name: str, edits) -> str:
    """A copy of the tree with ``edits`` applied; its folder."""
    dest = work_dir() / f"variant-{name}"
    shutil.rmtree(dest, ignore_errors=True)
    for part in ("policy_dsl", "grammar", "policies"):
        shutil.copytree(REPO / part, dest / part, ignore=shutil.ignore_patterns("__pycache__", "_shipped"))
    for rel, old, new in edits:
        path = dest / rel
        text = path.read_text(encoding="utf-8")
        if old is None:
            path.write_text(new, encoding="utf-8")
            continue
        if old not in text:
            raise SystemExit(f"{name}: `{old.strip()[:60]}` is no longer in {rel}: update bench/machinery.py")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(dest)


IN_PROCESS = r"""
import json, sys, time
from policy_dsl.face.api import Answerer
from policy_dsl.language.errors import InputError
cases = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
answerer = Answerer()
result = answerer.result
for data in cases[:2000]:
    try:
        result(data)
    except InputError:
        pass
t = time.process_time()
for data in cases:
    try:
        result(data)
    except InputError:
        pass
print(time.process_time() - t)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 000 cases, fewer rounds")
    ap.add_argument("--n", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    n = args.n or (100_000 if args.quick else 300_000)
    rounds = args.rounds or (3 if args.quick else 5)
    path = cases_file(n)
    env = environment()
    trees = {"as it is": str(REPO), **{name: _copy(name, edits) for name, edits in VARIANTS.items()}}
    exe = sys.executable
    case_json = work_dir() / "arrears-jinan.json"
    case_json.write_text(json.dumps({"id": "example-arrears", "kind": "arrears", "region": "济南", "worker": "flexible",
                                     "last_paid_month": "2022-06", "paid_on": "2022-11-03"}, ensure_ascii=False),
                         encoding="utf-8")
    startup = {"eval CASE.json": ["eval", str(case_json), "--format", "json"],
               "applies": ["applies", "--date", "2022-04-01", "--region", "济南", "--format", "json"]}
    batch = ["eval", str(path), "--format", "json"]

    def command(tree: str, argv: list[str]) -> tuple[list[str], dict]:
        return [exe, "-m", "policy_dsl"] + argv, {**env, "PYTHONPATH": tree}

    plan = []  # (benchmark, tree name, argv or None for in process)
    for tree in ("as it is", "records"):
        plan += [(f"start: {b}", tree, argv) for b, argv in startup.items()]
    for tree in ("as it is", "line-writer", "fast-parts"):
        plan.append(("JSON Lines", tree, batch))
    for tree in ("as it is", "fast-parts"):
        plan.append(("in process", tree, None))
    plan.append(("start: python3 -c pass", "as it is", "bare"))
    for bench, tree, argv in plan:  # warm up: bytecode, the policy cache
        if argv not in (None, "bare"):
            cmd, e = command(trees[tree], argv if bench.startswith("start") else startup["eval CASE.json"])
            cpu_run(cmd, e)
    times: dict = {}
    for r in range(rounds):
        for bench, tree, argv in plan if r % 2 == 0 else plan[::-1]:
            reps = 10 if bench.startswith("start") else 1
            key = (bench, tree)
            for _ in range(reps):
                if argv == "bare":
                    times.setdefault(key, []).append(cpu_run([exe, "-c", "pass"], env))
                elif argv is None:
                    out = subprocess.run([exe, "-c", IN_PROCESS, str(path)], env={**env, "PYTHONPATH": trees[tree]},
                                         capture_output=True, text=True, check=True, cwd=work_dir())
                    times.setdefault(key, []).append(float(out.stdout.strip()))
                else:
                    cmd, e = command(trees[tree], argv)
                    with open(work_dir() / "machinery-out.jsonl", "wb") as fh:
                        times.setdefault(key, []).append(cpu_run(cmd, e, fh))
    print(f"machinery — {machine()['cpu']}, {machine()['nproc']} cores (shared), Python {machine()['python']}; "
          f"{n:,} cases, {rounds} interleaved rounds, medians")
    rows = {}
    for (bench, tree), xs in times.items():
        base = median(times[(bench, "as it is")])
        m = median(xs)
        rows[f"{bench} / {tree}"] = {**spread(xs), "ratio_to_as_it_is": m / base}
        extra = f"{n / m:,.0f} cases/s" if not bench.startswith("start") else ms(m)
        print(f"{bench:28} {tree:12} {extra:>16}  {m / base:6.3f}x the time of the tool as it is")
    report("machinery", {"cases": n, "rounds": rounds, "results": rows,
                         "goal": "a copy stays where the standard one takes >= 1.20x its time (the copy buys >= 20% throughput)"},
           args.json)


if __name__ == "__main__":
    main()
