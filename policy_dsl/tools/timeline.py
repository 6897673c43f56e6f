"""Which clauses governed over time in a region, per topic: data (``timeline_data``), an SVG a
person opens in a browser (``timeline_svg``), and text bars for the terminal (render.py)."""

from __future__ import annotations

import datetime as dt
from html import escape

from policy_dsl.engine import resolve
from policy_dsl.language.messages import N_, say
from policy_dsl.language.model import PolicySet



def span(policy: PolicySet) -> tuple[dt.date, dt.date]:
    """The days a timeline shows by default: the years the policy files span (the probe grid's,
    policy_dsl.analysis.grid)."""
    from policy_dsl.analysis.grid import grid_of

    g = grid_of(policy)
    return g.first, g.last
COLORS = {"national": "#4e79a7", "province": "#e15759", "city": "#59a14f"}


def _breakpoints(clauses, region, start, end) -> list[dt.date]:
    days = {start, end + dt.timedelta(days=1)}
    for c in clauses:
        for d in (c.doc.issued, c.local_start(region),
                  c.in_force.until + dt.timedelta(days=1) if c.in_force.until else None):
            if d and start < d <= end:
                days.add(d)
    return sorted(days)


def timeline_data(policy: PolicySet, region, topics: list[str], start: dt.date | None = None,
                  end: dt.date | None = None) -> dict:
    """For each topic, one row per document article in force or pending at some time in
    [start, end] (by default ``span(policy)``), most specific first, with its segments
    ``{state, from, to}`` (state: in_force | pending) and the precedence rank of the row when in force."""
    first, last = span(policy)
    start, end = start or first, end or last
    out = {}
    for topic in topics:
        clauses = [c for c in policy.by_topic.get(topic, ()) if c.applies_to_region(region)]
        points = _breakpoints(clauses, region, start, end)
        rows: dict[tuple, dict] = {}
        for a, b in zip(points, points[1:]):
            last = b - dt.timedelta(days=1)
            for c in clauses:
                state = resolve.standing(c, region, a).state
                if state not in ("in_force", "pending"):
                    continue
                key = (c.doc.id, c.article)
                row = rows.setdefault(key, {"document": c.doc.number, "article": c.article, "level": c.doc.level,
                                            "rank": c.doc.rank, "issued": c.doc.issued, "rules": [], "segments": []})
                if c.ref not in row["rules"]:
                    row["rules"].append(c.ref)
                segs = row["segments"]
                if segs and segs[-1]["state"] == state and segs[-1]["to"] == a - dt.timedelta(days=1):
                    segs[-1]["to"] = last
                elif not (segs and segs[-1]["state"] == state and segs[-1]["to"] >= last):
                    segs.append({"state": state, "from": a, "to": last})
        ordered = sorted(rows.values(), key=lambda r: (-r["rank"], -r["issued"].toordinal(), r["article"]))
        out[topic] = [{**{k: v for k, v in r.items() if k not in ("rank", "issued")},
                       "segments": [{"state": s["state"], "from": s["from"].isoformat(), "to": s["to"].isoformat()}
                                    for s in r["segments"]]} for r in ordered]
    return out


def timeline_svg(policy: PolicySet, region, topics: list[str] | None = None, start: dt.date | None = None,
                 end: dt.date | None = None, lang: str = "zh") -> str:
    """A self-contained SVG: per topic, a bar per clause over time, coloured by level; pending
    windows hatched; the start date of each bar written beside it; years marked. ``start``/``end``
    default to ``span(policy)``."""
    vocab = policy.vocab
    first, last = span(policy)
    start, end = start or first, end or last
    topics = topics or list(vocab.kinds)
    data = timeline_data(policy, region, topics, start, end)
    label_w, width, row_h, top = 300, 1100, 20, 80
    plot_w = width - label_w - 20
    days = (end - start).days + 1

    def x(day: dt.date) -> float:
        return label_w + plot_w * ((day - start).days / days)

    parts = []
    y = top
    no_clause = say(lang, "timeline.svg.no_clause")
    for topic in topics:
        rows = data[topic]
        kind = vocab.kinds[topic]
        parts.append(f'<text class="topic" x="10" y="{y + 14}">{escape(kind.zh if lang == "zh" else kind.en)}'
                     f' ({topic})</text>')
        y += row_h + 4
        if not rows:
            parts.append(f'<text class="none" x="{label_w}" y="{y + 13}">{escape(no_clause)}</text>')
            y += row_h
        for r in rows:
            title = f'{r["document"]} › {r["article"]}'
            parts.append(f'<text class="label" x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(title)}</text>')
            for s in r["segments"]:
                a, b = dt.date.fromisoformat(s["from"]), dt.date.fromisoformat(s["to"]) + dt.timedelta(days=1)
                fill = COLORS[r["level"]] if s["state"] == "in_force" else f"url(#hatch-{r['level']})"
                state = say(lang, N_("timeline.svg.in_force") if s["state"] == "in_force" else N_("timeline.svg.pending"))
                tip = say(lang, "timeline.svg.tip", clause=title, state=state, start=s["from"], end=s["to"], rules=r["rules"])
                parts.append(f'<rect class="{s["state"]} {r["level"]}" x="{x(a):.1f}" y="{y + 3}" '
                             f'width="{max(x(b) - x(a), 1):.1f}" height="{row_h - 6}" fill="{fill}">'
                             f'<title>{escape(tip)}</title></rect>')
                wide = x(b) - x(a) > 70
                if a > start and (s["state"] == "in_force" or wide):
                    parts.append(f'<text class="date" x="{x(a) + 2:.1f}" y="{y + 1}">{s["from"]}</text>')
            y += row_h + 6
        y += 10
    height = y + 30
    axis = []
    for year in range(start.year, end.year + 1):
        d = dt.date(year, 1, 1)
        if start <= d <= end:
            axis.append(f'<line class="year" x1="{x(d):.1f}" y1="{top - 8}" x2="{x(d):.1f}" y2="{height - 20}"/>'
                        f'<text class="year" x="{x(d) + 3:.1f}" y="{top - 12}">{year}</text>')
    legend_words = (say(lang, "timeline.svg.national"), say(lang, "timeline.svg.province"), say(lang, "timeline.svg.city"),
                    say(lang, "timeline.svg.hatched"))
    legend = []
    for i, (level, word) in enumerate(zip(("national", "province", "city"), legend_words)):
        legend.append(f'<rect x="{label_w + i * 120}" y="34" width="14" height="10" fill="{COLORS[level]}"/>'
                      f'<text class="legend" x="{label_w + i * 120 + 18}" y="43">{word}</text>')
    legend.append(f'<rect x="{label_w + 360}" y="34" width="14" height="10" fill="url(#hatch-province)"/>'
                  f'<text class="legend" x="{label_w + 378}" y="43">{legend_words[3]}</text>')
    hatches = "".join(
        f'<pattern id="hatch-{lv}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{c}" fill-opacity="0.15"/><line x1="0" y1="0" x2="0" y2="6" '
        f'stroke="{c}" stroke-width="3"/></pattern>' for lv, c in COLORS.items())
    heading = say(lang, "timeline.svg.title")
    title = f'{region.name} {region.code}：{heading} {start.year}–{end.year}'
    style = ("text{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif;font-size:12px;fill:#222}"
             ".topic{font-weight:bold;font-size:14px}.date{font-size:9px;fill:#555}.year{stroke:#ccc;font-size:11px;fill:#666}"
             ".title{font-size:16px;font-weight:bold}.none{fill:#999}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<style>{style}</style><defs>{hatches}</defs>'
            f'<text class="title" x="10" y="22">{escape(title)}</text>{"".join(legend)}{"".join(axis)}{"".join(parts)}</svg>\n')
