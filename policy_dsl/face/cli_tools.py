"""Commands for the people who maintain policy files: ``fmt`` (canonical layout), ``report`` (a
static HTML site to read beside the law) and ``completion`` (shell completion scripts). Wired
into the parser by policy_dsl.face.cli (``add_parsers``, ``COMMANDS``); exit codes as there."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, Where

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse is imported when a parser is built (policy_dsl.face.cli reads plain lines without it)
    import argparse

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


def add_parsers(sub, common) -> None:
    """The parser blocks of this module's commands (``common`` is policy_dsl.face.cli._common)."""
    p = sub.add_parser("fmt", help="canonical layout of policy files; comments and quoted texts kept byte for byte")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="policy files or folders (default: the policies in use)")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 listing the files that would change")
    common(p)

    p = sub.add_parser("report", help="a static HTML site: source texts beside their encodings, tests, timelines, precedence")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the site into")
    common(p)

    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.add_argument("--lang", choices=["zh", "en"], default=os.environ.get("POLICY_DSL_LANG", "zh"),
                   help="language of messages (default zh)")


# -- fmt ----------------------------------------------------------------------------------------
MSG = {
    "zh": {"would": "需要重新排版", "did": "已重新排版", "ok": "格式正确", "refused": "未修改",
           "sum_check": "{n} 个文件需要重新排版，{m} 个格式正确，{e} 个有错误",
           "sum": "重新排版 {n} 个文件，{m} 个无需改动，{e} 个有错误",
           "report": "已写出 {n} 个文件到 {out}；用浏览器打开 {index}",
           "tests": "政策测试：{p} 通过，{f} 未通过"},
    "en": {"would": "would reformat", "did": "reformatted", "ok": "already formatted", "refused": "left unchanged",
           "sum_check": "{n} files would be reformatted, {m} already formatted, {e} with errors",
           "sum": "reformatted {n} files, {m} unchanged, {e} with errors",
           "report": "wrote {n} files to {out}; open {index} in a browser",
           "tests": "policy tests: {p} passed, {f} failed"},
}


def cmd_fmt(args) -> int:
    from policy_dsl.language import resources
    from policy_dsl.face.cli import _dump, _policy_paths
    from policy_dsl.tools.fmt import format_file
    from policy_dsl.language.load import policy_files

    if getattr(args, "rev", None) and not args.check:
        raise InputError(Diagnostic("E-USAGE", "fmt --rev only checks (a revision is not written to)", Where("command line"),
                                    "policy-dsl fmt --check --rev HEAD"))
    paths = args.paths or _policy_paths(args) or [resources.policies_dir()]
    for p in paths:
        if not Path(p).exists():
            raise InputError(Diagnostic("E-FILE", f"`{p}` does not exist", Where("command line"),
                                        "give policy files or folders of them"))
    files = policy_files(paths)
    from policy_dsl.language.load import _display

    m = MSG[args.lang]
    changed, unchanged, errors = [], [], []
    for f in files:
        try:
            (changed if format_file(f, check=args.check) else unchanged).append(f)
        except PolicyDslError as exc:
            errors.extend(exc.diagnostics)
            if args.format != "json":
                for d in exc.diagnostics:
                    sys.stderr.write(d.format() + f"  ({m['refused']})\n")
    if args.format == "json":
        _dump({"check": bool(args.check), "files": [_display(f, None) for f in files],
               "changed": [_display(f, None) for f in changed], "unchanged": [_display(f, None) for f in unchanged],
               "errors": [d.to_json() for d in errors]})
    else:
        for f in changed:
            sys.stdout.write(f"{m['would'] if args.check else m['did']}: {_display(f, None)}\n")
        key = "sum_check" if args.check else "sum"
        sys.stdout.write(m[key].format(n=len(changed), m=len(unchanged), e=len(errors)) + "\n")
    if errors:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if (args.check and changed) else EXIT_OK


# -- report -------------------------------------------------------------------------------------
def cmd_report(args) -> int:
    from policy_dsl.language import resources
    from policy_dsl.face.cli import _dump, _policy, _policy_paths
    from policy_dsl.tools.report import Site

    policy = _policy(args)
    dirs = [Path(p) if Path(p).is_dir() else Path(p).parent for p in (_policy_paths(args) or [resources.policies_dir()])]
    site = Site(policy, dirs, args.lang)
    written = site.write(args.out)
    passed = sum(t.passed for t in site.tests)
    failed = len(site.tests) - passed
    if args.format == "json":
        _dump({"out": str(args.out), "index": str(args.out / "index.html"), "files": [str(p) for p in written],
               "tests": {"passed": passed, "failed": failed}})
    else:
        m = MSG[args.lang]
        sys.stdout.write(m["report"].format(n=len(written), out=args.out, index=args.out / "index.html") + "\n")
        sys.stdout.write(m["tests"].format(p=passed, f=failed) + "\n")
    return EXIT_OK


# -- completion ---------------------------------------------------------------------------------
def _spec(parser: argparse.ArgumentParser) -> dict:
    """For each subcommand: its options, the options' choices, the options taking folders or
    files, and its positional choices."""
    from policy_dsl.language.kinds import vocabulary

    topics = list(vocabulary().kinds)
    out = {}
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        opts, choices, dirs, words = [], {}, [], []
        for a in p._actions:
            if a.option_strings:
                opts.extend(a.option_strings)
                if a.choices:
                    choices[a.option_strings[-1]] = list(a.choices)
                elif a.dest == "topic":
                    choices[a.option_strings[-1]] = topics
                elif a.metavar == "DIR" or a.dest in ("out", "policies"):
                    dirs.append(a.option_strings[-1])
            elif a.choices:
                words.extend(a.choices)
        out[name] = {"opts": opts, "choices": choices, "dirs": dirs, "words": words}
    return out


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    """A bash completion function for policy-dsl, generated from the parser (so it follows every
    command and option); for zsh the same function through zsh's bashcompinit."""
    spec = _spec(parser)
    cmds = " ".join(spec)
    lines = ["# policy-dsl shell completion (generated by `policy-dsl completion " + shell + "`)"]
    if shell == "zsh":
        lines += ["autoload -U +X compinit && compinit", "autoload -U +X bashcompinit && bashcompinit"]
    lines += [
        "_policy_dsl() {",
        '  local cur prev cmd opts words',
        '  cur="${COMP_WORDS[COMP_CWORD]}"',
        '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "  if [ \"$COMP_CWORD\" -eq 1 ]; then",
        f'    COMPREPLY=( $(compgen -W "{cmds} --help --version" -- "$cur") )',
        "    return 0",
        "  fi",
        '  cmd="${COMP_WORDS[1]}"',
        '  opts=""; words=""',
        '  case "$cmd" in',
    ]
    for name, s in spec.items():
        lines.append(f"    {name})")
        lines.append(f'      opts="{" ".join(s["opts"])}"')
        if s["words"]:
            lines.append(f'      words="{" ".join(s["words"])}"')
        cases = []
        for opt, ch in s["choices"].items():
            cases.append(f'        {opt}) COMPREPLY=( $(compgen -W "{" ".join(ch)}" -- "$cur") ); return 0 ;;')
        for opt in s["dirs"]:
            cases.append(f'        {opt}) COMPREPLY=( $(compgen -d -- "$cur") ); return 0 ;;')
        if cases:
            lines.append('      case "$prev" in')
            lines.extend(cases)
            lines.append("      esac")
        lines.append("      ;;")
    lines += [
        "  esac",
        '  if [[ "$cur" == -* ]]; then',
        '    COMPREPLY=( $(compgen -W "$opts --help" -- "$cur") )',
        '  elif [ -n "$words" ]; then',
        '    COMPREPLY=( $(compgen -W "$words" -- "$cur") )',
        "  else",
        '    COMPREPLY=( $(compgen -f -- "$cur") )',
        "  fi",
        "  return 0",
        "}",
        "complete -o filenames -o bashdefault -F _policy_dsl policy-dsl",
        "",
    ]
    return "\n".join(lines)


def cmd_completion(args) -> int:
    from policy_dsl.face.cli import build_parser

    sys.stdout.write(completion_script(args.shell, build_parser()))
    return EXIT_OK


COMMANDS = {"fmt": cmd_fmt, "report": cmd_report, "completion": cmd_completion}
