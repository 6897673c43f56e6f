"""Which answers a revision of the policy files changes, and whether each change is one it meant.

    python scripts/revision_impact.py                       # the second reading: OLD = e8866b8, NEW = the checkout
    python scripts/revision_impact.py --old REV [--new DIR]  # any revision (or folder) against another
    python scripts/revision_impact.py --json                # the figures and the lists as JSON

The population is every case of the shipped policy tests, old and new (``policies/tests/*.yaml``
at OLD and in NEW; a case in both is asked once, under its new name). Three runs, all through the
command line as a user runs them:

1. ``policy-dsl impact OLD NEW --cases ALL``: every case answered under both sets exactly as
   ``eval`` answers it; the changed answers, grouped by the clause that gives each changed field.
   A change is *explained* when a clause the revision changed (added, removed or edited, as
   ``policy-dsl diff OLD NEW --structural-only`` lists them, an adopted clause included) governs
   the old or the new answer; any other change is *unexplained*.
2. ``policy-dsl test OLD-TESTS`` under NEW: the old suite's failures are the answers the first
   edition asserted and the revision changed. Each must be asserted anew by the new suite (a test
   of the same case with a different expectation): the revision *meant* it. One that is not is
   *unintended*.
3. ``policy-dsl test NEW-TESTS`` under OLD: the new suite's failures are the new boundaries (what
   the first edition answered otherwise, or not at all).

Exit 0 when every change is explained and none is unintended, else 1. docs/changelog.md records
the figures of this command."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
OLD = "e8866b8"  # main before the second reading landed: the first edition's policies/


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policy_dsl", *args], cwd=REPO, capture_output=True, text=True)


def test_files(source: str | None) -> dict:
    """File name -> text of the policy tests of a policy set (a git revision, a folder, or None:
    the checkout's policies/)."""
    if source is None or Path(source).is_dir():
        root = (Path(source) if source else REPO / "policies") / "tests"
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(root.glob("*.yaml"))}
    names = [n for n in _git("ls-tree", "--name-only", source, "policies/tests/").split() if n.endswith(".yaml")]
    return {n.rsplit("/", 1)[-1]: _git("show", f"{source}:{n}") for n in names}


def _tests(files: dict) -> dict:
    return {(f, t["name"]): t for f, text in files.items() for t in yaml.safe_load(text).get("tests") or ()}


def _key(case: dict) -> str:
    return json.dumps(case, ensure_ascii=False, sort_keys=True, default=str)


def _set_args(source: str | None) -> list[str]:
    """How the test command is told which policy set answers."""
    if source is None:
        return []
    return ["--policies", source] if Path(source).is_dir() else ["--rev", source]


def _failures(files: dict, source: str | None, tmp: Path) -> list[str]:
    """The names of the tests among ``files`` that fail under the policy set ``source``."""
    folder = tmp / f"tests-{len(list(tmp.iterdir()))}"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    run = _cli("test", str(folder), *_set_args(source), "--format", "json")
    return [f["name"] for f in json.loads(run.stdout)["failures"]]


def _rules(answer: dict) -> set:
    out = set()
    for g in answer.get("governing") or ():
        out.add(g.get("rule"))
        if g.get("adopts"):
            out.add(g["adopts"].get("rule"))
    return out


def _field_rule(answer: dict, field: str):
    for g in answer.get("governing") or ():
        if field in (g.get("outputs") or ()):
            return g.get("rule")
    governing = answer.get("governing") or ()
    return governing[0]["rule"] if governing else None


def run(old_src: str, new_src: str | None) -> dict:
    old_files, new_files = test_files(old_src), test_files(new_src)
    old_tests, new_tests = _tests(old_files), _tests(new_files)
    cases: dict = {}
    for (f, name), t in list(new_tests.items()) + list(old_tests.items()):
        cases.setdefault(_key(t["case"]), {"id": f"{f}::{name}", **t["case"]})
    new_by_case = defaultdict(list)
    for t in new_tests.values():
        new_by_case[_key(t["case"])].append(t.get("expect"))
    new_args = [new_src] if new_src else []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "cases.jsonl"
        path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases.values()), encoding="utf-8")
        impact = _cli("impact", old_src, *new_args, "--cases", str(path), "--out", str(tmp / "out"), "--format", "json")
        if impact.returncode not in (0, 2):  # 2: some cases are input errors (under both sets)
            raise SystemExit(impact.stderr)
        summary = json.loads(impact.stdout)
        changed = [json.loads(line) for line in (tmp / "out" / "changed.jsonl").read_text(encoding="utf-8").splitlines()]
        old_failing = _failures(old_files, new_src, tmp)  # the old suite under the new set
        new_failing = _failures(new_files, old_src, tmp)  # the new suite under the old set
    diff = _cli("diff", old_src, *new_args, "--structural-only", "--format", "json")
    structural = json.loads(diff.stdout)["structural"]
    touched = {c["clause"] for c in structural if c.get("clause")}

    by_clause: dict = defaultdict(lambda: {"cases": set(), "fields": Counter()})
    unexplained = []
    for c in changed:
        o, n = c["old"], c["new"]
        explained = bool((_rules(o) | _rules(n)) & touched)
        for field in c["changed"]:
            rule = _field_rule(n, field) or _field_rule(o, field) or "(none)"
            by_clause[rule]["cases"].add(c["id"])
            by_clause[rule]["fields"][field] += 1
        if not explained:
            unexplained.append({"id": c["id"], "fields": c["changed"]})
    by_name = {name: t for (_, name), t in old_tests.items()}
    meant, unintended = [], []
    for name in old_failing:
        t = by_name[name]
        restated = [e for e in new_by_case.get(_key(t["case"]), ()) if e != t.get("expect")]
        (meant if restated else unintended).append(name)
    return {
        "old": old_src, "new": new_src or "checkout",
        "cases": summary["cases"], "changed": summary["changed"], "bad": summary["bad"],
        "old_suite": len(old_tests), "new_suite": len(new_tests),
        "clauses_changed": len(touched), "structural_changes": len(structural),
        "old_tests_failing_under_new": len(old_failing), "meant": meant, "unintended": unintended,
        "new_tests_failing_under_old": len(new_failing),
        "by_clause": {r: {"cases": len(v["cases"]), "fields": dict(sorted(v["fields"].items()))}
                      for r, v in sorted(by_clause.items(), key=lambda x: (-len(x[1]["cases"]), x[0]))},
        "unexplained": unexplained,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default=OLD, help=f"the old policy set: a git revision or a folder (default {OLD})")
    ap.add_argument("--new", default=None, help="the new policy set: a folder (default: the checkout's policies/)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    r = run(args.old, args.new)
    if args.json:
        print(json.dumps(r, ensure_ascii=False, indent=2))
        return 1 if r["unexplained"] or r["unintended"] else 0
    print(f"{r['old']} → {r['new']}: {r['cases']} cases (old suite {r['old_suite']} tests, new suite {r['new_suite']}); "
          f"{r['changed']} answers changed; input errors old {r['bad']['old']}, new {r['bad']['new']}; "
          f"{r['structural_changes']} structural changes touching {r['clauses_changed']} clauses")
    print(f"old suite under the new set: {r['old_tests_failing_under_new']} tests fail, "
          f"{len(r['meant'])} of them asserted anew by the new suite (meant), {len(r['unintended'])} not (unintended)")
    for name in r["unintended"]:
        print(f"  UNINTENDED {name}")
    print(f"new suite under the old set: {r['new_tests_failing_under_old']} tests fail (the new boundaries)")
    print(f"changed answers explained by a changed clause: {r['changed'] - len(r['unexplained'])} of {r['changed']}")
    for u in r["unexplained"]:
        print(f"  UNEXPLAINED {u['id']}: {', '.join(u['fields'])}")
    print("changed answers by the clause that gives each changed field (cases: fields):")
    for rule, v in r["by_clause"].items():
        print(f"  {rule}: {v['cases']}: " + ", ".join(f"{f} {n}" for f, n in v["fields"].items()))
    return 1 if r["unexplained"] or r["unintended"] else 0


if __name__ == "__main__":
    sys.exit(main())
