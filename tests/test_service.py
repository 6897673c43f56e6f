"""The HTTP service against the command line: every endpoint answers what the CLI prints for the
same question (byte for byte for applies and eval, errors included), and every error is JSON with
the CLI's code and a 4xx status. The service runs for real (uvicorn on 127.0.0.1, tests/serving.py)."""

from __future__ import annotations

import contextlib
import io
import json
import sys

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from conftest import REPO, generated_cases  # noqa: E402
from serving import Served  # noqa: E402

ARREARS = {"id": "example-arrears", "kind": "arrears", "region": "济南", "worker": "flexible",
           "last_paid_month": "2022-06", "paid_on": "2022-11-03"}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A copy of the shipped policies, outside the folders the service and the CLI run in (so both
    name it by its absolute path in ``policy_set``)."""
    import shutil

    from policy_dsl.language import resources

    dest = tmp_path_factory.mktemp("served") / "policies"
    shutil.copytree(resources.policies_dir(), dest)
    return dest


@pytest.fixture(scope="module")
def served(shipped):
    with Served(policies=[shipped]) as s:
        yield s


def cli_bytes(shipped, monkeypatch, tmp_path, *args) -> tuple[int, bytes]:
    """``policy-dsl ARGS --policies SHIPPED`` run in ``tmp_path`` (so a case file there is named as
    the service names a body), its exit code and stdout as bytes."""
    from policy_dsl.face.cli import main

    monkeypatch.chdir(tmp_path)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main([str(a) for a in args] + ["--policies", str(shipped)])
        out.flush()
    return code, out.buffer.getvalue()


def generated(n: int) -> list[dict]:
    return generated_cases(n, 11)


# -- health, schema, openapi, kinds, clauses -----------------------------------------------------------
def test_health_names_the_policy_set(served, policy):
    status, data = served.get_json("/health")
    assert status == 200 and data["status"] == "ok"
    ps = data["policy_set"]
    assert ps["kind"] == "folder" and ps["files"] == 7 and len(ps["hash"]) >= 16
    assert ps["source"] == str(served.holder.paths[0])
    assert "policy_error" not in data


def test_schema_is_the_cli_schema(served, cli):
    status, body = served.get("/schema/case")
    assert status == 200 and json.loads(body) == cli("schema", "case").json


def test_openapi_lists_every_endpoint(served):
    status, doc = served.get_json("/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert {"/applies", "/eval", "/regions", "/schema/case", "/health", "/openapi.json", "/"} <= set(doc["paths"])
    assert "application/x-ndjson" in doc["paths"]["/eval"]["post"]["requestBody"]["content"]
    refs = json.dumps(doc)
    for ref in {r.split('"')[0] for r in refs.split('"$ref": "')[1:]}:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref


def test_kinds_and_clauses_for_the_page(served, policy):
    status, kinds = served.get_json("/kinds")
    assert status == 200 and kinds["kinds"]["arrears"]["zh"] == "中断缴费（欠费）"
    assert kinds["outputs"]["benefit_start"]["zh"] == "待遇起始日"
    assert kinds["labels"]["facts"]["paid_on"]["zh"] == "缴费日期" and "灵活就业人员" in kinds["labels"]["values"]["worker"]["flexible"]
    status, data = served.get_json("/clauses")
    clause = data["clauses"]["jn-2022-2/arrears-flexible-long-gap"]
    assert clause["document"] == "济医保发〔2022〕2号" and "第4个月起享受待遇" in clause["text"]
    assert len(data["clauses"]) == sum(len(d.clauses) for d in policy.documents)
    status, headers, _ = served.request("GET", "/clauses", headers={"If-None-Match": f'"{data["policy_set"]["hash"]}"'})
    assert status == 304


# -- applies -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, args", [
    ({"date": "2022-04-01", "region": "济南"}, ["--date", "2022-04-01", "--region", "济南"]),
    ({"date": "2021-11-15", "region": "全国", "topic": "deadline"}, ["--date", "2021-11-15", "--region", "全国", "--topic", "deadline"]),
    ({"date": "2022-03-31", "region": "370102", "topic": ["arrears", "first_enrollment"], "lang": "en"},
     ["--date", "2022-03-31", "--region", "370102", "--topic", "arrears", "--topic", "first_enrollment", "--lang", "en"]),
])
def test_applies_is_the_cli_json(served, shipped, monkeypatch, tmp_path, params, args):
    code, want = cli_bytes(shipped, monkeypatch, tmp_path, "applies", *args, "--format", "json")
    assert code == 0
    status, body = served.get("/applies", **params)
    assert status == 200 and body == want
    assert served.get("/applies", **params) == (200, want)  # the second time from the cache: the same bytes


def test_applies_topics_may_be_comma_separated(served):
    a = served.get("/applies", date="2022-04-01", region="济南", topic="arrears,deadline")
    b = served.get("/applies", date="2022-04-01", region="济南", topic=["arrears", "deadline"])
    assert a == b and set(json.loads(a[1])["topics"]) == {"arrears", "deadline"}


@pytest.mark.parametrize("params, code, where", [
    ({"date": "2022-02-30", "region": "济南"}, "E-DATE", "date"),
    ({"date": "20220401", "region": "济南"}, "E-DATE", "date"),
    ({"date": "2022-04-01", "region": "济北"}, "E-REGION-UNKNOWN", "region"),
    ({"date": "2020-04-01", "region": "371200"}, "E-REGION-ABOLISHED", "region"),
    ({"date": "2022-04-01", "region": "济南", "topic": "arears"}, "E-TOPIC", "topic"),
    ({"region": "济南"}, "E-USAGE", "query"),
    ({"date": "2022-04-01", "region": "济南", "regoin": "x"}, "E-USAGE", "query"),
    ({"date": ["2022-04-01", "2022-04-02"], "region": "济南"}, "E-USAGE", "query"),
    ({"date": "2022-04-01", "region": "济南", "lang": "fr"}, "E-USAGE", "lang"),
])
def test_applies_errors_are_the_cli_errors(served, params, code, where):
    status, data = served.get_json("/applies", **params)
    assert status == 400 and data["error"]["code"] == code and data["error"]["where"] == where
    assert set(data["error"]) == {"code", "message", "where"} and "Traceback" not in json.dumps(data)


def test_applies_error_message_is_the_cli_message(served, cli):
    _, data = served.get_json("/applies", date="2022-04-01", region="济北")
    want = cli("applies", "--date", "2022-04-01", "--region", "济北", "--format", "json")
    assert want.code == 2 and data["error"]["message"] == want.json["error"]["message"]


# -- eval ----------------------------------------------------------------------------------------------------
def _eval_both(served, monkeypatch, tmp_path, body: bytes, suffix: str, media: str, query: str = "", args=()):
    (tmp_path / f"request{suffix}").write_bytes(body)
    code, want = cli_bytes(served.policies[0], monkeypatch, tmp_path, "eval", f"request{suffix}", "--format", "json", *args)
    status, got = served.post("/eval" + query, body, media)
    return code, want, status, got


def test_eval_one_case(served, monkeypatch, tmp_path):
    body = json.dumps(ARREARS, ensure_ascii=False).encode()
    code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".json", "application/json")
    assert code == 0 and status == 200 and got == want
    assert json.loads(got)["benefit_start"] == "2023-02-01" and json.loads(got)["trace"] == []  # only when asked
    code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".json", "application/json",
                                         "?explain=true", ("--explain",))
    assert code == 0 and status == 200 and got == want and json.loads(got)["trace"][0].startswith("地区链：")


def test_eval_yaml_case_is_the_example(served, monkeypatch, tmp_path):
    body = (REPO / "examples" / "arrears-jinan.yaml").read_bytes()
    code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".yaml", "application/yaml")
    assert code == 0 and status == 200 and got == want


def test_eval_one_bad_case_is_400_with_the_cli_answer(served, monkeypatch, tmp_path):
    body = json.dumps({**ARREARS, "paid_on": "2022-11-31"}).encode()
    code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".json", "application/json")
    assert code == 2 and status == 400 and got == want
    assert json.loads(got)["error"]["code"] == "E-CASE-VALUE" or json.loads(got)["error"]["code"].startswith("E-")


def test_eval_a_list_with_bad_cases(served, monkeypatch, tmp_path):
    cases = generated(40) + [{"kind": "arrears"}, {**ARREARS, "region": "莱芜"}, [1, 2], {**ARREARS, "low_income": 1}]
    body = json.dumps(cases, ensure_ascii=False, indent=1).encode()
    for query, args in (("", ()), ("?as_of=2023-03-01&lang=en", ("--as-of", "2023-03-01", "--lang", "en"))):
        code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".json", "application/json", query, args)
        assert code == 2 and status == 200 and got == want
        answers = json.loads(got)
        assert len(answers) == len(cases) and sum("error" in a for a in answers) >= 3


def test_eval_json_lines_byte_for_byte(served, monkeypatch, tmp_path):
    lines = [json.dumps(c, ensure_ascii=False) for c in generated(1500)]
    odd = ["not json", '{"kind": "arrears"}', "[1, 2]", "", '{"id": 1, "id": 2}',
           json.dumps({**ARREARS, "id": 7, "paid_on": "2022-02-30"}, ensure_ascii=False), "\ufeff{}"]
    body = ("\n".join(lines[:700] + odd + lines[700:] + odd) + "\n").encode()
    for query, args in (("", ()), ("?explain=true&lang=en", ("--explain", "--lang", "en")),
                        ("?as_of=2023-03-01", ("--as-of", "2023-03-01"))):
        code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".jsonl", "application/x-ndjson", query, args)
        assert code == 2 and status == 200 and got == want, query
    assert len(got.splitlines()) == len(lines) + 2 * (len(odd) - 1)


def test_eval_body_that_is_not_json(served, monkeypatch, tmp_path):
    body = b'[{"kind": "arrears", "region": "\xe6\xb5\x8e\xe5\x8d\x97"},'
    code, want, status, got = _eval_both(served, monkeypatch, tmp_path, body, ".json", "application/json")
    assert code == 2 and status == 400 and got == want and json.loads(got)["error"]["code"] == "E-CASE-JSON"


@pytest.mark.parametrize("method, path, body, headers, status, code", [
    ("POST", "/eval", b"{}", {"Content-Type": "text/plain"}, 415, "E-MEDIA-TYPE"),
    ("GET", "/eval", None, {}, 405, "E-METHOD"),
    ("POST", "/applies", b"{}", {"Content-Type": "application/json"}, 405, "E-METHOD"),
    ("GET", "/nowhere", None, {}, 404, "E-NOT-FOUND"),
    ("GET", "/report/zh/..%2Fsecret", None, {}, 404, "E-NOT-FOUND"),
    ("POST", "/eval?explain=perhaps", b"{}", {"Content-Type": "application/json"}, 400, "E-USAGE"),
    ("POST", "/eval?as_of=2022-13-01", b"{}", {"Content-Type": "application/json"}, 400, "E-DATE"),
    ("POST", "/eval", b"{}", {"Content-Type": "application/json", "Content-Length": "99999999999"}, 413, "E-INPUT-SIZE"),
])
def test_http_errors_are_json_with_the_cli_codes(served, method, path, body, headers, status, code):
    if "Content-Length" in headers:  # a length far over the limit, refused before any body is read
        import socket

        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as s:
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {headers['Content-Length']}\r\n\r\n".encode())
            raw = b""
            while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
        head, _, data = raw.partition(b"\r\n\r\n")
        got_status = int(head.split()[1])
        data = json.loads(data)
    else:
        got_status, _, raw = served.request(method, path, body, headers)
        data = json.loads(raw)
    assert got_status == status and data["error"]["code"] == code


def test_no_traceback_reaches_a_client(served, monkeypatch):
    from policy_dsl.face import api

    def broken(*a, **k):
        raise RuntimeError("a bug of ours, with /secret/path in it")

    monkeypatch.setattr(api, "applies_found", broken)
    status, body = served.get("/applies", date="2022-04-01", region="青岛")
    assert status == 500
    data = json.loads(body)
    assert data["error"]["code"] == "E-INTERNAL" and "secret" not in body.decode() and "Traceback" not in body.decode()


# -- regions ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q, first", [("济南", "370100"), ("jinan", "370100"), ("3701", "370100"), ("济南市", "370100"),
                                      ("山东", "370000"), ("历下", "370102")])
def test_regions_search(served, q, first):
    status, data = served.get_json("/regions", q=q)
    assert status == 200 and data["regions"][0]["code"] == first
    assert {"code", "name", "full_name", "level", "valid_from", "valid_to"} <= set(data["regions"][0])


def test_regions_are_the_registry_search(served):
    from policy_dsl.language.regions import default_registry

    for q in ("济南历", "shizhong", "市中区"):
        assert served.get_json("/regions", q=q, limit="20")[1]["regions"] == default_registry().search(q, 20)
    _, data = served.get_json("/regions", q="市中区")
    assert {r["city"]["name"] for r in data["regions"]} >= {"济南市", "枣庄市"}  # the same name, told apart


def test_regions_carry_validity_dates(served):
    _, data = served.get_json("/regions", q="莱芜")
    assert "371200" not in {r["code"] for r in data["regions"]}  # abolished: not offered for today
    _, data = served.get_json("/regions", q="莱芜", on="2018-06-01")
    laiwu = next(r for r in data["regions"] if r["code"] == "371200")
    assert laiwu["valid_to"] == "2018-12-31" and laiwu["successors"]
    status, data = served.get_json("/regions", q="x" * 65)
    assert status == 400 and data["error"]["code"] == "E-USAGE"
    assert served.get_json("/regions", q="济南", limit="0")[0] == 400


# -- report pages ------------------------------------------------------------------------------------------------
def test_report_pages_are_served(served):
    status, headers, body = served.request("GET", "/report/zh/doc-jn-2022-2.html")
    assert status == 200 and headers["content-type"].startswith("text/html") and 'id="c-arrears-flexible-long-gap"' in body.decode()
    assert served.get("/report/fr/index.html")[0] == 404


def test_the_page_and_its_files_are_served_from_the_package(served):
    status, headers, body = served.request("GET", "/")
    assert status == 200 and "text/html" in headers["content-type"] and b"static/app.js" in body
    assert "default-src 'self'" in headers["content-security-policy"]  # nothing from elsewhere
    for path, media in (("/static/app.js", "javascript"), ("/static/style.css", "css")):
        status, headers, body = served.request("GET", path)
        assert status == 200 and media in headers["content-type"] and body
    assert b"http://" not in body and b"https://" not in body


# -- the policy set: loaded once, re-read when it changes, never half-loaded ---------------------------------------
def test_an_edit_is_picked_up_and_a_bad_edit_keeps_the_last_good_set(policies_copy):
    from policy_dsl.face.service import Limits

    limits = Limits()
    limits.check_interval = 0.0
    case = json.dumps({"kind": "resident_enrollment", "region": "济南", "benefit_year": 2024, "paid_on": "2024-03-05"}).encode()
    jn = policies_copy / "jn-2022-2.yaml"
    with Served(policies=[policies_copy], limits=limits) as s:
        _, health = s.get_json("/health")
        first_hash = health["policy_set"]["hash"]
        assert health["policy_set"]["kind"] == "folder"
        assert json.loads(s.post("/eval", case)[1])["waiting_months"] == 3
        text = jn.read_text(encoding="utf-8")
        block = text[text.index("id: resident-late"):]
        jn.write_text(text.replace(block, block.replace("waiting_months: 3", "waiting_months: 4", 1)), encoding="utf-8")
        s.holder.reload_now()
        assert json.loads(s.post("/eval", case)[1])["waiting_months"] == 4
        _, health = s.get_json("/health")
        assert health["status"] == "ok" and health["policy_set"]["hash"] != first_hash
        good_hash = health["policy_set"]["hash"]
        jn.write_text(jn.read_text(encoding="utf-8").replace("waiting_months: 4", "waiting_months: [", 1), encoding="utf-8")
        s.holder.reload_now()
        _, health = s.get_json("/health")
        assert health["status"] == "stale" and health["policy_set"]["hash"] == good_hash
        assert health["policy_error"]["error"]["code"].startswith("E-") and "jn-2022-2.yaml" in health["policy_error"]["error"]["where"]
        assert json.loads(s.post("/eval", case)[1])["waiting_months"] == 4  # the last good set still answers
        jn.write_text(jn.read_text(encoding="utf-8").replace("waiting_months: [", "waiting_months: 5", 1), encoding="utf-8")
        s.holder.reload_now()
        assert json.loads(s.post("/eval", case)[1])["waiting_months"] == 5
        assert s.get_json("/health")[1]["status"] == "ok"


def test_the_policy_files_are_not_reread_while_unchanged(policies_copy, monkeypatch):
    from policy_dsl.face import api
    from policy_dsl.face.service import Limits

    limits = Limits()
    limits.check_interval = 0.0
    loads = []
    real = api.load_policy
    monkeypatch.setattr(api, "load_policy", lambda paths=None: loads.append(paths) or real(paths))
    with Served(policies=[policies_copy], limits=limits) as s:
        for _ in range(5):
            assert s.get("/applies", date="2022-04-01", region="济南", topic="arrears")[0] == 200
            s.holder.reload_now()
    assert len(loads) == 1


def test_a_revision_is_served_as_it_was(monkeypatch):
    """``serve --rev REV``: the policies of a git revision, named as the CLI names them, never re-read."""
    import subprocess

    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    monkeypatch.chdir(REPO)
    with Served(rev="HEAD") as s:
        _, health = s.get_json("/health")
        assert health["policy_set"]["kind"] == "revision" and s.holder.fixed
        status, data = s.get_json("/applies", date="2022-04-01", region="济南", topic="arrears")
        assert status == 200 and data["policy_set"]["kind"] == "revision"
        assert data["topics"]["arrears"]["in_force"][0]["document"] == "济医保发〔2022〕2号"


def test_serve_without_the_extra_says_how_to_install_it(cli, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("no", name="uvicorn")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    r = cli("serve", "--port", "0")
    assert r.code == 2 and "policy-dsl[serve]" in r.err and "Traceback" not in r.err


def test_other_commands_do_not_import_the_server_stack(tmp_path):
    import subprocess

    code = ("import sys; from policy_dsl.face.cli import main; main(['applies', '--date', '2022-04-01', '--region', '济南',"
            " '--format', 'json']); main(['eval', sys.argv[1], '--format', 'json']); main(['check']);"
            " print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'anyio', 'h11')))")
    case = tmp_path / "case.json"
    case.write_text(json.dumps(ARREARS, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", code, str(case)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_applies_texts_are_dumps_of_the_answer(policy):
    """``AppliesTexts`` (what the service answers new applies questions with) gives ``dumps``'s own
    text of the answer, whether the shape is new or one met on another day."""
    import datetime as dt

    from policy_dsl.face import api

    named = {"kind": "installed", "source": "installed", "hash": policy.fingerprint}
    texts = api.AppliesTexts(named)
    for code in ("370100", "370102", "370200", "130100"):
        for day in [dt.date(2021, 12, 31) + dt.timedelta(days=k) for k in range(0, 400, 9)]:
            found, region = api.applies_found(policy, code, day)
            data = api.applies_json(found, region, day)
            data["policy_set"] = named
            assert texts.text(found, region, day) == api.dumps(data), (code, day)
    assert 0 < len(texts._tails) < 4 * 45  # shapes met again on other days


def test_applies_texts_keep_a_bounded_amount(policy, monkeypatch):
    import datetime as dt

    from policy_dsl.face import api

    monkeypatch.setattr(api.AppliesTexts, "KEEP_CHARS", 40_000)
    texts = api.AppliesTexts()
    for code in ("370100", "370200", "130100", "110105"):
        for day in (dt.date(2020, 6, 1), dt.date(2023, 6, 1)):
            found, region = api.applies_found(policy, code, day)
            assert texts.text(found, region, day) == api.dumps(api.applies_json(found, region, day))
    assert texts._chars == sum(map(len, texts._tails.values())) <= 40_000
