"""Rendering for people: the only module that imports rich. Chinese by default, English with
``lang="en"``; colour off under NO_COLOR or when not a terminal."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from policy_dsl.language.kinds import vocabulary
from policy_dsl.engine.results import REASONS

LEVEL = {"zh": {"national": "国家", "province": "省", "city": "市"}, "en": {"national": "national", "province": "province", "city": "city"}}
STATUS = {"zh": {"decided": "已决定", "delegated": "授权下级规定", "no_rule": "所收录文件中无适用规定"},
          "en": {"decided": "decided", "delegated": "delegated", "no_rule": "no rule in the documents of this policy set"}}
WORDS = {
    "zh": {"answer": "结论", "governing": "依据", "displaced": "被取代", "pending": "待生效", "notes": "说明",
           "trace": "推理过程", "bounds": "上级限制", "soft": "原则上", "hard": "不得超过", "from": "起",
           "in_force": "有效条款", "topic": "事项", "clause": "条款", "level": "层级", "since": "生效", "until": "截止",
           "displaces": "取代", "none": "无", "months": "个月", "status": "状态", "where_both": "（两者均适用时）",
           "case": "案例", "region": "地区", "date": "决定日期", "source": "原文", "max_wait": "待遇享受等待期上限",
           "yes": "是", "no": "否", "adopts": "采纳", "as": "按以下事项处理",
           "improving": "改进性例外（不低于一般规定）", "changed": "改变了", "unchanged": "未改变一般规定的答案"},
    "en": {"answer": "Answer", "governing": "Governing", "displaced": "Displaced", "pending": "Pending", "notes": "Notes",
           "trace": "Trace", "bounds": "Bounds", "soft": "in principle", "hard": "at most", "from": "from",
           "in_force": "In force", "topic": "Topic", "clause": "Clause", "level": "Level", "since": "From", "until": "Until",
           "displaces": "Displaces", "none": "none", "months": "months", "status": "status", "where_both": " (where both apply)",
           "case": "Case", "region": "Region", "date": "Decision date", "source": "Source", "max_wait": "maximum waiting period",
           "yes": "yes", "no": "no", "adopts": "adopts", "as": "treated as",
           "improving": "Improving exceptions (a floor, never a loss)", "changed": "changed",
           "unchanged": "does not change the general rules' answer"},
}


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader is gone: rich would exit 1 here; the CLI exits as for every format
        (policy_dsl.face.cli.EXIT_BROKEN_PIPE)."""
        self.quiet = True
        raise BrokenPipeError


def console(width: int | None = None, file=None) -> Console:
    no_color = bool(os.environ.get("NO_COLOR"))
    return _Console(file=file or sys.stdout, width=width, no_color=no_color, highlight=False,
                    soft_wrap=False, emoji=False)


def shown(value, n: int = 80) -> str:
    """A user's value (an id…) as a table shows it: one line, at most ``n`` characters, control
    characters escaped (a 10 MB id costs no more than a short one)."""
    from policy_dsl.language.safeio import clip

    return clip(value, n)


def _value(v, lang):
    if isinstance(v, bool):
        return WORDS[lang]["yes"] if v else WORDS[lang]["no"]
    return str(v)


def render_result(con: Console, data: dict, policy, lang: str = "zh", explain: bool = False) -> None:
    """One case result (the JSON data of results.result_json) for a person."""
    w = WORDS[lang]
    vocab = policy.vocab if policy is not None else vocabulary()
    kind = vocab.kinds[data["kind"]]
    title = f"{shown(data.get('id', ''))} {kind.zh if lang == 'zh' else kind.en}".strip()
    region = data["region"]["name"] + (f"（{data['region']['district']['name']}）" if "district" in data["region"] else "")
    head = Text()
    head.append(f"{w['region']}：{region}  {w['date']}：{data['decision_date']}  ", style="dim")
    head.append(f"{w['status']}：{STATUS[lang][data['status']]}", style="bold")
    con.print(Panel(head, title=escape(title), title_align="left"))
    answer = Table(show_header=False, box=None, pad_edge=False)
    answer.add_column(style="bold")
    answer.add_column()
    for name in kind.outputs:
        if data.get(name) is not None:
            label = vocab.outputs[name][lang] if lang in vocab.outputs[name] else name
            answer.add_row(label, _value(data[name], lang))
    if data.get("bounds"):
        b = data["bounds"]
        answer.add_row(w["max_wait"], f"{w['soft'] if b['soft'] else w['hard']} {b['max_waiting_months']} {w['months']}")
    if answer.row_count:
        con.print(Text(w["answer"], style="bold underline"))
        con.print(answer)
    elif data["status"] == "no_rule":
        con.print(Text(STATUS[lang]["no_rule"], style="bold"))
    if data["governing"]:
        con.print(Text(w["governing"], style="bold underline"))
        for g in data["governing"]:
            clause = policy.clauses.get(g["rule"])
            fields = "、".join(vocab.outputs[f][lang] for f in g.get("outputs", []))
            line = f"{g['document']} › {g['article']}（{LEVEL[lang][g['level']]}）" + (f" → {fields}" if fields else "")
            con.print(Text(line, style="bold"))
            if "adopts" in g:
                con.print(Text(f"  {w['adopts']} {g['adopts']['document']} › {g['adopts']['article']}"))
            if clause is not None:
                con.print(Text("  「" + " ".join(clause.text.split()) + "」", style="italic"))
                if clause.adopted is not None:
                    con.print(Text("  「" + " ".join(clause.adopted.text.split()) + "」", style="italic"))
    if data.get("improving_exceptions"):
        con.print(Text(w["improving"], style="bold underline"))
        sep = "、" if lang == "zh" else ", "
        for g in data["improving_exceptions"]:
            what = (f"{w['changed']} " + sep.join(vocab.outputs[f].get(lang, f) for f in g["changed"])
                    if g["changed"] else w["unchanged"])
            con.print(Text(f"  {g['document']} › {g['article']}：{what}"))
    if data["displaced"]:
        con.print(Text(w["displaced"], style="bold underline"))
        for d in data["displaced"]:
            con.print(Text(f"  {d['document']} › {d['article']}：{REASONS.get(d['reason'], {}).get(lang, d['reason'])}"))
    if data["pending"]:
        con.print(Text(w["pending"], style="bold underline"))
        for p in data["pending"]:
            con.print(Text(f"  {p['document']} › {p['article']}：{p['in_force_from']} {w['from']}"))
    if data["notes"]:
        con.print(Text(w["notes"], style="bold underline"))
        for n in data["notes"]:
            con.print(Text(f"  ·\u00a0{n}"))  # no break after the dot: a long Chinese note folds in place
    if explain and data["trace"]:
        tree = Tree(Text(w["trace"], style="bold underline"))
        stack = [(tree, -1)]
        for line in data["trace"]:  # engine.results.TraceLine: its depth and words, as data
            depth, text = getattr(line, "depth", 0), getattr(line, "text", line)
            while stack and stack[-1][1] >= depth:
                stack.pop()
            node = stack[-1][0].add(Text(text))
            stack.append((node, depth))
        con.print(tree)
    con.print()


def render_policy_set(con: Console, line: str) -> None:
    """Which policy set the answers below come from (one dim line)."""
    con.print(Text(line, style="dim"))


def render_applies(con: Console, data: dict, lang: str = "zh", vocab=None) -> None:
    """What applied on a date in a region: a table per topic."""
    w = WORDS[lang]
    vocab = vocab or vocabulary()  # the policy set's kinds table
    con.print(Text(f"{data['region']['name']} {data['region']['code']}  {data['date']}", style="bold"))
    for topic, t in data["topics"].items():
        kind = vocab.kinds[topic]
        table = Table(title=f"{kind.zh if lang == 'zh' else kind.en}（{topic}）", title_justify="left", expand=False)
        table.add_column(w["clause"], overflow="fold")  # rule ids break after their "/" (_breakable)
        table.add_column(w["level"], no_wrap=True)
        table.add_column(w["since"], no_wrap=True)
        table.add_column(w["displaces"] + w["where_both"], overflow="fold")
        for row in t["in_force"]:
            disp = "\n".join(dict.fromkeys(f"{d['document']} › {d['article']}：{REASONS[d['reason']][lang]}"
                                            for d in row["displaces"]))
            table.add_row(f"{row['document']} › {row['article']}\n[dim]{_breakable(row['rule'])}[/dim]", LEVEL[lang][row["level"]],
                          row["from"] or "", disp or "—")
        for p in t["pending"]:
            table.add_row(f"[italic]{p['document']} › {p['article']}[/italic]\n[dim]{_breakable(p['rule'])}[/dim]",
                          LEVEL[lang][p["level"]], f"{w['pending']}：{p['in_force_from']}", "—")
        if not t["in_force"] and not t["pending"]:
            table.add_row(w["none"], "", "", "")
        con.print(table)


def _breakable(rule: str) -> str:
    """A rule id that a narrow column may break after its "/" (a space there), never inside a word."""
    return escape(rule.replace("/", "/ ", 1))


def render_diagnostics(con: Console, diags, lang: str = "zh") -> None:
    for d in diags:
        style = "red" if d.severity == "error" else "yellow"
        con.print(Text(f"{d.where}: ", style="bold") + Text(d.code, style=style) + Text(f" {d.message}"))
        if d.hint:
            con.print(Text(f"    hint: {d.hint}", style="dim"))


DIFF_WORDS = {
    "zh": {"structural": "文件中的变化", "behavioural": "答案发生变化的案例", "none": "无变化", "before": "原",
           "after": "新", "added": "新增", "removed": "删除", "cases": "个案例", "of": "共检验", "rerun": "复现",
           "entering": "开始生效", "leaving": "停止生效", "kinds": "答案变化的事项", "changed": "变化"},
    "en": {"structural": "Changes in the files", "behavioural": "Cases whose answer changes", "none": "no change",
           "before": "before", "after": "after", "added": "added", "removed": "removed", "cases": "cases",
           "of": "of", "rerun": "rerun", "entering": "entering force", "leaving": "leaving force",
           "kinds": "kinds whose answers change", "changed": "changed"},
}


def _short(value) -> str:
    import json as _json

    text = value if isinstance(value, str) else _json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:159] + "…"


def render_diff(con: Console, data: dict, lang: str = "zh") -> None:
    """A semantic diff: structural changes, then the cases whose answers change, by clause."""
    w = DIFF_WORDS[lang]
    con.print(Text(w["structural"], style="bold underline"))
    if not data["structural"]:
        con.print(Text(f"  {w['none']}"))
    for ch in data["structural"]:
        where = ch["document"] + (f" › {ch['clause']}" if ch["clause"] else "")
        if ch["before"] is None:
            con.print(Text(f"  + {where} {ch['field']}: {_short(ch['after'])}", style="green"))
        elif ch["after"] is None:
            con.print(Text(f"  - {where} {ch['field']}: {_short(ch['before'])}", style="red"))
        else:
            con.print(Text(f"  ~ {where} {ch['field']}: {_short(ch['before'])} → {_short(ch['after'])}", style="yellow"))
    beh = data.get("behavioural")
    if beh is None:
        return
    con.print(Text(f"{w['behavioural']}：{beh['changed']} / {w['of']} {beh['cases']} {w['cases']}", style="bold underline"))
    for g in beh["groups"]:
        con.print(Text(f"  {' / '.join(g['clauses'])}: {g['count']} {w['cases']} "
                       f"({', '.join(g['kinds'])}; {', '.join(g['regions'])})", style="bold"))
        for ex in g["examples"]:
            con.print(Text(f"    {w['rerun']}: {_short(ex['case'])}"))
            con.print(Text(f"      {w['before']} {_short(ex['before'])} → {w['after']} {_short(ex['after'])}"))


def render_between(con: Console, data: dict, lang: str = "zh") -> None:
    w = DIFF_WORDS[lang]
    con.print(Text(f"{data['region']['name']} {data['from']} → {data['to']}", style="bold"))
    for key in ("entering", "leaving"):
        con.print(Text(w[key], style="bold underline"))
        for c in data[key]:
            con.print(Text(f"  {c['document']} › {c['article']} [{c['rule']}] ({', '.join(c['topics'])})"))
        if not data[key]:
            con.print(Text(f"  {WORDS[lang]['none']}"))
    con.print(Text(w["kinds"], style="bold underline"))
    for kind, k in data["kinds"].items():
        con.print(Text(f"  {kind}: {k['changed']} / {k['cases']}"))
        for ex in k["examples"]:
            con.print(Text(f"    {_short(ex['case'])}: {_short(ex['before'])} → {_short(ex['after'])}"))


def render_timeline(con: Console, region, data: dict, start, end, lang: str = "zh", vocab=None) -> None:
    """Text bars per topic: one character a quarter; █ in force, ░ pending; coloured by level."""
    import datetime as dt

    vocab = vocab or vocabulary()  # the policy set's kinds table
    quarters = []
    y, q = start.year, (start.month - 1) // 3
    while dt.date(y, q * 3 + 1, 1) <= end:
        quarters.append((dt.date(y, q * 3 + 1, 1), dt.date(y + (q == 3), (q * 3 + 3) % 12 + 1, 1) - dt.timedelta(days=1)))
        y, q = (y + 1, 0) if q == 3 else (y, q + 1)
    colours = {"national": "blue", "province": "red", "city": "green"}
    con.print(Text(f"{region.name} {region.code}  {start} – {end}", style="bold"))
    header = _year_ruler(quarters)
    for topic, rows in data.items():
        kind = vocab.kinds[topic]
        table = Table(title=f"{kind.zh if lang == 'zh' else kind.en}（{topic}）", title_justify="left", box=None)
        table.add_column(WORDS[lang]["clause"], overflow="fold")
        table.add_column(header, no_wrap=True)
        for r in rows:
            bar = Text()
            for a, b in quarters:
                state = None
                for s in r["segments"]:
                    if s["from"] <= b.isoformat() and s["to"] >= a.isoformat():
                        state = "in_force" if s["state"] == "in_force" or state == "in_force" else "pending"
                bar.append("█" if state == "in_force" else "░" if state == "pending" else "·",
                           style=colours[r["level"]] if state else "dim")
            table.add_row(Text(f"{r['document']} › {r['article']}"), bar)
        if not rows:
            table.add_row(WORDS[lang]["none"], "")
        con.print(table)
    legend = Text()
    for mark, key in (("█", "legend_in_force"), ("░", "legend_pending"), ("·", "legend_none")):
        legend.append(f"{mark} {TIMELINE[lang][key]}  ")
    legend.append(f"{TIMELINE[lang]['legend_quarter']}  ")
    for level, colour in colours.items():
        legend.append("█", style=colour)
        legend.append(f" {LEVEL[lang][level]}  ")
    con.print(legend)


TIMELINE = {
    "zh": {"legend_in_force": "有效", "legend_pending": "已发布待生效", "legend_none": "未生效或已失效",
           "legend_quarter": "每格一个季度；颜色：", "year": "年"},
    "en": {"legend_in_force": "in force", "legend_pending": "issued, pending", "legend_none": "not in force",
           "legend_quarter": "one cell a quarter; colours:", "year": "year"},
}


def _year_ruler(quarters) -> str:
    """One character a quarter: each year's number written over its quarters (``2020····2021``
    becomes ``20202021`` over eight quarters); a year with fewer than four quarters shown gets its
    last digits."""
    out = []
    i = 0
    while i < len(quarters):
        year = quarters[i][0].year
        n = sum(1 for a, _ in quarters[i:i + 4] if a.year == year)
        out.append(str(year)[-n:])
        i += n
    return "".join(out)
