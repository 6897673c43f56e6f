"""``policy-dsl check --coverage``: what the policy files decide, topic × region × year.

Every cell is computed from the policy files through the evaluator, on the probe grid of the
policy set (``policy_dsl.analysis.grid``): a row per region of the grid (its districts aside: they
are probed by the other checks), a column per year the files span, and in each year the kind's
decision days that begin a new standing of its clauses or a new calendar phase. Never written by
hand:

- ``decided``: every generated case is decided by a clause (a rejected case counts: a clause says
  it is invalid);
- ``delegated``: every case is answered, and some by a clause that leaves the decision to a level
  whose rule is not encoded;
- ``partly``: some cases are answered, others get no rule (nothing in force, or only pending);
- ``pending``: nothing answers, but a clause that would is issued and not yet in force;
- ``none``: no clause in force or pending decides any case.

The gaps become findings: W-GAP (topic × region × date range with cases nothing in force
decides, located at the kind in the kinds table) and W-DELEGATION-UNFILLED (a delegation no lower
clause fills, located at the delegating clause)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter

from policy_dsl.analysis import passes as analysis
from policy_dsl.language.errors import Diagnostic
from policy_dsl.language.model import PolicySet
from policy_dsl.analysis import grid as probe_grid
from policy_dsl.language.messages import N_, join, say, t, words

STATUSES = ("decided", "delegated", "partly", "pending", "none")
_WORDS_IDS = {  # key -> message id (the words are in the catalog)
    "decided": N_("coverage.status.decided"),
    "delegated": N_("coverage.status.delegated"),
    "partly": N_("coverage.status.partly"),
    "pending": N_("coverage.status.pending"),
    "none": N_("coverage.status.none"),
}
WORDS = words(_WORDS_IDS)


def cell_status(counts: Counter) -> str:
    seen = {s for s, n in counts.items() if n and s != "error"}
    if not seen:
        return "none"
    if seen == {"decided"}:
        return "decided"
    if seen <= {"decided", "delegated"}:
        return "delegated"
    if seen <= {"pending", "none"}:
        return "pending" if "pending" in seen else "none"
    return "partly"


def matrix_regions(policy: PolicySet) -> list:
    """The regions of the matrix: the grid's, its districts aside."""
    g = probe_grid.grid_of(policy)
    return [r for r in g.regions if g.roles[r.code] != "district"]


def _days_by_year(policy: PolicySet, topic: str, region) -> dict[int, list[dt.date]]:
    g = probe_grid.grid_of(policy)
    days = g.days(topic)
    return {y: g.sample_days(topic, region, [d for d in days if d.year == y]) for y in g.years}


def matrix(policy: PolicySet) -> dict:
    """The coverage matrix as data (``--format json``) with, per cell, the counts of each status
    over the generated cases and the status from each sampled day on."""
    regs = matrix_regions(policy)
    g = probe_grid.grid_of(policy)
    data = {"regions": [{**r.to_json(), "role": g.roles[r.code]} for r in regs], "years": list(g.years),
            "statuses": list(STATUSES), "topics": {},
            "labels": {name: {"zh": k.zh, "en": k.en} for name, k in policy.vocab.kinds.items()}}
    for topic in policy.vocab.kinds:
        rows = {}
        for region in regs:
            cells = {}
            for year, days in _days_by_year(policy, topic, region).items():
                total: Counter = Counter()
                segments = []
                for day in days:
                    counts = Counter(p.status for p in analysis.probes(policy, topic, region, day))
                    total += counts
                    status = cell_status(counts)
                    if not segments or segments[-1]["status"] != status:
                        segments.append({"from": day.isoformat(), "status": status})
                cells[str(year)] = {"status": cell_status(total), "counts": dict(sorted(total.items())),
                                    "segments": segments}
            rows[region.code] = cells
        data["topics"][topic] = rows
    return data


def findings(policy: PolicySet) -> list[Diagnostic]:
    """W-GAP for each topic × region × date range in which some generated case is decided by no
    clause (and none pending); W-DELEGATION-UNFILLED for each delegating clause that governs
    some generated case (no lower clause fills the delegation there)."""
    out: list[Diagnostic] = []
    unfilled: dict = {}
    end_of_range = probe_grid.grid_of(policy).last
    regs = matrix_regions(policy)
    for topic in policy.vocab.kinds:
        if not policy.by_topic.get(topic):
            out.append(Diagnostic("W-GAP", t("coverage.no_clause", topic=topic),
                                  analysis.kind_where(topic, None, policy.vocab), t("coverage.no_clause.hint"),
                                  severity="warning"))
            continue
        for region in regs:
            days = [d for ds in _days_by_year(policy, topic, region).values() for d in ds]
            runs = []  # [start, end, none, total, example]
            for i, day in enumerate(days):
                ps = analysis.probes(policy, topic, region, day)
                for p in ps:
                    if p.status == "delegated" and p.top is not None:
                        unfilled.setdefault(p.top, []).append(p)
                none = [p for p in ps if p.status == "none"]
                until = days[i + 1] - dt.timedelta(days=1) if i + 1 < len(days) else end_of_range
                if none:
                    if runs and runs[-1][1] == day - dt.timedelta(days=1):
                        runs[-1][1] = until
                        runs[-1][2] += len(none)
                        runs[-1][3] += len(ps)
                    else:
                        runs.append([day, until, len(none), len(ps), none[0]])
            for start, until, n, total, example in runs:
                what = (t("coverage.nothing_in_force") if n == total
                        else t("coverage.undecided", count=n, total=total))
                out.append(Diagnostic(
                    "W-GAP", t("coverage.gap", topic=topic, region=region.name, code=region.code, start=start.isoformat(),
                               until=until.isoformat(), what=what, example=example.example_text(),
                               day=example.day.isoformat()),
                    analysis.kind_where(topic, None, policy.vocab), t("coverage.gap.hint"),
                    severity="warning"))
    order = {c: i for i, c in enumerate(c for d in policy.documents for c in d.clauses)}
    for clause in sorted(unfilled, key=lambda c: order.get(c, 0)):
        ps = unfilled[clause]
        where = []
        for region in regs:
            years = sorted({p.day.year for p in ps if p.region.code == region.code})
            if years:
                span = str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"
                where.append(f"{region.name} {span}")
        eff = clause.effective()
        out.append(Diagnostic(
            "W-DELEGATION-UNFILLED",
            t("coverage.unfilled", citation=clause.citation, ref=clause.ref, to=eff.delegate_to, count=len(ps),
              where=join(where), example=ps[0].example_text(), day=ps[0].day.isoformat()),
            clause.where, t("coverage.unfilled.hint"),
            severity="warning"))
    return out


# -- text -----------------------------------------------------------------------------------
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render(data: dict, lang: str = "en") -> str:
    """The matrix as a plain-text table: a row per topic and region, a column per year; a cell
    whose status changes during the year is followed by the changes, e.g. ``partly*``."""
    words = WORDS.get(lang, WORDS["en"])
    years = [str(y) for y in data["years"]]
    header = [say(lang, "coverage.topic"), say(lang, "coverage.region"), *years]
    rows = []
    changes = []
    for topic, by_region in data["topics"].items():
        label = topic if lang == "en" else f"{topic} {data['labels'][topic]['zh']}"
        for i, region in enumerate(data["regions"]):
            cells = by_region[region["code"]]
            row = [label if i == 0 else "", f"{region['name']} {region['code']}"]
            for y in years:
                cell = cells[y]
                text = words[cell["status"]]
                if len(cell["segments"]) > 1:
                    text += "*"
                    steps = " → ".join(f"{words[s['status']]} {s['from'][5:]}" for s in cell["segments"])
                    changes.append(f"  {topic} {region['name']} {y}: {steps}")
                row.append(text)
            rows.append(row)
    widths = [max(_width(r[i]) for r in [header, *rows]) + 2 for i in range(len(header))]
    lines = [say(lang, "coverage.title")]
    lines.append("".join(_pad(h, w) for h, w in zip(header, widths)).rstrip())
    lines += ["".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append(say(lang, "coverage.legend"))
    if changes:
        lines.append("* " + say(lang, "coverage.changes"))
        lines += changes
    return "\n".join(lines) + "\n"
