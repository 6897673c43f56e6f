"""What docs/editors.md promises: every shipped policy file (and the example case) names its
JSON Schema in a yaml-language-server modeline whose relative path resolves, and the schemas
mean the same under draft-07 (what the YAML language server implements) as under 2020-12."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from policy_dsl.language import resources
from policy_dsl.language.load import policy_files

REPO = Path(__file__).resolve().parent.parent
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
POLICY_FILES = policy_files([resources.policies_dir()])
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def _schema(name: str) -> dict:
    return json.loads(resources.schema_path(name).read_text(encoding="utf-8"))


def _modeline_target(path: Path) -> Path:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = MODELINE.match(first)
    assert m, f"{path.name}: the first line is not a yaml-language-server modeline"
    return (path.parent / m.group(1)).resolve()


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_policy_files_name_their_schema(path):
    assert _modeline_target(path) == resources.schema_path("policy").resolve()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft7Validator(_schema("policy")).iter_errors(data))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_cases_name_their_schema(path):
    assert _modeline_target(path) == resources.schema_path("case").resolve()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft7Validator(_schema("case")).iter_errors(data))


BAD_POLICY_EDITS = [
    lambda d: d["document"].update(levle="city"),  # unknown key
    lambda d: d["document"].pop("number"),  # missing key
    lambda d: d["document"].update(level="county"),  # not one of the values
    lambda d: d["document"].update(jurisdiction=370100),  # a number, not a quoted code
    lambda d: d["clauses"][0].update(adopt="lu-2021-54/x"),  # two outcomes
]


@pytest.mark.parametrize("edit", range(len(BAD_POLICY_EDITS)))
def test_draft7_and_2020_12_agree_on_mistakes(edit):
    data = yaml.safe_load((resources.policies_dir() / "jn-2022-2.yaml").read_text(encoding="utf-8"))
    BAD_POLICY_EDITS[edit](data)
    schema = _schema("policy")
    assert list(jsonschema.Draft7Validator(schema).iter_errors(data))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data))


def test_case_schema_draft7_rejects_an_unknown_kind():
    assert list(jsonschema.Draft7Validator(_schema("case")).iter_errors({"kind": "arrearz", "region": "济南"}))
