"""`policy-dsl report`: the static site. Its content (every quoted text highlighted and linked,
every clause linked to its encoding and its tests), its links (to files and anchors that
exist), and — in headless Chromium — that every page renders with no console error, no
uncaught exception and no failed load."""

from __future__ import annotations

import functools
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from headless import Browser, find_chromium


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.srcs, self.classes = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "link" and "href" in a:
            self.srcs.append(a["href"])
        if "class" in a:
            self.classes.append((tag, a["class"], a.get("href")))


def _parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from policy_dsl.face.cli import main

    out = tmp_path_factory.mktemp("report") / "site"
    assert main(["report", "--out", str(out)]) == 0
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def test_report_pages(site, policy):
    names = {p.name for p in _pages(site)}
    assert {"index.html", "precedence.html"} <= names
    for d in policy.documents:
        assert f"doc-{d.id}.html" in names
    assert "region-370100.html" in names  # 济南, the city with a city document
    assert any(n.startswith("tests-") for n in names)


def test_every_quote_is_highlighted_and_linked(site, policy):
    for d in policy.documents:
        page = _parse(site / f"doc-{d.id}.html")
        marks = {href for tag, cls, href in page.classes if tag == "a" and cls == "q"}
        for c in d.clauses:
            assert f"c-{c.id}" in page.ids, c.ref  # the encoding's card
            assert f"src-c-{c.id}" in page.ids, f"{c.ref}: quoted text not located in the source"
        # every clause's text is highlighted; the links point at cards on the page
        assert all(h.startswith("#c-") and h[1:] in page.ids for h in marks)
        if d.clauses:
            assert marks


def test_clauses_link_to_their_tests(site, policy):
    text = (site / "doc-jn-2022-2.html").read_text(encoding="utf-8")
    card = text[text.index('id="c-resident-late"'):]
    card = card[: card.index('<div class="card"', 10)] if '<div class="card"' in card[10:] else card
    assert "tests-resident_enrollment.html#t-" in card
    assert "file-jn-2022-2.html#L" in card
    assert "waiting_months = 3" in card


def _check_links(site: Path, page: Path, ids=lambda target: _parse(target).ids) -> list[str]:
    """The links of ``page`` that lead nowhere (``ids``: the element ids of a page of the site)."""
    bad = []
    parsed = _parse(page)
    for href in parsed.hrefs + parsed.srcs:
        u = urlparse(href)
        if u.scheme or u.netloc:
            bad.append(f"{page.name}: external link {href}")
            continue
        target = page if not u.path else (page.parent / unquote(u.path))
        if not target.is_file():
            bad.append(f"{page.name}: {href} → no such file")
            continue
        if u.fragment and target.suffix == ".html" and u.fragment not in ids(target):
            bad.append(f"{page.name}: {href} → no element with id {u.fragment}")
    return bad


def test_links_resolve(site):
    bad = []
    ids = functools.cache(lambda target: _parse(target).ids)  # each page of the site parsed once, not per link
    for page in _pages(site):
        bad += _check_links(site, page, ids)
    assert not bad, "\n".join(bad[:20])


def test_report_json_and_lang(tmp_path, cli):
    r = cli("report", "--out", tmp_path / "en", "--lang", "en", "--format", "json")
    assert r.code == 0
    assert r.json["tests"]["failed"] == 0 and r.json["tests"]["passed"] > 0
    assert "Precedence" in (tmp_path / "en" / "precedence.html").read_text(encoding="utf-8")


@pytest.mark.skipif(find_chromium() is None and not os.environ.get("POLICY_DSL_REQUIRE_BROWSER"),
                    reason="chromium is not installed (apt-get install chromium); the browser test runs in CI (.ci/run)")
def test_pages_render_in_chromium(site):
    assert find_chromium(), "POLICY_DSL_REQUIRE_BROWSER is set but chromium is not installed"
    with Browser() as browser:
        for page in _pages(site):
            problems = browser.open(page.resolve().as_uri())
            assert not problems, f"{page.name}: {problems}"
            info = browser.eval("""JSON.stringify({
                title: document.title,
                text: document.body.innerText.length,
                css: getComputedStyle(document.querySelector('header')).backgroundColor,
                hrefs: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
                marks: document.querySelectorAll('a.q').length,
                svg: document.querySelectorAll('svg').length,
                tables: document.querySelectorAll('table').length})""")
            import json

            info = json.loads(info)
            assert info["title"] and info["text"] > 50, page.name
            assert info["css"] == "rgb(11, 61, 98)", f"{page.name}: style.css not applied"
            for href in info["hrefs"]:  # as the browser resolved them: local files that exist
                u = urlparse(href)
                assert u.scheme == "file", f"{page.name}: {href}"
                assert Path(unquote(u.path)).is_file(), f"{page.name}: {href}"
            if page.name.startswith("doc-") and page.name != "doc-lu-2021-53.html":
                assert info["marks"] > 0, f"{page.name}: no highlighted quote"
            if page.name.startswith("region-"):
                assert info["tables"] >= 1
        # following a highlighted quote lands on its encoding
        doc = (site / "doc-jn-2022-2.html").resolve().as_uri()
        assert not browser.open(doc)
        browser.eval("document.querySelector('a.q').click()")
        assert re.match(r"#c-[a-z0-9-]+$", browser.eval("location.hash"))
        assert browser.eval("document.querySelector(':target').className") == "card"


def test_issue_dates_shown_only_as_far_as_the_text_gives_them(site, policy):
    """61号 and 53号 give no day: the report says the year and that the day is not known."""
    for d in policy.documents:
        page = (site / f"doc-{d.id}.html").read_text(encoding="utf-8")
        index = (site / "index.html").read_text(encoding="utf-8")
        if d.issued_precision == "year":
            assert f"{d.issued.year}年（日期不详" in page and f"{d.issued.year}年（日期不详" in index
        else:
            assert d.issued.isoformat() in page
    assert any(d.issued_precision == "year" for d in policy.documents)
