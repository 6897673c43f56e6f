"""Fuzz the readers and the CLI for as long as you like (docs/fuzzing.md).

    python bench/fuzz.py --minutes 5            # the figures in the notes come from this
    python bench/fuzz.py --seconds 30 --json    # machine-readable report

    python bench/fuzz.py --inputs 100000 --json  # until 100 000 inputs are tried (docs/fuzzing.md)

Inputs come from the hypothesis strategies of tests/hostile_strategies.py (also used by
tests/test_properties.py), run in this process against four targets (``--only`` picks some):

- ``eval``: case files (JSON, YAML, JSON Lines), mostly valid with junk mixed in, sometimes
  damaged byte by byte;
- ``check``: the shipped policy files with 1–3 mutations (keys dropped or renamed, values of
  another type, expressions garbled), checked as a set (and a case evaluated with them);
- ``yaml``: arbitrary bytes and near-YAML text straight into the safe YAML reader;
- ``argv``: command lines built from the real options and hostile values;

and the faults of the environment (``faults``, docs/errors.md "Faults and their codes"), drawn
at random, one class at a time (``FAULTS``), each checking the code it promises:

- a policy name that is a link to nothing, a loop of links, a pipe, a folder, /dev/zero or an
  upper-case ``.YAML`` (E-FILE, never skipped); a case file that is one of those, or a name too
  long or holding a NUL (E-CASE-FILE); paths too long, looping or of the wrong kind for fmt,
  check, diff, --policies, --rev and report --out (report never writes through a link);
- files without permission, in a child that obeys permissions (``setpriv`` drops root's
  override): a policy, case or test file, fmt on a read-only or unreadable file, report and
  timeline --svg into a read-only folder, unreadable cache entries;
- YAML 1.1 numbers (E-YAML-NUMBER) and recursive aliases (E-YAML-ALIAS-CYCLE) in case, policy and
  test files; expressions that fail on a probe (E-CHECK-PROBE);
- corrupted cache entries (a pipe, a link to a 3 GiB file, garbage, a cut entry, a valid hash
  over the wrong object, a folder): a miss, the same answer;
- ``fmt``, ``timeline --svg`` and ``eval --out`` under a file-size limit (RLIMIT_FSIZE around the
  one command), on a full disk (a small tmpfs in a mount namespace of its own, in a child), and
  killed (SIGKILL) or terminated (SIGTERM) at a write, sync or rename of the temporary file (in a
  child): the target as it was or complete, no temporary file left (but by a kill -9);
- empty arguments (E-USAGE); ids with control characters or 100 000 characters long (escaped,
  cut); standard input in each form; several case files of mixed forms.

Each input runs under a watchdog: one that spends more than --hang seconds of CPU (SIGPROF), or
is still there after ten times that of wall time (SIGALRM: blocked on a pipe…), is a hang,
interrupted and saved like a crash (a child process is killed after the wall time). CPU time, not
wall time, because on a loaded machine a niced fuzzer's `check` can wait 30 s for its 4 s.

First it runs a fixed corpus of hostile files (100 MB files, alias bombs, nesting 10 000 deep,
long lines, invalid UTF-8, NaN…) and measures each. It reports the inputs tried, the crashes
(an exit code other than 0/1/2 — exit 70 counted on its own —, a traceback, an exception escaping
``main``, a broken promise of a fault: must be 0; each is saved under --crashes), the hangs, the
slowest rejection, and the peak memory on the worst inputs (tracemalloc, re-running the slowest
ones) and of the whole process (getrusage)."""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import pickle
import random
import re
import resource
import signal
import subprocess
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


WALL_FACTOR = 10  # an input blocked (using no CPU) is a hang after --hang × this many seconds of wall time


class Hang(KeyboardInterrupt):
    """Raised by the watchdog in an input that runs too long (main answers it as Ctrl-C: 130)."""


class Fuzz:
    def __init__(self, work: Path, crashes: Path, hang_seconds: float = 30.0):
        self.work = work
        self.crashes = crashes
        self.hang_seconds = hang_seconds
        self.tried: dict[str, int] = {}
        self.crashed: list[dict] = []
        self.hangs: list[dict] = []
        self.exit70 = 0
        self.slowest: list[tuple[float, str, list, bytes | None, str, str]] = []  # rejections
        self.slowest_ok: tuple[float, str] = (0.0, "")
        self.policies = hs.copy_policies(work / "policies")
        self.documents = hs.policy_documents()

    def run(self, target: str, args: list, payload: bytes | None = None, allowed=(0, 1, 2), note: str = "",
            stdin: bytes | None = None, out_of=None, expect: tuple = ()) -> int | None:
        """Run ``policy-dsl ARGS`` in this process under the watchdog. A crash: an exit code not in
        ``allowed``, a traceback, an internal error; a broken promise: a failure that names none of
        the codes in ``expect`` (when given)."""
        hung = []

        def watchdog(signum, frame):
            hung.append(f"{self.hang_seconds:g} s of CPU" if signum == signal.SIGPROF
                        else f"{self.hang_seconds * WALL_FACTOR:g} s")
            raise Hang()

        previous = {sig: signal.signal(sig, watchdog) for sig in (signal.SIGALRM, signal.SIGPROF)}
        saved_stdin = sys.stdin
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        start = time.perf_counter()
        signal.setitimer(signal.ITIMER_PROF, self.hang_seconds)  # spinning: CPU time (steady under load)
        signal.setitimer(signal.ITIMER_REAL, self.hang_seconds * WALL_FACTOR)  # blocked (a pipe…): wall time
        try:
            code, out, err = hs.run_cli(args)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sys.stdin = saved_stdin
        elapsed = time.perf_counter() - start
        self.tried[target] = self.tried.get(target, 0) + 1
        if out_of is not None:
            out_of.append((code, out, err))
        if hung:
            self.hangs.append({"target": target, "args": [str(a)[:200] for a in args], "after": hung[0]})
            self._save(target, args, payload, f"HANG after {hung[0]}\n" + err)
            return code
        if code == 70:
            self.exit70 += 1
        if hs.crashed(code, out, err, allowed):
            self._save(target, args, payload, err)
        elif expect and code != 0 and not any(c in out + err for c in expect):
            self.broken(target, args, f"{note}: expected {' or '.join(expect)}, got exit {code}\n" + err[-2000:], payload)
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

    def _cached_applies(self, args: list) -> str:
        """What ``args`` (an applies question) prints with a sound cache: the answer to compare with."""
        if not hasattr(self, "_applies"):
            got = []
            self.run("faults", args, out_of=got, note="cache baseline")
            self._applies = got[0][1]
        return self._applies

    def broken(self, target: str, args: list, why: str, payload: bytes | None = None) -> None:
        """A fault whose promise failed (a file not left whole, a temporary file left behind…)."""
        self._save(target, args, payload, "BROKEN PROMISE: " + why)

    # -- faults of the environment ----------------------------------------------------------
    def fault(self, rng: random.Random) -> None:
        names = sorted(FAULTS)
        name = rng.choices(names, weights=[FAULT_WEIGHTS.get(n, 1.0) for n in names])[0]
        FAULTS[name](self, rng)


FAULTS: dict = {}
# how often each class is drawn: those that load a changed policy set (no cache) or start a child
# process cost a second or more
FAULT_WEIGHTS = {"policy_name": 0.3, "failing_expression": 0.15, "write_limit": 0.5, "kill_mid_write": 0.15,
                 "full_disk": 0.15, "unreadable": 0.15}


def _fault(fn):
    FAULTS[fn.__name__.removeprefix("fault_")] = fn
    return fn


def _remove(p: Path) -> None:
    """Remove whatever is at ``p`` (a file, a link, a pipe or an empty folder), if anything."""
    if p.is_dir() and not p.is_symlink():
        p.rmdir()
    elif p.is_symlink() or p.exists():
        p.unlink()


def _case_yaml(rng: random.Random, extra: str = "") -> str:
    return ("kind: arrears\nregion: \"370100\"\nworker: flexible\nlast_paid_month: 2022-06\npaid_on: 2022-10-20\n"
            + extra)


NUMBERS_1_1 = ["030", "007", "0x1E", "0o17", "0b11", "1:00", "1_000", "-030", "00", "1:30.5", "0xFF"]
CYCLES = ["&a [*a]", "&a {b: [1, {c: *a}]}", "&a [1, [2, [3, *a]]]", "&a {x: *a}"]
# each fails on every probe of a clause's outcome (month 13 is January of the next year, a negative
# index counts from the end: neither fails)
FAILING = ["start(month_of(0, 1))", "start([month(paid_on)][1])", "start(month(paid_on) + 99999999)",
           "start(month_of(10000, 1))", "end(month_of(0 - 5, 1))"]


@_fault
def fault_policy_name(f: Fuzz, rng: random.Random) -> None:
    """A policy-named entry that cannot be read: never skipped (E-FILE), never a hang."""
    name = rng.choice(sorted(p.name for p in f.policies.glob("*.yaml")))
    target = f.policies / name
    original = target.read_bytes()
    how = rng.choice(["dangling", "loop", "fifo", "folder", "upper", "devzero", "empty"])
    extra = []
    try:
        target.unlink()
        if how == "dangling":
            target.symlink_to(f.policies / "gone.yaml")
        elif how == "loop":
            target.symlink_to(target)
        elif how == "fifo":
            os.mkfifo(target)
        elif how == "folder":
            target.mkdir()
        elif how == "upper":
            upper = target.with_suffix(".YAML")
            upper.write_bytes(original)
            extra.append(upper)
        elif how == "devzero":
            target.symlink_to("/dev/zero")
        else:
            target.write_bytes(b"")
        command = rng.choice([["check", f.policies, "--format", "json"], ["fmt", "--check", f.policies],
                              ["eval", f.work / "good.json", "--policies", f.policies, "--format", "json"],
                              ["applies", "--date", "2022-04-01", "--region", "济南", "--policies", f.policies]])
        (f.work / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
        got = []
        f.run("faults", command, note=f"policy name: {how}", out_of=got,
              expect=("E-FILE",) if how not in ("upper", "empty") else ())
        if how not in ("upper", "empty") and got and got[0][0] == 0:
            f.broken("faults", command, f"a policy name that is a {how} was skipped (exit 0)")
    finally:
        _remove(target)
        for e in extra:
            e.unlink()
        target.write_bytes(original)


@_fault
def fault_case_path(f: Fuzz, rng: random.Random) -> None:
    """A case file that cannot be read: E-CASE-FILE (exit 2), at once."""
    suffix = rng.choice([".json", ".jsonl", ".yaml"])
    how = rng.choice(["dangling", "loop", "fifo", "folder", "devzero", "long", "nul", "missing"])
    path = f.work / f"fault-case{suffix}"
    for p in (path, f.work / "loop2"):
        _remove(p)
    arg = str(path)
    if how == "dangling":
        path.symlink_to(f.work / "gone.json")
    elif how == "loop":
        path.symlink_to(f.work / "loop2")
        (f.work / "loop2").symlink_to(path)
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "folder":
        path.mkdir()
    elif how == "devzero":
        path.symlink_to("/dev/zero")
    elif how == "long":
        arg = str(f.work / ("a" * 5000 + suffix))
    elif how == "nul":
        arg = str(f.work / ("a\0b" + suffix))
    extra = rng.choice([[], ["--format", "json"], ["--out", f.work / "answers.jsonl"]])
    f.run("faults", ["eval", arg, *extra], allowed=(2,), note=f"case path: {how}", expect=("E-CASE-FILE",))


@_fault
def fault_yaml_number(f: Fuzz, rng: random.Random) -> None:
    """A YAML 1.1 number in a case, a policy or a test file: E-YAML-NUMBER, never its 1.1 value."""
    number = rng.choice(NUMBERS_1_1)
    where = rng.choices(["case", "policy", "test"], weights=[8, 1, 1])[0]
    if where == "case":
        path = f.work / "number.yaml"
        raw = _case_yaml(rng, f"{rng.choice(['contribution_years', 'benefit_year', 'id', 'extra'])}: {number}\n").encode()
        path.write_bytes(raw)
        f.run("faults", ["eval", path, "--format", "json"], raw, allowed=(2,), note=f"case number {number}",
              expect=("E-YAML-NUMBER",))
        return
    _edit_policy_text(f, rng, lambda text: text.replace("waiting_months: 0", f"waiting_months: {number}", 1)
                      if "waiting_months: 0" in text else text + f"\nextra: {number}\n",
                      test_text="tests:\n  - name: n\n    case: {kind: arrears, region: \"370100\", "
                      f"contribution_years: {number}}}\n" if where == "test" else None, allowed=(1, 2),
                      note=f"{where} number {number}", expect=("E-YAML-NUMBER",))


@_fault
def fault_alias_cycle(f: Fuzz, rng: random.Random) -> None:
    """A recursive alias: E-YAML-ALIAS-CYCLE at the alias, never a RecursionError."""
    cycle = rng.choice(CYCLES)
    where = rng.choices(["case", "policy", "test"], weights=[8, 1, 1])[0]
    if where == "case":
        path = f.work / "cycle.yaml"
        raw = _case_yaml(rng, f"x: {cycle}\n").encode()
        path.write_bytes(raw)
        f.run("faults", ["eval", path], raw, allowed=(2,), note="case alias cycle", expect=("E-YAML-ALIAS-CYCLE",))
        return
    _edit_policy_text(f, rng, lambda text: text + f"\nextra: {cycle}\n",
                      test_text=f"tests: {cycle}\n" if where == "test" else None, allowed=(1, 2),
                      note=f"{where} alias cycle", expect=("E-YAML-ALIAS-CYCLE",))


@_fault
def fault_failing_expression(f: Fuzz, rng: random.Random) -> None:
    """An expression that fails on a probe: a check error (E-CHECK-PROBE…), never exit 70."""
    failing = rng.choice(FAILING)

    def edit(text: str) -> str:
        spots = [m.start() for m in re.finditer(r"benefit_start: |suspended_from: ", text)]
        if not spots:
            return text
        at = rng.choice(spots)
        end = text.index("\n", at)
        key = text[at:text.index(":", at) + 2]
        return text[:at] + key + json.dumps(failing) + text[end:]

    _edit_policy_text(f, rng, edit, allowed=(1,), note=f"failing expression {failing}", check_only=True,
                      expect=("E-CHECK-PROBE",))


def _edit_policy_text(f: Fuzz, rng, edit, test_text: str | None = None, allowed=(0, 1, 2), note: str = "",
                      check_only: bool = False, expect: tuple = ()) -> None:
    """Run check (or test) on the policy copy with one file's text edited (or a test file added)."""
    tests = f.policies / "tests"
    if test_text is not None:
        tests.mkdir(exist_ok=True)
        t = tests / "fuzz.yaml"
        t.write_text(test_text, encoding="utf-8")
        try:
            f.run("faults", ["test", "--policies", f.policies], test_text.encode(), allowed=allowed, note=note,
                  expect=expect)
        finally:
            t.unlink()
        return
    name = rng.choice(["jn-2022-2.yaml", "lu-2021-54.yaml", "yb-2020-33.yaml"])
    target = f.policies / name
    original = target.read_text(encoding="utf-8")
    changed = edit(original)
    try:
        target.write_text(changed, encoding="utf-8")
        command = ["check", f.policies] if check_only or rng.random() < 0.7 else \
            ["eval", f.work / "good.json", "--policies", f.policies]
        (f.work / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
        f.run("faults", command, changed.encode(), allowed=allowed, note=note, expect=expect)
    finally:
        target.write_text(original, encoding="utf-8")


@_fault
def fault_cache_entry(f: Fuzz, rng: random.Random) -> None:
    """A corrupted cache entry: a miss, the same answer, the entry replaced."""
    cache = Path(os.environ["POLICY_DSL_CACHE_DIR"])
    args = ["applies", "--date", "2022-04-01", "--region", "济南", "--format", "json"]
    f._cached_applies(args)
    entries = sorted(p for p in cache.glob("*.pickle") if p.name.split("-")[0] in ("policy", "kinds", "regions"))
    if not entries:
        return
    p = rng.choice(entries)
    how = rng.choice(["fifo", "big link", "garbage", "truncated", "wrong object", "folder"])
    data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
    _remove(p)
    if how == "fifo":
        os.mkfifo(p, 0o600)
    elif how == "big link":
        big = f.work / "big-entry"
        if not big.exists():
            with open(big, "wb") as fh:
                fh.truncate(3 * 1024 ** 3)
        p.symlink_to(big)
    elif how == "garbage":
        p.write_bytes(bytes(rng.getrandbits(8) for _ in range(200)))
        p.chmod(0o600)
    elif how == "truncated":
        p.write_bytes(data[: len(data) // 2])
        p.chmod(0o600)
    elif how == "wrong object":
        from policy_dsl.language import cache as cache_module

        head_end = data.index(b"\n", len(cache_module.FORMAT)) + 1 if data.startswith(cache_module.FORMAT) else 0
        payload = pickle.dumps(["not", "what", "was", "stored"])
        p.write_bytes(data[:head_end] + cache_module._hash(payload).hexdigest().encode() + b"\n" + payload)
        p.chmod(0o600)
    else:
        p.mkdir()
    got = []
    f.run("faults", args, note=f"cache entry: {how}", out_of=got, allowed=(0,))
    if got and got[0][0] == 0 and got[0][1] != f._cached_applies(args):
        f.broken("faults", args, f"a {how} cache entry changed the answer")
    if p.is_dir():
        p.rmdir()


def _write_job(f: Fuzz, rng: random.Random, folder: Path) -> tuple:
    """A command that writes one file in ``folder`` (fmt, timeline --svg or eval --out), the file
    put there first; (kind, target, args, allowed exit codes)."""
    kind = rng.choice(["fmt", "svg", "out"])
    folder.mkdir(exist_ok=True)
    if kind == "fmt":
        target = folder / "jn-2022-2.yaml"
        loose = (f.policies / "jn-2022-2.yaml").read_text(encoding="utf-8").replace("\n  - id:", "\n\n\n  - id:")
        target.write_text(loose, encoding="utf-8")  # fmt rewrites it
        return kind, target, ["fmt", target], (0, 1)
    if kind == "svg":
        target = folder / "t.svg"
        target.write_text("old", encoding="utf-8")
        return kind, target, ["timeline", "--region", "济南", "--svg", target], (0, 2)
    target = folder / "answers.jsonl"
    target.write_text("old", encoding="utf-8")
    cases = f.work / "cases-out.jsonl"
    if not cases.exists():
        cases.write_text("".join(json.dumps({**GOOD, "id": i}) + "\n" for i in range(300)), encoding="utf-8")
    return kind, target, ["eval", cases, "--out", target], (0, 2)


def _whole_or_complete(kind: str, before: bytes, after: bytes, code) -> str:
    """What is wrong with a written target (``after``), or "": as it was, or (exit 0) complete."""
    if after == before:
        return ""
    if code != 0:
        return "the command failed and the target changed"
    if kind == "svg" and not after.rstrip().endswith(b"</svg>"):
        return "an SVG written in part"
    if kind == "out" and (after.count(b"\n") != 300 or not after.endswith(b"\n")):
        return f"answers written in part ({after.count(bytes([10]))} lines of 300)"
    if kind == "fmt" and after.count(b"  - id:") != before.count(b"  - id:"):
        return "fmt lost clauses"
    return ""


def _temporaries(folder: Path, remove: bool = True) -> list:
    left = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    if remove:
        for name in left:
            (folder / name).unlink()
    return left


@_fault
def fault_write_limit(f: Fuzz, rng: random.Random) -> None:
    """fmt, timeline --svg, eval --out under a file-size limit (RLIMIT_FSIZE around the command):
    E-WRITE, the target whole (or complete), no temporary file left."""
    folder = f.work / "writes"
    kind, target, args, allowed = _write_job(f, rng, folder)
    before = target.read_bytes()
    limit = rng.choice([0, 1, 100, 1000, 5000, 20_000, 60_000, 200_000])
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    got = []
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        f.run("faults", args, allowed=allowed, note=f"{kind} under a file-size limit of {limit}", out_of=got,
              expect=("E-WRITE",))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    left = _temporaries(folder)
    if left:
        f.broken("faults", args, f"temporary files left: {left}")
    wrong = _whole_or_complete(kind, before, target.read_bytes(), got[0][0] if got else None)
    if wrong:
        f.broken("faults", args, wrong)


# In a child: the K-th write, fsync or rename of a temporary file (.tmp) sends SIGNAL to the process
# itself first (a kill -9 or a SIGTERM in the middle of a write), then policy-dsl ARGS runs.
KILL_CHILD = """
import os, signal, sys
at, sig, calls = int(sys.argv[1]), getattr(signal, sys.argv[2]), [0]
def hooked(real, fd_of):
    def call(*a, **k):
        fd = fd_of(a, k)
        name = fd if isinstance(fd, str) else os.readlink(f"/proc/self/fd/{fd}") if isinstance(fd, int) else ""
        if name.endswith(".tmp"):
            calls[0] += 1
            if calls[0] == at:
                if real is os.write:
                    real(a[0], bytes(a[1])[: len(a[1]) // 2])
                os.kill(os.getpid(), sig)
        return real(*a, **k)
    return call
os.write = hooked(os.write, lambda a, k: a[0])
os.fsync = hooked(os.fsync, lambda a, k: a[0])
os.replace = hooked(os.replace, lambda a, k: str(a[0]))
from policy_dsl.face.cli import main
sys.exit(main(sys.argv[3:]))
"""


@_fault
def fault_kill_mid_write(f: Fuzz, rng: random.Random) -> None:
    """fmt, timeline --svg, eval --out killed (SIGKILL) or terminated (SIGTERM) at a write, a sync or
    the rename of its temporary file: the target whole (or complete); after SIGTERM (exit 143) no
    temporary file left (a kill -9 cannot clean up: what it leaves is counted, never read as a
    policy file)."""
    import subprocess

    folder = f.work / "killed"
    kind, target, args, allowed = _write_job(f, rng, folder)
    before = target.read_bytes()
    at, sig = rng.randint(1, 4), rng.choice(["SIGKILL", "SIGTERM"])
    command = [sys.executable, "-c", KILL_CHILD, str(at), sig, *map(str, args)]
    start = time.perf_counter()
    try:
        run = subprocess.run(command, capture_output=True, timeout=f.hang_seconds * WALL_FACTOR,
                             env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        f.hangs.append({"target": "faults", "args": [str(a)[:200] for a in command[3:]]})
        f._save("faults", command[3:], None, f"HANG after {f.hang_seconds * WALL_FACTOR} s")
        return
    f.tried["faults"] = f.tried.get("faults", 0) + 1
    elapsed = time.perf_counter() - start
    err = run.stderr.decode("utf-8", "replace")
    if run.returncode == 70:
        f.exit70 += 1
    expected = {"SIGKILL": -9, "SIGTERM": 143}[sig]
    if run.returncode not in (*allowed, expected) or "Traceback" in err:
        f._save("faults", args, None, f"{sig} at call {at}: exit {run.returncode}\n" + err[-3000:])
    left = _temporaries(folder)
    if left and sig == "SIGTERM":
        f.broken("faults", args, f"SIGTERM at call {at}: temporary files left: {left}")
    elif left:
        f.killed_leftovers = getattr(f, "killed_leftovers", 0) + 1
    wrong = _whole_or_complete(kind, before, target.read_bytes(), 0 if run.returncode == 0 else run.returncode)
    if wrong:
        f.broken("faults", args, f"{sig} at call {at}: {wrong}")
    if elapsed > f.slowest_ok[0] and run.returncode == 0:
        f.slowest_ok = (elapsed, f"faults kill_mid_write {kind} (a child process)")


# In a child under `unshare -m`: a tmpfs of KB kibibytes holding the target, filled to leave FREE
# bytes, then policy-dsl ARGS (the target's name in ARGS is replaced by its place on the tmpfs);
# prints exit code, stderr and what became of the target as JSON.
DISK_CHILD = """
import json, os, subprocess, sys
spec = json.loads(sys.argv[1])
disk = spec["disk"]
subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={spec['kb']}k", "tmpfs", disk], check=True)
target = os.path.join(disk, spec["name"])
with open(target, "wb") as fh:
    fh.write(open(spec["target"], "rb").read())
before = open(target, "rb").read()
st = os.statvfs(disk)
fill = max(0, st.f_bavail * st.f_frsize - spec["free"])
with open(os.path.join(disk, "filler"), "wb") as fh:
    try:
        fh.write(bytes(fill))
    except OSError:
        pass
sys.path.insert(0, spec["tests"])
import hostile_strategies as hs
code, out, err = hs.run_cli([target if a == spec["target"] else a for a in spec["args"]])
print(json.dumps({"code": code, "err": err[-3000:], "before": before.decode("utf-8", "replace"),
                  "after": open(target, "rb").read().decode("utf-8", "replace"),
                  "temps": [n for n in os.listdir(disk) if n.endswith(".tmp")]}))
"""


@_fault
def fault_full_disk(f: Fuzz, rng: random.Random) -> None:
    """fmt, timeline --svg, eval --out on a full disk (a small tmpfs in a mount namespace of its
    own, where the machine allows one): E-WRITE, the target whole (or complete), no temporary file."""
    import shutil
    import subprocess

    disk = f.work / "disk"
    disk.mkdir(exist_ok=True)
    if not hasattr(f, "_can_mount"):
        f._can_mount = bool(shutil.which("unshare")) and subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{disk}'"],
            capture_output=True).returncode == 0
    if not f._can_mount:
        return fault_write_limit(f, rng)
    kind, target, args, allowed = _write_job(f, rng, f.work / "disk-source")
    spec = {"disk": str(disk), "kb": 256, "free": rng.choice([0, 1024, 4096, 8192, 16384, 65536]),
            "name": target.name, "target": str(target), "args": [str(a) for a in args],
            "tests": str(Path(__file__).resolve().parent.parent / "tests")}
    try:
        run = subprocess.run(["unshare", "-m", sys.executable, "-c", DISK_CHILD, json.dumps(spec)],
                             capture_output=True, timeout=f.hang_seconds * WALL_FACTOR, env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        f.hangs.append({"target": "faults", "args": ["full disk", *spec["args"]]})
        f._save("faults", ["full disk", *spec["args"]], None, f"HANG after {f.hang_seconds * WALL_FACTOR} s")
        return
    f.tried["faults"] = f.tried.get("faults", 0) + 1
    try:
        got = json.loads(run.stdout.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        f._save("faults", ["full disk", *spec["args"]], None, f"child exit {run.returncode}\n"
                + run.stderr.decode("utf-8", "replace")[-3000:])
        return
    args = ["full disk", spec["free"], *spec["args"]]
    if got["code"] == 70:
        f.exit70 += 1
    if hs.crashed(got["code"], "", got["err"], allowed):
        f._save("faults", args, None, got["err"])
    elif got["code"] != 0 and "E-WRITE" not in got["err"]:
        f.broken("faults", args, "expected E-WRITE\n" + got["err"])
    if got["temps"]:
        f.broken("faults", args, f"temporary files left: {got['temps']}")
    wrong = _whole_or_complete(kind, got["before"].encode(), got["after"].encode(), got["code"])
    if wrong:
        f.broken("faults", args, wrong)


def _obeying_permissions() -> tuple:
    """A command prefix under which root obeys file permissions (no CAP_DAC_OVERRIDE), () when not
    root; None when that cannot be done here."""
    import shutil

    if os.geteuid() != 0:
        return ()
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if shutil.which("setpriv") else None


@_fault
def fault_unreadable(f: Fuzz, rng: random.Random) -> None:
    """Files without permission (in a child that obeys them, as root too): a policy, case or test
    file that cannot be read, fmt on a read-only or unreadable file, report and timeline --svg into
    a read-only folder, a cache entry that cannot be read: a coded error (or a cache miss), the file
    as it was."""
    import shutil
    import subprocess

    prefix = _obeying_permissions()
    if prefix is None:
        return
    how = rng.choice(["policy", "case", "test", "fmt read-only", "fmt unreadable", "report", "svg", "cache"])
    place = f.work / "perm"
    shutil.rmtree(place, ignore_errors=True)  # as root (the fuzzer), permissions never stop it
    place.mkdir()
    env = {**os.environ, "NO_COLOR": "1"}
    locked, first = None, None
    if how in ("policy", "test", "fmt read-only", "fmt unreadable"):
        shutil.copytree(f.policies, place / "p")
    if how == "policy":
        locked, mode, args, code, want = place / "p" / "lu-2021-54.yaml", 0o000, ["check", place / "p"], 1, "E-FILE"
    elif how == "case":
        locked = place / "case.json"
        locked.write_text(json.dumps(GOOD), encoding="utf-8")
        mode, args, code, want = 0o000, ["eval", locked], 2, "E-CASE-FILE"
    elif how == "test":
        locked = place / "p" / "tests" / "zz.yaml"
        locked.parent.mkdir(exist_ok=True)
        locked.write_text("tests: []\n", encoding="utf-8")
        mode, args, code, want = 0o000, ["test", "--policies", place / "p"], 2, "E-TEST-FILE"
    elif how.startswith("fmt"):
        locked = place / "p" / "jn-2022-2.yaml"
        locked.write_text(locked.read_text(encoding="utf-8").replace("\n  - id:", "\n\n\n  - id:"), encoding="utf-8")
        mode, args, code, want = (0o444, ["fmt", locked], 1, "E-WRITE") if how == "fmt read-only" else \
            (0o000, ["fmt", locked], 1, "E-FILE")
    elif how in ("report", "svg"):
        locked = place / "locked"
        locked.mkdir()
        mode, code, want = 0o555, 2, "E-WRITE"
        args = ["report", "--out", locked / "site"] if how == "report" else \
            ["timeline", "--region", "济南", "--svg", locked / "t.svg"]
    else:  # a cache of its own whose entries cannot be read: misses, the same answer
        cache = place / "cache"
        env["POLICY_DSL_CACHE_DIR"] = str(cache)
        args = ["applies", "--date", "2022-04-01", "--region", "济南", "--format", "json"]
        first = subprocess.run([sys.executable, "-m", "policy_dsl", *args], env=env, capture_output=True,
                               cwd=f.work).stdout.decode("utf-8", "replace")
        for p in cache.glob("*"):
            p.chmod(0o000)
        mode, code, want = None, 0, ""
    before = locked.read_bytes() if locked is not None and locked.is_file() else None
    if mode is not None:
        locked.chmod(mode)
    try:
        run = subprocess.run([*prefix, sys.executable, "-m", "policy_dsl", *map(str, args)], env=env,
                             capture_output=True, timeout=f.hang_seconds * WALL_FACTOR, cwd=f.work)
    except subprocess.TimeoutExpired:
        f.hangs.append({"target": "faults", "args": [how, *map(str, args)]})
        f._save("faults", [how, *args], None, f"HANG after {f.hang_seconds * WALL_FACTOR} s")
        return
    finally:
        if locked is not None:
            locked.chmod(0o700 if locked.is_dir() else 0o600)
    f.tried["faults"] = f.tried.get("faults", 0) + 1
    out, err = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace")
    if run.returncode == 70:
        f.exit70 += 1
    if hs.crashed(run.returncode, out, err, (code,)):
        f._save("faults", [how, *args], None, f"exit {run.returncode}\n" + err[-3000:])
    elif want and want not in out + err:
        f.broken("faults", [how, *args], f"expected {want}\n" + err[-2000:])
    elif how == "cache" and out != first:
        f.broken("faults", [how, *args], "an unreadable cache entry changed the answer")
    if before is not None and locked.read_bytes() != before:
        f.broken("faults", [how, *args], "the file changed")


@functools.lru_cache(maxsize=1)
def _in_git_repository() -> bool:
    """Whether the fuzzer's working folder is inside a git work tree (where ``--rev`` is read)."""
    try:
        return subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@_fault
def fault_odd_path(f: Fuzz, rng: random.Random) -> None:
    """Paths that are too long, hold a NUL, loop, or name the wrong kind of thing, for fmt, check,
    diff, --policies, --rev and report --out: a usage or file error (E-FILE, E-POLICY-SOURCE,
    E-GIT-REV, E-USAGE, E-WRITE), never a traceback; report never writes through a link."""
    loop, other = f.work / "oddloop", f.work / "oddloop2"
    if not loop.is_symlink():
        _remove(other)
        loop.symlink_to(other)
        other.symlink_to(loop)
    elsewhere = f.work / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    linked = f.work / "linked-site"
    if not linked.is_symlink():
        linked.symlink_to(elsewhere)
    a_file = f.work / "a-file"
    a_file.write_text("a file", encoding="utf-8")
    path = rng.choice([str(f.work / ("a" * rng.choice([256, 5000]))), str(f.work / "a\0b"), str(loop),
                       str(f.work) + "/d" * 3000 + "/x.yaml"])
    args = rng.choice([["fmt", path], ["fmt", "--check", path], ["check", path], ["diff", path, "--structural-only"],
                       ["diff", f.policies, path, "--structural-only"],
                       ["eval", f.work / "good.json", "--policies", path],
                       ["applies", "--date", "2022-04-01", "--region", "济南", "--rev", path[:6000]],
                       ["report", "--out", rng.choice([path, linked, a_file])]])
    (f.work / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
    # --rev is read in the repository the fuzzer runs in; outside one, "not in a git repository" is the answer
    git = ("E-GIT",) if "--rev" in args and not _in_git_repository() else ()
    f.run("faults", args, allowed=(1, 2), note="odd path",
          expect=("E-FILE", "E-POLICY-SOURCE", "E-GIT-REV", "E-USAGE", "E-WRITE", "E-CASE-FILE") + git)
    if any(elsewhere.iterdir()):
        f.broken("faults", args, "report wrote through a link")
        import shutil

        shutil.rmtree(elsewhere)
    if a_file.read_text(encoding="utf-8") != "a file":
        f.broken("faults", args, "report replaced a file")


@_fault
def fault_empty_argument(f: Fuzz, rng: random.Random) -> None:
    """An empty argument: a usage error (E-USAGE, exit 2), never a default."""
    base = rng.choice([["check"], ["fmt", "--check"], ["applies", "--date", "2022-04-01", "--region", "济南"],
                       ["eval", f.work / "good.json"], ["report", "--out", f.work / "site"], ["test"], ["diff", "HEAD"]])
    (f.work / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
    empty = rng.choice(["", "--rev=", "--policies=", "--lang=", "--format=", "--out="])
    args = list(base)
    args.insert(rng.randint(1, len(args)), empty)
    f.run("faults", args, allowed=(2,), note=f"empty argument {empty!r}", expect=("E-USAGE",))


@_fault
def fault_control_characters(f: Fuzz, rng: random.Random) -> None:
    """An id with control characters (or very long): escaped and cut in table output."""
    junk = rng.choice(["\x1b[2J", "\x1b]0;x\x07", "\r", "\x9b31m", "\u202e", "\x00"]) * rng.randint(1, 3)
    case_id = junk + "x" * rng.choice([1, 100, 100_000])
    path = f.work / "ctl.json"
    data = {**GOOD, "id": case_id} if rng.random() < 0.7 else {**GOOD, "id": case_id, "paid_on": "never"}
    raw = json.dumps(data).encode()
    path.write_bytes(raw)
    got = []
    f.run("faults", ["eval", path], raw, allowed=(0, 2), note="control characters", out_of=got)
    if got and any(c in got[0][1] + got[0][2] for c in ("\x1b", "\x07", "\x9b", "\u202e")):
        f.broken("faults", ["eval", path], "a control character reached the output", raw)
    if got and len(got[0][1]) + len(got[0][2]) > 50_000:
        f.broken("faults", ["eval", path], "a long id was shown whole", raw)


@_fault
def fault_stdin(f: Fuzz, rng: random.Random) -> None:
    """Cases on standard input, in each form (and damaged)."""
    cases = [{**GOOD, "id": i} for i in range(rng.randint(1, 3))]
    form = rng.choice(["jsonl", "json list", "json one", "pretty", "yaml", "junk", "empty"])
    raw = {"jsonl": "".join(json.dumps(c) + "\n" for c in cases), "json list": json.dumps(cases),
           "json one": json.dumps(cases[0]) + "\n", "pretty": json.dumps(cases[0], indent=2),
           "yaml": _case_yaml(rng), "junk": "{\"kind\": ", "empty": ""}[form].encode()
    if rng.random() < 0.2:
        raw = raw[: rng.randint(0, len(raw))]
    f.run("faults", ["eval", "-", *rng.choice([[], ["--format", "json"]])], raw, allowed=(0, 2), note=f"stdin {form}",
          stdin=raw)


@_fault
def fault_mixed_sources(f: Fuzz, rng: random.Random) -> None:
    """Several case files of mixed forms (one missing): one output shape, in order."""
    one = f.work / "m1.yaml"
    one.write_text(_case_yaml(rng, "id: a\n"), encoding="utf-8")
    lines = f.work / "m2.jsonl"
    lines.write_text(json.dumps({**GOOD, "id": "b"}) + "\n", encoding="utf-8")
    listed = f.work / "m3.json"
    listed.write_text(json.dumps([{**GOOD, "id": "c"}]), encoding="utf-8")
    sources = [one, lines, listed, f.work / "missing.json"]
    rng.shuffle(sources)
    picked = sources[: rng.randint(2, 4)]
    f.run("faults", ["eval", *picked, "--format", "json"], allowed=(0, 2), note="mixed sources")


def _first_code(out: str, err: str) -> str:
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


def fuzz(seconds: float, work: Path, crashes: Path, seed: int, inputs: int | None = None, hang: float = 30.0,
         corpus_inputs: int = 0, progress: float = 0, only: list | None = None) -> dict:
    warnings.filterwarnings("ignore")
    f = Fuzz(work, crashes, hang)
    deadline = time.monotonic() + seconds

    began, shown, stop = time.monotonic(), [time.monotonic()], []
    signal.signal(signal.SIGUSR1, lambda *_: stop.append(True))  # kill -USR1: stop here and report

    def going() -> bool:
        done = sum(f.tried.values()) + corpus_inputs
        if progress and time.monotonic() - shown[0] >= progress:  # a line on stderr now and then
            shown[0] = time.monotonic()
            elapsed = shown[0] - began
            slowest = max([f.slowest_ok[0]] + [s[0] for s in f.slowest[:1]])
            print(f"[fuzz] {elapsed:.0f} s: {done:,} inputs ({done / elapsed:.1f}/s), crashes {len(f.crashed)}, "
                  f"exit 70 {f.exit70}, hangs {len(f.hangs)}, slowest {slowest:.2f} s, max RSS "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", file=sys.stderr, flush=True)
        if stop:
            return False
        if inputs is not None:
            return done < inputs
        return time.monotonic() < deadline

    base = settings(max_examples=200, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))

    @base
    @given(case=hs.case_files(), extra=st.sampled_from([["--format", "json"], [], ["--explain", "--lang", "en"],
                                                        ["--as-of", "2021-06-30", "--format", "json"]]))
    def eval_target(case, extra):
        if going():
            f.eval_case(case[0], case[1], extra)

    @settings(base, max_examples=30)
    @given(data=st.data())
    def check_target(data):
        mutation = data.draw(hs.mutated_policy(f.documents))  # always draw: hypothesis replays draws
        if going():
            f.check_mutation(*mutation)

    @base
    @given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         hs.case_files().map(lambda c: c[1])))
    def yaml_target(raw):
        if going():
            f.yaml_bytes(raw)

    @settings(base, max_examples=60)
    @given(args=argv_strategy())
    def argv_target(args):
        if going():
            f.argv(args)

    rng = random.Random(seed)

    def faults_target():
        for _ in range(20):
            if going():
                f.fault(rng)

    targets = {"eval": (eval_target, 6), "check": (check_target, 0.15), "yaml": (yaml_target, 4),
               "argv": (argv_target, 1.5), "faults": (faults_target, 4.5)}  # weights: inputs a call differ
    chosen = [targets[t] for t in (only or targets)]
    while going():
        target = rng.choices([t for t, _ in chosen], weights=[w for _, w in chosen])[0]
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
    parser.add_argument("--inputs", type=int, help="stop after this many inputs (instead of a time budget); "
                        "kill -USR1 stops a run early with its report")
    parser.add_argument("--hang", type=float, default=30.0,
                        help="CPU seconds after which an input is a hang (default 30; blocked: 10 times that of wall time)")
    parser.add_argument("--only", choices=["eval", "check", "yaml", "argv", "faults"], action="append",
                        help="only these targets (repeatable; default all)")
    parser.add_argument("--progress", type=float, default=60.0, help="a progress line on stderr every this many seconds (0: none)")
    a = parser.parse_args()
    seconds = a.seconds if a.seconds is not None else (a.minutes * 60 if a.minutes is not None else 60)
    if a.inputs is not None and a.seconds is None and a.minutes is None:
        seconds = float("inf")
    with tempfile.TemporaryDirectory(prefix="policy-dsl-fuzz-") as d:
        work = Path(d)
        os.environ["POLICY_DSL_CACHE_DIR"] = str(work / "cache")  # mutated policy sets stay out of the user's cache
        started = time.time()
        fixed = [] if a.no_corpus else [measure(label, args) for label, args in corpus(work)]
        for item in fixed:
            if item["crashed"]:
                print(f"CRASH on the corpus: {item}", file=sys.stderr)
        f = fuzz(seconds, work, a.crashes, a.seed, a.inputs, a.hang, len(fixed), a.progress, a.only)["fuzz"]
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
            "exit_70": f.exit70 + sum(1 for i in fixed if i["exit"] == 70),
            "hangs": len(f.hangs),
            "hang_after": {"cpu_seconds": a.hang, "wall_seconds": a.hang * WALL_FACTOR},
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
        print(f"crashes: {report['crashes']}" + (f" (saved in {a.crashes}/)" if report["crashes"] else "")
              + f"; exit 70: {report['exit_70']}; hangs (over {a.hang:g} s of CPU or {a.hang * WALL_FACTOR:g} s): {report['hangs']}")
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
