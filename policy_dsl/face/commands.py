"""The command table: every command of ``policy-dsl``, its help, its arguments, and the function
that runs it (imported only when that command runs). ``face/cli.py`` builds the parser from it and
the shell completion script is generated from that parser, so a command is added here only."""

from __future__ import annotations

import os
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is imported when a parser is built (face/cli.py)
    import argparse


class Command:
    """One command: its name and help, ``arguments(parser)`` adding its own arguments, ``run`` as
    "module:function" under policy_dsl.face (called with the parsed arguments, returns the exit
    code), and the shared options it takes. (A plain class: dataclasses cost a start-up import.)"""

    __slots__ = ("name", "help", "arguments", "run", "common")

    def __init__(self, name: str, help: str, arguments, run: str, common: tuple = ("lang", "format", "policies")):
        self.name, self.help, self.arguments, self.run, self.common = name, help, arguments, run, common

    def handler(self):
        """The function that runs this command."""
        module, _, name = self.run.partition(":")
        import importlib

        return getattr(importlib.import_module(f"policy_dsl.face.{module}"), name)


def date_arg(text: str):
    """A date given on the command line (YYYY-MM-DD); a usage error otherwise."""
    from policy_dsl.face.api import parse_day

    return parse_day(text)


def add_common(p: argparse.ArgumentParser, which: tuple[str, ...]) -> None:
    if "lang" in which:
        p.add_argument("--lang", choices=["zh", "en"], default=os.environ.get("POLICY_DSL_LANG", "zh"),
                       help="language of messages (default zh)")
    if "format" in which:
        p.add_argument("--format", choices=["table", "json"], default="table", help="table for people, json for programs")
    if "policies" in which:
        p.add_argument("--policies", action="append", type=Path, metavar="DIR",
                       help="use the policy files in DIR (repeatable; default: the policy repository around the "
                            "current folder, else the installed copy)")
        p.add_argument("--rev", metavar="GITREV",
                       help="use the repository's policy folders as they were at this git revision (the work tree is untouched)")


def _applies(p) -> None:
    p.add_argument("--date", required=True, type=date_arg)
    p.add_argument("--region", required=True)
    p.add_argument("--topic", action="append", help="only this kind of case (repeatable)")


def _eval(p) -> None:
    p.add_argument("cases", nargs="+", metavar="CASE",
                   help="case files: .jsonl, .json, .yaml, .csv, .parquet or .xlsx (docs/population.md)")
    p.add_argument("--format", choices=["table", "json", "jsonl", "yaml", "csv", "parquet", "xlsx"], default="table",
                   help="table for people, json for programs, or the format of the answers written (default: --out's extension)")
    p.add_argument("--out", metavar="FILE", help="write the answers to FILE (.jsonl, .json, .yaml, .csv, .parquet, .xlsx)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="answer with N processes (the same output, in input order)")
    p.add_argument("--as-of", type=date_arg, help="decide under the rules in force on this date")
    p.add_argument("--explain", action="store_true", help="show the trace")


def _check(p) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--coverage", action="store_true",
                   help="also print the coverage matrix (topics × regions × years) and its gaps")


def _test(p) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")


def _diff(p) -> None:
    p.add_argument("old", nargs="?", help="a policies folder, a policy file, or a git revision")
    p.add_argument("new", nargs="?", help="the same (default: the policies in use, e.g. the work tree)")
    p.add_argument("--region", help="with --between: one region over time")
    p.add_argument("--between", nargs=2, type=date_arg, metavar=("D1", "D2"))
    p.add_argument("--exit-code", action="store_true", help="exit 1 when there is a difference")
    p.add_argument("--structural-only", action="store_true", help="skip the behavioural comparison")


def _impact(p) -> None:
    p.add_argument("old", help="a policies folder, a policy file, or a git revision")
    p.add_argument("new", nargs="?", help="the same (default: the policies in use, e.g. the work tree)")
    p.add_argument("--cases", required=True, metavar="FILE",
                   help="the population: .jsonl, .json, .yaml, .csv, .parquet or .xlsx (docs/population.md)")
    p.add_argument("--out", type=Path, metavar="DIR", help="also write the changed cases and index.html (charts) into DIR")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="answer with N processes")
    p.add_argument("--as-of", type=date_arg, help="decide every case under the rules in force on this date")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when any answer changes")


def _timeline(p) -> None:
    p.add_argument("--region", required=True)
    p.add_argument("--topic", action="append", help="only this kind of case (repeatable)")
    p.add_argument("--from", dest="start", type=date_arg, default=None, help="first day (default: the first year the files name)")
    p.add_argument("--to", dest="end", type=date_arg, default=None, help="last day (default: the end of the last year)")
    p.add_argument("--svg", type=Path, metavar="FILE", help="also write the picture as SVG")


def _git_diff(p) -> None:
    p.add_argument("args", nargs="*")


def _schema(p) -> None:
    p.add_argument("which", choices=["policy", "case"])


def _fmt(p) -> None:
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="policy files or folders (default: the policies in use)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 listing the files that would change")


def _report(p) -> None:
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the site into")


def _completion(p) -> None:
    p.add_argument("shell", choices=["bash", "zsh"])


def _serve(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes answering (default 1; each loads and watches the policy set)")
    p.add_argument("--max-body", type=int, default=None, metavar="BYTES", help="largest request body accepted (default 16 MiB)")
    p.add_argument("--root-path", default="", metavar="PATH", help="the path prefix a reverse proxy serves this under, e.g. /policy")
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="proxies whose X-Forwarded-* headers are trusted (uvicorn's option)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])


COMMANDS: tuple[Command, ...] = (
    Command("applies", "what applied on a date in a region", _applies, "ask:cmd_applies"),
    Command("eval", "evaluate case files", _eval, "ask:cmd_eval", ("lang", "policies")),
    Command("check", "check policy files", _check, "maintain:cmd_check"),
    Command("test", "run policy tests written as data", _test, "maintain:cmd_test"),
    Command("diff", "what changed between two policy sets, and which cases now get another answer", _diff,
            "compare:cmd_diff"),
    Command("impact", "how a change to the policy set changes the answers of a population (docs/population.md)",
            _impact, "impact:cmd_impact"),
    Command("timeline", "which clauses governed over time in a region, per topic", _timeline, "compare:cmd_timeline"),
    Command("git-diff", "git external diff driver for policy files (see docs/git.md)", _git_diff,
            "compare:cmd_git_diff", ("lang",)),
    Command("schema", "print a JSON Schema", _schema, "maintain:cmd_schema", ("lang", "format")),
    Command("fmt", "canonical layout of policy files; comments and quoted texts kept byte for byte", _fmt,
            "maintain:cmd_fmt"),
    Command("report", "a static HTML site: source texts beside their encodings, tests, timelines, precedence",
            _report, "compare:cmd_report"),
    Command("completion", "print a shell completion script (bash or zsh)", _completion, "maintain:cmd_completion",
            ("lang",)),
    Command("serve", "an HTTP JSON API and a web page for staff (needs the serve extra: docs/service.md)", _serve,
            "serve:cmd_serve"),
)

BY_NAME = {c.name: c for c in COMMANDS}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command. With ``only`` (the command named on the line), the other
    commands are listed but their arguments are not built (cheaper at start-up; a line naming
    another command is then read by the full parser)."""
    import argparse

    from policy_dsl import __version__
    from policy_dsl.language.errors import Diagnostic, InputError, Where

    class Parser(argparse.ArgumentParser):
        """Usage errors are input errors (exit 2), said plainly."""

        def error(self, message):
            from policy_dsl.language.safeio import clip

            raise InputError(Diagnostic("E-USAGE", clip(message, 300), Where("command line"),
                                        f"see `{self.prog} --help`"))

    parser = Parser(prog="policy-dsl", description="Chinese basic-medical-insurance policy as data: "
                    "what applies where and when, and what a person gets.")
    parser.add_argument("--version", action="version", version=f"policy-dsl {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help)
        if only is None or only == command.name:
            command.arguments(p)
            add_common(p, command.common)
    return parser
