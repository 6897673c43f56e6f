"""`policy-dsl timeline`: per topic, which clause governed over time, in the terminal and as SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def test_timeline_json_for_jinan(cli):
    data = cli("timeline", "--region", "济南", "--topic", "transfer", "--format", "json").json
    rows = {f"{r['document']} {r['article']}": r for r in data["topics"]["transfer"]}
    jn = rows["济医保发〔2022〕2号 二"]["segments"]
    assert jn == [{"state": "pending", "from": "2022-03-08", "to": "2022-03-31"},
                  {"state": "in_force", "from": "2022-04-01", "to": "2026-12-31"}]
    assert rows["医保办发〔2021〕43号 第十一条第一款"]["segments"][0] == {
        "state": "pending", "from": "2021-11-01", "to": "2021-11-30"}
    assert list(rows)[0].startswith("济医保发")  # most specific first


def test_svg_renders_every_topic_over_2020_2026(cli, tmp_path):
    out = tmp_path / "jinan.svg"
    run = cli("timeline", "--region", "济南", "--svg", out)
    assert run.code == 0 and out.exists()
    root = ET.fromstring(out.read_text(encoding="utf-8"))  # well-formed XML
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    for year in range(2020, 2027):
        assert str(year) in texts
    for topic in ("arrears", "transfer", "newborn", "resident_enrollment", "retirement_min_years"):
        assert any(f"({topic})" in t for t in texts), topic
    rects = [r for r in root.iter(f"{SVG}rect") if "class" in r.attrib]
    levels = {c for r in rects for c in r.attrib["class"].split()}
    assert {"in_force", "pending", "national", "province", "city"} <= levels
    # 三(六) retirement minimum is pending in 济南 until 2026 (hatched), never solid before
    retire = [r for r in rects if "pending" in r.attrib["class"] and "三(六)" in (r.find(f"{SVG}title").text or "")]
    assert retire


def test_guangzhou_timeline_has_only_national_rows(cli):
    data = cli("timeline", "--region", "广州", "--format", "json").json
    levels = {r["level"] for rows in data["topics"].values() for r in rows}
    assert levels == {"national"}


def test_svg_lays_out_in_a_real_browser(cli, tmp_path):
    """Headless Chromium opens the picture; a script counts the bars it actually laid out."""
    import shutil
    import subprocess

    import pytest

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium on this machine (CI installs it: apt-get install chromium)")
    svg = tmp_path / "jinan.svg"
    cli("timeline", "--region", "济南", "--svg", svg)
    page = tmp_path / "page.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><body>" + svg.read_text(encoding="utf-8") +
        "<pre id=out></pre><script>const bars=[...document.querySelectorAll('rect.in_force,rect.pending')];"
        "const laid=bars.filter(r=>{const b=r.getBBox();return b.width>0&&b.height>0});"
        "const svg=document.querySelector('svg').getBoundingClientRect();"
        "document.getElementById('out').textContent=`bars=${bars.length} laid=${laid.length} w=${Math.round(svg.width)}`"
        "</script>", encoding="utf-8")
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    import re

    m = re.search(r"bars=(\d+) laid=(\d+) w=(\d+)", run.stdout)
    assert m, run.stderr[-2000:]
    bars, laid, width = map(int, m.groups())
    assert bars > 20 and laid == bars and width == 1100
