"""The command line: a thin layer over the stages. Exit codes are decided here only:
0 success; 1 policy files have errors, a test failed, or a diff was found with --exit-code;
2 bad input or usage. No traceback for a user's mistake."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, Where

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

_PARSER = None


def _parser_class():
    """argparse's parser, whose usage errors are input errors (exit 2), said plainly. argparse is
    imported here, when a command line needs it (see _quick_args)."""
    global _PARSER
    if _PARSER is None:
        import argparse

        class _Parser(argparse.ArgumentParser):
            def error(self, message):
                from policy_dsl.language.safeio import clip

                raise InputError(Diagnostic("E-USAGE", clip(message, 300), Where("command line"),
                                            f"see `{self.prog} --help`"))

        _PARSER = _Parser
    return _PARSER


def _date_arg(text: str) -> dt.date:
    from policy_dsl.face.api import parse_day

    return parse_day(text, Where("command line"))


def _common(p: argparse.ArgumentParser, fmt: bool = True) -> None:
    p.add_argument("--lang", choices=["zh", "en"], default=os.environ.get("POLICY_DSL_LANG", "zh"),
                   help="language of messages (default zh)")
    if fmt:
        p.add_argument("--format", choices=["table", "json"], default="table", help="table for people, json for programs")
    p.add_argument("--policies", action="append", type=Path, metavar="DIR",
                   help="use the policy files in DIR instead of the shipped ones (repeatable)")
    p.add_argument("--rev", metavar="GITREV", help="use policies/ as it was at this git revision (the work tree is untouched)")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with ``only``, a parser that knows that command alone (enough
    to read a valid command line of it, and quicker to build: see main)."""
    from policy_dsl import __version__

    _Parser = _parser_class()
    parser = _Parser(prog="policy-dsl", description="Chinese basic-medical-insurance policy as data: "
                     "what applies where and when, and what a person gets.")
    parser.add_argument("--version", action="version", version=f"policy-dsl {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("applies", help="what applied on a date in a region")
    p.add_argument("--date", required=True, type=_date_arg)
    p.add_argument("--region", required=True)
    p.add_argument("--topic", action="append", help="only this kind of case (repeatable)")
    _common(p)
    if only == "applies":
        return parser

    p = sub.add_parser("eval", help="evaluate case files")
    p.add_argument("cases", nargs="+", metavar="CASE", help="YAML, JSON or JSON Lines case files")
    p.add_argument("--as-of", type=_date_arg, help="decide under the rules in force on this date")
    p.add_argument("--explain", action="store_true", help="show the trace")
    _common(p)
    if only == "eval":
        return parser

    p = sub.add_parser("check", help="check policy files")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--coverage", action="store_true",
                   help="also print the coverage matrix (topics × regions × years) and its gaps")
    _common(p)

    p = sub.add_parser("test", help="run policy tests written as data")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    _common(p)

    p = sub.add_parser("diff", help="what changed between two policy sets, and which cases now get another answer")
    p.add_argument("old", nargs="?", help="a policies folder, a policy file, or a git revision")
    p.add_argument("new", nargs="?", help="the same (default: the policies in use)")
    p.add_argument("--region", help="with --between: one region over time")
    p.add_argument("--between", nargs=2, type=_date_arg, metavar=("D1", "D2"))
    p.add_argument("--exit-code", action="store_true", help="exit 1 when there is a difference")
    p.add_argument("--structural-only", action="store_true", help="skip the behavioural comparison")
    _common(p)

    p = sub.add_parser("timeline", help="which clauses governed over time in a region, per topic")
    p.add_argument("--region", required=True)
    p.add_argument("--topic", action="append", help="only this kind of case (repeatable)")
    p.add_argument("--from", dest="start", type=_date_arg, default=None, help="first day (default 2020-01-01)")
    p.add_argument("--to", dest="end", type=_date_arg, default=None, help="last day (default 2026-12-31)")
    p.add_argument("--svg", type=Path, metavar="FILE", help="also write the picture as SVG")
    _common(p)

    p = sub.add_parser("git-diff", help="git external diff driver for policy files (see docs/git.md)")
    p.add_argument("args", nargs="*")
    p.add_argument("--lang", choices=["zh", "en"], default=os.environ.get("POLICY_DSL_LANG", "zh"),
                   help="language of messages (default zh)")

    p = sub.add_parser("schema", help="print a JSON Schema")
    p.add_argument("which", choices=["policy", "case"])
    p.add_argument("--lang", choices=["zh", "en"], default=os.environ.get("POLICY_DSL_LANG", "zh"),
                   help="language of messages (default zh)")

    from policy_dsl.face.cli_tools import add_parsers  # fmt, report, completion

    add_parsers(sub, _common)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    fmt = "json" if _wants_json(argv) else "table"
    try:
        _utf8_arguments(argv)
        args = _parse(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_INPUT
        return COMMANDS[args.command](args)
    except PolicyDslError as exc:
        return _report(exc, fmt)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug of ours: say so plainly, keep the trace for developers
        if os.environ.get("POLICY_DSL_DEBUG"):
            raise
        sys.stderr.write(f"policy-dsl: internal error: {type(exc).__name__}: {str(exc)[:300]}\n"
                         "    hint: set POLICY_DSL_DEBUG=1 for the traceback, and please report it\n")
        return 70


# The plain command lines of the commands run most, read without argparse (quick_args): each
# option spelled in full and followed by its value; for eval, the case files first.
_QUICK = {
    "applies": {"--date": "date", "--region": "str", "--topic": "append", "--lang": "lang", "--format": "format",
                "--policies": "paths", "--rev": "str"},
    "eval": {"--as-of": "date", "--explain": "flag", "--lang": "lang", "--format": "format", "--policies": "paths",
             "--rev": "str"},
}
_QUICK_DEFAULTS = {
    "applies": ("date", "region", "topic", "lang", "format", "policies", "rev"),
    "eval": ("cases", "as_of", "explain", "lang", "format", "policies", "rev"),
}


class _Args:
    """What argparse.Namespace holds, for a command line read by _quick_args."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return "Namespace(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


def _quick_args(argv: list[str]):
    """The arguments of a plain ``applies`` or ``eval`` command line, as build_parser would give
    them (importing and building argparse costs a few milliseconds at every start), or None for
    anything else — help, abbreviations, ``--opt=value``, a repeated or unknown option, a value
    that looks like an option, a date that does not exist, a choice not offered… — which argparse
    then reads (and, if it must, refuses in its own words). tests/test_plans.py holds the two to
    the same results."""
    command = argv[0] if argv else None
    options = _QUICK.get(command)
    if options is None:
        return None
    values = {"command": command, "topic": None, "lang": os.environ.get("POLICY_DSL_LANG", "zh"), "format": "table",
              "policies": None, "rev": None, "as_of": None, "explain": False}
    words = argv[1:]
    i = 0
    if command == "eval":
        while i < len(words) and not words[i].startswith("-"):
            i += 1
        if i == 0:
            return None
        values["cases"] = words[:i]
    seen = set()
    try:
        while i < len(words):
            option = words[i]
            kind = options.get(option)
            if kind is None or (option in seen and kind not in ("append", "paths")):
                return None
            seen.add(option)
            if kind == "flag":
                values[option[2:].replace("-", "_")] = True
                i += 1
                continue
            if i + 1 >= len(words) or words[i + 1].startswith("-"):
                return None
            value = words[i + 1]
            i += 2
            name = option[2:].replace("-", "_")
            if kind == "date":
                value = _date_arg(value)
            elif kind == "lang" and value not in ("zh", "en") or kind == "format" and value not in ("table", "json"):
                return None
            elif kind in ("append", "paths"):
                value = (values[name] or []) + [Path(value) if kind == "paths" else value]
            values[name] = value
    except PolicyDslError:
        return None
    if command == "applies" and not {"--date", "--region"} <= seen:
        return None
    return _Args(**{k: values[k] for k in ("command",) + _QUICK_DEFAULTS[command]})


def _parse(argv: list[str]):
    """The parsed command line. A plain applies or eval line is read without argparse; else the
    commands run most are read by a parser that knows only them; if that parser refuses the line,
    the full one reads it and says why."""
    quick = _quick_args(argv)
    if quick is not None:
        return quick
    if argv and argv[0] in ("applies", "eval"):
        try:
            return build_parser(only=argv[0]).parse_args(argv)
        except PolicyDslError:
            pass
    return build_parser().parse_args(argv)


def _utf8_arguments(argv) -> None:
    """Command-line values are UTF-8 text (bytes that are not arrive as lone surrogates)."""
    for i, a in enumerate(argv, 1):
        try:
            a.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(Diagnostic("E-USAGE", f"argument {i} is not UTF-8 text", Where("command line"),
                                        "write arguments in UTF-8")) from None


def _wants_json(argv) -> bool:
    return any(a == "json" and i > 0 and argv[i - 1] == "--format" for i, a in enumerate(argv)) or "--format=json" in argv


def _report(exc: PolicyDslError, fmt: str) -> int:
    for d in exc.diagnostics:
        sys.stderr.write(d.format() + "\n")
    if fmt == "json":
        from policy_dsl.face.api import error_json

        sys.stdout.write(json.dumps(error_json(exc), ensure_ascii=False) + "\n")
    return exc.exit_code


def _policy_paths(args) -> list[Path] | None:
    if getattr(args, "rev", None):
        from policy_dsl.language.sources import from_git

        return [from_git(args.rev)]
    return args.policies


def _policy(args):
    from policy_dsl.face.api import load_policy

    return load_policy(_policy_paths(args))


def _dump(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# -- applies ------------------------------------------------------------------------------
def cmd_applies(args) -> int:
    from policy_dsl.face.api import applies

    data = applies(_policy(args), args.region, args.date, args.topic, args.lang)
    if args.format == "json":
        _dump(data)
    else:
        from policy_dsl.face import render

        render.render_applies(render.console(), data, args.lang)
    return EXIT_OK


def applies_data(policy, region, day: dt.date, topics: list[str], lang: str = "zh", evaluator=None) -> dict:
    """What ``applies --format json`` prints, as data (policy_dsl.face.api.applies_data)."""
    from policy_dsl.face.api import applies_data

    return applies_data(policy, region, day, topics, lang, evaluator)


def applies_json(found: dict, region, day: dt.date, lang: str = "zh") -> dict:
    """The INTERFACE.md shape of ``resolve.what_applies`` data (policy_dsl.face.api.applies_json)."""
    from policy_dsl.face.api import applies_json

    return applies_json(found, region, day, lang)


# -- eval ---------------------------------------------------------------------------------
def cmd_eval(args) -> int:
    from policy_dsl.face.api import CaseAnswers

    answers = CaseAnswers(_policy(args), args.lang, args.as_of)
    if args.format == "json":
        from policy_dsl.face.api import eval_json

        bad = eval_json(answers, args.cases, sys.stdout, args.explain)
    else:
        from policy_dsl.engine.cases import read_cases
        from policy_dsl.face import render

        con = render.console()
        for path in args.cases:
            _, raws = read_cases(path)
            for raw in raws:
                _show_case(con, answers.answer(raw), answers.policy, args)
        bad = answers.bad
    return EXIT_INPUT if bad else EXIT_OK


def _show_case(con, out, policy, args) -> None:
    from policy_dsl.face import render

    if "error" in out:
        e = out["error"]
        sys.stderr.write(f"{e['where']}: {e['code']} {e['message']}\n" + (f"    hint: {e['hint']}\n" if e.get("hint") else ""))
        return
    render.render_result(con, out, policy, args.lang, args.explain)


# -- check --------------------------------------------------------------------------------
def cmd_check(args) -> int:
    from policy_dsl.language import resources
    from policy_dsl.face.api import run_checks
    from policy_dsl.language.load import load_files, policy_files

    paths = args.paths or _policy_paths(args) or [resources.policies_dir()]
    files = policy_files(paths)
    policy, diags, _ = load_files(files)
    if policy is not None:
        diags += run_checks(policy)
        if not [d for d in diags if d.severity == "error"]:
            from policy_dsl.analysis.check import GRID_PASSES

            for _, grid_pass in GRID_PASSES:  # conflicts, bounds, shadowed (policy_dsl/analysis/passes.py)
                diags += grid_pass(policy)
    matrix = None
    if getattr(args, "coverage", False):
        from policy_dsl.analysis import coverage

        if policy is not None and not [d for d in diags if d.severity == "error"]:
            matrix = coverage.matrix(policy)
            diags += coverage.findings(policy)
    errors = [d for d in diags if d.severity == "error"]
    if args.format == "json":
        _dump({"files": [str(f) for f in files], "diagnostics": [d.to_json() for d in diags],
               "errors": len(errors), "warnings": len(diags) - len(errors),
               **({"coverage": matrix} if getattr(args, "coverage", False) else {})})
    else:
        if matrix is not None:
            sys.stdout.write(coverage.render(matrix, args.lang))
        elif getattr(args, "coverage", False):
            sys.stdout.write({"zh": "有错误，未计算覆盖情况\n", "en": "coverage not computed: fix the errors first\n"}[args.lang])
        for d in diags:
            sys.stdout.write(d.format() + "\n")
        summary = {"zh": f"检查了 {len(files)} 个文件：{len(errors)} 个错误，{len(diags) - len(errors)} 个警告",
                   "en": f"checked {len(files)} files: {len(errors)} errors, {len(diags) - len(errors)} warnings"}
        sys.stdout.write(summary[args.lang] + "\n")
    return EXIT_FINDINGS if errors else EXIT_OK


# -- test ---------------------------------------------------------------------------------
def cmd_test(args) -> int:
    from policy_dsl.tools.policytest import run_tests

    return run_tests(args)


# -- schema -------------------------------------------------------------------------------
def cmd_schema(args) -> int:
    from policy_dsl.language import resources

    sys.stdout.write(resources.schema_path(args.which).read_text(encoding="utf-8"))
    return EXIT_OK


# -- diff ---------------------------------------------------------------------------------
def cmd_diff(args) -> int:
    from policy_dsl.tools import diff
    from policy_dsl.face.api import load_policy

    if args.between:
        if not args.region or args.old or args.new:
            raise InputError(Diagnostic("E-USAGE", "--between takes --region and no OLD NEW", Where("command line"),
                                        "policy-dsl diff --region 济南 --between 2022-03-31 2022-04-01"))
        from policy_dsl.language.regions import default_registry

        d1, d2 = args.between
        region = default_registry().resolve(args.region, d2, Where("--region"))
        data = diff.between(_policy(args), region, d1, d2)
        different = bool(data["entering"] or data["leaving"] or data["kinds"])
    else:
        if not args.old:
            raise InputError(Diagnostic("E-USAGE", "diff needs OLD (and NEW, or the policies in use)", Where("command line"),
                                        "policy-dsl diff HEAD~1 policies/  or  policy-dsl diff old/ new/"))
        from policy_dsl.language.sources import resolve_spec

        old = load_policy(resolve_spec(args.old))
        new = load_policy(resolve_spec(args.new)) if args.new else _policy(args)
        data = diff.diff_sets(old, new, behaviour=not args.structural_only)
        different = bool(data["structural"]) or bool(data.get("behavioural", {}).get("changed"))
    if args.format == "json":
        _dump(data)
    else:
        from policy_dsl.face import render

        con = render.console()
        if args.between:
            render.render_between(con, data, args.lang)
        else:
            render.render_diff(con, data, args.lang)
    return EXIT_FINDINGS if (args.exit_code and different) else EXIT_OK


def cmd_timeline(args) -> int:
    from policy_dsl.tools import timeline
    from policy_dsl.language.kinds import vocabulary
    from policy_dsl.language.regions import default_registry

    topics = args.topic or list(vocabulary().kinds)
    _check_topics(topics)
    start, end = args.start or timeline.START, args.end or timeline.END
    if end < start:
        raise InputError(Diagnostic("E-USAGE", f"--to {end} is before --from {start}", Where("command line"), None))
    region = default_registry().resolve(args.region, end, Where("--region"))
    policy = _policy(args)
    data = timeline.timeline_data(policy, region, topics, start, end)
    if args.svg:
        try:
            args.svg.write_text(timeline.timeline_svg(policy, region, topics, start, end, args.lang), encoding="utf-8")
        except OSError as exc:
            raise InputError(Diagnostic("E-FILE", f"cannot write {args.svg}: {exc.strerror}", Where(str(args.svg)), None)) from None
    if args.format == "json":
        _dump({"region": region.to_json(), "from": start.isoformat(), "to": end.isoformat(), "topics": data})
    else:
        from policy_dsl.face import render

        render.render_timeline(render.console(), region, data, start, end, args.lang)
    return EXIT_OK


def _check_topics(topics) -> None:
    from policy_dsl.face.api import check_topics

    check_topics(topics)


def cmd_git_diff(args) -> int:
    """git calls: PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE."""
    from policy_dsl.tools import diff
    from policy_dsl.face import render
    from policy_dsl.face.api import load_unchecked

    if len(args.args) < 7:
        raise InputError(Diagnostic("E-USAGE", "git-diff is called by git with 7 arguments", Where("command line"),
                                    "git config diff.policy-dsl.command 'policy-dsl git-diff'"))
    path, old_file, _, _, new_file = args.args[:5]
    con = render.console()
    con.print(f"policy-dsl diff {path}")
    sides = []
    for f in (old_file, new_file):
        if f == "/dev/null":
            sides.append(None)
            continue
        try:
            sides.append(load_unchecked([Path(f)]))
        except PolicyDslError as exc:  # not a policy file git can show as data: say why, plainly
            for d in exc.diagnostics:
                con.print(f"  {d.format()}")
            return EXIT_OK
    from policy_dsl.language.model import PolicySet

    empty = PolicySet([], {}, [])
    data = {"structural": [c.to_json() for c in diff.structural(sides[0] or empty, sides[1] or empty)]}
    render.render_diff(con, data, args.lang)
    return EXIT_OK


COMMANDS = {"applies": cmd_applies, "eval": cmd_eval, "check": cmd_check, "test": cmd_test, "schema": cmd_schema,
            "diff": cmd_diff, "git-diff": cmd_git_diff,
            "timeline": cmd_timeline}

from policy_dsl.face.cli_tools import COMMANDS as _TOOL_COMMANDS  # noqa: E402  fmt, report, completion

COMMANDS.update(_TOOL_COMMANDS)
