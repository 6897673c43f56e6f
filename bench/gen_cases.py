"""Generate N cases (all kinds, regions, dates, boundary values) as JSON Lines.

    python bench/gen_cases.py 100000 > /tmp/cases.jsonl
    python bench/gen_cases.py 100000 --policies my-policies/ > /tmp/cases.jsonl

Deterministic for a given N, --seed and policy set. The cases come from the policy set's probe
grid (policy_dsl.analysis.grid): its kinds, its regions, decision days spread over the years the
files span, and the fact values around the boundaries the files draw."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

from policy_dsl.analysis.grid import case_json, grid_of


def generate(n: int, seed: int = 7, policies: list[Path] | None = None):
    from policy_dsl.face.api import load_policy

    rng = random.Random(seed)
    policy = load_policy(policies)
    g = grid_of(policy)
    kinds = list(policy.vocab.kinds)
    regions = g.regions
    span = (g.last - g.first).days + 1
    pools: dict = {}
    i = 0
    while i < n:
        kind = kinds[i % len(kinds)]
        region = regions[rng.randrange(len(regions))]
        day = g.first + dt.timedelta(days=rng.randrange(span))
        key = (kind, region.code, day.toordinal() // 30)
        if key not in pools:
            pools[key] = g.facts(kind, region, day) if region.valid_on(day) else []
        options = pools[key]
        if not options:
            i += 1
            continue
        facts = options[rng.randrange(len(options))]
        # an optional fact at its absent value is left out (as a person writes the case)
        yield {"id": i, **{k: v for k, v in case_json(kind, region, facts).items() if v is not None}}
        i += 1


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--policies", type=Path, action="append", help="a policy folder (default: the shipped set)")
    args = p.parse_args()
    out = sys.stdout
    for case in generate(args.n, args.seed, args.policies):
        out.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
