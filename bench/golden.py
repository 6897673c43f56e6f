"""Answers against golden answers made earlier: byte for byte, line by line.

    python bench/golden.py GOLDEN.jsonl NEW.jsonl [--ignore-added-nulls] [--refused CODE...] [--drop KEY...] [--show N]

Compares two JSON Lines files of answers (``eval CASES.jsonl --format json`` of two versions of
the tool on the same cases and policy files). With ``--ignore-added-nulls``, a key of the new
answer that the golden one does not have, and whose value is null, is dropped before the
comparison (an output the kinds table has gained since, which the old policy files never give);
the rest of the line must then be the golden line's bytes exactly (the new answer written again
as ``json.dumps(..., ensure_ascii=False)`` writes it). With ``--refused CODE``, a case the new
version refuses with that error code (a fact the kinds table now says cannot be true) is counted
apart, not as a difference. With ``--drop KEY``, that key of the new answer is dropped when the
golden one does not have it (a field every answer has gained since, e.g. ``policy_set``). Prints the counts and the first differing lines; exits 1 on any
other difference."""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("golden")
    ap.add_argument("new")
    ap.add_argument("--ignore-added-nulls", action="store_true")
    ap.add_argument("--refused", nargs="*", default=[], metavar="CODE")
    ap.add_argument("--drop", nargs="*", default=[], metavar="KEY")
    ap.add_argument("--show", type=int, default=3)
    args = ap.parse_args()
    n = same = dropped = 0
    refused: dict = {}
    shown = 0
    with open(args.golden, encoding="utf-8") as fg, open(args.new, encoding="utf-8") as fn:
        for g, m in zip(fg, fn, strict=True):
            n += 1
            if g == m:
                same += 1
                continue
            if args.refused and '"error": {"code": "' in m:
                code = json.loads(m)["error"]["code"]
                if code in args.refused and '"error"' not in g:
                    refused[code] = refused.get(code, 0) + 1
                    continue
            if args.ignore_added_nulls or args.drop:
                old, new = json.loads(g), json.loads(m)
                extra = [k for k in new if k not in old and (args.ignore_added_nulls and new[k] is None or k in args.drop)]
                for k in extra:
                    del new[k]
                if json.dumps(new, ensure_ascii=False) + "\n" == g:
                    same += 1
                    dropped += bool(extra)
                    continue
            if shown < args.show:
                shown += 1
                print(f"line {n} differs:\n  golden {g[:400]}\n  new    {m[:400]}")
    apart = sum(refused.values())
    print(f"{n:,} lines: {same:,} the same" + (f" ({dropped:,} once the added null keys are dropped)"
                                               if args.ignore_added_nulls else "")
          + "".join(f", {k:,} refused now with {c}" for c, k in refused.items()) + f", {n - same - apart:,} different")
    return 0 if same + apart == n else 1


if __name__ == "__main__":
    sys.exit(main())
