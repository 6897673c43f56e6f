"""``policy-dsl test``: policy tests written as data. A test file holds ``tests:``, each a case
and the expected result (any subset of the result fields; governing and pending as
"文号 条" text or rule ids). Prints ``N passed, N failed`` and the clauses no test reaches."""

from __future__ import annotations

import sys
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, Where, did_you_mean
from policy_dsl.language.messages import t
from policy_dsl.language.yamlsafe import load_yaml

TEST_KEYS = {"name", "case", "expect", "as_of"}
EXPECT_EXTRA = {"error", "governing", "pending", "displaced", "notes_include"}


def test_files(paths: list[Path]) -> list[Path]:
    """The test files named by ``paths``: files, or every policy-named file (``load.is_policy_name``)
    in folders and their sub-folders, in a stable order. As for policy files, nothing found is
    skipped: a link to nothing, a pipe or a folder with a test file's name is read, and refused."""
    import os

    from policy_dsl.language.load import is_policy_name
    from policy_dsl.language.safeio import why_unreadable

    out = []
    for p in paths:
        if os.path.isdir(p):  # never raises (a name too long, a NUL byte)
            found = []

            def refuse(exc: OSError) -> None:
                what, hint = why_unreadable(exc.filename or p, exc)
                raise InputError(Diagnostic("E-TEST-FILE", t("policytest.cannot_list", reason=what),
                                            Where(str(exc.filename or p)), hint))

            for root, dirs, files in os.walk(p, onerror=refuse):  # never into a linked folder
                found.extend(Path(root) / name for name in files + dirs if is_policy_name(name))
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_policy_name(d))
            out.extend(sorted(found))
        else:
            out.append(Path(p))
    return out


def read_test_file(path: Path):
    """The YAML of one test file (policy_dsl.language.yamlsafe.Loaded), read as every file is
    (safeio: a regular file of at most LIMITS["test"] bytes), or InputError (E-TEST-FILE, …)."""
    from policy_dsl.language.safeio import LIMITS, read_text

    return load_yaml(read_text(path, LIMITS["test"], str(path), code="E-TEST-FILE"), str(path))


def _ref_matches(expected: str, entry: dict, policy=None) -> bool:
    """Whether an expected reference — a rule id, a document number (or alias, with [ ] or 〔 〕),
    or a number followed by the article — names the result entry."""
    from policy_dsl.language.model import canonical_number

    text = canonical_number(expected)
    if text == entry["rule"]:
        return True
    doc = policy.document(entry["document"]) if policy is not None else None
    names = doc.names() if doc is not None else {canonical_number(entry["document"])}
    article = canonical_number(entry["article"])
    return any(text == name or text == name + article for name in names)


def compare(expect: dict, got: dict, policy=None) -> list[str]:
    """The differences between an expected subset and a result, as sentences."""
    problems = []
    for key, want in expect.items():
        if key == "error":
            have = got.get("error", {}).get("code")
            if have != want:
                problems.append(t("policytest.expected", key="error", want=want, have=have or t("policytest.no_error")))
            continue
        if "error" in got:
            problems.append(t("policytest.case_failed", key=key, code=got["error"]["code"], message=got["error"]["message"]))
            break
        if key in ("governing", "pending", "displaced"):
            entries = got.get(key, [])
            want_list = [want] if isinstance(want, str) else list(want)
            if key == "governing":  # order matters: the governing clause first
                if len(entries) < len(want_list) or not all(_ref_matches(w, e, policy) for w, e in zip(want_list, entries)):
                    problems.append(t("policytest.expected", key=key, want=want_list,
                                      have=[e["document"] + " " + e["article"] for e in entries]))
            else:
                for w in want_list:
                    if not any(_ref_matches(w, e, policy) for e in entries):
                        problems.append(t("policytest.expected_among", key=key, want=w,
                                                      have=[e["document"] + " " + e["article"] for e in entries]))
                if not want_list and entries:
                    problems.append(t("policytest.expected_none", key=key, have=[e["document"] + " " + e["article"] for e in entries]))
            continue
        if key == "notes_include":
            if not any(want in n for n in got.get("notes", [])):
                problems.append(t("policytest.no_note", want=want))
            continue
        have = got.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            for k, v in want.items():
                if have.get(k) != v:
                    problems.append(t("policytest.expected", key=f"{key}.{k}", want=repr(v), have=repr(have.get(k))))
        elif have != want:
            problems.append(t("policytest.expected", key=key, want=repr(want), have=repr(have)))
    return problems


def run_one(evaluator, validator, test: dict, where, name: str) -> tuple[dict, list[str]]:
    """The result of one test's case (or its error) and the clauses it reaches: those in
    ``governing`` (and what they adopt), or the clause that rejected the case."""
    from policy_dsl.engine.cases import RawCase
    from policy_dsl.engine.results import result_json
    from policy_dsl.language.values import parse_date

    reached: list[str] = []
    try:
        as_of = parse_date(test["as_of"]) if test.get("as_of") else None
        case = validator.validate(RawCase(test.get("case"), where, name), as_of)
        got = result_json(evaluator.evaluate(case, explain=False), "zh", trace=False, vocab=evaluator.vocab)
        for g in got["governing"] + got.get("informing", []):
            reached.append(g["rule"])
            if "adopts" in g:
                reached.append(g["adopts"]["rule"])
    except PolicyDslError as exc:
        if exc.exit_code != 2:
            raise
        if getattr(exc, "rule", None):  # a clause that rejects the case reaches it
            reached.append(exc.rule)
        got = {"error": {"code": exc.first.code, "message": exc.first.message}}
    return got, list(dict.fromkeys(reached))


class TestRun:
    """One policy test, run: where it is, its case and expectation, the problems found (none: it
    passed) and the clauses it reaches."""

    __slots__ = ("file", "name", "index", "case", "expect", "problems", "reached", "where")

    def __init__(self, file: Path, name: str, index: int, case, expect, problems: list, reached: list, where):
        self.file, self.name, self.index, self.case, self.expect = file, name, index, case, expect
        self.problems, self.reached, self.where = problems, reached, where

    @property
    def passed(self) -> bool:
        return not self.problems


class Suite:
    """Every test run, and the clauses of the policy set that no test reaches."""

    def __init__(self, runs: list[TestRun], unreached: list[str]):
        self.runs, self.unreached = runs, unreached

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.runs)

    @property
    def failed(self) -> int:
        return len(self.runs) - self.passed


POLICY_KEYS = frozenset({"document", "clauses", "definitions"})  # a policy file's (schemas/policy.schema.json)


def run_suite(policy, roots: list[Path], strict: bool = True) -> Suite:
    """Run every policy test under ``roots`` against ``policy``. ``strict``: a malformed test file
    or key is an InputError (``policy-dsl test``); otherwise it is passed over (the report shows
    what runs) and a policy error in a test's case counts as that test's result."""
    from policy_dsl.engine.cases import CaseValidator
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.language.regions import default_registry

    files = test_files([r for r in roots if strict or Path(r).exists()])
    if not files and strict:
        raise InputError(Diagnostic("E-TEST-NONE", t("policytest.none"), Where(", ".join(map(str, roots))),
                                    t("policytest.none.hint")))
    evaluator = Evaluator(policy)
    validator = CaseValidator(default_registry(), vocab=policy.vocab)
    result_keys = {"status", "bounds", *policy.vocab.outputs} | EXPECT_EXTRA
    runs: list[TestRun] = []
    for f in files:
        loaded = read_test_file(f)
        tests = loaded.data.get("tests") if isinstance(loaded.data, dict) else None
        if not isinstance(tests, list):
            if not strict:
                continue
            policy_file = isinstance(loaded.data, dict) and not POLICY_KEYS.isdisjoint(loaded.data)
            raise InputError(Diagnostic("E-TEST-SHAPE", t("policytest.file_shape"), loaded.where(()),
                                        t("policytest.policy_file.hint", folder=Path(f).parent) if policy_file
                                        else t("policytest.file_shape.hint")))
        for i, test in enumerate(tests):
            where = loaded.where(("tests", i))
            if not isinstance(test, dict):
                if not strict:
                    continue
                raise InputError(Diagnostic("E-TEST-SHAPE", t("policytest.test_shape"), where, None))
            if strict:
                _check_keys(test, loaded, i, result_keys)
            name = test.get("name", t("policytest.test_n", index=i))
            try:
                got, refs = run_one(evaluator, validator, test, loaded.where(("tests", i, "case")), name)
            except PolicyDslError as exc:
                if strict:
                    raise
                got, refs = {"error": {"code": exc.first.code, "message": exc.first.message}}, []
            problems = compare(test.get("expect") or {}, got, policy)
            runs.append(TestRun(f, name, i, test.get("case"), test.get("expect"), problems, refs, where))
    reached = {ref for r in runs for ref in r.reached}
    return Suite(runs, sorted(set(policy.clauses) - reached))


def _check_keys(test: dict, loaded, i: int, result_keys: set) -> None:
    for key in test:
        if key not in TEST_KEYS:
            raise InputError(Diagnostic("E-TEST-KEY", t("policytest.unknown_key", key=key), loaded.where(("tests", i, key), True),
                                        did_you_mean(key, TEST_KEYS)))
    for key in test.get("expect", {}) or {}:
        if key not in result_keys:
            raise InputError(Diagnostic("E-TEST-KEY", t("policytest.unknown_field", key=key),
                                        loaded.where(("tests", i, "expect", key), True), did_you_mean(key, result_keys)))
