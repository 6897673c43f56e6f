"""The region registry in process: what one command pays to resolve its region, and what the
search index and the whole registry cost the first time (a service pays it once).

    python bench/regions.py [--rounds N] [--json OUT]

Each figure is the median over N fresh registries (the file read anew each round, as a new
process would; the module imported once): opening it, resolving a code, a name, a name after its
city, pinyin, an ambiguous name and an abolished code (the errors), reading every record, the
first ``search`` (it builds the index) and a later one."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from common import machine, median, report

DAY = dt.date(2022, 4, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()

    from policy_dsl.language import resources
    from policy_dsl.language.errors import InputError
    from policy_dsl.language.regions import load_registry

    path = resources.data_path("regions.tsv")

    def refused(reg, text, day):
        try:
            reg.resolve(text, day)
        except InputError:
            return
        raise SystemExit(f"{text} on {day} was not refused")

    steps = {
        "open the registry": None,
        "resolve 370100": lambda reg: reg.resolve("370100", DAY),
        "resolve 济南": lambda reg: reg.resolve("济南", DAY),
        "resolve 济南市历下区": lambda reg: reg.resolve("济南市历下区", DAY),
        "resolve jinan": lambda reg: reg.resolve("jinan", DAY),
        "resolve 市中区 (ambiguous)": lambda reg: refused(reg, "市中区", DAY),
        "resolve 371200 in 2019 (abolished)": lambda reg: refused(reg, "371200", dt.date(2019, 6, 1)),
        "read every record": lambda reg: reg.all(),
        "first search 济南历 (builds the index)": lambda reg: reg.search("济南历", on=DAY),
        "later search jin": lambda reg: reg.search("jin", on=DAY),
    }
    times: dict = {k: [] for k in steps}
    for _ in range(args.rounds):
        t = time.perf_counter()
        reg = load_registry(path)
        times["open the registry"].append(time.perf_counter() - t)
        for name, step in steps.items():
            if step is not None:
                t = time.perf_counter()
                step(reg)
                times[name].append(time.perf_counter() - t)
    print(f"region registry — {machine()['cpu']}, Python {machine()['python']}; {args.rounds} rounds, medians; "
          f"{len(reg.all()):,} records, {path.stat().st_size:,} bytes")
    for name, xs in times.items():
        print(f"{name:38} {median(xs) * 1000:9.3f} ms")
    report("regions", {"rounds": args.rounds, "records": len(reg.all()), "bytes": path.stat().st_size,
                       "median_ms": {k: median(v) * 1000 for k, v in times.items()}}, args.json)


if __name__ == "__main__":
    main()
