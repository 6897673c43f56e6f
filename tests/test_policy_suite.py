"""`policy-dsl test`: the shipped suite (policies/tests) is green and reaches every clause; a
failing expectation fails with the difference spelled out."""

from __future__ import annotations

import re


def test_shipped_suite_green_and_complete(cli):
    run = cli("test")
    assert run.code == 0, run.out[-3000:]
    m = re.search(r"^(\d+) 个通过，(\d+) 个未通过$", run.out, re.M)
    assert m and int(m.group(1)) >= 190 and m.group(2) == "0"
    assert "没有测试到达" not in run.out  # every clause is reached by some test


def test_a_wrong_expectation_fails(cli, tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("""tests:
  - name: wrong on purpose
    case: {kind: arrears, region: 济南, worker: flexible, last_paid_month: "2022-06", paid_on: "2022-10-20"}
    expect: {benefit_start: "2022-12-01", governing: ["鲁医保发[2021]54号 一(二)"]}
  - name: right, with the alias and [ ] brackets
    case: {kind: deadline, region: 南京, scope: cross_province, accepted_on: "2023-09-27"}
    expect: {transfer_out_deadline: "2023-10-17", governing: ["医保发[2021]43号 第八条"]}
""", encoding="utf-8")
    run = cli("test", f, "--lang", "en")
    assert run.code == 1
    assert "1 passed, 1 failed" in run.out
    assert "benefit_start: expected '2022-12-01', got '2022-11-01'" in run.out
    assert "governing: expected" in run.out
    assert "clauses no test reaches" in run.out


def test_unknown_expected_field_is_an_input_error(cli, tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("tests:\n  - case: {kind: deadline, region: 南京, scope: cross_province, accepted_on: \"2023-09-27\"}\n"
                 "    expect: {benefit_strat: \"2023-01-01\"}\n", encoding="utf-8")
    run = cli("test", f)
    assert run.code == 2 and "benefit_strat" in run.err and "benefit_start" in run.err


def test_a_policy_folder_given_as_tests_is_told_how_to_run_its_tests(cli, policies_copy, monkeypatch):
    """``policy-dsl test policies`` (as ``check policies``): the first policy file read as a test
    file is E-TEST-SHAPE at that file, and the hint gives the command that runs the set's tests,
    which passes them all; a file that is neither keeps the hint on a test file's shape."""
    import json

    from policy_dsl.language import resources
    from policy_dsl.tools.policytest import POLICY_KEYS

    schema = json.loads(resources.schema_path("policy").read_text(encoding="utf-8"))
    assert POLICY_KEYS == set(schema["properties"])
    monkeypatch.chdir(policies_copy.parent)
    run = cli("test", "policies")
    assert run.code == 2 and "E-TEST-SHAPE" in run.err, run.err
    assert "政策文件，不是测试文件" in run.err and "policy-dsl test --policies policies" in run.err, run.err
    again = cli("test", "--policies", "policies")
    assert again.code == 0 and re.search(r"(\d+) 个通过，0 个未通过", again.out), again.out
    (policies_copy.parent / "notes.yaml").write_text("notes: []\n", encoding="utf-8")
    run = cli("test", "notes.yaml", "--policies", "policies", "--lang", "en")
    assert run.code == 2 and "E-TEST-SHAPE" in run.err and "tests: [{name" in run.err and "--policies" not in run.err


def test_every_shipped_policy_test_passes_through_eval_json(cli, tmp_path, policy):
    """The same cases, as one JSON Lines file through `policy-dsl eval --format json`, compared
    with the same expectations (as-of cases each through `--as-of`)."""
    import json

    from policy_dsl.language import resources
    from policy_dsl.tools.policytest import compare
    from policy_dsl.language.yamlsafe import decode, load_yaml

    plain, dated = [], []
    for f in sorted((resources.policies_dir() / "tests").glob("*.yaml")):
        for t in load_yaml(decode(f.read_bytes(), str(f)), str(f)).data["tests"]:
            (dated if t.get("as_of") else plain).append(t)
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(t["case"], ensure_ascii=False) for t in plain), encoding="utf-8")
    results = cli("eval", path, "--format", "json").lines
    assert len(results) == len(plain)
    failures = [(t["name"], p) for t, got in zip(plain, results, strict=True) if (p := compare(t["expect"], got, policy))]
    for t in dated:
        one = tmp_path / "one.json"
        one.write_text(json.dumps(t["case"], ensure_ascii=False), encoding="utf-8")
        got = cli("eval", one, "--format", "json", "--as-of", t["as_of"]).json
        if p := compare(t["expect"], got, policy):
            failures.append((t["name"], p))
    assert failures == []
    assert len(plain) + len(dated) >= 190
