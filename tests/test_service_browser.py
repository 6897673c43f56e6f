"""The staff page of ``policy-dsl serve`` in headless Chromium, used as staff use it: type a region
and pick it from the suggestions, give a date, read what applied; fill the case form and read the
answer; a bad date says so in Chinese; the English switch; no console error, no uncaught
exception, no failed load (and nothing loaded from elsewhere)."""

from __future__ import annotations

import json
import os
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from headless import Browser, find_chromium  # noqa: E402
from serving import Served  # noqa: E402

pytestmark = pytest.mark.skipif(
    find_chromium() is None and not os.environ.get("POLICY_DSL_REQUIRE_BROWSER"),
    reason="chromium is not installed (apt-get install chromium); the browser test runs in CI (.ci/run)")


def wait_for(browser: Browser, expression: str, timeout: float = 15):
    """The value of ``expression`` once it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.eval(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def type_into(browser: Browser, selector: str, text: str) -> None:
    """Type ``text`` as a person does: focus, then one input event per character."""
    browser.eval(f"document.querySelector({json.dumps(selector)}).focus()")
    for i in range(1, len(text) + 1):
        browser.eval(f"(() => {{ const n = document.querySelector({json.dumps(selector)}); n.value = {json.dumps(text[:i])};"
                     " n.dispatchEvent(new Event('input', {bubbles: true})); })()")


def set_value(browser: Browser, selector: str, value: str) -> None:
    browser.eval(f"(() => {{ const n = document.querySelector({json.dumps(selector)}); n.value = {json.dumps(value)};"
                 " n.dispatchEvent(new Event('input', {bubbles: true})); n.dispatchEvent(new Event('change', {bubbles: true})); })()")


def problems(browser: Browser) -> list[str]:
    out = []
    for e in browser.events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append("exception: " + str(p["exceptionDetails"].get("exception", {}).get("description", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            out.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            entry = p["entry"]
            if (entry.get("source") == "network" and "status of 400" in entry.get("text", "")
                    and ("/applies?" in entry.get("url", "") or "/eval?" in entry.get("url", ""))):
                continue  # Chromium's own note of a 400 the page asked for (a bad date) and shows as a message
            out.append("log: " + entry.get("text", "") + " " + entry.get("url", ""))
    return out


@pytest.fixture(scope="module")
def page():
    assert find_chromium(), "POLICY_DSL_REQUIRE_BROWSER is set but chromium is not installed"
    with Served() as served, Browser() as browser:
        assert not browser.open(served.url + "/")
        wait_for(browser, "document.body.dataset.ready")
        yield served, browser


def test_what_applied_in_jinan_on_2022_04_01(page):
    served, b = page
    type_into(b, "#region", "济南")
    first = wait_for(b, "(() => { const li = document.querySelector('#region-list li'); "
                        "return li && !document.getElementById('region-list').hidden ? li.innerText : ''; })()")
    assert "济南市" in first and "370100" in first
    b.eval("document.querySelector('#region-list li').dispatchEvent(new MouseEvent('mousedown', {bubbles: true}))")
    assert b.eval("document.getElementById('region').dataset.code") == "370100"
    set_value(b, "#date", "2022-04-01")
    b.eval("document.querySelector('#applies-form button[type=submit]').click()")
    wait_for(b, "!!document.querySelector('#applies-result [data-topic=arrears]')")
    arrears = b.eval("document.querySelector('#applies-result [data-topic=arrears]').innerText")
    assert "济医保发〔2022〕2号" in arrears  # the city's notice, in force that day
    assert "鲁医保发〔2021〕54号" in arrears  # the province's clauses beneath it …
    assert "取代 鲁医保发〔2021〕54号" in arrears and "下级（更具体的辖区）规定优先" in arrears  # … and what displaces what
    assert "连续欠费3个月以上的，自重新连续缴费的第4个月起享受待遇" in arrears  # the clause's own text
    levels = b.eval("Array.from(document.querySelectorAll('#applies-result [data-topic=arrears] .in-force > li'))"
                    ".map(li => li.className.split(' ')[1])")
    assert levels == sorted(levels, key=["national", "province", "city"].index) and "city" in levels  # 国家 → 省 → 市
    link = b.eval("document.querySelector('#applies-result [data-topic=arrears] li.city a').getAttribute('href')")
    assert link.startswith("report/zh/doc-jn-2022-2.html#c-")
    assert not problems(b)


def test_pending_clauses_are_shown(page):
    served, b = page
    b.eval("delete document.getElementById('region').dataset.code")
    set_value(b, "#region", "全国")
    set_value(b, "#date", "2021-11-15")
    b.eval("document.querySelector('#applies-form button[type=submit]').click()")
    wait_for(b, "!!document.querySelector('#applies-result [data-topic=deadline] .pending li')")
    pending = b.eval("document.querySelector('#applies-result [data-topic=deadline] .pending').innerText")
    assert "医保办发〔2021〕43号" in pending and "生效日期" in pending


def test_a_bad_date_is_said_in_chinese(page):
    served, b = page
    set_value(b, "#region", "济南")
    for bad in ("2022/13/01", "2022-02-30"):
        set_value(b, "#date", bad)
        b.eval("document.getElementById('applies-error').hidden = true")
        b.eval("document.querySelector('#applies-form button[type=submit]').click()")
        message = wait_for(b, "(() => { const e = document.getElementById('applies-error'); return e.hidden ? '' : e.innerText; })()")
        assert "日期" in message, message
        assert b.eval("document.getElementById('applies-result').children.length") == 0
    assert not problems(b)


def test_the_arrears_example_in_the_case_form(page):
    served, b = page
    set_value(b, "#kind", "arrears")
    assert b.eval("document.querySelector('#case-fields').innerText").count("（可选）") >= 1
    labels = b.eval("document.querySelector('#kind').innerText")
    assert "中断缴费（欠费）" in labels  # kinds by their Chinese names, from the kinds table
    fields = b.eval("document.querySelector('#case-fields').innerText")
    assert "缴费日期" in fields and "最后缴费月份" in fields  # facts by their Chinese names
    assert "灵活就业人员" in b.eval("document.querySelector('#f-worker').innerText")
    type_into(b, "#f-region", "济南")
    wait_for(b, "!!document.querySelector('#f-region').parentNode.querySelector('.suggestions li')")
    b.eval("document.querySelector('#f-region').parentNode.querySelector('.suggestions li')"
           ".dispatchEvent(new MouseEvent('mousedown', {bubbles: true}))")
    set_value(b, "#f-worker", "flexible")
    set_value(b, "#f-last_paid_month", "2022-06")
    set_value(b, "#f-paid_on", "2022-11-03")
    b.eval("document.querySelector('#case-form button[type=submit]').click()")
    wait_for(b, "!!document.querySelector('#case-result [data-output=benefit_start]')")
    row = b.eval("document.querySelector('#case-result [data-output=benefit_start]').innerText")
    assert "待遇起始日" in row and "2023-02-01" in row
    assert b.eval("document.querySelector('#case-result .status').innerText") == "已决定"
    governing = b.eval("document.querySelector('#case-result .governing').innerText")
    assert "济医保发〔2022〕2号" in governing and "第4个月起享受待遇" in governing
    assert b.eval("document.querySelectorAll('#case-result .notes li').length") >= 1
    tree = b.eval("document.querySelector('#case-result .trace').innerText")
    assert "济南市 370100" in tree
    assert b.eval("document.querySelectorAll('#case-result .trace li li').length") >= 1  # a tree, not a list
    assert not problems(b)


def test_a_bad_date_in_the_case_form(page):
    served, b = page
    set_value(b, "#f-paid_on", "2022-11-31")
    b.eval("document.querySelector('#case-form button[type=submit]').click()")
    message = wait_for(b, "(() => { const e = document.getElementById('case-error'); return e.hidden ? '' : e.innerText; })()")
    assert "有误" in message or "日期" in message, message
    assert not problems(b)


def test_english_switch(page):
    served, b = page
    b.eval("document.getElementById('lang-switch').click()")
    wait_for(b, "document.documentElement.lang === 'en'")
    assert b.eval("document.querySelector('h2').innerText") == "What applied on a date in a region"
    assert "arrears in the employee scheme" in b.eval("document.querySelector('#kind').innerText")
    b.eval("document.getElementById('lang-switch').click()")
    wait_for(b, "document.documentElement.lang === 'zh-CN'")
    assert not problems(b)


def test_report_links_open(page):
    served, b = page
    found = b.open(served.url + "/report/zh/doc-jn-2022-2.html")
    assert not [p for p in found if not ("status of 400" in p and ("/applies?" in p or "/eval?" in p))]  # notes left from the bad dates
    assert b.eval("document.querySelectorAll('a.q').length") > 0
