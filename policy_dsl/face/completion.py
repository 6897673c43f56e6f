"""Shell completion scripts, generated from the command-line parser (so they follow every command
and option of the command table)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


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
    from policy_dsl.language.messages import t

    lines = ["# " + t("completion.comment", shell=shell)]
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
