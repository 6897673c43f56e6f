"""The commands of the people who keep the policy files: ``check``, ``test``, ``fmt``, ``schema``
and ``completion``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from policy_dsl.face import common
from policy_dsl.language.errors import EXIT_FINDINGS, EXIT_OK, Diagnostic, InputError, PolicyDslError, command_line
from policy_dsl.language.messages import N_, t


def cmd_check(args) -> int:
    from policy_dsl.face.api import run_checks
    from policy_dsl.language.load import load_files, policy_files

    paths = args.paths or list(common.source(args).paths)
    files = policy_files(paths)
    policy, diags, _ = load_files(files)
    if policy is not None:
        diags += run_checks(policy)
        if not [d for d in diags if d.severity == "error"]:
            from policy_dsl.analysis.check import GRID_PASSES

            for _, grid_pass in GRID_PASSES:  # conflicts, bounds, shadowed (policy_dsl/analysis/passes.py)
                diags += grid_pass(policy)
    matrix = None
    if args.coverage:
        from policy_dsl.analysis import coverage

        if policy is not None and not [d for d in diags if d.severity == "error"]:
            matrix = coverage.matrix(policy)
            diags += coverage.findings(policy)
    errors = [d for d in diags if d.severity == "error"]
    warnings = [d for d in diags if d.severity == "warning"]
    notes = len(diags) - len(errors) - len(warnings)  # findings that need nothing done (an authorised deviation)
    if args.format == "json":
        common.dump_json({"files": [str(f) for f in files], "diagnostics": [d.to_json() for d in diags],
                          "errors": len(errors), "warnings": len(warnings), "notes": notes,
                          **({"coverage": matrix} if args.coverage else {}),
                          **({} if args.paths else {"policy_set": common.source(args).to_json()})})
    else:
        if matrix is not None:
            sys.stdout.write(coverage.render(matrix, args.lang))
        elif args.coverage:
            sys.stdout.write(t("check.coverage_skipped") + "\n")
        for d in diags:
            sys.stdout.write(d.format() + "\n")
        where = ", ".join(map(str, paths)) if args.paths else common.source_label(common.source(args))
        counts = [t("check.errors", n=len(errors)), t("check.warnings", n=len(warnings))] + (
            [t("check.notes", n=notes)] if notes else [])
        sys.stdout.write(t("check.summary", n=len(files), where=where, counts=t("list.comma").join(counts)) + "\n")
    return EXIT_FINDINGS if errors else EXIT_OK


def cmd_test(args) -> int:
    from policy_dsl.tools.policytest import run_suite

    policy = common.policy(args)
    roots = args.paths or list(common.source(args).tests)
    suite = run_suite(policy, roots)
    if args.format == "json":
        common.dump_json({
            "passed": suite.passed, "failed": suite.failed,
            "failures": [{"name": r.name, "where": str(r.where), "problems": r.problems} for r in suite.runs if not r.passed],
            "unreached": [{"rule": ref, "document": policy.clauses[ref].doc.number, "article": policy.clauses[ref].article}
                          for ref in suite.unreached],
            "policy_set": common.policy_set_json(args, policy)})
    else:
        for r in suite.runs:
            if not r.passed:
                sys.stdout.write(t("test.failed", where=str(r.where), name=r.name) + "\n")
                sys.stdout.writelines(f"     {p}\n" for p in r.problems)
        if suite.unreached:
            sys.stdout.write(t("test.unreached", count=len(suite.unreached)) + "\n")
            for ref in suite.unreached:
                sys.stdout.write(f"  {policy.clauses[ref].citation} [{ref}]\n")
        sys.stdout.write(common.policy_set_line(args, policy, args.lang) + "\n")
        sys.stdout.write(t("test.summary", passed=suite.passed, failed=suite.failed) + "\n")
    return EXIT_FINDINGS if suite.failed else EXIT_OK


def cmd_schema(args) -> int:
    from policy_dsl.language import resources

    text = resources.schema_path(args.which).read_text(encoding="utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")  # JSON either way: the schema is JSON
    return EXIT_OK


def cmd_fmt(args) -> int:
    from policy_dsl.face.discover import writable_path
    from policy_dsl.language.load import _display, policy_files
    from policy_dsl.tools.fmt import format_file

    if getattr(args, "rev", None) and not args.check:
        raise InputError(Diagnostic("E-USAGE", t("fmt.rev_only_checks"), command_line(), "policy-dsl fmt --check --rev HEAD"))
    paths = args.paths or list(common.source(args).paths)
    for p in paths:
        try:
            os.stat(p)
        except (OSError, ValueError) as exc:
            from policy_dsl.language.safeio import clip, why_unreadable

            what, hint = why_unreadable(p, exc)
            raise InputError(Diagnostic("E-FILE", t("file.problem", path=clip(p), what=what), command_line(), hint)) from None
        if not args.check and not writable_path(Path(p)):
            raise InputError(Diagnostic("E-FMT-INSTALLED", t("fmt.installed", path=str(p)), command_line(),
                                        t("fmt.installed.hint")))
    files = policy_files(paths)
    changed, unchanged, errors = [], [], []
    for f in files:
        try:
            (changed if format_file(f, check=args.check) else unchanged).append(f)
        except PolicyDslError as exc:
            errors.extend(exc.diagnostics)
            if args.format != "json":
                for d in exc.diagnostics:
                    sys.stderr.write(d.format() + "  " + t("fmt.left_unchanged") + "\n")
    if args.format == "json":
        common.dump_json({"check": bool(args.check), "files": [_display(f, None) for f in files],
                          "changed": [_display(f, None) for f in changed],
                          "unchanged": [_display(f, None) for f in unchanged],
                          "errors": [d.to_json() for d in errors]})
    else:
        for f in changed:
            sys.stdout.write(t(N_("fmt.would_reformat") if args.check else N_("fmt.reformatted"), file=_display(f, None)) + "\n")
        summary = N_("fmt.summary_check") if args.check else N_("fmt.summary")
        sys.stdout.write(t(summary, n=len(changed), unchanged=len(unchanged), errors=len(errors)) + "\n")
    if errors:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if (args.check and changed) else EXIT_OK


def cmd_completion(args) -> int:
    from policy_dsl.face.commands import build_parser
    from policy_dsl.face.completion import completion_script

    sys.stdout.write(completion_script(args.shell, build_parser()))
    return EXIT_OK
