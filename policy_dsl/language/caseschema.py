"""The JSON Schema of case files, generated from the kinds table (``data/kinds.yaml``).
``python -m policy_dsl.language.caseschema > policy_dsl/schemas/case.schema.json`` regenerates the shipped
copy; a test keeps the two equal."""

from __future__ import annotations

import json

from policy_dsl.language.kinds import optional, vocabulary

_TYPES = {
    "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "YYYY-MM-DD"},
    "month": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$", "description": "YYYY-MM"},
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "number": {"type": "number"},
    "region": {"type": ["string", "integer"], "description": "GB/T 2260 code, Chinese name (with or without suffix) or pinyin"},
}


def _fact(spec: dict) -> dict:
    out = _type(spec)
    if optional(spec) and spec["type"] != "list":
        out = {"anyOf": [out, {"type": "null"}]} if "enum" in out or "pattern" in out else {
            **out, "type": [*([out["type"]] if isinstance(out["type"], str) else out["type"]), "null"]}
        if "default" in spec:
            out["default"] = spec["default"]
    if spec.get("zh"):
        out["description"] = spec["zh"]
    return out


def _type(spec: dict) -> dict:
    t = spec["type"]
    if t == "enum":
        return {"enum": list(spec["values"])}
    if t == "list":
        props = {k: _fact(v) for k, v in spec["items"].items()}
        required = [k for k, v in spec["items"].items() if not optional(v)]
        item = {"type": "object", "additionalProperties": False, "properties": props, "required": required}
        out = {"type": "array", "items": item}
        if spec.get("length"):
            out["minItems"] = out["maxItems"] = spec["length"]
        return out
    return dict(_TYPES[t])


def case_schema() -> dict:
    vocab = vocabulary()
    flags = {name: _fact(spec) for name, spec in vocab.person_flags.items()}
    variants = []
    for name, kind in vocab.kinds.items():
        props = {"kind": {"const": name}, "region": _TYPES["region"],
                 "id": {"type": ["string", "integer"], "description": "echoed back in the result"}}
        props.update({k: _fact(v) for k, v in kind.facts.items()})
        props.update(flags)
        variants.append({"title": f"{name}: {kind.zh}", "type": "object", "additionalProperties": False,
                         "required": ["kind", "region", *(k for k, v in kind.facts.items() if not optional(v))],
                         "properties": props})
    one_case = {"oneOf": variants}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://policy-dsl.invalid/schemas/case.schema.json",
        "title": "policy_dsl case file",
        "description": "One case, or a list of cases (docs/reference.md, Case files). JSON Lines files hold one case a line.",
        "$defs": {"case": one_case},
        "oneOf": [{"$ref": "#/$defs/case"}, {"type": "array", "items": {"$ref": "#/$defs/case"}}],
    }


def render() -> str:
    return json.dumps(case_schema(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
