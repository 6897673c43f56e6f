"""`policy-dsl diff`: structural and behavioural differences between policy sets, and one region
between two dates."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from policy_dsl.language.periods import add_months
from policy_dsl.tools import diff
from policy_dsl.face.api import load_policy


def _waiting_4(policies):
    jn = policies / "jn-2022-2.yaml"
    text = jn.read_text(encoding="utf-8")
    i = text.index("id: resident-late")
    jn.write_text(text[:i] + text[i:].replace("waiting_months: 3", "waiting_months: 4", 1), encoding="utf-8")


def test_late_payer_waiting_3_to_4_changes_exactly_the_affected_cases(policy, policies_copy):
    _waiting_4(policies_copy)
    new = load_policy([policies_copy])
    changes = diff.structural(policy, new)
    assert [(c.clause, c.field, c.before, c.after) for c in changes] == [
        ("jn-2022-2/resident-late", "decide.waiting_months", "3", "4")]
    kinds = diff.affected_kinds(policy, new, changes)
    # newborn is evaluated as resident_enrollment after 12 months; refund asks for its answer
    # (the definition own_benefit_start)
    assert kinds == {"resident_enrollment", "newborn", "refund"}
    beh = diff.behavioural(policy, new, kinds, examples=10**6)
    assert beh.changed > 0
    for g in beh.groups.values():
        assert g["regions"] <= {"370100", "370102"}  # 济南 and its district, nowhere else
        for ex in g["examples"]:
            case = ex["case"]
            paid = dt.date.fromisoformat(case["paid_on"])
            assert paid.year >= 2022 and not case.get("low_income")
            if case["kind"] == "refund":  # claimed in the month the person's own benefit start moved by
                event = dt.date.fromisoformat(case["event_date"])
                assert paid >= dt.date(case["benefit_year"], 1, 1)  # a late payer
                assert add_months(paid.replace(day=1), 3) <= event < add_months(paid.replace(day=1), 4), case
                continue
            if case["kind"] == "resident_enrollment":
                assert paid >= dt.date(case["benefit_year"], 1, 1)  # a late payer
            else:
                birth = dt.date.fromisoformat(case["birth_date"])
                assert (paid - birth).days > 365  # registered after 12 months
            assert ex["after"]["waiting_months"] == 4 and ex["before"]["waiting_months"] == 3
    assert {k for g in beh.groups.values() for k in g["kinds"]} == {"resident_enrollment", "newborn", "refund"}


def test_the_whole_affected_population_changes(policy, policies_copy):
    """Every late, not low-income payer in 济南 on the grid changes; none paid in the period does."""
    from policy_dsl.analysis import grid
    from policy_dsl.language.regions import default_registry

    _waiting_4(policies_copy)
    new = load_policy([policies_copy])
    jinan = default_registry().get("370100")
    beh = diff.behavioural(policy, new, {"resident_enrollment"}, regions=[jinan], examples=10**6)
    changed = {(e["case"]["benefit_year"], e["case"]["paid_on"]) for g in beh.groups.values() for e in g["examples"]}
    probes = grid.Grid([policy, new])
    expected = set()
    for day in probes.days("resident_enrollment"):
        for facts in probes.facts("resident_enrollment", jinan, day):
            # paid in the benefit year itself (a late payer), from 2022 when 济医保发〔2022〕2号 三 applies
            if not facts.get("low_income") and facts["benefit_year"] == day.year >= 2022:
                expected.add((facts["benefit_year"], day.isoformat()))
    assert expected and changed == expected
    assert beh.regions == ["370100"]


def test_reformat_only_is_no_difference(cli, policy, policies_copy):
    jn = policies_copy / "jn-2022-2.yaml"
    text = jn.read_text(encoding="utf-8")
    text = text.replace("start(month(paid_on) + 1)", "start( month( paid_on )+1 )")
    text = text.replace("# ", "#  ").replace("\n  - id:", "\n\n  - id:")
    jn.write_text(text, encoding="utf-8")
    run = cli("diff", "--format", "json", "--exit-code", "--policies", policies_copy, policies_copy)
    assert run.code == 0
    from policy_dsl.language.resources import policies_dir

    run = cli("diff", policies_dir(), policies_copy, "--format", "json", "--exit-code")
    assert run.code == 0, run.out
    assert run.json["structural"] == [] and run.json["affected_kinds"] == []


def test_diff_between_dates_in_jinan(cli):
    run = cli("diff", "--region", "济南", "--between", "2022-03-31", "2022-04-01", "--format", "json")
    data = run.json
    docs = {c["document"] for c in data["entering"]}
    assert docs == {"鲁医保发〔2021〕54号", "济医保发〔2022〕2号"}
    assert data["leaving"] == []
    assert {"first_enrollment", "arrears", "transfer", "newborn", "deadline"} <= set(data["kinds"])
    assert "resident_enrollment" not in data["kinds"]  # in force in 济南 since 2022-01-01


@pytest.fixture
def git_repo(tmp_path, policies_copy):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(policies_copy, repo / "policies")
    env = ["-c", "user.email=t@example.invalid", "-c", "user.name=t"]

    def git(*args):
        subprocess.run(["git", *env, *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    _waiting_4(repo / "policies")
    git("commit", "-qam", "two")
    return repo


def test_diff_between_git_revisions(cli, git_repo, monkeypatch):
    monkeypatch.chdir(git_repo)
    before = (git_repo / "policies" / "jn-2022-2.yaml").read_text(encoding="utf-8")
    run = cli("diff", "HEAD~1", "HEAD", "--format", "json", "--exit-code")
    assert run.code == 1
    assert [c["field"] for c in run.json["structural"]] == ["decide.waiting_months"]
    assert run.json["behavioural"]["changed"] > 0
    assert (git_repo / "policies" / "jn-2022-2.yaml").read_text(encoding="utf-8") == before  # work tree untouched
    old = cli("eval", "--rev", "HEAD~1", "--format", "json",
              _case(git_repo, {"kind": "resident_enrollment", "region": "济南", "benefit_year": 2024, "paid_on": "2024-03-05"}))
    assert old.json["waiting_months"] == 3


def _case(repo, case):
    import json

    p = repo / "case.json"
    p.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    return p


def test_git_diff_driver(git_repo):
    import os
    import sys

    from conftest import REPO

    shutil.copy(REPO / ".gitattributes", git_repo / ".gitattributes")  # as shipped: policies/*.yaml diff=policy-dsl
    env = dict(os.environ, NO_COLOR="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    run = subprocess.run(["git", "-c", "diff.policy-dsl.command=" + f"{sys.executable} -m policy_dsl git-diff",
                          "diff", "HEAD~1", "HEAD", "--", "policies/jn-2022-2.yaml"],
                         cwd=git_repo, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert "decide.waiting_months: 3 → 4" in run.stdout


def test_moving_a_resident_clauses_start_shows_in_the_refunds_it_judges(policy, policies_copy):
    """A refund's own benefit start is resident_enrollment's answer decided on the payment day: when
    济南's late-payment rule starts two months later, the refunds of payments made in those two
    months change too, and diff probes them."""
    from policy_dsl.language.regions import default_registry

    for name, anchor, old, new_text in [
            ("jn-2022-2.yaml", "id: resident-late", 'from: "2022-01-01"', 'from: "2022-03-01"'),
            ("lu-2021-54.yaml", "id: resident-late", 'from: "2022-01-01"\n          by:', 'from: "2022-03-01"\n          by:')]:
        f = policies_copy / name
        text = f.read_text(encoding="utf-8")
        i = text.index(anchor)
        assert old in text[i:]
        f.write_text(text[:i] + text[i:].replace(old, new_text, 1), encoding="utf-8")
    new = load_policy([policies_copy])
    assert "refund" in diff.affected_kinds(policy, new, diff.structural(policy, new))
    jinan = default_registry().get("370100")
    beh = diff.behavioural(policy, new, {"refund"}, regions=[jinan], examples=10**6)
    examples = [e for g in beh.groups.values() for e in g["examples"]]
    assert beh.changed > 0 and len(examples) == beh.changed
    for e in examples:
        paid = dt.date.fromisoformat(e["case"]["paid_on"])
        assert dt.date(2022, 1, 1) <= paid < dt.date(2022, 3, 1), e["case"]
