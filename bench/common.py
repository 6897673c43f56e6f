"""What the benchmarks share: the machine, the environment of the programs they time, medians,
the generated cases, and reports.

Timed programs run with the caller's environment, except that Python may cache bytecode (as an
installed package does): ``PYTHONDONTWRITEBYTECODE`` is dropped and the bytecode goes to the
benchmark's folder (``PYTHONPYCACHEPREFIX``), never into the source tree; and policy-dsl's own cache
(policy_dsl/language/cache.py) is the benchmark's (``POLICY_DSL_CACHE_DIR``), not the user's. ``--as-is``
keeps the environment exactly as it is. Work files go to ``$POLICY_DSL_BENCH_DIR``, else
``<tmp>/policy-dsl-bench``."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))


def work_dir() -> Path:
    d = Path(os.environ.get("POLICY_DSL_BENCH_DIR") or Path(tempfile.gettempdir()) / "policy-dsl-bench")
    d.mkdir(parents=True, exist_ok=True)
    return d


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": sys.version.split()[0],
            "implementation": platform.python_implementation(), "platform": platform.platform()}


def environment(as_is: bool = False) -> dict:
    env = dict(os.environ)
    if not as_is:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work_dir() / "pycache")
        env["POLICY_DSL_CACHE_DIR"] = str(work_dir() / "cache")
    return env


def tool() -> str:
    """The ``policy-dsl`` command of the Python running the benchmark."""
    here = Path(sys.executable).parent / "policy-dsl"
    return str(here) if here.exists() else (shutil.which("policy-dsl") or "policy-dsl")


def run(cmd: list[str], env: dict, out=subprocess.DEVNULL, cwd=REPO, ok=(0,)) -> float:
    """Seconds ``cmd`` takes, start to exit (it must exit with a code in ``ok``: ``(0, 2)`` for a
    batch of generated cases, some of which hold facts that cannot be true — each answered in
    place by its input error, the batch exiting 2)."""
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
    elapsed = time.perf_counter() - t
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def tree_of(rev_or_dir: str) -> Path:
    """The source tree to time as "before": a folder as it is, or git revision REV exported
    (``git archive``) into the benchmark's folder — the repository is not touched."""
    if Path(rev_or_dir).is_dir():
        return Path(rev_or_dir).resolve()
    commit = subprocess.run(["git", "rev-parse", rev_or_dir], cwd=REPO, check=True, capture_output=True,
                            text=True).stdout.strip()
    tree = work_dir() / f"tree-{commit[:12]}"
    if not (tree / "policy_dsl").is_dir():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run_tree(cmd: list[str], env: dict, tree, out=subprocess.DEVNULL) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``cmd`` run with ``tree`` first on the path (PYTHONPATH),
    from the benchmark's folder — never the repository's, which ``python -m``/``-c`` would put
    first. It may exit 2 (generated cases include facts that cannot be true)."""
    return run_timed(cmd, {**env, "PYTHONPATH": str(tree)}, work_dir(), out)


def run_timed(cmd: list[str], env: dict, cwd=REPO, out=subprocess.DEVNULL) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of ``cmd`` run from ``cwd``; it may exit 2."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(xs) -> float:
    return statistics.median(xs)


def spread(xs) -> dict:
    xs = sorted(xs)
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "runs": len(xs)}


def cases_file(n: int, seed: int = 7) -> Path:
    """bench/gen_cases.py's N cases, made once and kept in the work folder."""
    path = work_dir() / f"cases-{n}-{seed}.jsonl"
    if not path.exists():
        from gen_cases import generate

        tmp = path.with_suffix(".part")
        with tmp.open("w", encoding="utf-8") as fh:
            for case in generate(n, seed):
                fh.write(json.dumps(case, ensure_ascii=False) + "\n")
        tmp.replace(path)
    return path


def report(name: str, data: dict, out: str | None) -> None:
    data = {"benchmark": name, "machine": machine(), **data}
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    path = work_dir() / f"{name}.json"
    path.write_text(text + "\n", encoding="utf-8")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
