"""Facts of a case: optional facts and person facts of other types than true/false, and the facts
that cannot be true together (kinds.yaml ``constraints``), refused with exit 2 naming the keys,
by the same checks on the reference and the fast validation paths."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import case_file
from policy_dsl.language import resources
from policy_dsl.language.errors import PolicyError
from policy_dsl.language.kinds import _constraints, vocabulary

ARREARS = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-12", "paid_on": "2022-11-03"}


def test_worked_example_5_names_both_keys(cli, tmp_path):
    run = cli("eval", case_file(tmp_path, ARREARS), "--format", "json")
    assert run.code == 2 and "Traceback" not in run.err
    error = run.json["error"]
    assert error["code"] == "E-CASE-FACTS"
    assert "`last_paid_month` = 2022-12" in error["message"] and "`paid_on` = 2022-11-03" in error["message"]
    assert "最后缴费月份晚于本次缴费日期所在月份" in error["message"]


def test_in_a_batch_the_bad_case_is_an_error_line_and_the_others_are_answered(cli, tmp_path):
    good = {**ARREARS, "last_paid_month": "2022-06", "id": "good"}
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in (good, {**ARREARS, "id": "bad"})), encoding="utf-8")
    run = cli("eval", path, "--format", "json")
    assert run.code == 2
    first, second = run.lines
    assert first["id"] == "good" and first["benefit_start"] == "2023-02-01"
    assert second["id"] == "bad" and second["error"]["code"] == "E-CASE-FACTS"


def test_fast_and_reference_validation_agree_on_constraints():
    from policy_dsl.engine.cases import CaseValidator, RawCase
    from policy_dsl.language.errors import InputError
    from policy_dsl.language.regions import default_registry

    validator = CaseValidator(default_registry())
    assert validator.fast_parts(dict(ARREARS), None) is None  # the fast path leaves it to validate
    with pytest.raises(InputError) as exc:
        validator.validate(RawCase(dict(ARREARS), None, ("cases.label.the_case", None)))
    assert exc.value.first.code == "E-CASE-FACTS"
    ok = {**ARREARS, "last_paid_month": "2022-06"}
    assert validator.fast_parts(ok, None) is not None


def test_military_is_an_optional_person_fact(cli, tmp_path):
    case = {"kind": "first_enrollment", "region": "济南", "worker": "employed", "paid_on": "2023-03-20",
            "military": "discharged", "military_event_on": "2023-03-01"}
    assert cli("eval", case_file(tmp_path, case), "--format", "json").json["benefit_start"] == "2023-04-01"
    run = cli("eval", case_file(tmp_path, {**case, "military": "retired"}), "--format", "json")
    assert run.code == 2 and run.json["error"]["code"] == "E-CASE-VALUE" and "spouse_insured" in run.json["error"]["message"]
    schema = json.loads(resources.schema_path("case").read_text(encoding="utf-8"))
    jsonschema.validate(case, schema)
    jsonschema.validate({**case, "military": None, "military_event_on": None}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**case, "military": "retired"}, schema)


def test_every_constraint_names_kinds_and_reads_facts():
    vocab = vocabulary()
    assert vocab.constraints
    for c in vocab.constraints:
        assert c.names and set(c.kinds) <= set(vocab.kinds) and c.zh and c.en
    assert [c.names for c in vocab.constraints_for("arrears")][0] == ("last_paid_month", "paid_on")


class _Loaded:
    """Just enough of yamlsafe.Loaded for ``_constraints``."""

    def __init__(self, data):
        self.data, self.file = data, "kinds.yaml"

    def where(self, path, key=False):
        from policy_dsl.language.errors import Where

        return Where(self.file, 7, 14)


@pytest.mark.parametrize("require,code", [
    ("paid_on <= last_paid_month", "E-TYPE"),  # a date with a month
    ("month(paid_on)", "E-TYPE"),  # not a condition
    ("paid_onn <= paid_on", "E-UNKNOWN-FACT"),
    ("paid_on <=", "E-EXPR-SYNTAX"),
])
def test_a_constraint_is_type_checked_like_a_condition(require, code):
    import copy

    from policy_dsl.language.yamlsafe import decode, load_yaml

    path = resources.data_path("kinds.yaml")
    data = copy.deepcopy(load_yaml(decode(path.read_bytes(), str(path)), str(path)).data)
    data["constraints"] = [{"kinds": ["arrears"], "require": require, "zh": "x", "en": "x"}]
    with pytest.raises(PolicyError) as exc:
        _constraints(_Loaded(data))
    assert exc.value.first.code == code and exc.value.first.where.line == 7
