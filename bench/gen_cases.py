"""Generate N cases (all kinds, regions, dates, boundary values) as JSON Lines.

    python bench/gen_cases.py 100000 > /tmp/cases.jsonl

Deterministic for a given N and --seed. The cases come from policy_dsl.analysis.grid (boundary values),
spread over decision dates 2020-09 … 2026-06 and regions in and outside 山东."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys

from policy_dsl.analysis import grid
from policy_dsl.language.kinds import vocabulary
from policy_dsl.language.values import to_json

REGIONS = ["370100", "370102", "370200", "370400", "371300", "320100", "440100", "110105"]


def _json(v):
    if isinstance(v, list):
        return [{k: _json(x) for k, x in i.items()} for i in v]
    return to_json(v)


def generate(n: int, seed: int = 7):
    rng = random.Random(seed)
    kinds = list(vocabulary().kinds)
    start = dt.date(2020, 9, 1)
    span = (dt.date(2026, 6, 30) - start).days
    pools: dict = {}
    i = 0
    while i < n:
        kind = kinds[i % len(kinds)]
        region = REGIONS[rng.randrange(len(REGIONS))]
        day = start + dt.timedelta(days=rng.randrange(span))
        key = (kind, region, day.toordinal() // 30)
        if key not in pools:
            pools[key] = grid.facts_for(kind, day, region) or []
        options = pools[key]
        if not options:
            i += 1
            continue
        facts = options[rng.randrange(len(options))]
        yield {"id": i, "kind": kind, "region": region, **{k: _json(v) for k, v in facts.items()}}
        i += 1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    out = sys.stdout
    for case in generate(args.n, args.seed):
        out.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
