"""The command line: reads the arguments with the command table (face/commands.py), runs the
command, and turns what happened into an exit code (the codes are defined in
language/errors.py). The only place that catches every exception: a bug of ours is reported
plainly, with exit 70; never a traceback for a user's mistake."""

from __future__ import annotations

import os
import sys

from policy_dsl.language.errors import (EXIT_BROKEN_PIPE, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, Diagnostic,
                                        InputError, PolicyDslError, command_line)
from policy_dsl.language.messages import reset_language, set_language, t


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; without it, the process's own (``sys.argv``) — the process
    then ends when this returns (``_ending``)."""
    own = argv is None
    argv = sys.argv[1:] if argv is None else argv
    if own:
        _starting()
    fmt = "json" if _wants_json(argv) else "table"
    token = set_language(_language(argv))  # before the arguments are read: their errors and --help are words too
    try:
        _utf8_arguments(argv)
        _no_empty_arguments(argv)
        args = _parse(argv)
        if args.command is None:
            from policy_dsl.face.commands import build_parser

            build_parser().print_help()
            return EXIT_INPUT
        from policy_dsl.face.commands import BY_NAME

        run = BY_NAME[args.command].handler()
        if own:
            _started()
        code = run(args)
        sys.stdout.flush()  # here, not at exit: a reader gone is a broken pipe like any other
        return code
    except PolicyDslError as exc:
        return _report(exc, fmt)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _broken_pipe()
    except Exception as exc:  # the one catch-all: a bug of ours, said plainly, the trace kept for developers
        if os.environ.get("POLICY_DSL_DEBUG"):
            raise
        sys.stderr.write(t("cli.internal_error", error=f"{type(exc).__name__}: {str(exc)[:300]}") + "\n    "
                         + t("diagnostic.hint", hint=t("cli.internal_error.hint")) + "\n")
        return EXIT_INTERNAL
    finally:
        reset_language(token)
        if own:
            _ending()


def _starting() -> None:
    """The process starts: the modules it imports to read its command line and run the command
    live until it exits, so the cyclic collector is paused while they are made (``_started``);
    the message catalogs are read as kept in the user's cache (language/catalogs.py)."""
    import gc

    gc.disable()
    from policy_dsl.language import catalogs, messages

    messages.read_with(catalogs.KeptTranslations)


# While a command runs, the cyclic collector's first generation is collected when this many more
# container objects have been made than freed (CPython's default: 700). A command that answers one
# question (applies, eval, regions; JSON or tables) makes 10 000 to 50 000 more than it frees, and
# they live until it exits — the modules it imports as it needs them, its policy set —, so with
# the default it walked them some twenty times for nothing (1–3 ms of CPU of a 40–55 ms start:
# bench/startup.py --before); a long command (a batch, check, the service) still collects, less often.
COLLECT_AFTER = 50_000


def _started() -> None:
    """The command is about to run: what start-up made is set aside for good (``gc.freeze``: no
    later collection walks it) and the collector runs again, its first generation collected after
    COLLECT_AFTER objects more made than freed."""
    import gc

    gc.freeze()
    gc.set_threshold(COLLECT_AFTER, *gc.get_threshold()[1:])
    gc.enable()


def _ending() -> None:
    """The process is about to exit: what it made lives until then, and the cyclic collector's
    passes at exit need not walk it (``gc.freeze``; the memory goes with the process)."""
    import gc

    gc.freeze()


def _parse(argv: list[str]):
    """The parsed command line: a parser that builds only the named command's arguments reads it;
    should that refuse the line, the full parser reads it and says why."""
    from policy_dsl.face.commands import BY_NAME, argparse_in_our_words, build_parser

    if argv and argv[0] in BY_NAME:
        parser = build_parser(only=argv[0])
        try:
            with argparse_in_our_words():
                return parser.parse_args(argv)
        except PolicyDslError:
            pass
    parser = build_parser()
    with argparse_in_our_words():
        return parser.parse_args(argv)


def _language(argv) -> str | None:
    """The language the command line asks for: ``--lang X``, else POLICY_DSL_LANG, else none (zh)."""
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--lang="):
            return a.partition("=")[2]
    return os.environ.get("POLICY_DSL_LANG")


def _utf8_arguments(argv) -> None:
    """Command-line values are UTF-8 text (bytes that are not arrive as lone surrogates)."""
    for i, a in enumerate(argv, 1):
        try:
            a.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(Diagnostic("E-USAGE", t("cli.not_utf8", position=i), command_line(),
                                        t("cli.not_utf8.hint"))) from None


def _no_empty_arguments(argv) -> None:
    """An empty argument (``''``, ``--rev=``) is a usage error, never a default (``Path('')`` is
    the current folder)."""
    for i, a in enumerate(argv, 1):
        if a == "" or (a.startswith("--") and a.endswith("=")):
            message = t("cli.empty_argument", position=i) if a == "" else t("cli.empty_value", position=i, argument=a)
            raise InputError(Diagnostic("E-USAGE", message, command_line(), t("cli.empty_argument.hint")))


def _broken_pipe() -> int:
    """The reader of our output is gone: nothing more is written (standard output goes to
    /dev/null, so that Python's own flush at exit fails no more); EXIT_BROKEN_PIPE, whatever the
    format."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout (a test capturing it)
        pass
    return EXIT_BROKEN_PIPE


def _wants_json(argv) -> bool:
    return any(a == "json" and i > 0 and argv[i - 1] == "--format" for i, a in enumerate(argv)) or "--format=json" in argv


def _report(exc: PolicyDslError, fmt: str) -> int:
    for d in exc.diagnostics:
        sys.stderr.write(d.format() + "\n")
    if fmt == "json":
        import json  # here only: an answer whose text is kept is written without the json module

        from policy_dsl.face.api import error_json

        sys.stdout.write(json.dumps(error_json(exc), ensure_ascii=False) + "\n")
    return exc.exit_code
