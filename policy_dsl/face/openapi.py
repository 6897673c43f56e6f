"""The OpenAPI 3.1 description of the service (``GET /openapi.json``). The case schema is the one
``policy-dsl schema case`` prints (generated from the kinds table); the answers are described by
their keys (docs/cli.md and docs/service.md: the result object, the applies object, the error object)."""

from __future__ import annotations

import json


def _error_schema() -> dict:
    return {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "object", "required": ["code", "message", "where"], "properties": {
            "code": {"type": "string", "description": "the CLI's error code, e.g. E-DATE, E-REGION-UNKNOWN"},
            "message": {"type": "string"}, "where": {"type": "string"}, "hint": {"type": "string"}}},
        "errors": {"type": "array", "items": {"type": "object"}}}}


def _errors(*statuses: int) -> dict:
    why = {400: "bad input (the CLI's exit 2)", 404: "no such path", 405: "method not allowed",
           408: "the body did not arrive in time", 413: "body too large", 415: "unsupported Content-Type",
           500: "internal error (logged on the server)"}
    return {str(s): {"description": why[s], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for s in statuses}


def document(limits) -> dict:
    from policy_dsl import __version__
    from policy_dsl.language import resources
    from policy_dsl.language.kinds import vocabulary

    case_schema = json.loads(resources.schema_path("case").read_text(encoding="utf-8"))
    defs = case_schema.get("$defs", {})
    case_ref = {"$ref": "#/components/schemas/Case"}
    kinds = list(vocabulary().kinds)
    lang = {"name": "lang", "in": "query", "schema": {"enum": ["zh", "en"], "default": "zh"},
            "description": "language of notes, explanations and the trace"}
    result = {"type": "object", "description": "one case's answer (as `policy-dsl eval --format json`), or "
              "`{\"id\", \"error\"}` for a bad case", "properties": {
                  "id": {"type": ["string", "integer"]}, "kind": {"enum": kinds}, "region": {"type": "object"},
                  "decision_date": {"type": "string", "format": "date"},
                  "status": {"enum": ["decided", "delegated", "no_rule"]},
                  "bounds": {"type": ["object", "null"]}, "governing": {"type": "array"}, "displaced": {"type": "array"},
                  "pending": {"type": "array"}, "notes": {"type": "array", "items": {"type": "string"}},
                  "trace": {"type": "array", "items": {"type": "string"}}, "error": {"type": "object"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "policy-dsl", "version": __version__,
                 "description": "Chinese basic-medical-insurance policy as data: what applied on a date in a region, "
                                "and what a person gets. Every answer is the JSON of the command line "
                                "(`policy-dsl applies|eval --format json`)."},
        "paths": {
            "/applies": {"get": {
                "summary": "what applied on a date in a region (policy-dsl applies)",
                "parameters": [
                    {"name": "date", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "region", "in": "query", "required": True, "schema": {"type": "string"},
                     "description": "GB/T 2260 code, Chinese name or pinyin"},
                    {"name": "topic", "in": "query", "schema": {"type": "array", "items": {"enum": kinds}},
                     "style": "form", "explode": True, "description": "only these kinds of case (repeat, or separate with commas)"},
                    lang],
                "responses": {"200": {"description": "`{date, region, topics: {kind: {in_force, pending}}}`",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_errors(400)}}},
            "/eval": {"post": {
                "summary": "answer cases (policy-dsl eval --format json)",
                "description": "A JSON case answers with one object (400 if the case is bad); a JSON list with a list "
                               "(200; a bad case's place holds `{id, error}`); JSON Lines "
                               "(`application/x-ndjson`) are read and answered as they arrive, a line an answer. "
                               "Every answer has its trace only with `explain`. A stream that fails as a whole (too big, too "
                               "slow, not JSON Lines) ends with an `{\"error\": ...}` line. "
                               f"Bodies up to {limits.max_body:,} bytes.",
                "parameters": [
                    {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"},
                     "description": "decide under the rules in force on this date"},
                    {"name": "explain", "in": "query", "schema": {"type": "boolean"},
                     "description": "each answer with its trace"}, lang],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"oneOf": [case_ref, {"type": "array", "items": case_ref}]}},
                    "application/x-ndjson": {"schema": case_ref},
                    "application/yaml": {"schema": {"oneOf": [case_ref, {"type": "array", "items": case_ref}]}}}},
                "responses": {
                    "200": {"description": "the answers", "content": {
                        "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Result"},
                                                                  {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}]}},
                        "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Result"}}}},
                    **_errors(400, 408, 413, 415)}}},
            "/regions": {"get": {
                "summary": "search regions by Chinese name, pinyin or code, with validity dates",
                "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 64}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                               {"name": "on", "in": "query", "schema": {"type": "string", "format": "date"},
                                "description": "regions valid that day (default: still valid)"}],
                "responses": {"200": {"description": "`{q, on, regions: [{code, name, full_name, level, city, valid_from, valid_to, successors}]}`",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}, **_errors(400)}}},
            "/schema/case": {"get": {"summary": "the case JSON Schema (policy-dsl schema case)",
                                     "responses": {"200": {"description": "JSON Schema",
                                                           "content": {"application/schema+json": {}}}}}},
            "/kinds": {"get": {"summary": "the kinds table: kinds, facts and outputs with their labels",
                               "responses": {"200": {"description": "kinds.yaml as JSON",
                                                     "content": {"application/json": {}}}}}},
            "/clauses": {"get": {"summary": "every clause of the policy set with its quoted text",
                                 "responses": {"200": {"description": "`{policy_set, clauses: {rule: {...}}}`",
                                                       "content": {"application/json": {}}}}}},
            "/health": {"get": {"summary": "the policy set served (folder or revision, content hash) and any "
                                           "error of a newer edit that did not load",
                                "responses": {"200": {"description": "`{status: ok|stale, policy_set, policy_error?}`",
                                                      "content": {"application/json": {}}}}}},
            "/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/": {"get": {"summary": "the web page for staff", "responses": {"200": {"description": "HTML"}}}},
            "/report/{lang}/{page}": {"get": {"summary": "the pages of policy-dsl report for the policy set served",
                                              "parameters": [{"name": "lang", "in": "path", "required": True,
                                                              "schema": {"enum": ["zh", "en"]}},
                                                             {"name": "page", "in": "path", "required": True,
                                                              "schema": {"type": "string"}}],
                                              "responses": {"200": {"description": "HTML"}, **_errors(404)}}},
        },
        "components": {"schemas": {
            "Case": {"$ref": "#/components/schemas/case_schema_case"} if "case" in defs else {"type": "object"},
            **{f"case_schema_{k}": _rebase(v) for k, v in defs.items()},
            "Result": result,
            "Error": _error_schema()}},
    }


def _rebase(schema):
    """The case schema's ``#/$defs/X`` references, pointed at this document's components."""
    if isinstance(schema, dict):
        return {k: (("#/components/schemas/case_schema_" + v[len("#/$defs/"):]) if k == "$ref" and isinstance(v, str)
                    and v.startswith("#/$defs/") else _rebase(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema
