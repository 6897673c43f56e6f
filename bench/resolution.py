"""Resolution: what ``applies`` answers for every day of a year in every pooling region.

    python bench/resolution.py [--quick] [--year Y] [--sample K] [--before REV] [--json OUT]

For each region of the registry (policy_dsl/data/regions.tsv) that is a pooling region or above
(the country, provinces, prefecture-level cities, county-level cities under a province), and each
district of a city jurisdiction, and each day of the year (a region not valid that day, e.g. one
abolished before, is skipped: ``applies`` refuses it), the data of ``policy-dsl
applies --date D --region R --format json`` is made in process (api.applies_data: what applies,
what displaces what where the conditions can hold together, what is pending) and serialised.
The baseline is the same computation as it was before this work, kept below (REFERENCE): every
clause's standing worked out for each question, every generated probe and every condition tried
through the expression closures; it runs on every K-th day (``--sample``, default 7) and must
give the same data. Medians per question and the ratio, from the same run; ``--quick`` takes
every 6th region and every 12th day.

``--before REV`` (or a folder holding another tree) also asks the same questions of REV's tree and
of this one, each in a process of its own (``python bench/resolution.py --worker`` with the tree
first on PYTHONPATH, run from the benchmark's folder), in alternating chunks of 100 so that the
machine's load hits both alike: every question is new to both (the one process of each keeps
what it learnt, as the service does). Wall clock and CPU time (``time.process_time``) per
question, medians and means, now/before, and whether every answer is the same text."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

from common import report


# -- REFERENCE: resolve.what_applies and conflicts.overlap_finder as they were -----------------
def reference_overlaps(policy, region, day, ev):
    from policy_dsl.analysis import grid
    from policy_dsl.analysis.conflicts import _case
    from policy_dsl.engine.evaluate import RANGE_ERRORS
    from policy_dsl.language.errors import PolicyDslError

    def overlaps(topic, clauses):
        pairs = set()
        for facts in grid.grid_of(policy).facts(topic, region, day):
            case = _case(topic, region, facts, day)
            try:
                env = ev.environment(case, None)
                holding = [c for c in clauses if ev.holds(c, env)]
            except (PolicyDslError,) + RANGE_ERRORS:
                continue
            for i, a in enumerate(holding):
                for b in holding[i + 1:]:
                    pairs.add(frozenset((a, b)))
        return pairs

    return overlaps


def reference_what_applies(policy, region, day, topics, overlaps):
    from policy_dsl.language.kinds import vocabulary
    from policy_dsl.engine.resolve import beats, claimed_outputs, order, standings

    vocab = vocabulary()
    out = {}
    for topic in topics:
        sts = standings(policy, topic, region, day)
        in_force = order([s.clause for s in sts if s.state == "in_force"])
        pending = sorted((s for s in sts if s.state == "pending"), key=lambda s: (s.start, -s.clause.doc.rank))
        outputs = vocab.kinds[topic].outputs
        together = overlaps(topic, in_force)
        rows = []
        for c in in_force:
            claims = claimed_outputs(c, outputs)
            displaces = []
            for other in in_force:
                reason = beats(c, other) if other is not c else None
                if not reason or not claims & claimed_outputs(other, outputs):
                    continue
                if frozenset((c, other)) not in together:
                    continue
                displaces.append((other, reason))
            rows.append({"clause": c, "start": c.local_start(region), "until": c.in_force.until, "displaces": displaces})
        out[topic] = {"in_force": rows, "pending": [{"clause": s.clause, "start": s.start} for s in pending]}
    return out


def reference_data(policy, region, day, topics, ev):
    from policy_dsl.face.api import applies_json

    found = reference_what_applies(policy, region, day, topics, reference_overlaps(policy, region, day, ev))
    return applies_json(found, region, day)


def worker() -> None:
    """Answers chunks of questions read from stdin (a JSON list of [region code, ISO day] a line),
    one JSON line each: the wall and CPU seconds of each question, and a digest of the answers."""
    import hashlib
    import sys

    from policy_dsl.face.api import applies_data, evaluator_for, load_policy
    from policy_dsl.language.regions import default_registry

    policy = load_policy()
    evaluator = evaluator_for(policy)
    topics = list(policy.vocab.kinds)
    registry = default_registry()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        walls, cpus, digest = [], [], hashlib.sha256()
        for code, iso in json.loads(line):
            region, day = registry.get(code), dt.date.fromisoformat(iso)
            t, c = time.perf_counter(), time.process_time()
            text = json.dumps(applies_data(policy, region, day, topics, "zh", evaluator), ensure_ascii=False, indent=2)
            cpus.append(time.process_time() - c)
            walls.append(time.perf_counter() - t)
            digest.update(text.encode() + b"\0")
        print(json.dumps({"wall": walls, "cpu": cpus, "digest": digest.hexdigest()}), flush=True)


def before_after(questions: list, before: str) -> dict:
    """The same questions asked of REV's tree and of this one, in alternating chunks (module docstring)."""
    import subprocess
    import sys

    from common import REPO, environment, tree_of, work_dir

    env = environment()
    procs = {}
    for label, tree in (("before", tree_of(before)), ("now", REPO)):
        procs[label] = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"], cwd=work_dir(),
                                        env={**env, "PYTHONPATH": str(tree)}, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        if json.loads(procs[label].stdout.readline()).get("ready") is not True:
            raise SystemExit(f"the {label} worker did not start")
    got = {label: {"wall": [], "cpu": [], "digests": []} for label in procs}
    for k in range(0, len(questions), 100):
        chunk = json.dumps([[r.code, d.isoformat()] for r, d in questions[k:k + 100]])
        for label in (("before", "now") if (k // 100) % 2 == 0 else ("now", "before")):
            procs[label].stdin.write(chunk + "\n")
            procs[label].stdin.flush()
            answer = json.loads(procs[label].stdout.readline())
            got[label]["wall"] += answer["wall"]
            got[label]["cpu"] += answer["cpu"]
            got[label]["digests"].append(answer["digest"])
    for proc in procs.values():
        proc.stdin.close()
        proc.wait(30)
    out = {"before": before, "questions": len(questions),
           "same_answers": got["before"]["digests"] == got["now"]["digests"]}
    for label, g in got.items():
        out[label] = {f"{what}_{stat}": f(g[what]) for what in ("wall", "cpu")
                      for stat, f in (("median_s", statistics.median), ("mean_s", statistics.mean),
                                      ("p99_s", lambda xs: sorted(xs)[int(len(xs) * 0.99)]))}
    out["now_over_before"] = {k: out["now"][k] / out["before"][k] for k in out["now"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--sample", type=int, default=7, help="the reference runs on every K-th day")
    ap.add_argument("--before", metavar="REV", help="also ask the same questions of REV's tree and this one")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    if args.worker:
        return worker()

    from policy_dsl.face.api import load_policy
    from policy_dsl.face.api import applies_data
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.language.kinds import vocabulary
    from policy_dsl.language.regions import default_registry

    policy = load_policy()
    topics = list(vocabulary().kinds)
    # every pooling region and above, and the districts of the city jurisdictions (their cities'
    # answers, through the district)
    cities = {d.jurisdiction for d in policy.documents if d.level == "city"}
    regions = [r for r in default_registry().latest()
               if r.level != "district" or r.city is r or any(r.within(c) for c in cities)]
    step = 1
    if args.quick:
        regions, step = regions[::6], 12
    first = dt.date(args.year, 1, 1)
    days = [first + dt.timedelta(days=i) for i in range(0, (dt.date(args.year + 1, 1, 1) - first).days, step)]
    ev = Evaluator(policy)  # one for the run: its plans serve every question
    ref_ev = Evaluator(policy)
    times, ref_times, skipped, checked = [], [], 0, 0
    total = time.perf_counter()
    for region in regions:
        for k, day in enumerate(days):
            if not region.valid_on(day):
                skipped += 1
                continue
            t = time.perf_counter()
            text = json.dumps(applies_data(policy, region, day, topics, "zh", ev), ensure_ascii=False, indent=2)
            times.append(time.perf_counter() - t)
            if k % args.sample == 0:
                t = time.perf_counter()
                ref = json.dumps(reference_data(policy, region, day, topics, ref_ev), ensure_ascii=False, indent=2)
                ref_times.append(time.perf_counter() - t)
                if ref != text:
                    raise SystemExit(f"different answers for {region.code} on {day}")
                checked += 1
    total = time.perf_counter() - total
    med, ref_med = statistics.median(times), statistics.median(ref_times)
    print(f"resolution: {len(regions)} regions × {len(days)} days = {len(times):,} questions "
          f"({skipped:,} region-days skipped: the region did not exist), {sum(times):.1f} s in all")
    print(f"  applies, in process: median {med * 1000:.2f} ms, mean {statistics.mean(times) * 1000:.2f} ms per question")
    print(f"  reference (before):  median {ref_med * 1000:.2f} ms, mean {statistics.mean(ref_times) * 1000:.2f} ms "
          f"per question, on {checked:,} of them (every {args.sample}th day), the same answers")
    print(f"  ratio: {ref_med / med:.1f}x faster (medians)")
    compared = None
    if args.before:
        asked = [(r, d) for r in regions for d in days if r.valid_on(d)]
        compared = before_after(asked, args.before)
        for label in ("before", "now"):
            x = compared[label]
            print(f"  {label + (f' ({args.before})' if label == 'before' else ''):>14}: CPU median {x['cpu_median_s'] * 1000:.2f} ms, "
                  f"mean {x['cpu_mean_s'] * 1000:.2f} ms, p99 {x['cpu_p99_s'] * 1000:.2f} ms; wall median "
                  f"{x['wall_median_s'] * 1000:.2f} ms, mean {x['wall_mean_s'] * 1000:.2f} ms per question")
        r = compared["now_over_before"]
        print(f"  now/before: CPU median {r['cpu_median_s']:.3f}, mean {r['cpu_mean_s']:.3f}; wall median "
              f"{r['wall_median_s']:.3f}, mean {r['wall_mean_s']:.3f} ({compared['questions']:,} questions, each new to "
              f"both; answers {'the same' if compared['same_answers'] else 'DIFFERENT'})")
        if not compared["same_answers"]:
            raise SystemExit("now and before give different answers")
    report("resolution", {"year": args.year, "regions": len(regions), "days": len(days), "questions": len(times),
                          "skipped": skipped, "seconds_all": sum(times), "median_s": med,
                          "mean_s": statistics.mean(times), "reference_median_s": ref_med,
                          "reference_mean_s": statistics.mean(ref_times), "reference_checked": checked,
                          "speedup_medians": ref_med / med, "wall_s": total, "before_after": compared}, args.json)


if __name__ == "__main__":
    main()
