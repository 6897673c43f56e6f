"""Rendering for people: the only module that imports rich. Chinese by default, English with
``lang="en"`` (every word from the message catalog, language/messages.py); colour off under
NO_COLOR or when not a terminal."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from policy_dsl.engine.results import REASONS
from policy_dsl.language.kinds import vocabulary
from policy_dsl.language.messages import N_, join, t, using

LEVEL = {"national": N_("level.national"), "province": N_("level.province"), "city": N_("level.city")}
STATUS = {"decided": N_("status.decided"), "delegated": N_("status.delegated"), "no_rule": N_("status.no_rule")}


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


def _value(v, vocab=None, name: str = "", lang: str = "zh"):
    """An output's value as a person reads it: yes/no, an enumerated value in the kinds table's
    words for it (``labels.values``), a list item by item."""
    if isinstance(v, bool):
        return t("render.yes") if v else t("render.no")
    if vocab is not None and isinstance(v, str):
        return str(vocab.value_label(name, v, lang))
    if vocab is not None and isinstance(v, list):
        return join(str(vocab.value_label(name, x, lang)) if isinstance(x, str) else str(x) for x in v)
    return str(v)


def _kind_name(kind, lang: str) -> str:
    return kind.zh if lang == "zh" else kind.en


def _output_name(vocab, name: str, lang: str) -> str:
    return vocab.outputs[name].get(lang, name)


def render_result(con: Console, data: dict, policy, lang: str = "zh", explain: bool = False) -> None:
    """One case result (the JSON data of results.result_json) for a person."""
    with using(lang):
        _result(con, data, policy, lang, explain)


def _result(con: Console, data: dict, policy, lang: str, explain: bool) -> None:
    vocab = policy.vocab if policy is not None else vocabulary()
    kind = vocab.kinds[data["kind"]]
    title = f"{shown(data.get('id', ''))} {_kind_name(kind, lang)}".strip()
    region = data["region"]["name"] + (f"（{data['region']['district']['name']}）" if "district" in data["region"] else "")
    head = Text()
    head.append(t("render.region_date", region=region, date=data["decision_date"]) + "  ", style="dim")
    head.append(t("render.labelled", label=t("render.status"), value=t(STATUS[data["status"]])), style="bold")
    con.print(Panel(head, title=escape(title), title_align="left"))
    answer = Table(show_header=False, box=None, pad_edge=False)
    answer.add_column(style="bold")
    answer.add_column()
    for name in kind.outputs:
        if data.get(name) is not None:
            answer.add_row(_output_name(vocab, name, lang), _value(data[name], vocab, name, lang))
    if data.get("bounds"):
        b = data["bounds"]
        bound = N_("render.bound_soft") if b["soft"] else N_("render.bound_hard")
        answer.add_row(t("render.max_wait"), t(bound, months=b["max_waiting_months"]))
    if answer.row_count:
        con.print(Text(t("render.answer"), style="bold underline"))
        con.print(answer)
    elif data["status"] == "no_rule":
        con.print(Text(t(STATUS["no_rule"]), style="bold"))
    if data["governing"]:
        con.print(Text(t("render.governing"), style="bold underline"))
        for g in data["governing"]:
            clause = policy.clauses.get(g["rule"])
            fields = join(_output_name(vocab, f, lang) for f in g.get("outputs", []))
            line = t("render.governing_clause", document=g["document"], article=g["article"], level=t(LEVEL[g["level"]]))
            con.print(Text(line + (f" → {fields}" if fields else ""), style="bold"))
            if "adopts" in g:
                con.print(Text("  " + t("render.adopts", document=g["adopts"]["document"], article=g["adopts"]["article"])))
            if clause is not None:
                con.print(Text("  「" + " ".join(clause.text.split()) + "」", style="italic"))
                if clause.adopted is not None:
                    con.print(Text("  「" + " ".join(clause.adopted.text.split()) + "」", style="italic"))
    if data.get("improving_exceptions"):
        con.print(Text(t("render.improving"), style="bold underline"))
        for g in data["improving_exceptions"]:
            what = (t("render.changed", outputs=join(_output_name(vocab, f, lang) for f in g["changed"]))
                    if g["changed"] else t("render.unchanged"))
            con.print(Text("  " + t("render.clause_says", document=g["document"], article=g["article"], text=what)))
    if data["displaced"]:
        con.print(Text(t("render.displaced"), style="bold underline"))
        for d in data["displaced"]:
            con.print(Text("  " + t("render.clause_says", document=d["document"], article=d["article"],
                                     text=_reason(d["reason"], lang))))
    if data["pending"]:
        con.print(Text(t("render.pending"), style="bold underline"))
        for p in data["pending"]:
            con.print(Text("  " + t("render.clause_says", document=p["document"], article=p["article"],
                                     text=t("render.in_force_from", date=p["in_force_from"]))))
    if data["notes"]:
        con.print(Text(t("render.notes"), style="bold underline"))
        for n in data["notes"]:  # a hanging indent: a long note folds under itself, never under the dot
            for i, line in enumerate(Text(n).wrap(con, max(con.width - 4, 20), overflow="fold")):
                con.print(Text("  · " if i == 0 else "    ") + line, soft_wrap=True)
    if explain and data["trace"]:
        tree = Tree(Text(t("render.trace"), style="bold underline"))
        stack = [(tree, -1)]
        for line in data["trace"]:  # engine.results.TraceLine: its depth and words, as data
            depth, text = getattr(line, "depth", 0), getattr(line, "text", line)
            while stack and stack[-1][1] >= depth:
                stack.pop()
            node = stack[-1][0].add(Text(text))
            stack.append((node, depth))
        con.print(tree)
    con.print()


def _reason(reason: str, lang: str) -> str:
    """Why a clause displaces another, in words."""
    return REASONS.in_language(reason, lang) if reason in REASONS else reason


def render_regions(con: Console, found: list[dict]) -> None:
    """Region search results: code, full name, level, validity, what an ended code became."""
    table = Table(box=None, pad_edge=False)
    for head in (N_("regions.code"), N_("regions.name"), N_("regions.level"), N_("regions.from"), N_("regions.to"),
                 N_("regions.became")):
        table.add_column(t(head))
    levels = {"country": N_("regions.level.country"), "province": N_("regions.level.province"),
              "city": N_("regions.level.city"), "district": N_("regions.level.district")}
    for r in found:
        table.add_row(r["code"], r["full_name"], t(levels[r["level"]]) if r["level"] in levels else r["level"],
                      r["valid_from"] or "", r["valid_to"] or "", join(r.get("successors") or ()))
    con.print(table)


def render_policy_set(con: Console, line: str) -> None:
    """Which policy set the answers below come from (one dim line)."""
    con.print(Text(line, style="dim"))


def render_applies(con: Console, data: dict, lang: str = "zh", vocab=None) -> None:
    """What applied on a date in a region: a table per topic."""
    with using(lang):
        vocab = vocab or vocabulary()  # the policy set's kinds table
        con.print(Text(f"{data['region']['name']} {data['region']['code']}  {data['date']}", style="bold"))
        for topic, found in data["topics"].items():
            kind = vocab.kinds[topic]
            table = Table(title=f"{_kind_name(kind, lang)}（{topic}）", title_justify="left", expand=False)
            table.add_column(t("render.clause"), overflow="fold")  # rule ids break after their "/" (_breakable)
            table.add_column(t("render.level"), no_wrap=True)
            table.add_column(t("render.since"), no_wrap=True)
            table.add_column(t("render.displaces_where_both"), overflow="fold")
            for row in found["in_force"]:
                disp = "\n".join(dict.fromkeys(t("render.clause_says", document=d["document"], article=d["article"],
                                                  text=_reason(d["reason"], lang)) for d in row["displaces"]))
                table.add_row(f"{row['document']} › {row['article']}\n[dim]{_breakable(row['rule'])}[/dim]",
                              t(LEVEL[row["level"]]), row["from"] or "", disp or "—")
            for p in found["pending"]:
                table.add_row(f"[italic]{p['document']} › {p['article']}[/italic]\n[dim]{_breakable(p['rule'])}[/dim]",
                              t(LEVEL[p["level"]]), t("render.pending_from", date=p["in_force_from"]), "—")
            if not found["in_force"] and not found["pending"]:
                table.add_row(t("render.none"), "", "", "")
            con.print(table)


def _breakable(rule: str) -> str:
    """A rule id that a narrow column may break after its "/" (a space there), never inside a word."""
    return escape(rule.replace("/", "/ ", 1))


def render_diagnostics(con: Console, diags, lang: str = "zh") -> None:
    with using(lang):
        for d in diags:
            style = "red" if d.severity == "error" else "yellow"
            con.print(Text(f"{d.where}: ", style="bold") + Text(d.code, style=style) + Text(f" {d.text()}"))
            if d.hint:
                con.print(Text("    " + t("diagnostic.hint", hint=d.hint_text()), style="dim"))


def _short(value) -> str:
    import json as _json

    text = value if isinstance(value, str) else _json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:159] + "…"


def render_diff(con: Console, data: dict, lang: str = "zh") -> None:
    """A semantic diff: structural changes, then the cases whose answers change, by clause."""
    with using(lang):
        _diff(con, data)


def _diff(con: Console, data: dict) -> None:
    con.print(Text(t("diff.structural"), style="bold underline"))
    if not data["structural"]:
        con.print(Text("  " + t("diff.none")))
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
    con.print(Text(t("diff.behavioural", changed=beh["changed"], n=beh["cases"]), style="bold underline"))
    for g in beh["groups"]:
        con.print(Text("  " + t("diff.group", clauses=" / ".join(g["clauses"]), n=g["count"], kinds=", ".join(g["kinds"]),
                                 regions=", ".join(g["regions"])), style="bold"))
        for ex in g["examples"]:
            con.print(Text("    " + t("diff.rerun", case=_short(ex["case"]))))
            con.print(Text("      " + t("diff.before_after", before=_short(ex["before"]), after=_short(ex["after"]))))


def render_between(con: Console, data: dict, lang: str = "zh") -> None:
    with using(lang):
        con.print(Text(f"{data['region']['name']} {data['from']} → {data['to']}", style="bold"))
        for key, title in (("entering", N_("diff.entering")), ("leaving", N_("diff.leaving"))):
            con.print(Text(t(title), style="bold underline"))
            for c in data[key]:
                con.print(Text(f"  {c['document']} › {c['article']} [{c['rule']}] ({', '.join(c['topics'])})"))
            if not data[key]:
                con.print(Text("  " + t("render.none")))
        con.print(Text(t("diff.kinds"), style="bold underline"))
        for kind, k in data["kinds"].items():
            con.print(Text(f"  {kind}: {k['changed']} / {k['cases']}"))
            for ex in k["examples"]:
                con.print(Text(f"    {_short(ex['case'])}: {_short(ex['before'])} → {_short(ex['after'])}"))


def render_timeline(con: Console, region, data: dict, start, end, lang: str = "zh", vocab=None) -> None:
    """Text bars per topic: one character a quarter; █ in force, ░ pending; coloured by level."""
    with using(lang):
        _timeline(con, region, data, start, end, lang, vocab)


def _timeline(con: Console, region, data: dict, start, end, lang: str, vocab) -> None:
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
        table = Table(title=f"{_kind_name(kind, lang)}（{topic}）", title_justify="left", box=None)
        table.add_column(t("render.clause"), overflow="fold")
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
            table.add_row(t("render.none"), "")
        con.print(table)
    legend = Text()
    for mark, key in (("█", N_("timeline.legend_in_force")), ("░", N_("timeline.legend_pending")),
                      ("·", N_("timeline.legend_none"))):
        legend.append(f"{mark} {t(key)}  ")
    legend.append(t("timeline.legend_quarter") + "  ")
    for level, colour in colours.items():
        legend.append("█", style=colour)
        legend.append(f" {t(LEVEL[level])}  ")
    con.print(legend)


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
