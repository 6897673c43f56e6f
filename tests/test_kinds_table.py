"""The kinds table is part of the policy set: the packaged one by default, or a policy folder's own
``kinds.yaml``, validated, exposed as ``policy.vocab`` and used by every command on that set."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from conftest import REPO, case_file
from policy_dsl.face.api import load_policy
from policy_dsl.language.errors import PolicyError
from policy_dsl.language.kinds import vocabulary
from policy_dsl.language.load import policy_files


def _packaged() -> dict:
    return yaml.safe_load((REPO / "policy_dsl" / "data" / "kinds.yaml").read_text(encoding="utf-8"))


def test_packaged_table_follows_its_schema():
    schema = json.loads((REPO / "policy_dsl" / "schemas" / "kinds.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(_packaged())


def test_shipped_set_uses_the_packaged_table(policy):
    assert policy.vocab.kinds == vocabulary().kinds and policy.vocab.outputs == vocabulary().outputs
    assert policy.vocab.file == "policy_dsl/data/kinds.yaml" and policy.vocab.path == ""


def _with_kinds(folder, data: dict):
    (folder / "kinds.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_folder_kinds_table_replaces_the_packaged_one(policies_copy, cli, tmp_path):
    data = _packaged()
    data["kinds"]["deadline"]["zh"] = "办理时限（本地表）"
    _with_kinds(policies_copy, data)
    assert all(f.name != "kinds.yaml" for f in policy_files([policies_copy]))  # not a policy file
    policy = load_policy([policies_copy])
    assert policy.vocab.kinds["deadline"].zh == "办理时限（本地表）"
    assert policy.vocab.file.endswith("kinds.yaml") and policy.vocab.file != "policy_dsl/data/kinds.yaml"
    case = case_file(tmp_path, {"kind": "deadline", "region": "济南", "scope": "intra_province", "accepted_on": "2023-03-01"})
    run = cli("eval", "--policies", policies_copy, case)
    assert run.code == 0 and "办理时限（本地表）" in run.out


def test_folder_kinds_table_changes_the_cache_key(policies_copy):
    first = load_policy([policies_copy])
    data = _packaged()
    data["kinds"]["deadline"]["en"] = "local deadline"
    _with_kinds(policies_copy, data)
    second = load_policy([policies_copy])
    assert first.vocab.kinds["deadline"].en != "local deadline"
    assert second.vocab.kinds["deadline"].en == "local deadline"


@pytest.mark.parametrize("change, code, words", [
    (lambda d: d["kinds"]["deadline"].update(decided_on="scope"), "E-KINDS", "日期或月份类事实"),
    (lambda d: d["kinds"]["deadline"]["outputs"].append("dedline"), "E-KINDS", "不在 `outputs` 中"),
    (lambda d: d["kinds"]["newborn"]["facts"]["birth_date"].update(before="paid_onn"), "E-KINDS", "paid_onn"),
    (lambda d: d["kinds"]["deadline"]["facts"]["scope"].update(valeus=["a"]), "E-SCHEMA-UNKNOWN-KEY", "valeus"),
    (lambda d: d["kinds"]["deadline"]["facts"]["scope"].pop("values"), "E-SCHEMA-MISSING-KEY", "values"),
])
def test_bad_folder_kinds_table_is_a_clear_error(policies_copy, change, code, words):
    data = _packaged()
    change(data)
    _with_kinds(policies_copy, data)
    with pytest.raises(PolicyError) as info:
        load_policy([policies_copy])
    found = [d for d in info.value.diagnostics if d.code == code]
    assert found, [d.format() for d in info.value.diagnostics]
    assert words in found[0].message and found[0].where.file.endswith("kinds.yaml") and found[0].where.line
