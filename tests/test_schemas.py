"""The shipped JSON Schemas: printed by `policy-dsl schema`, in step with the kinds table, and
they accept the shipped files."""

from __future__ import annotations

import json

import jsonschema

from policy_dsl.language import caseschema, resources
from policy_dsl.language.yamlsafe import decode, load_yaml


def test_case_schema_is_generated_from_the_kinds_table():
    shipped = resources.schema_path("case").read_text(encoding="utf-8")
    assert shipped == caseschema.render(), "run: python -m policy_dsl.language.caseschema > policy_dsl/schemas/case.schema.json"


def test_schema_command_prints_them(cli):
    for which in ("policy", "case"):
        run = cli("schema", which)
        assert run.code == 0
        assert json.loads(run.out)["title"].startswith("policy_dsl")


def test_case_schema_accepts_and_refuses():
    schema = json.loads(resources.schema_path("case").read_text(encoding="utf-8"))
    good = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}
    jsonschema.validate(good, schema)
    jsonschema.validate([good, {**good, "id": 2}], schema)
    for bad in ({**good, "worker": "x"}, {**good, "extra": 1}, {k: v for k, v in good.items() if k != "paid_on"}):
        try:
            jsonschema.validate(bad, schema)
        except jsonschema.ValidationError:
            continue
        raise AssertionError(bad)


def test_policy_schema_accepts_every_shipped_file():
    schema = json.loads(resources.schema_path("policy").read_text(encoding="utf-8"))
    files = sorted(resources.policies_dir().glob("*.yaml"))
    assert len(files) >= 7
    for f in files:
        data = load_yaml(decode(f.read_bytes(), str(f)), str(f)).data
        jsonschema.validate(data, schema)
