"""All three benchmarks, one after another (each under ten minutes on two cores; a few seconds
each with --quick), then a summary of their figures.

    python bench/run_all.py [--quick]

The JSON reports stay in the work folder (bench/common.py: $POLICY_DSL_BENCH_DIR, else
<tmp>/policy-dsl-bench): startup.json, batch.json, resolution.json."""

from __future__ import annotations

import json
import subprocess
import sys

from common import BENCH, machine, work_dir


def main() -> int:
    quick = ["--quick"] if "--quick" in sys.argv[1:] else []
    for script in ("startup.py", "batch.py", "resolution.py"):
        print(f"\n$ python bench/{script} {' '.join(quick)}".rstrip(), flush=True)
        done = subprocess.run([sys.executable, str(BENCH / script), *quick])
        if done.returncode:
            return done.returncode
    s, b, r = (json.loads((work_dir() / f"{n}.json").read_text(encoding="utf-8"))
               for n in ("startup", "batch", "resolution"))
    m = machine()
    print(f"\nsummary — {m['cpu']}, {m['nproc']} cores, Python {m['python']}")
    for name, row in s["results"].items():
        print(f"  cold start  {name:30} {row['median'] * 1000:7.1f} ms  {row['ratio_to_bare']:.2f}x python3 -c pass")
    for mode, key in (("in process", "in_process"), ("JSON Lines", "jsonl")):
        i, x = b[key]["interpreter"]["cases_per_s"], b[key]["baseline"]["cases_per_s"]
        print(f"  batch       {mode:30} {i:9,.0f} cases/s  {i / x:.2f}x the baseline ({x:,.0f} cases/s)")
    d = b["differential"]
    print(f"  differential {d['cases']:,} cases: {d['disagreements']:,} disagreements {d['by_reason']}")
    print(f"  resolution  {r['questions']:,} questions: median {r['median_s'] * 1000:.2f} ms "
          f"({r['speedup_medians']:.1f}x faster than before: {r['reference_median_s'] * 1000:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
