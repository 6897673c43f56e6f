"""The impact of a change on a population: two JSON answers of each case (under the old policy
set and the new) compared, and the differences counted by region, kind, deciding clause and
output — "benefit_start later by 1 month: 12,034 people" — with examples.

An answer changes when its status (or error code), an output of its kind, its bounds or its
deciding clauses (the rule ids of ``governing``) differ; notes, pending and displaced clauses are
explanations and are not compared. A date that moves is also counted by how far it moves (whole
months when the day of the month stays, else days). Everything here works on answers as data
(``eval --format json``); face/impact.py answers the cases, and ``impact_page`` draws the HTML."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter

from policy_dsl.language.messages import N_, words

EXAMPLES = 20  # examples kept (the first of each of the largest groups, then the first changes)

# Every user-facing word of this module, in one place (the message catalogue takes them from here).
_WORDS_IDS = {  # key -> message id (the words are in the catalog)
    "title": N_("impact.page.title"),
    "cases": N_("impact.page.cases"),
    "changed": N_("impact.page.changed"),
    "people": N_("impact.page.people"),
    "later": N_("impact.page.later"),
    "earlier": N_("impact.page.earlier"),
    "month": N_("impact.page.month"),
    "day": N_("impact.page.day"),
    "was": N_("impact.page.was"),
    "now": N_("impact.page.now"),
    "none": N_("impact.page.none"),
    "status": N_("impact.page.status"),
    "bounds": N_("impact.page.bounds"),
    "governing": N_("impact.page.governing"),
    "error": N_("impact.page.error"),
    "by_region": N_("impact.page.by_region"),
    "by_kind": N_("impact.page.by_kind"),
    "by_field": N_("impact.page.by_field"),
    "by_rule": N_("impact.page.by_rule"),
    "groups": N_("impact.page.groups"),
    "examples": N_("impact.page.examples"),
    "row": N_("impact.page.row"),
    "id": N_("impact.page.id"),
    "old": N_("impact.page.old"),
    "new": N_("impact.page.new"),
    "rows_file": N_("impact.page.rows_file"),
    "bad": N_("impact.page.bad"),
    "nothing": N_("impact.page.nothing"),
    "summary": N_("impact.page.summary"),
    "count": N_("impact.page.count"),
    "change": N_("impact.page.change"),
    "region": N_("impact.page.region"),
    "kind": N_("impact.page.kind"),
    "rule": N_("impact.page.rule"),
    "field": N_("impact.page.field"),
    "policy": N_("impact.page.policy"),
}
WORDS = words(_WORDS_IDS)


def _status(answer: dict):
    if "error" in answer:
        return "error " + answer["error"]["code"]
    return answer["status"]


def _rule(answer: dict, field: str):
    """The rule id of the clause that decided ``field`` (the first governing clause for the
    answer as a whole), or None."""
    governing = answer.get("governing") or []
    if field in ("status", "bounds", "governing"):
        return governing[0]["rule"] if governing else None
    for g in governing:
        if field in (g.get("outputs") or ()):
            return g["rule"]
    return None


def compare(old: dict, new: dict, outputs) -> list[tuple]:
    """The differences between two answers of one case: (field, old value, new value, old rule,
    new rule) for the status, each output of ``outputs`` (the kind's), the bounds and the
    deciding clauses; empty when the answer is the same."""
    out = []
    so, sn = _status(old), _status(new)
    if so != sn:
        out.append(("status", so, sn, _rule(old, "status"), _rule(new, "status")))
    if "error" in old or "error" in new:
        return out
    for name in outputs:
        a, b = old.get(name), new.get(name)
        if a != b:
            out.append((name, a, b, _rule(old, name), _rule(new, name)))
    if old.get("bounds") != new.get("bounds"):
        out.append(("bounds", old.get("bounds"), new.get("bounds"), _rule(old, "bounds"), _rule(new, "bounds")))
    ro = [g["rule"] for g in old.get("governing") or ()]
    rn = [g["rule"] for g in new.get("governing") or ()]
    if ro != rn:
        out.append(("governing", ro, rn, ro[0] if ro else None, rn[0] if rn else None))
    return out


def shift(a, b) -> dict | None:
    """How far a date moved: ``{"months": n}`` when the day of the month stays, else
    ``{"days": n}``; None unless both are dates."""
    try:
        da, db = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    except (TypeError, ValueError):
        return None
    if da.day == db.day:
        return {"months": (db.year - da.year) * 12 + db.month - da.month}
    return {"days": (db - da).days}


def _key(value):
    """A value as a dictionary key (lists and mappings as JSON text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (list, dict)) else value


class Tally:
    """The counts of an impact, added to a changed case at a time (``add``)."""

    def __init__(self):
        self.cases = 0
        self.changed = 0
        self.bad = {"old": 0, "new": 0}
        self.groups: Counter = Counter()  # (region, kind, rule, old rule, field, old, new) -> people
        self.shifts: Counter = Counter()  # (region, kind, rule, field, unit, n) -> people
        self.regions: Counter = Counter()
        self.kinds: Counter = Counter()
        self.fields: Counter = Counter()
        self.rules: Counter = Counter()
        self.values: dict = {}  # _key(value) -> value, for the groups' old and new values
        self.clauses: dict = {}  # rule id -> "文号 › 条款"
        self.examples: list = []
        self._example_groups: set = set()

    def add(self, record: dict) -> None:
        """A changed case: ``{"row", "id", "kind", "region", "decision_date", "changes": [(field,
        old, new, old rule, new rule)...], "old": answer, "new": answer}``."""
        self.changed += 1
        region, kind = record["region"], record["kind"]
        self.regions[region] += 1
        self.kinds[kind] += 1
        for answer in (record["old"], record["new"]):
            for g in answer.get("governing") or ():
                self.clauses.setdefault(g["rule"], f"{g['document']} › {g['article']}")
        rules = set()
        fresh = False
        for field, a, b, ra, rb in record["changes"]:
            rule = rb or ra
            rules.add(rule)
            self.fields[field] += 1
            ka, kb = _key(a), _key(b)
            self.values.setdefault(ka, a)
            self.values.setdefault(kb, b)
            group = (region, kind, rule, ra if ra != rule else None, field, ka, kb)
            self.groups[group] += 1
            moved = shift(a, b)
            if moved:
                (unit, n), = moved.items()
                self.shifts[(region, kind, rule, field, unit, n)] += 1
            if group not in self._example_groups and len(self._example_groups) < EXAMPLES:
                self._example_groups.add(group)
                fresh = True
        for rule in rules:
            self.rules[rule] += 1
        if fresh and len(self.examples) < EXAMPLES:
            self.examples.append(_example(record))

    def to_json(self) -> dict:
        """The JSON of ``impact --format json`` (docs/population.md: cases, changed, groups, examples)."""
        groups = []
        for (region, kind, rule, old_rule, field, ka, kb), n in self.groups.most_common():
            g = {"region": region, "kind": kind, "rule": rule, "field": field, "old": self.values[ka],
                 "new": self.values[kb], "count": n}
            if old_rule:
                g["old_rule"] = old_rule
            groups.append(g)
        shifts = [{"region": region, "kind": kind, "rule": rule, "field": field, "shift": {unit: n}, "count": c}
                  for (region, kind, rule, field, unit, n), c in self.shifts.most_common()]
        return {"cases": self.cases, "changed": self.changed, "bad": dict(self.bad), "groups": groups,
                "shifts": shifts,
                "by_region": [{"region": r, "count": n} for r, n in self.regions.most_common()],
                "by_kind": [{"kind": k, "count": n} for k, n in self.kinds.most_common()],
                "by_field": [{"field": f, "count": n} for f, n in self.fields.most_common()],
                "by_rule": [{"rule": r, "clause": self.clauses.get(r), "count": n} for r, n in self.rules.most_common()],
                "examples": self.examples}


def _example(record: dict) -> dict:
    return {"row": record["row"], "id": record["id"], "kind": record["kind"], "region": record["region"],
            "decision_date": record["decision_date"],
            "changes": [{"field": f, "old": a, "new": b, "old_rule": ra, "new_rule": rb}
                        for f, a, b, ra, rb in record["changes"]]}


# -- words -------------------------------------------------------------------------------------


def field_label(field: str, lang: str) -> str:
    from policy_dsl.language.kinds import vocabulary

    spec = vocabulary().outputs.get(field)
    if spec is not None:
        return spec.get(lang) or spec.get("zh") or field
    return WORDS[lang].get(field, field)


def kind_label(kind: str, lang: str) -> str:
    from policy_dsl.language.kinds import vocabulary

    k = vocabulary().kinds.get(kind)
    return (k.zh if lang == "zh" else k.en) if k else kind


def region_label(code: str) -> str:
    from policy_dsl.language.regions import default_registry

    region = default_registry().by_code.get(code)
    return region.name if region is not None else code


def value_text(value, lang: str) -> str:
    if value is None:
        return WORDS[lang]["none"]
    if value is True:
        return "是" if lang == "zh" else "true"
    if value is False:
        return "否" if lang == "zh" else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def shift_text(shift_: dict, lang: str) -> str:
    """``later by 1 month`` / ``推迟 1 个月``."""
    w = WORDS[lang]
    (unit, n), = shift_.items()
    word = w["later"] if n > 0 else w["earlier"]
    n = abs(n)
    if lang == "zh":
        return f"{word} {n} {w['month'] if unit == 'months' else w['day']}"
    return f"{word} {n} {w['month'] if unit == 'months' else w['day']}{'s' if n != 1 else ''}"


def change_text(field: str, old, new, lang: str) -> str:
    """``等待期（月） 3 → 4``."""
    return f"{field_label(field, lang)} {value_text(old, lang)} → {value_text(new, lang)}"


def change_rows(data: dict, lang: str) -> list[tuple]:
    """The changes for people, largest first: (region, kind, rule, field, change in words, count),
    a date by how far it moves (``推迟 1 个月``) rather than date by date."""
    moved: dict = {}
    for s in data["shifts"]:
        moved.setdefault((s["region"], s["kind"], s["rule"], s["field"]), []).append(s)
    dated = {key for key, ss in moved.items()
             if sum(x["count"] for x in ss) == sum(g["count"] for g in data["groups"]
                                                   if (g["region"], g["kind"], g["rule"], g["field"]) == key)}
    rows = []
    for g in data["groups"]:
        key = (g["region"], g["kind"], g["rule"], g["field"])
        if key not in dated:
            rows.append((*key, change_text(g["field"], g["old"], g["new"], lang), g["count"]))
    for key in dated:
        for s in moved[key]:
            rows.append((*key, f"{field_label(s['field'], lang)} {shift_text(s['shift'], lang)}", s["count"]))
    rows.sort(key=lambda r: -r[-1])
    return rows


def summary_lines(data: dict, lang: str, top: int = 15) -> list[str]:
    """``impact`` for a person: the totals, the largest changes (dates by how far they move),
    and examples."""
    w = WORDS[lang]
    n, k = data["cases"], data["changed"]
    pct = f"{100 * k / n:.1f}%" if n else "0%"
    lines = [w["summary"].format(n=n, k=k, p=pct)]
    if data["bad"]["old"] or data["bad"]["new"]:
        lines.append(f"{w['bad']}：{w['old']} {data['bad']['old']:,} / {w['new']} {data['bad']['new']:,}"
                     if lang == "zh" else f"{w['bad']}: {w['old']} {data['bad']['old']:,} / {w['new']} {data['bad']['new']:,}")
    if not k:
        lines.append(w["nothing"])
        return lines
    sep = "：" if lang == "zh" else ": "
    lines.append(w["by_region"] + sep + ("，" if lang == "zh" else ", ").join(
        f"{region_label(r['region'])} {r['count']:,}" for r in data["by_region"][:top]))
    lines.append(w["groups"] + sep)
    clauses = {r["rule"]: r["clause"] for r in data["by_rule"]}
    for region, kind, rule, _, change, count in change_rows(data, lang)[:top]:
        lines.append(f"  {region_label(region)} · {kind_label(kind, lang)} · {clauses.get(rule) or rule or w['none']} · "
                     f"{change}{sep}{count:,} {w['people']}")
    lines.append(w["examples"] + sep)
    for e in data["examples"][:5]:
        lines.append(f"  第 {e['row']} 行（{w['id']} {e['id']}）" if lang == "zh" else f"  {w['row']} {e['row']} ({w['id']} {e['id']})")
        for c in e["changes"]:
            lines.append("    " + change_text(c["field"], c["old"], c["new"], lang))
    return lines


# -- the page ----------------------------------------------------------------------------------


def bar_chart(title: str, bars: list[tuple[str, int]], total: int | None = None, width: int = 640) -> str:
    """A horizontal bar chart as inline SVG: one labelled bar per (label, count)."""
    row, label_w, pad = 26, 260, 8
    height = row * len(bars) + 40
    top = max([n for _, n in bars] or [1]) or 1
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}"><title>{e(title)}</title>',
             f'<text x="0" y="18" class="ct">{e(title)}</text>']
    span = width - label_w - 90
    for i, (label, n) in enumerate(bars):
        y = 30 + i * row
        w = max(1, round(span * n / top))
        shown = f"{n:,}" + (f" ({100 * n / total:.1f}%)" if total else "")
        parts.append(f'<text x="{label_w - pad}" y="{y + 16}" text-anchor="end" class="cl">{e(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}" class="bar"><title>{e(label)}: {n:,}</title></rect>'
                     f'<text x="{label_w + w + pad}" y="{y + 16}" class="cv">{e(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2733;background:#f6f8fa}
header{background:#0b3d62;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:6px 0 0;font-size:13px;opacity:.9}main{padding:20px 28px;max-width:1100px}
.big{font-size:28px;font-weight:600}.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:14px 18px;margin:14px 0}
.charts{display:flex;flex-wrap:wrap;gap:14px}.chart .bar{fill:#2f81c7}.chart .ct{font-size:14px;font-weight:600;fill:#1d2733}
.chart .cl,.chart .cv{font-size:12px;fill:#1d2733}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e1e4e8;padding:5px 8px;text-align:left;vertical-align:top}th{background:#eef2f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px;color:#57606a}
"""


def impact_page(data: dict, lang: str, rows_file: str | None) -> str:
    """The HTML page of an impact: totals, charts (by region, kind, output and deciding clause —
    inline SVG, nothing loaded from elsewhere), the changes as a table, and examples."""
    w = WORDS[lang]
    e = html.escape
    n, k = data["cases"], data["changed"]
    pct = f"{100 * k / n:.1f}%" if n else "0%"
    clauses = {r["rule"]: r["clause"] for r in data["by_rule"]}
    old, new = data.get("old", {}), data.get("new", {})
    out = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(w["title"])}</title>'
           f'<style>{_STYLE}</style></head><body><header><h1>{e(w["title"])}</h1>'
           f'<p>{e(w["old"])}：{e(str(old.get("source", "")))} <code>{e(str(old.get("hash", "")))}</code> → '
           f'{e(w["new"])}：{e(str(new.get("source", "")))} <code>{e(str(new.get("hash", "")))}</code></p></header><main>',
           f'<div class="card"><div class="big" id="summary">{e(w["summary"].format(n=n, k=k, p=pct))}</div>']
    if data["bad"]["old"] or data["bad"]["new"]:
        out.append(f'<p>{e(w["bad"])}：{e(w["old"])} {data["bad"]["old"]:,} / {e(w["new"])} {data["bad"]["new"]:,}</p>')
    if rows_file:
        out.append(f'<p>{e(w["rows_file"])}：<a href="{e(rows_file)}">{e(rows_file)}</a></p>')
    out.append("</div>")
    if not k:
        out.append(f'<p class="card">{e(w["nothing"])}</p></main></body></html>\n')
        return "".join(out)
    out.append('<div class="charts card">')
    out.append(bar_chart(w["by_region"], [(region_label(r["region"]), r["count"]) for r in data["by_region"][:15]], k))
    out.append(bar_chart(w["by_kind"], [(kind_label(r["kind"], lang), r["count"]) for r in data["by_kind"][:15]], k))
    out.append(bar_chart(w["by_field"], [(field_label(r["field"], lang), r["count"]) for r in data["by_field"][:15]], k))
    out.append(bar_chart(w["by_rule"], [(r["clause"] or r["rule"] or w["none"], r["count"]) for r in data["by_rule"][:15]], k))
    moves = [(f"{field_label(s['field'], lang)} {shift_text(s['shift'], lang)} · {region_label(s['region'])}", s["count"])
             for s in data["shifts"][:15]]
    if moves:
        out.append(bar_chart(w["change"], moves, k))
    out.append("</div>")
    out.append(f'<div class="card"><h2>{e(w["groups"])}</h2><table><thead><tr><th>{e(w["region"])}</th>'
               f'<th>{e(w["kind"])}</th><th>{e(w["rule"])}</th><th>{e(w["change"])}</th><th>{e(w["count"])}</th>'
               f'</tr></thead><tbody>')
    for region, kind, rule, _, change, count in change_rows(data, lang)[:200]:
        out.append(f'<tr><td>{e(region_label(region))}</td><td>{e(kind_label(kind, lang))}</td>'
                   f'<td>{e(clauses.get(rule) or rule or w["none"])}<br><code>{e(str(rule or ""))}</code></td>'
                   f'<td>{e(change)}</td><td class="n">{count:,}</td></tr>')
    out.append("</tbody></table></div>")
    out.append(f'<div class="card"><h2>{e(w["examples"])}</h2><table><thead><tr><th>{e(w["row"])}</th>'
               f'<th>{e(w["id"])}</th><th>{e(w["region"])}</th><th>{e(w["kind"])}</th><th>{e(w["change"])}</th>'
               f'</tr></thead><tbody>')
    for ex in data["examples"]:
        changes = "<br>".join(e(change_text(c["field"], c["old"], c["new"], lang)) for c in ex["changes"])
        out.append(f'<tr><td class="n">{ex["row"]}</td><td>{e(str(ex["id"]))}</td><td>{e(region_label(ex["region"]))}</td>'
                   f'<td>{e(kind_label(ex["kind"], lang))}</td><td>{changes}</td></tr>')
    out.append("</tbody></table></div></main></body></html>\n")
    return "".join(out)
