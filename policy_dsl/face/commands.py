"""The command table: every command of ``policy-dsl``, its help, its arguments, and the function
that runs it (imported only when that command runs). ``face/cli.py`` builds the parser from it and
the shell completion script is generated from that parser, so a command is added here only."""

from __future__ import annotations

import os

from policy_dsl.language.messages import N_, t

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is imported when a parser is built (face/cli.py)
    import argparse


class Command:
    """One command: its name and help (a message id), ``arguments(parser)`` adding its own arguments, ``run`` as
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


def path_arg(text: str):
    """A path given on the command line (a ``pathlib.Path``: pathlib is imported only when one is
    given — it costs 3-4 ms of every start)."""
    from pathlib import Path

    return Path(text)


def add_common(p: argparse.ArgumentParser, which: tuple[str, ...]) -> None:
    if "lang" in which:
        p.add_argument("--lang", choices=["zh", "en"], default=os.environ.get("POLICY_DSL_LANG", "zh"),
                       help=N_("help.lang"))
    if "format" in which:
        p.add_argument("--format", choices=["table", "json"], default="table", help=N_("help.format"))
    if "policies" in which:
        p.add_argument("--policies", action="append", type=path_arg, metavar="DIR",
                       help=N_("help.policies"))
        p.add_argument("--rev", metavar="GITREV",
                       help=N_("help.rev"))


def _applies(p) -> None:
    p.add_argument("--date", required=True, type=date_arg, help=N_("help.date"))
    p.add_argument("--region", required=True, help=N_("help.region"))
    p.add_argument("--topic", action="append", help=N_("help.topic"))


def _eval(p) -> None:
    p.add_argument("cases", nargs="+", metavar="CASE", help=N_("help.eval.cases"))
    p.add_argument("--format", choices=["table", "json", "jsonl", "yaml", "csv", "parquet", "xlsx"], default="table",
                   help=N_("help.eval.format"))
    p.add_argument("--out", metavar="FILE", help=N_("help.eval.out"))
    p.add_argument("--jobs", type=int, default=1, metavar="N", help=N_("help.jobs"))
    p.add_argument("--as-of", type=date_arg, help=N_("help.eval.as_of"))
    p.add_argument("--explain", action="store_true", help=N_("help.eval.explain"))


def _check(p) -> None:
    p.add_argument("paths", nargs="*", type=path_arg, metavar="PATH", help=N_("help.check.paths"))
    p.add_argument("--coverage", action="store_true", help=N_("help.check.coverage"))


def _test(p) -> None:
    p.add_argument("paths", nargs="*", type=path_arg, metavar="PATH", help=N_("help.test.paths"))


def _diff(p) -> None:
    p.add_argument("old", nargs="?", help=N_("help.diff.old"))
    p.add_argument("new", nargs="?", help=N_("help.diff.new"))
    p.add_argument("--region", help=N_("help.diff.region"))
    p.add_argument("--between", nargs=2, type=date_arg, metavar=("D1", "D2"), help=N_("help.diff.between"))
    p.add_argument("--exit-code", action="store_true", help=N_("help.diff.exit_code"))
    p.add_argument("--structural-only", action="store_true", help=N_("help.diff.structural_only"))


def _impact(p) -> None:
    p.add_argument("old", help=N_("help.diff.old"))
    p.add_argument("new", nargs="?", help=N_("help.diff.new"))
    p.add_argument("--cases", required=True, metavar="FILE", help=N_("help.impact.cases"))
    p.add_argument("--out", type=path_arg, metavar="DIR", help=N_("help.impact.out"))
    p.add_argument("--jobs", type=int, default=1, metavar="N", help=N_("help.jobs"))
    p.add_argument("--as-of", type=date_arg, help=N_("help.impact.as_of"))
    p.add_argument("--exit-code", action="store_true", help=N_("help.impact.exit_code"))


def _timeline(p) -> None:
    p.add_argument("--region", required=True, help=N_("help.region"))
    p.add_argument("--topic", action="append", help=N_("help.topic"))
    p.add_argument("--from", dest="start", type=date_arg, default=None, help=N_("help.timeline.from"))
    p.add_argument("--to", dest="end", type=date_arg, default=None, help=N_("help.timeline.to"))
    p.add_argument("--svg", type=path_arg, metavar="FILE", help=N_("help.timeline.svg"))


def _git_diff(p) -> None:
    p.add_argument("args", nargs="*", help=N_("help.git_diff.args"))


def _schema(p) -> None:
    p.add_argument("which", choices=["policy", "case"], help=N_("help.schema.which"))


def _fmt(p) -> None:
    p.add_argument("paths", nargs="*", type=path_arg, metavar="PATH",
                   help=N_("help.fmt.paths"))
    p.add_argument("--check", action="store_true", help=N_("help.fmt.check"))


def _report(p) -> None:
    p.add_argument("--out", required=True, type=path_arg, metavar="DIR", help=N_("help.report.out"))


def _regions(p) -> None:
    p.add_argument("query", metavar="NAME", help=N_("help.regions.query"))
    p.add_argument("--date", type=date_arg, help=N_("help.regions.date"))
    p.add_argument("--limit", type=int, default=20, help=N_("help.regions.limit"))


def _completion(p) -> None:
    p.add_argument("shell", choices=["bash", "zsh"], help=N_("help.completion.shell"))


def _serve(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help=N_("help.serve.host"))
    p.add_argument("--port", type=int, default=8000, help=N_("help.serve.port"))
    p.add_argument("--workers", type=int, default=1, metavar="N", help=N_("help.serve.workers"))
    p.add_argument("--max-body", type=int, default=None, metavar="BYTES", help=N_("help.serve.max_body"))
    p.add_argument("--root-path", default="", metavar="PATH", help=N_("help.serve.root_path"))
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS", help=N_("help.serve.forwarded_allow_ips"))
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"],
                   help=N_("help.serve.log_level"))


COMMANDS: tuple[Command, ...] = (
    Command("applies", N_("command.applies"), _applies, "ask:cmd_applies"),
    Command("eval", N_("command.eval"), _eval, "ask:cmd_eval", ("lang", "policies")),
    Command("check", N_("command.check"), _check, "maintain:cmd_check"),
    Command("test", N_("command.test"), _test, "maintain:cmd_test"),
    Command("diff", N_("command.diff"), _diff, "compare:cmd_diff"),
    Command("impact", N_("command.impact"), _impact, "impact:cmd_impact"),
    Command("timeline", N_("command.timeline"), _timeline, "compare:cmd_timeline"),
    Command("git-diff", N_("command.git_diff"), _git_diff, "compare:cmd_git_diff", ("lang",)),
    Command("schema", N_("command.schema"), _schema, "maintain:cmd_schema", ("lang", "format")),
    Command("fmt", N_("command.fmt"), _fmt, "maintain:cmd_fmt"),
    Command("report", N_("command.report"), _report, "compare:cmd_report"),
    Command("regions", N_("command.regions"), _regions, "ask:cmd_regions", ("lang", "format")),
    Command("completion", N_("command.completion"), _completion, "maintain:cmd_completion", ("lang",)),
    Command("serve", N_("command.serve"), _serve, "serve:cmd_serve"),
)

BY_NAME = {c.name: c for c in COMMANDS}

# argparse's own words (its headings, its -h and --version help, its usage errors): argparse asks
# gettext for them by their English text; the catalog has them under the context "argparse".
ARGPARSE = "argparse"


def argparse_words(text: str) -> str:
    """argparse's English ``text`` in the current language (unchanged if the catalog lacks it)."""
    from policy_dsl.language.messages import catalog, current

    return catalog(current()).pgettext(ARGPARSE, text)


def _argparse_nwords(singular: str, plural: str, n: int) -> str:
    from policy_dsl.language.messages import catalog, current

    return catalog(current()).npgettext(ARGPARSE, singular, plural, n)


class argparse_in_our_words:
    """``with argparse_in_our_words(): parser.parse_args(argv)``: argparse's usage errors are
    made in the current language (argparse looks its ``_`` and ``ngettext`` up when it speaks)."""

    words = staticmethod(argparse_words)
    nwords = staticmethod(_argparse_nwords)

    def __enter__(self):
        import argparse

        self._saved = argparse._, argparse.ngettext
        argparse._, argparse.ngettext = self.words, self.nwords
        return self

    def __exit__(self, *exc):
        import argparse

        argparse._, argparse.ngettext = self._saved
        return False


class _argparse_as_written(argparse_in_our_words):
    """``with _argparse_as_written(): ...``: argparse's words stay its English text (the headings
    and the -h and --version help it makes while a parser is built are put in the current
    language when shown: ``Formatter``), so building a parser asks gettext nothing — no search
    of the system's catalogs, no ``locale`` import."""

    words = staticmethod(lambda text: text)
    nwords = staticmethod(lambda singular, plural, n: singular if n == 1 else plural)


def _words(text):
    """A help text, a heading or a description as shown: a message id of ours in the current
    language, argparse's own words through the catalog, anything else as it is."""
    if not text:
        return text
    if text.startswith(("help.", "command.")) and " " not in text:
        return t(text)
    return argparse_words(text)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command. With ``only`` (the command named on the line), that command
    alone (cheaper at start-up: a line it refuses is then read by the full parser, which says
    why). Help texts are message ids until shown: the catalog is read only when help is printed."""
    import argparse

    from policy_dsl import __version__
    from policy_dsl.language.errors import Diagnostic, InputError, command_line

    building = [True]

    class Formatter(argparse.HelpFormatter):
        """Help in the current language: each help text, heading and the usage prefix through the catalog."""

        def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
            if width is None and building:  # argparse checks each argument's metavar with a formatter that
                width = 80  # lays out no text: the terminal's width (and shutil's import) is asked only for help
            super().__init__(prog, indent_increment, max_help_position, width)

        def _get_help_string(self, action):
            return _words(action.help).replace("%", "%%") if action.help else action.help

        def start_section(self, heading):
            super().start_section(_words(heading))

        def add_text(self, text):
            super().add_text(_words(text) if text is not argparse.SUPPRESS else text)

        def add_usage(self, usage, actions, groups, prefix=None):
            super().add_usage(usage, actions, groups, argparse_words("usage: ") if prefix is None else prefix)

    class Parser(argparse.ArgumentParser):
        """Usage errors are input errors (exit 2), said plainly; help in the current language."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, formatter_class=Formatter, **kwargs)

        def error(self, message):
            from policy_dsl.language.safeio import clip

            raise InputError(Diagnostic("E-USAGE", clip(message, 300), command_line(),
                                        t("cli.see_help", prog=self.prog)))

    with _argparse_as_written():
        parser = Parser(prog="policy-dsl", description=N_("help.policy_dsl"))
        parser.add_argument("--version", action="version", version=f"policy-dsl {__version__}")
        sub = parser.add_subparsers(dest="command", parser_class=Parser, title=N_("help.commands"), metavar="COMMAND")
        for command in COMMANDS:
            if only is None or only == command.name:
                p = sub.add_parser(command.name, help=command.help, description=command.help)
                command.arguments(p)
                add_common(p, command.common)
    building.clear()
    return parser
