"""How ``policy-dsl check`` grows with the number of clauses.

    python bench/check_scale.py [--sizes 150,1500] [--rounds R] [--paired P] [--before REV] [--json OUT]

For each size N, a policy set of about N clauses made the same way at every size, as more
provinces and cities would be encoded: the shipped files other than the two copied (the national
documents 医保发〔2020〕33号 and 医保办发〔2021〕43号, the definitions, 山东's forwarding letters, whose
clauses a national clause names), then, province after province, a copy of the province document
鲁医保发〔2021〕54号 for that province and copies of the city document 济医保发〔2022〕2号 for up to three
of its cities (only in a province whose document is in the set) (each its own id, 文号 and jurisdiction, issued and in force a few days apart),
until N is reached. Written once into the benchmark's folder. ``policy-dsl check --format json``
runs on each size in turn, R rounds; the medians of the wall time and of the CPU time of the
child (user + system: on a shared machine it moves less than the wall clock), and each size's as
a ratio of the smallest, measured in the same run (only the ratios compare across runs); also each
round's own ratio and that of the fastest runs, which show how far one run's noise moves it. Linear
growth is a ratio of N/N0; the target for 1,500 clauses against 150 is at most 10. Also the
number of probe regions (each city with a document, a city without one in each province, one
outside), which the probing passes are linear in. ``--before REV`` also times REV's code on the
same sets, one round after the others (``34165d8^``: check before it was made near-linear).

``--paired P``: also P rounds in which the two sizes run at once, one on each core — the largest
once, the smallest again and again until it ends — and the ratio is the largest's CPU time over
the median of the smallest's in the same minutes (with ``--before``, REV's code likewise, after).
On a shared machine whose speed drifts by a third from one minute to the next, a run of 150 clauses
and one of 1,500 measured one after the other may fall in different minutes; measured together
they share the drift (two cores: ``env``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time

from common import REPO, environment, median, report, tool, tree_of, work_dir

BASE = REPO / "policies"
PROVINCE, CITY = "lu-2021-54.yaml", "jn-2022-2.yaml"
# the shipped files other than the two copied: the national documents, the definitions and the
# province's forwarding letters (a national clause names one of their clauses as an exception)
BASE_FILES = tuple(sorted(p.name for p in BASE.glob("*.yaml") if p.name not in (PROVINCE, CITY)))
CITIES_PER_PROVINCE = 3


def _clauses(text: str) -> int:
    return len(re.findall(r"^  - id:", text, flags=re.M))


def _shift(text: str, days: int) -> str:
    def moved(m):
        return f'"{(dt.date.fromisoformat(m.group(1)) + dt.timedelta(days=days)).isoformat()}"'

    return re.sub(r'"(20\d\d-\d\d-\d\d)"', moved, text)


def _provinces() -> list:
    """(province code, codes of its cities that exist today), every province that has cities."""
    from policy_dsl.language.regions import default_registry

    reg = default_registry()
    out = []
    for p in sorted((r for r in reg.by_code.values() if r.level == "province" and r.valid_to is None), key=lambda r: r.code):
        cities = sorted(r.code for r in reg.by_code.values() if r.level == "city" and r.valid_to is None
                        and r.within(p.code) and (r.valid_from or dt.date.min) < dt.date(2020, 1, 1))
        if cities:  # a municipality's parts are districts: no city document to copy there
            out.append((p.code, cities))
    return out


def policy_set(target: int) -> tuple:
    """A folder holding a policy set of about ``target`` clauses; its number of clauses and documents."""
    folder = work_dir() / f"check-scale-{target}"
    province_text = (BASE / PROVINCE).read_text(encoding="utf-8")
    city_text = (BASE / CITY).read_text(encoding="utf-8")
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copytree(BASE / "sources", folder / "sources")
        count = 0
        for name in BASE_FILES:
            text = (BASE / name).read_text(encoding="utf-8")
            (folder / name).write_text(text, encoding="utf-8")
            count += _clauses(text)
        written = set()  # the provinces whose document is in the set: only their cities are copied
        plan = []  # (province index, city index or None)
        provinces = _provinces()
        for rnd in range(0, 20):  # a province document first; then its cities, three a round
            for k, (code, cities) in enumerate(provinces):
                if rnd == 0:
                    plan.append((k, None))
                plan += [(k, j) for j in range(rnd * CITIES_PER_PROVINCE, (rnd + 1) * CITIES_PER_PROVINCE) if j < len(cities)]
        for k, j in plan:
            code, cities = provinces[k]
            per = _clauses(province_text if j is None else city_text)
            if count + per > target + per // 2 or (j is not None and k not in written):
                continue
            if j is None:
                written.add(k)
                text = province_text.replace("id: lu-2021-54\n", f"id: prov-{k}\n", 1)
                text = text.replace("number: 鲁医保发〔2021〕54号", f"number: 省医保发〔2021〕{k + 1}号", 1)
                text = text.replace('"370000"', f'"{code}"').replace('"370100"', f'"{cities[0]}"')
                text = _shift(text, k % 15)
                (folder / f"prov-{k}.yaml").write_text(text, encoding="utf-8")
            else:
                text = city_text.replace("id: jn-2022-2\n", f"id: city-{k}-{j}\n", 1)
                text = text.replace("number: 济医保发〔2022〕2号", f"number: 市医保发〔2022〕{k * 100 + j + 1}号", 1)
                text = text.replace('jurisdiction: "370100"', f'jurisdiction: "{cities[j]}"', 1)
                text = re.sub(r"forwards: \[[^\]]*\]", f"forwards: [prov-{k}]", text, count=1)
                text = text.replace("lu-2021-54/", f"prov-{k}/")
                text = _shift(text, (k * 7 + j * 3) % 200)
                (folder / f"city-{k}-{j}.yaml").write_text(text, encoding="utf-8")
            count += per
        (folder / ".complete").write_text(str(count), encoding="utf-8")
    count = int((folder / ".complete").read_text(encoding="utf-8"))
    return folder, count, len(list(folder.glob("*.yaml")))


def check(folder, env) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system, of the child alone: steadier than the wall clock
    on a shared machine) and the JSON of ``policy-dsl check FOLDER --format json``."""
    import os
    import tempfile

    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = subprocess.Popen([tool(), "check", str(folder), "--format", "json"], env=env, stdout=out,
                                stderr=subprocess.DEVNULL, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode not in (0, 1) or not text:
        raise SystemExit(f"check failed ({proc.returncode})")
    return elapsed, usage.ru_utime + usage.ru_stime, json.loads(text)


def paired(small, large, env, tree=None) -> dict:
    """One paired round (``--paired``): the CPU time of ``check LARGE``, the CPU times of the runs
    of ``check SMALL`` made meanwhile on the other core (at least one), and their ratio. ``tree``:
    by that code (``check_before``), else this one's."""
    import threading

    def cpu(folder) -> float:
        return (check(folder, env) if tree is None else check_before(folder, env, tree))[1]

    got: list = []
    worker = threading.Thread(target=lambda: got.append(cpu(large)))
    worker.start()
    smalls: list = []
    while worker.is_alive() or not smalls:
        smalls.append(cpu(small))
    worker.join()
    if not got:
        raise SystemExit("check failed")
    return {"large_cpu": got[0], "small_cpus": smalls, "cpu_ratio": got[0] / median(smalls)}


def check_before(folder, env, tree) -> tuple[float, float]:
    """Wall and CPU seconds of ``check FOLDER`` by the code of ``tree`` (common.tree_of), run from
    the benchmark's folder with that tree first on the path."""
    import os

    with open(os.devnull, "wb") as out:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "policy_dsl", "check", str(folder), "--format", "json"],
                                env={**env, "PYTHONPATH": str(tree)}, stdout=out, stderr=subprocess.DEVNULL,
                                cwd=work_dir())
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"check by {tree} failed ({os.waitstatus_to_exitcode(status)})")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="150,1500", help="numbers of clauses, comma-separated (smallest first)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--paired", type=int, default=0, metavar="P",
                    help="also P rounds with the smallest and the largest size at once, one on each core")
    ap.add_argument("--before", metavar="REV", help="also time REV's code (or a folder holding another tree) on the "
                    "same policy sets, in the same run (one round: the old code may be slow)")
    ap.add_argument("--json", help="also write the report here")
    args = ap.parse_args()
    env = environment()
    sets = [policy_set(int(n)) for n in args.sizes.split(",")]
    times = {clauses: [] for _, clauses, _ in sets}
    cpu = {clauses: [] for _, clauses, _ in sets}
    codes = {}
    regions = {}
    for _ in range(args.rounds):
        for folder, clauses, _ in sets:
            elapsed, used, data = check(folder, env)
            times[clauses].append(elapsed)
            cpu[clauses].append(used)
            codes[clauses] = sorted((d["code"], d["where"].rsplit("/", 1)[-1]) for d in data["diagnostics"]
                                    if "/prov-" not in d["where"] and "/city-" not in d["where"])  # file:line:col
    for folder, clauses, _ in sets:
        regions[clauses] = probe_regions(folder)
    base = min(times)
    rows = {}
    for folder, clauses, documents in sets:
        wall, used = median(times[clauses]), median(cpu[clauses])
        rows[clauses] = {"documents": documents, "probe_regions": regions[clauses], "wall_seconds": wall,
                         "cpu_seconds": used, "wall_runs": times[clauses], "cpu_runs": cpu[clauses],
                         "wall_ratio": wall / median(times[base]), "cpu_ratio": used / median(cpu[base]),
                         "linear_ratio": clauses / base}
        print(f"{clauses:6d} clauses ({documents} files, {regions[clauses]} probe regions): {wall:7.2f} s wall, "
              f"{used:7.2f} s CPU; ×{rows[clauses]['cpu_ratio']:.2f} CPU (×{rows[clauses]['wall_ratio']:.2f} wall) "
              f"of {base} clauses (linear: ×{clauses / base:.1f})")
    for folder, clauses, _ in sets:  # each round's own ratio (the sizes ran one after the other in it), and the
        # ratio of the fastest runs: the CPU time of a run moves with what the machine does besides, never below the work
        if clauses != base:
            rounds = [round(a / b, 2) for a, b in zip(cpu[clauses], cpu[base])]
            rows[clauses]["round_cpu_ratios"] = rounds
            rows[clauses]["fastest_cpu_ratio"] = min(cpu[clauses]) / min(cpu[base])
            print(f"{clauses:6d} clauses: each round's CPU ratio {', '.join(f'×{r}' for r in rounds)}; fastest runs "
                  f"×{rows[clauses]['fastest_cpu_ratio']:.2f}")
    same = len({json.dumps(c) for c in codes.values()}) == 1
    print("findings on the national documents the same at every size:", same)
    before = None
    if args.before:
        tree = tree_of(args.before)
        check_before(sets[0][0], env, tree)  # warm: its bytecode
        before = {"rev": args.before}
        for folder, clauses, _ in sets:
            wall, used = check_before(folder, env, tree)
            before[clauses] = {"wall_seconds": wall, "cpu_seconds": used}
        for folder, clauses, _ in sets:
            b = before[clauses]
            b["cpu_ratio"] = b["cpu_seconds"] / before[base]["cpu_seconds"]
            b["now_over_before_cpu"] = rows[clauses]["cpu_seconds"] / b["cpu_seconds"]
            print(f"before ({args.before}): {clauses:6d} clauses {b['wall_seconds']:7.2f} s wall, {b['cpu_seconds']:7.2f} s CPU; "
                  f"×{b['cpu_ratio']:.2f} CPU of {base} clauses; now takes ×{b['now_over_before_cpu']:.3f} of its CPU time")
    pairs = {}
    if args.paired:
        (small, low, _), (large, high, _) = sets[0], sets[-1]
        trees = {"now": None} | ({args.before: tree_of(args.before)} if args.before else {})
        for name, tree in trees.items():
            got = [paired(small, large, env, tree) for _ in range(args.paired)]
            ratios = [g["cpu_ratio"] for g in got]
            pairs[name] = {"rounds": got, "cpu_ratios": ratios, "median_cpu_ratio": median(ratios)}
            print(f"paired ({name}, {high} and {low} clauses at once): each round's CPU ratio "
                  f"{', '.join(f'×{r:.2f}' for r in ratios)}; median ×{median(ratios):.2f} "
                  f"({high} clauses {median([g['large_cpu'] for g in got]):.2f} s, {low} clauses "
                  f"{median([x for g in got for x in g['small_cpus']]):.2f} s, medians)")
    report("check_scale", {"sizes": rows, "same_findings": same, "before": before, "paired": pairs}, args.json)


def probe_regions(folder) -> int:
    from policy_dsl.analysis.passes import probe_regions as regions
    from policy_dsl.language.load import load_files, policy_files

    policy, _, _ = load_files(policy_files([folder]))
    return len(regions(policy))


if __name__ == "__main__":
    main()
