"""Fuzz the readers and the CLI for as long as you like (docs/fuzzing.md).

    python bench/fuzz.py --minutes 5            # the figures in the notes come from this
    python bench/fuzz.py --seconds 30 --json    # machine-readable report

Inputs come from the hypothesis strategies of tests/hostile_strategies.py (also used by
tests/test_properties.py), run in this process against four targets:

- ``eval``: case files (JSON, YAML, JSON Lines), mostly valid with junk mixed in, sometimes
  damaged byte by byte;
- ``check``: the shipped policy files with 1–3 mutations (keys dropped or renamed, values of
  another type, expressions garbled), checked as a set (and a case evaluated with them);
- ``yaml``: arbitrary bytes and near-YAML text straight into the safe YAML reader;
- ``argv``: command lines built from the real options and hostile values.

First it runs a fixed corpus of hostile files (100 MB files, alias bombs, nesting 10 000 deep,
long lines, invalid UTF-8, NaN…) and measures each. It reports the inputs tried, the crashes
(an exit code other than 0/1/2, a traceback, an exception escaping ``main``: must be 0; each is
saved under --crashes), the slowest rejection, and the peak memory on the worst inputs
(tracemalloc, re-running the slowest ones) and of the whole process (getrusage)."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

import warnings  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import hostile_strategies as hs  # noqa: E402

MB = 1024 * 1024
GOOD = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}
OPTIONS = ["--format", "json", "table", "--lang", "zh", "en", "--date", "--region", "--topic", "--as-of", "--explain",
           "--policies", "--help", "--version"]
COMMANDS = ["applies", "eval", "check", "test", "schema"]  # read-only commands


class Fuzz:
    def __init__(self, work: Path, crashes: Path):
        self.work = work
        self.crashes = crashes
        self.tried: dict[str, int] = {}
        self.crashed: list[dict] = []
        self.slowest: list[tuple[float, str, list, bytes | None, str, str]] = []  # rejections
        self.slowest_ok: tuple[float, str] = (0.0, "")
        self.policies = hs.copy_policies(work / "policies")
        self.documents = hs.policy_documents()

    def run(self, target: str, args: list, payload: bytes | None = None, allowed=(0, 1, 2), note: str = "") -> int | None:
        start = time.perf_counter()
        code, out, err = hs.run_cli(args)
        elapsed = time.perf_counter() - start
        self.tried[target] = self.tried.get(target, 0) + 1
        if hs.crashed(code, out, err, allowed):
            self._save(target, args, payload, err)
        first = _first_code(out, err)
        if code not in (0, None):
            self.slowest.append((elapsed, target, [str(a)[:80] for a in args], payload, first, note))
            self.slowest.sort(key=lambda x: -x[0])
            del self.slowest[8:]
        elif elapsed > self.slowest_ok[0]:
            self.slowest_ok = (elapsed, f"{target} {' '.join(str(a)[:40] for a in args)}")
        return code

    def _save(self, target, args, payload, err):
        self.crashes.mkdir(parents=True, exist_ok=True)
        n = len(self.crashed)
        record = {"target": target, "args": [str(a) for a in args], "stderr": err[-4000:]}
        if payload is not None:
            (self.crashes / f"crash-{n}.input").write_bytes(payload)
        (self.crashes / f"crash-{n}.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        self.crashed.append(record)

    # -- targets ----------------------------------------------------------------------------
    def eval_case(self, suffix: str, raw: bytes, extra: list) -> None:
        path = self.work / f"case{suffix}"
        path.write_bytes(raw)
        self.run("eval", ["eval", path, *extra], raw, allowed=(0, 2))

    def check_mutation(self, name: str, data) -> None:
        target = self.policies / name
        original = target.read_bytes()
        payload = hs.dump_policy(data)
        try:
            target.write_bytes(payload)
            self.run("check", ["check", self.policies, "--format", "json"], payload, allowed=(0, 1), note=name)
            case = self.work / "good.json"
            case.write_text(json.dumps(GOOD), encoding="utf-8")
            self.run("check", ["eval", case, "--policies", self.policies, "--format", "json"], payload, note=name)
        finally:
            target.write_bytes(original)

    def yaml_bytes(self, raw: bytes) -> None:
        from policy_dsl.language.errors import PolicyDslError
        from policy_dsl.language.yamlsafe import decode, load_yaml

        start = time.perf_counter()
        self.tried["yaml"] = self.tried.get("yaml", 0) + 1
        try:
            load_yaml(decode(raw, "fuzz.yaml"), "fuzz.yaml")
        except PolicyDslError as exc:
            elapsed = time.perf_counter() - start
            self.slowest.append((elapsed, "yaml", ["load_yaml"], raw, exc.first.code, ""))
            self.slowest.sort(key=lambda x: -x[0])
            del self.slowest[8:]
        except Exception:  # noqa: BLE001
            import traceback

            self._save("yaml", ["load_yaml"], raw, traceback.format_exc())

    def argv(self, args: list) -> None:
        self.run("argv", args)


def _first_code(out: str, err: str) -> str:
    import re

    m = re.search(r"\b(E-[A-Z0-9-]+)\b", err + out)
    return m.group(1) if m else ""


# -- the fixed corpus of hostile files ----------------------------------------------------------
def corpus(work: Path) -> list[tuple[str, list]]:
    """(label, argv) of hostile files written into ``work``."""
    def w(name: str, data: bytes | str) -> Path:
        p = work / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return p

    def sparse(name: str, size: int) -> Path:
        p = work / name
        with open(p, "wb") as fh:
            fh.truncate(size)
        return p

    bomb = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    long_line = work / "long.jsonl"
    with open(long_line, "wb") as fh:
        fh.write(b'{"kind": "')
        fh.truncate(100 * MB)
    minimal = (HERE.parent / "tests" / "check" / "good" / "minimal.yaml").read_text(encoding="utf-8")
    return [
        ("100 MB .json case file", ["eval", sparse("big.json", 100 * MB)]),
        ("100 MB .yaml case file", ["eval", sparse("big.yaml", 100 * MB)]),
        ("100 MB single-line .jsonl", ["eval", long_line, "--format", "json"]),
        ("100 MB .jsonl of garbage lines", ["eval", w("garbage.jsonl", b"not json\n" * (100 * MB // 9)), "--format", "json"]),
        ("JSON list of 200 000 empty cases", ["eval", w("many.json", "[" + "{}," * 200_000 + "{}]")]),
        ("YAML alias bomb (case)", ["eval", w("bomb.yaml", "\n".join(bomb) + "\n")]),
        ("YAML nesting 10 000 deep", ["eval", w("deep.yaml", "kind: " + "[" * 10_000 + "]" * 10_000)]),
        ("JSON nesting 10 000 deep", ["eval", w("deep.json", "[" * 10_000 + "]" * 10_000)]),
        ("5 MB YAML line", ["eval", w("line.yaml", "kind: " + "x" * (5 * MB) + "\n")]),
        ("invalid UTF-8", ["eval", w("bad.yaml", b"kind: \xff\xfe\n")]),
        ("5000-digit number", ["eval", w("num.json", '{"kind": "refund", "benefit_year": ' + "9" * 5000 + "}")]),
        ("NaN", ["eval", w("nan.json", '{"kind": "retirement_min_years", "contribution_years": NaN}')]),
        ("year 9999", ["eval", w("y.json", json.dumps({**GOOD, "paid_on": "9999-12-31"}))]),
        ("100 MB policy file", ["check", sparse("bigpolicy.yaml", 100 * MB)]),
        ("policy alias bomb", ["check", w("bomb-policy.yaml", "\n".join(bomb) + "\n")]),
        ("policy expression 500 `not` deep", ["check", w("deep-expr.yaml", minimal.replace('worker == "flexible"', "not " * 500 + "true"))]),
        ("1 MB --region", ["applies", "--date", "2022-04-01", "--region", "济" * MB]),
        ("1 MB --date", ["applies", "--date", "x" * MB, "--region", "济南"]),
    ]


def measure(label: str, args: list) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    code, out, err = hs.run_cli(args)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    start = time.perf_counter()  # once more without tracemalloc, for the time
    hs.run_cli(args)
    plain = time.perf_counter() - start
    return {"input": label, "exit": code, "code": _first_code(out, err), "seconds": round(plain, 3),
            "peak_mb": round(peak / MB, 1), "crashed": hs.crashed(code, out, err)}


# -- the long run -------------------------------------------------------------------------
def argv_strategy():
    value = st.one_of(st.sampled_from(hs.JUNK_WORDS + hs.REGIONS + ["2022-04-01", "2022-02-30", "arrears", "x" * 5000]),
                      st.text(max_size=20))
    token = st.one_of(st.sampled_from(OPTIONS), value)
    return st.tuples(st.sampled_from(COMMANDS), st.lists(token, max_size=8)).map(lambda t: [t[0], *t[1]])


def fuzz(seconds: float, work: Path, crashes: Path, seed: int) -> dict:
    warnings.filterwarnings("ignore")
    f = Fuzz(work, crashes)
    deadline = time.monotonic() + seconds
    base = settings(max_examples=200, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))

    @base
    @given(case=hs.case_files(), extra=st.sampled_from([["--format", "json"], [], ["--explain", "--lang", "en"],
                                                        ["--as-of", "2021-06-30", "--format", "json"]]))
    def eval_target(case, extra):
        if time.monotonic() < deadline:
            f.eval_case(case[0], case[1], extra)

    @settings(base, max_examples=30)
    @given(data=st.data())
    def check_target(data):
        mutation = data.draw(hs.mutated_policy(f.documents))  # always draw: hypothesis replays draws
        if time.monotonic() < deadline:
            f.check_mutation(*mutation)

    @base
    @given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         hs.case_files().map(lambda c: c[1])))
    def yaml_target(raw):
        if time.monotonic() < deadline:
            f.yaml_bytes(raw)

    @settings(base, max_examples=60)
    @given(args=argv_strategy())
    def argv_target(args):
        if time.monotonic() < deadline:
            f.argv(args)

    rng = random.Random(seed)
    while time.monotonic() < deadline:
        target = rng.choices([eval_target, check_target, yaml_target, argv_target], weights=[5, 2, 2, 1])[0]
        target()
    return {"fuzz": f}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="time budget (default 60)")
    parser.add_argument("--minutes", type=float, help="time budget in minutes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="where crashing inputs are saved")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-corpus", action="store_true", help="skip the fixed hostile corpus")
    a = parser.parse_args()
    seconds = a.seconds if a.seconds is not None else (a.minutes * 60 if a.minutes is not None else 60)
    with tempfile.TemporaryDirectory(prefix="policy-dsl-fuzz-") as d:
        work = Path(d)
        os.environ["POLICY_DSL_CACHE_DIR"] = str(work / "cache")  # mutated policy sets stay out of the user's cache
        started = time.time()
        fixed = [] if a.no_corpus else [measure(label, args) for label, args in corpus(work)]
        for item in fixed:
            if item["crashed"]:
                print(f"CRASH on the corpus: {item}", file=sys.stderr)
        f = fuzz(seconds, work, a.crashes, a.seed)["fuzz"]
        # the slowest rejections again, under tracemalloc: the peak memory of the worst inputs
        worst = []
        for elapsed, target, args, payload, code, note in f.slowest[:5]:
            if target == "yaml":
                from policy_dsl.language.errors import PolicyDslError
                from policy_dsl.language.yamlsafe import decode, load_yaml

                tracemalloc.start()
                try:
                    load_yaml(decode(payload, "fuzz.yaml"), "fuzz.yaml")
                except PolicyDslError:
                    pass
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            else:
                restore = None
                if payload is not None and target == "eval":
                    Path(args[1]).write_bytes(payload)
                if payload is not None and target == "check" and note:
                    restore = (f.policies / note, (f.policies / note).read_bytes())
                    restore[0].write_bytes(payload)
                tracemalloc.start()
                hs.run_cli(args if target != "check" else ["check", f.policies, "--format", "json"])
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                if restore:
                    restore[0].write_bytes(restore[1])
            worst.append({"target": target, "seconds": round(elapsed, 3), "code": code, "peak_mb": round(peak / MB, 1),
                          "args": args})
        report = {
            "seconds": round(time.time() - started, 1),
            "inputs_tried": sum(f.tried.values()) + len(fixed),
            "by_target": dict(sorted(f.tried.items())),
            "crashes": len(f.crashed) + sum(1 for i in fixed if i["crashed"]),
            "slowest_rejection": worst[0] if worst else None,
            "slowest_rejections": worst,
            "slowest_accepted": {"seconds": round(f.slowest_ok[0], 3), "input": f.slowest_ok[1]},
            "worst_peak_mb": max([w["peak_mb"] for w in worst] + [i["peak_mb"] for i in fixed], default=0),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "corpus": fixed,
        }
    if a.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"fuzz: {report['seconds']} s, {report['inputs_tried']:,} inputs tried "
              f"({', '.join(f'{k} {v:,}' for k, v in report['by_target'].items())}, corpus {len(fixed)})")
        print(f"crashes: {report['crashes']}" + (f" (saved in {a.crashes}/)" if report["crashes"] else ""))
        if worst:
            w = worst[0]
            print(f"slowest rejection: {w['seconds']} s ({w['target']}, {w['code']}), peak {w['peak_mb']} MB")
        print(f"slowest accepted input: {report['slowest_accepted']['seconds']} s")
        print(f"peak memory on the worst input: {report['worst_peak_mb']} MB (tracemalloc); "
              f"process max RSS {report['max_rss_mb']} MB")
        if fixed:
            print("hostile corpus (seconds without tracemalloc, peak MB under it):")
            for i in fixed:
                print(f"  {i['input']:<36} exit {i['exit']}  {i['code']:<18} {i['seconds']:>6} s  {i['peak_mb']:>6} MB"
                      + ("  CRASH" if i["crashed"] else ""))
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
