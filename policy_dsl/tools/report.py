"""``policy-dsl report --out DIR``: a static HTML site to read beside the law.

- ``index.html``: the documents by level, the regions, the policy tests' summary;
- ``doc-<id>.html``: per document, its portion of the source text (policies/sources/) with every
  encoded clause's quoted text highlighted and linked to its encoding, and each encoding with
  the policy tests that reach it;
- ``region-<code>.html``: per region, the timeline picture (``policy_dsl.tools.timeline.timeline_svg``
  when that module is present) and a table of the clauses in force per topic per year, most
  specific first (computed with policy_dsl.engine.resolve);
- ``precedence.html``: how the layers displace each other, document by document;
- ``tests-<name>.html`` and ``file-<name>.html``: the policy tests and the policy files with
  numbered lines (the targets of the links).

No script, no web font, no remote resource: the pages open from the file system."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from policy_dsl.engine import resolve
from policy_dsl.language.errors import PolicyDslError
from policy_dsl.language.messages import N_, words
from policy_dsl.language.model import LEVEL_RANK, Clause, Document, PolicySet
from policy_dsl.language.safeio import LIMITS, OutputFolder, read_text
from policy_dsl.tools.policytest import TestRun, run_suite

_W_IDS = {  # key -> message id (the words are in the catalog)
    "site": N_("report.site"),
    "docs": N_("report.docs"),
    "regions": N_("report.regions"),
    "precedence": N_("report.precedence"),
    "tests": N_("report.tests_title"),
    "level": N_("report.level"),
    "number": N_("report.number"),
    "title": N_("report.title"),
    "issued": N_("report.issued"),
    "jurisdiction": N_("report.jurisdiction"),
    "in_force": N_("report.in_force"),
    "source": N_("report.source"),
    "encoding": N_("report.encoding"),
    "clauses": N_("report.clauses"),
    "clause": N_("report.clause"),
    "reached_by": N_("report.reached_by"),
    "none": N_("report.none"),
    "no_test": N_("report.no_test"),
    "topic": N_("report.topic"),
    "condition": N_("report.condition"),
    "outcome": N_("report.outcome"),
    "reading": N_("report.reading"),
    "notes": N_("report.notes"),
    "adopts": N_("report.adopts"),
    "delegates": N_("report.delegates"),
    "rejects": N_("report.rejects"),
    "evaluate_as": N_("report.evaluate_as"),
    "exception": N_("report.exception"),
    "until": N_("report.until"),
    "from": N_("report.from"),
    "lower_deadline": N_("report.lower_deadline"),
    "adoptions": N_("report.adoptions"),
    "portion_missing": N_("report.portion_missing"),
    "quote_missing": N_("report.quote_missing"),
    "see_source": N_("report.see_source"),
    "file": N_("report.file"),
    "line": N_("report.line"),
    "passed": N_("report.passed"),
    "failed": N_("report.failed"),
    "case": N_("report.case"),
    "expect": N_("report.expect"),
    "governing": N_("report.governing"),
    "year": N_("report.year"),
    "timeline": N_("report.timeline"),
    "timeline_missing": N_("report.timeline_missing"),
    "table_note": N_("report.table_note"),
    "pending": N_("report.pending"),
    "rules": N_("report.rules"),
    "layers": N_("report.layers"),
    "matrix": N_("report.matrix"),
    "matrix_note": N_("report.matrix_note"),
    "exceptions": N_("report.exceptions"),
    "forwards": N_("report.forwards"),
    "supersession": N_("report.supersession"),
    "unreached": N_("report.unreached"),
    "summary": N_("report.summary"),
    "generated": N_("report.generated"),
    "back": N_("report.back"),
    "national": N_("report.national"),
    "province": N_("report.province"),
    "city": N_("report.city"),
    "all": N_("report.all"),
    "rule_exception": N_("report.rule_exception"),
    "rule_yields": N_("report.rule_yields"),
    "rule_specificity": N_("report.rule_specificity"),
    "rule_later": N_("report.rule_later"),
    "rule_tie": N_("report.rule_tie"),
    "representative": N_("report.representative"),
    "covers": N_("report.covers"),
    "fictional": None,
}
W = words(_W_IDS)

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1d1d1f;line-height:1.6}
header{background:#0b3d62;color:#fff;padding:.6em 1.2em}header a{color:#fff;margin-right:1.2em}
main{padding:1em 1.5em;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccd;padding:.3em .6em;vertical-align:top;text-align:left}
th{background:#eef2f7}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.5em}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
.source{white-space:pre-wrap;background:#fbfaf6;border:1px solid #e4e0d0;padding:1em;font-size:.95em;max-height:85vh;overflow:auto}
a.q{background:#fff1a8;color:inherit;text-decoration:none;border-bottom:2px solid #e0b400}
a.q:hover,a.q:focus{background:#ffd84d}
a.qd{background:#e3f0ff;color:inherit;text-decoration:none;border-bottom:2px dotted #4a7fc1}
.card{border:1px solid #ccd;border-radius:4px;padding:.6em .9em;margin:0 0 1em 0}
.card:target{outline:3px solid #e0b400}
.card h3{margin:.1em 0 .3em 0;font-size:1.05em}
.meta{color:#555;font-size:.9em}
pre.yaml{background:#f4f6f8;padding:.5em;overflow:auto;font-size:.85em;white-space:pre}
code{font-size:.92em}
.pass{color:#1a7f37}.fail{color:#c62828;font-weight:bold}
table.lines td.n{color:#888;text-align:right;user-select:none;border:none;padding:0 .6em}
table.lines td.l{border:none;padding:0;white-space:pre;font-family:monospace}
table.lines tr:target{background:#fff1a8}
.tests li:target{background:#fff1a8}
.note{background:#f3f6ff;border-left:4px solid #4a7fc1;padding:.4em .8em}
.cell div{margin-bottom:.3em}.cell .d{color:#555;font-size:.85em}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


# -- the source text ------------------------------------------------------------------------
_HEADER_STOP = re.compile(r"[0-9０-９。，：；（）()、]")


def _squash_map(text: str) -> tuple[str, list[int]]:
    """The text without whitespace, and for each kept character its index in ``text``."""
    chars, index = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch)
            index.append(i)
    return "".join(chars), index


def portions(text: str, documents: list[Document]) -> dict[str, tuple[int, int]]:
    """Each document's (start, end) in a source text holding several documents: from the
    heading block above the line that is the document's number alone, to the next document's."""
    from policy_dsl.language.model import canonical_number

    lines = text.splitlines(keepends=True)
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    starts = {}
    for d in documents:
        names = d.names()
        for i, line in enumerate(lines):
            if canonical_number(line) in names:
                j = i
                while j > 0 and (not lines[j - 1].strip() or
                                 (len(lines[j - 1].strip()) <= 40 and not _HEADER_STOP.search(lines[j - 1]))):
                    j -= 1
                while j < i and not lines[j].strip():
                    j += 1
                starts[d.id] = offsets[j]
                break
    if starts:  # the first document also takes whatever precedes it (a banner, a blank line)
        first = min(starts, key=starts.get)
        starts[first] = 0
    order = sorted(set(starts.values()))
    out = {}
    for did, s in starts.items():
        later = [x for x in order if x > s]
        out[did] = (s, later[0] if later else len(text))
    return out


@dataclass
class Quote:
    kind: str  # clause | document
    anchor: str  # the id of the card it links to
    label: str
    spans: list = field(default_factory=list)  # (start, end) in the portion
    missing: bool = False


def locate(portion: str, quote: str) -> list[tuple[int, int]] | None:
    """The spans of ``portion`` quoted by ``quote`` (whitespace aside; … elides), like
    policy-dsl check reads them; None when a piece is not found."""
    squashed, index = _squash_map(portion)
    spans, pos = [], 0
    for piece in quote.split("…"):
        piece = re.sub(r"\s+", "", piece)
        if not piece:
            continue
        found = squashed.find(piece, pos)
        if found < 0:
            return None
        spans.append((index[found], index[found + len(piece) - 1] + 1))
        pos = found + len(piece)
    return spans


def highlight(portion: str, quotes: list[Quote]) -> str:
    """The portion as HTML with every quoted span a link to its encoding."""
    bounds = {0, len(portion)}
    for q in quotes:
        for s, e in q.spans:
            bounds |= {s, e}
    cuts = sorted(bounds)
    firsts = {}
    for q in quotes:
        if q.spans:
            firsts.setdefault(q.spans[0][0], []).append(q)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        for q in firsts.get(a, []):
            out.append(f'<span id="src-{_e(q.anchor)}"></span>')
        covering = [q for q in quotes if any(s <= a and b <= e for s, e in q.spans)]
        piece = _e(portion[a:b])
        if covering:
            clauses = [q for q in covering if q.kind == "clause"] or covering
            q = clauses[0]
            title = " ; ".join(dict.fromkeys(c.label for c in covering))
            cls = "q" if q.kind == "clause" else "qd"
            out.append(f'<a class="{cls}" href="#{_e(q.anchor)}" title="{_e(title)}">{piece}</a>')
        else:
            out.append(piece)
    return "".join(out)


# -- the tests --------------------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


# -- the site -----------------------------------------------------------------------------------
_ISSUED_UNSURE_IDS = {  # key -> message id (the words are in the catalog)
    "year": N_("report.issued_unsure.year"),
    "month": N_("report.issued_unsure.month"),
}
ISSUED_UNSURE = words(_ISSUED_UNSURE_IDS)


def test_page_name(run: TestRun) -> str:
    """The page of the report that shows a test file's runs."""
    return f"tests-{_slug(run.file.stem)}.html"


class Site:
    def __init__(self, policy: PolicySet, policy_dirs: list[Path], lang: str = "zh", test_roots: list[Path] | None = None):
        test_roots = test_roots if test_roots is not None else [d / "tests" for d in policy_dirs]
        from policy_dsl.language.regions import default_registry

        self.policy = policy
        self.lang = lang
        self.w = W[lang]
        self.registry = default_registry()
        self.dirs = policy_dirs
        self.tests = run_suite(policy, test_roots, strict=False).runs
        self.reached: dict[str, list[TestRun]] = {}
        for t in self.tests:
            for ref in t.reached:
                self.reached.setdefault(ref, []).append(t)
        self.files = {}  # policy file path -> page name
        for d in policy.documents:
            self.files.setdefault(d.file, f"file-{_slug(Path(d.file).stem)}.html")
        for defs in policy.definitions.values():
            self.files.setdefault(defs.file, f"file-{_slug(Path(defs.file).stem)}.html")

    # -- helpers
    def issued(self, d: Document) -> str:
        """A document's issue date as far as it is known: a date only when the text gives the day."""
        shown = ISSUED_UNSURE[self.lang].get(d.issued_precision)
        if shown is None:
            return d.issued.isoformat()
        return shown.format(y=d.issued.year, m=d.issued.month, d=d.issued.isoformat())

    def page(self, title: str, body: str) -> str:
        w = self.w
        nav = (f'<a href="index.html">{_e(w["back"])}</a><a href="precedence.html">{_e(w["precedence"])}</a>'
               f'<a href="index.html#tests">{_e(w["tests"])}</a>')
        return (f'<!doctype html>\n<html lang="{"zh-CN" if self.lang == "zh" else "en"}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{_e(title)}</title><link rel="stylesheet" href="style.css"></head>\n'
                f'<body><header><strong>{_e(w["site"])}</strong> &nbsp; {nav}</header>\n<main>\n'
                f'<h1>{_e(title)}</h1>\n{body}\n</main></body></html>\n')

    def level(self, level: str) -> str:
        return self.w[level]

    def region_name(self, code: str) -> str:
        r = self.registry.by_code.get(code)
        return r.name if r else code

    def clause_link(self, clause: Clause, text: str | None = None) -> str:
        return (f'<a href="doc-{_e(clause.doc.id)}.html#c-{_e(clause.id)}">'
                f'{_e(text or clause.citation)}</a>')

    def source_path(self, d: Document) -> Path:
        src = Path(d.file).parent / "sources" / d.source
        if not src.is_file():
            from policy_dsl.language import resources

            src = resources.policies_dir() / "sources" / d.source
        return src

    # -- pages
    def write(self, out: Path) -> list[Path]:
        """Write the site into the folder ``out`` (created if missing), each file atomically
        (safeio.OutputFolder: a link inside ``out`` is replaced, never followed; a file or a link
        where the folder should be, a read-only folder or a full disk is E-WRITE)."""
        written = []
        with OutputFolder(out) as folder:
            self._write_pages(folder.write, written)
        return written

    def _write_pages(self, write, written: list[Path]) -> None:
        def put(name: str, text: str):
            written.append(write(name, text))

        put("style.css", CSS)
        put("index.html", self.index())
        put("precedence.html", self.precedence())
        for d in self.policy.documents:
            put(f"doc-{d.id}.html", self.document(d))
        for region in self.regions():
            put(f"region-{region.code}.html", self.region(region))
        for file, name in self.files.items():
            put(name, self.file_page(Path(file)))
        by_page = {}
        for t in self.tests:
            by_page.setdefault(test_page_name(t), []).append(t)
        for name, runs in by_page.items():
            put(name, self.test_page(runs))

    def regions(self):
        """A page per region of the policy set's probe grid (policy_dsl.analysis.grid), its
        districts aside: each region a document names or records an adoption for, a city of each
        province with none of its own, a city outside every province named."""
        from policy_dsl.analysis.grid import grid_of

        g = grid_of(self.policy)
        return [r for r in g.regions if g.roles[r.code] != "district"]

    def index(self) -> str:
        w = self.w
        rows = []
        for d in sorted(self.policy.documents, key=lambda d: (d.rank, d.issued, d.id)):
            rows.append(f'<tr><td>{_e(self.level(d.level))}</td><td><a href="doc-{_e(d.id)}.html">{_e(d.number)}</a></td>'
                        f'<td>{_e(d.title)}</td><td>{_e(self.region_name(d.jurisdiction))}</td>'
                        f'<td>{_e(self.issued(d))}</td><td>{len(d.clauses)}</td></tr>')
        body = [f'<h2 id="docs">{_e(w["docs"])}</h2><table><tr><th>{_e(w["level"])}</th><th>{_e(w["number"])}</th>'
                f'<th>{_e(w["title"])}</th><th>{_e(w["jurisdiction"])}</th><th>{_e(w["issued"])}</th>'
                f'<th>{_e(w["clauses"])}</th></tr>{"".join(rows)}</table>']
        body.append(f'<h2 id="regions">{_e(w["regions"])}</h2><ul>')
        for r in self.regions():
            body.append(f'<li><a href="region-{_e(r.code)}.html">{_e(r.name)} {_e(r.code)}</a></li>')
        body.append(f'</ul><p><a href="precedence.html">{_e(w["precedence"])}</a></p>')
        passed = sum(t.passed for t in self.tests)
        failed = len(self.tests) - passed
        body.append(f'<h2 id="tests">{_e(w["tests"])}</h2><p>{passed} {_e(w["passed"])}, {failed} {_e(w["failed"])}</p><ul>')
        pages = {}
        for t in self.tests:
            pages.setdefault(test_page_name(t), []).append(t)
        for page, runs in pages.items():
            bad = sum(not t.passed for t in runs)
            body.append(f'<li><a href="{_e(page)}">{_e(runs[0].file.name)}</a> ({len(runs)}'
                        + (f', <span class="fail">{bad} {_e(w["failed"])}</span>' if bad else "") + ")</li>")
        body.append("</ul>")
        unreached = [c for c in self.policy.clauses.values() if c.ref not in self.reached]
        if unreached:
            body.append(f'<h3>{_e(w["unreached"])} ({len(unreached)})</h3><ul>')
            body.extend(f"<li>{self.clause_link(c)} <code>{_e(c.ref)}</code></li>" for c in unreached)
            body.append("</ul>")
        return self.page(w["site"], "\n".join(body))

    def document(self, d: Document) -> str:
        w = self.w
        src = self.source_path(d)
        try:  # read as every file is (safeio); `check` says why a source cannot be read (E-SOURCE-MISSING)
            text = read_text(src, LIMITS["source"])
        except PolicyDslError:
            text = ""
        same_source = [x for x in self.policy.documents if x.source == d.source]
        span = portions(text, same_source).get(d.id)
        head_note = ""
        if span is None:
            span = (0, len(text))
            head_note = f'<p class="note">{_e(w["portion_missing"])}</p>'
        portion = text[span[0]:span[1]]
        quotes = []
        for c in d.clauses:
            q = Quote("clause", f"c-{c.id}", f"{c.citation} [{c.id}]")
            found = locate(portion, c.text)
            if found is None:
                q.missing = True
            else:
                q.spans = found
            quotes.append(q)
            if c.in_force.text and c.in_force.text != d.in_force.text:
                spans = locate(portion, c.in_force.text)
                if spans:
                    quotes.append(Quote("document", f"c-{c.id}", f"{c.citation} {w['in_force']}", spans))
        for s in d.supersession:
            spans = locate(portion, s.text)
            if spans:
                quotes.append(Quote("document", "meta", f"{d.number} {s.article or ''}", spans))
        if d.in_force.text:
            spans = locate(portion, d.in_force.text)
            if spans:
                quotes.append(Quote("document", "meta", f"{d.number} {w['in_force']}", spans))
        source_html = highlight(portion, quotes)
        missing = {q.anchor for q in quotes if q.missing}
        cards = [self.meta_card(d)]
        cards.extend(self.clause_card(c, f"c-{c.id}" in missing) for c in d.clauses)
        body = (f'<p class="meta">{_e(d.title)}</p>{head_note}<div class="cols">'
                f'<section><h2>{_e(w["source"])} <span class="meta">{_e(d.source)}</span></h2>'
                f'<div class="source">{source_html}</div></section>'
                f'<section><h2>{_e(w["encoding"])}</h2>{"".join(cards)}</section></div>')
        return self.page(f"{d.number}", body)

    def meta_card(self, d: Document) -> str:
        w = self.w
        f = d.in_force
        parts = [f'<div class="card" id="meta"><h3>{_e(d.number)}</h3><p class="meta">'
                 f'{_e(w["level"])}：{_e(self.level(d.level))} · {_e(w["jurisdiction"])}：{_e(self.region_name(d.jurisdiction))} '
                 f'({_e(d.jurisdiction)}) · {_e(w["issued"])}：{_e(self.issued(d))}'
                 + (f' · {_e(w["in_force"])}：{_e(f.start.isoformat())}' if f.start else "")
                 + (f' · {_e(w["lower_deadline"])}：{_e(f.lower_deadline.isoformat())}' if f.lower_deadline else "")
                 + "</p>"]
        if d.forwards:
            fw = ", ".join(f'<a href="doc-{_e(x)}.html">{_e(self._number(x))}</a>' for x in d.forwards)
            parts.append(f"<p>{_e(w['forwards'])}：{fw}</p>")
        for s in d.supersession:
            parts.append(f'<p>{_e(s.article or "")} 「{_e(s.text)}」 <code>{_e(s.kind)}</code></p>')
        line = d.where.line or 1
        parts.append(f'<p class="meta"><a href="{_e(self.files[d.file])}#L{line}">{_e(w["file"])} '
                     f'{_e(Path(d.file).name)}:{line}</a></p></div>')
        return "".join(parts)

    def _number(self, doc_id: str) -> str:
        for d in self.policy.documents:
            if d.id == doc_id:
                return d.number
        return doc_id

    def clause_card(self, c: Clause, missing: bool) -> str:
        from policy_dsl.language.expr.printer import to_text

        w = self.w
        f = c.in_force
        rows = [f'<div class="card" id="c-{_e(c.id)}"><h3>{_e(c.citation)} <code>{_e(c.ref)}</code></h3>',
                f'<p class="meta">{_e(w["topic"])}：{_e(", ".join(c.topics))}'
                + (f' · {_e(w["in_force"])}：{_e(f.start.isoformat())}' if f.start else "")
                + (f' · {_e(w["until"])} {_e(f.until.isoformat())}' if f.until else "")
                + (f' · {_e(w["lower_deadline"])}：{_e(f.lower_deadline.isoformat())}' if f.lower_deadline else "")
                + "</p>"]
        if f.adoptions:
            rows.append("<p>" + _e(w["adoptions"]) + "：" + "; ".join(
                f"{_e(self.region_name(code))} {_e(day.isoformat() if day else '')} ({_e(by)})"
                for code, (day, by) in sorted(f.adoptions.items())) + "</p>")
        if missing:
            rows.append(f'<p class="fail">{_e(w["quote_missing"])}</p>')
        else:
            rows.append(f'<p><a href="#src-c-{_e(c.id)}">{_e(w["see_source"])} ↖</a></p>')
        rows.append(f'<p>{_e(w["condition"])}：<code>{_e(to_text(c.when.node) if c.when else "true")}</code></p>')
        if c.outcome == "decide":
            rows.append(f'<p>{_e(w["outcome"])}：</p><ul>' + "".join(
                f"<li><code>{_e(n)} = {_e(to_text(e.node))}</code></li>" for n, e in c.decide) + "</ul>")
        elif c.outcome == "adopt":
            target = self.policy.clauses.get(c.adopt)
            rows.append(f"<p>{_e(w['adopts'])} " + (self.clause_link(target) if target else _e(c.adopt)) + "</p>")
        elif c.outcome == "delegate":
            rows.append(f"<p>{_e(w['delegates'])} {_e(c.delegate_to)}"
                        + (f" <code>{_e(', '.join(c.delegated))}</code>" if c.delegated is not None else "")
                        + (f" <code>{_e(json.dumps(c.bounds, ensure_ascii=False))}</code>" if c.bounds else "") + "</p>")
        elif c.outcome == "reject":
            rows.append(f"<p>{_e(w['rejects'])}：{_e((c.reject or {}).get(self.lang) or (c.reject or {}).get('zh', ''))}</p>")
        elif c.outcome == "inform":
            rows.append(f"<p>{_e(w['notes'])}：{_e((c.inform or {}).get(self.lang) or (c.inform or {}).get('zh', ''))}</p>")
        elif c.outcome == "evaluate_as":
            kind, facts = c.evaluate_as
            rows.append(f"<p>{_e(w['evaluate_as'])} <code>{_e(kind)}</code>：" + ", ".join(
                f"<code>{_e(n)} = {_e(to_text(e.node))}</code>" for n, e in facts) + "</p>")
        if c.exception_to is not None:
            if c.exception_to == "all":
                what = _e(w["all"])
            else:
                what = ", ".join(self.clause_link(self.policy.clauses[r]) if r in self.policy.clauses else _e(r)
                                 for r in c.exception_to)
            rows.append(f"<p>{_e(w['exception'])}：{what}</p>")
        if c.reading:
            rows.append(f"<p>{_e(w['reading'])}：{_e(c.reading.get(self.lang) or c.reading.get('zh', ''))}</p>")
        for n in c.notes:
            cond = f" <code>{_e(n['when'])}</code>" if n.get("when") else ""
            rows.append(f"<p>{_e(w['notes'])}{cond}：{_e(n.get(self.lang) or n.get('zh', ''))}</p>")
        line = c.where.line or 1
        rows.append(f'<p class="meta"><a href="{_e(self.files[c.doc.file])}#L{line}">{_e(w["file"])} '
                    f'{_e(Path(c.doc.file).name)}:{line}</a></p><pre class="yaml">{_e(self.snippet(c))}</pre>')
        reached = self.reached.get(c.ref, [])
        if reached:
            rows.append(f"<p>{_e(w['reached_by'])} ({len(reached)})：</p><ul>" + "".join(
                f'<li><a href="{_e(test_page_name(t))}#t-{t.index}">{_e(t.name)}</a>'
                + ("" if t.passed else f' <span class="fail">{_e(w["failed"])}</span>') + "</li>" for t in reached)
                + "</ul>")
        else:
            rows.append(f'<p class="fail">{_e(w["no_test"])}</p>')
        rows.append("</div>")
        return "".join(rows)

    def snippet(self, c: Clause) -> str:
        """The clause as written in its policy file: from its ``- id:`` line to the next clause."""
        lines = self._lines(c.doc.file)
        start = (c.where.line or 1) - 1
        idx = c.doc.clauses.index(c)
        end = (c.doc.clauses[idx + 1].where.line - 1) if idx + 1 < len(c.doc.clauses) else len(lines)
        chunk = lines[start:end]
        while chunk and (not chunk[-1].strip() or chunk[-1].lstrip().startswith("#")):
            chunk.pop()
        if chunk:
            indent = len(chunk[0]) - len(chunk[0].lstrip(" -"))
            chunk = [ln[indent:] if ln[:indent].strip(" -") == "" else ln for ln in chunk]
        return "\n".join(chunk)

    def _lines(self, file: str) -> list[str]:
        try:
            return read_text(file, LIMITS["policy"]).splitlines()
        except PolicyDslError:
            return []

    def file_page(self, file: Path) -> str:
        lines = self._lines(str(file))
        rows = "".join(f'<tr id="L{i}"><td class="n"><a href="#L{i}">{i}</a></td><td class="l">{_e(ln)}</td></tr>'
                       for i, ln in enumerate(lines, 1))
        return self.page(file.name, f'<table class="lines">{rows}</table>')

    def test_page(self, runs: list[TestRun]) -> str:
        w = self.w
        items = []
        for t in runs:
            status = (f'<span class="pass">{_e(w["passed"])}</span>' if t.passed
                      else f'<span class="fail">{_e(w["failed"])}</span>: ' + _e("; ".join(t.problems)))
            links = ", ".join(self.clause_link(self.policy.clauses[r]) for r in t.reached if r in self.policy.clauses)
            items.append(f'<li id="t-{t.index}"><strong>{_e(t.name)}</strong> — {status}<br>'
                         f'{_e(w["case"])}：<code>{_e(json.dumps(t.case, ensure_ascii=False, default=str))}</code><br>'
                         f'{_e(w["expect"])}：<code>{_e(json.dumps(t.expect, ensure_ascii=False, default=str))}</code><br>'
                         f'{_e(w["governing"])}：{links or _e(w["none"])}</li>')
        return self.page(runs[0].file.name, f'<ol class="tests" start="0">{"".join(items)}</ol>')

    # -- regions
    def region(self, region) -> str:
        w = self.w
        vocab = self.policy.vocab
        topics = [t for t in vocab.kinds if any(c.applies_to_region(region) for c in self.policy.by_topic.get(t, ()))]
        parts = [f'<p class="meta">{_e(w["representative"])}：{_e(region.name)} ({_e(region.code)})</p>',
                 f'<h2>{_e(w["timeline"])}</h2>']
        svg = timeline_picture(self.policy, region, topics, self.lang)
        if svg:
            parts.append(f'<div class="timeline">{svg}</div>')
        else:
            parts.append(f'<p class="note">{_e(w["timeline_missing"])}</p>')
        years = self.years()
        head = "".join(f"<th>{y}</th>" for y in years)
        parts.append(f'<p class="meta">{_e(w["table_note"])}</p><table><tr><th>{_e(w["topic"])}</th>{head}</tr>')
        for topic in topics:
            kind = vocab.kinds[topic]
            label = kind.zh if self.lang == "zh" else kind.en
            cells = []
            for y in years:
                cells.append('<td class="cell">' + self.year_cell(region, topic, y) + "</td>")
            parts.append(f"<tr><th>{_e(label)}<br><code>{_e(topic)}</code></th>{''.join(cells)}</tr>")
        parts.append("</table>")
        return self.page(f"{region.name}", "\n".join(parts))

    def years(self) -> list[int]:
        """The years the policy files span (the probe grid's)."""
        from policy_dsl.analysis.grid import grid_of

        return list(grid_of(self.policy).years)

    def year_cell(self, region, topic: str, year: int) -> str:
        """The periods of ``year`` with the clauses in force in each, most specific first."""
        changes = {dt.date(year, 1, 1)}
        for c in self.policy.by_topic.get(topic, ()):
            if not c.applies_to_region(region):
                continue
            for x in (c.local_start(region), c.doc.issued,
                      c.in_force.until + dt.timedelta(days=1) if c.in_force.until else None):
                if x and x.year == year:
                    changes.add(x)
        out, previous = [], None
        for day in sorted(changes):
            found = resolve.what_applies(self.policy, region, day, [topic])[topic]
            cites = list(dict.fromkeys(r["clause"].doc.id + "|" + r["clause"].article for r in found["in_force"]))
            key = tuple(cites)
            if key == previous:
                continue
            previous = key
            seen, links = set(), []
            for r in found["in_force"]:
                c = r["clause"]
                k = (c.doc.id, c.article)
                if k in seen:
                    continue
                seen.add(k)
                links.append(self.clause_link(c))
            when = day.strftime("%m-%d")
            out.append(f'<div><span class="d">{_e(when)}</span> ' + ("<br>".join(links) or "—") + "</div>")
        return "".join(out)

    # -- precedence
    def precedence(self) -> str:
        from policy_dsl.engine.results import REASONS

        w = self.w
        docs = sorted(self.policy.documents, key=lambda d: (d.rank, d.issued, d.id))
        parts = [f"<h2>{_e(w['rules'])}</h2><ol>"]
        for key, rule in (("exception", "rule_exception"), ("yields_to_superior", "rule_yields"),
                          ("specificity", "rule_specificity"), ("later_rule", "rule_later"), ("tie", "rule_tie")):
            parts.append(f"<li><strong>{_e(REASONS.in_language(key, self.lang))}</strong> <code>{_e(key)}</code>：{_e(w[rule])}</li>")
        parts.append("</ol>")
        parts.append(f"<h2>{_e(w['layers'])}</h2><table><tr>")
        for level in sorted(LEVEL_RANK, key=LEVEL_RANK.get):
            parts.append(f"<th>{_e(self.level(level))}</th>")
        parts.append("</tr><tr>")
        for level in sorted(LEVEL_RANK, key=LEVEL_RANK.get):
            cell = []
            for d in (x for x in docs if x.level == level):
                bits = [f'<a href="doc-{_e(d.id)}.html">{_e(d.number)}</a> <span class="meta">{_e(self.issued(d))} · '
                        f'{_e(self.region_name(d.jurisdiction))}</span>']
                if d.forwards:
                    bits.append(f'<span class="meta">{_e(w["forwards"])} '
                                + ", ".join(_e(self._number(x)) for x in d.forwards) + "</span>")
                for s in d.supersession:
                    bits.append(f'<span class="meta">「{_e(s.text)}」 <code>{_e(s.kind)}</code></span>')
                cell.append("<div>" + "<br>".join(bits) + "</div>")
            parts.append('<td class="cell">' + "".join(cell) + "</td>")
        parts.append("</tr></table>")
        parts.append(f"<h2>{_e(w['matrix'])}</h2><p class='meta'>{_e(w['matrix_note'])}</p><table><tr><th></th>")
        parts.extend(f"<th>{_e(d.number)}</th>" for d in docs)
        parts.append("</tr>")
        for a in docs:
            parts.append(f"<tr><th>{_e(a.number)}</th>")
            for b in docs:
                if a is b:
                    parts.append("<td>—</td>")
                    continue
                if not (self.registry.get(a.jurisdiction).within(b.jurisdiction)
                        or self.registry.get(b.jurisdiction).within(a.jurisdiction)):
                    parts.append("<td></td>")
                    continue
                sa, sb = SimpleNamespace(doc=a, exception_to=None, ref=""), SimpleNamespace(doc=b, exception_to=None, ref="")
                ab, ba = resolve.beats(sa, sb), resolve.beats(sb, sa)
                if ab:
                    parts.append(f"<td>← {_e(a.number)}：{_e(REASONS.in_language(ab, self.lang))}</td>")
                elif ba:
                    parts.append(f"<td>↑ {_e(b.number)}：{_e(REASONS.in_language(ba, self.lang))}</td>")
                else:
                    parts.append(f"<td>{_e(REASONS.in_language('tie', self.lang))}</td>")
            parts.append("</tr>")
        parts.append("</table>")
        exceptions = [c for c in self.policy.clauses.values() if c.exception_to is not None]
        if exceptions:
            parts.append(f"<h2>{_e(w['exceptions'])}</h2><ul>")
            for c in exceptions:
                what = _e(w["all"]) if c.exception_to == "all" else ", ".join(
                    self.clause_link(self.policy.clauses[r]) if r in self.policy.clauses else _e(r) for r in c.exception_to)
                parts.append(f"<li>{self.clause_link(c)} → {what}</li>")
            parts.append("</ul>")
        adopting = [c for c in self.policy.clauses.values() if c.outcome == "adopt" and c.adopted is not None]
        if adopting:
            parts.append(f"<h2>{_e(w['adopts'])}</h2><ul>")
            parts.extend(f"<li>{self.clause_link(c)} → {self.clause_link(c.adopted)}</li>" for c in adopting)
            parts.append("</ul>")
        return self.page(w["precedence"], "\n".join(parts))


def timeline_picture(policy: PolicySet, region, topics: list[str], lang: str = "zh") -> str | None:
    """The SVG timeline of ``region`` from policy_dsl.tools.timeline (written separately); None when
    that module is not there yet — the region page then shows only the table."""
    try:
        from policy_dsl.tools.timeline import timeline_svg
    except ImportError:
        return None
    return timeline_svg(policy, region, topics, lang=lang)


def write_report(policy: PolicySet, policy_dirs: list[Path], out: Path, lang: str = "zh") -> list[Path]:
    return Site(policy, policy_dirs, lang).write(out)
