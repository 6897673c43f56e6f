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


def run(cmd: list[str], env: dict, out=subprocess.DEVNULL, cwd=REPO) -> float:
    """Seconds ``cmd`` takes, start to exit (it must succeed)."""
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.PIPE, cwd=cwd)
    elapsed = time.perf_counter() - t
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


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
