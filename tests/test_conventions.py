"""Conventions every command keeps: `--lang zh|en` everywhere, shell completion generated from
the parser, NO_COLOR, and the pre-commit hooks a policy repository runs."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from policy_dsl.face.commands import COMMANDS, build_parser

REPO = Path(__file__).resolve().parent.parent


def _subparsers():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_every_command_takes_lang_and_has_a_handler():
    subs = _subparsers()
    assert set(subs) == {c.name for c in COMMANDS}
    for name, p in subs.items():
        langs = [a for a in p._actions if "--lang" in a.option_strings]
        assert langs and list(langs[0].choices) == ["zh", "en"], name


def test_commands_reading_policies_take_format():
    for name, p in _subparsers().items():
        if any("--policies" in a.option_strings for a in p._actions):
            fmts = [a for a in p._actions if "--format" in a.option_strings]
            assert fmts and {"table", "json"} <= set(fmts[0].choices), name  # eval adds the file formats


def _complete(script: str, words: list[str]) -> list[str]:
    """COMPREPLY of the bash completion function for the command line ``words`` (cursor on the last)."""
    line = " ".join(words)
    program = (script + "\nCOMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
               f"COMP_CWORD={len(words) - 1}\nCOMP_LINE='{line}'\n_policy_dsl\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    run = subprocess.run(["bash", "--norc", "--noprofile"], input=program, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return [w for w in run.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion(cli):
    r = cli("completion", "bash")
    assert r.code == 0 and "complete -o filenames" in r.out
    assert set(_complete(r.out, ["policy-dsl", ""])) >= {"applies", "eval", "check", "test", "fmt", "report", "completion"}
    assert _complete(r.out, ["policy-dsl", "fm"]) == ["fmt"]
    assert _complete(r.out, ["policy-dsl", "applies", "--lang", ""]) == ["zh", "en"]
    assert "resident_enrollment" in _complete(r.out, ["policy-dsl", "applies", "--topic", "res"])
    assert "--check" in _complete(r.out, ["policy-dsl", "fmt", "--ch"])
    assert _complete(r.out, ["policy-dsl", "schema", "p"]) == ["policy"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_loads(cli):
    r = cli("completion", "zsh")
    run = subprocess.run(["zsh", "-f", "-c", r.out + "\nwhence -w _policy_dsl"], capture_output=True, text=True, timeout=30)
    assert "function" in run.stdout, run.stderr


def test_zsh_completion_script(cli):
    r = cli("completion", "zsh")
    assert r.code == 0 and "bashcompinit" in r.out and "_policy_dsl()" in r.out


def test_no_color(cli, tmp_path):
    # the `cli` fixture sets NO_COLOR: no escape sequence in any human output
    r = cli("applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arrears")
    assert r.code == 0 and "\x1b[" not in r.out


def test_no_color_forced_terminal(monkeypatch):
    from policy_dsl.face import render

    monkeypatch.setenv("NO_COLOR", "1")
    con = render.console()
    assert con.no_color


def test_pre_commit_hooks_run_here(cli):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"policy-dsl-check", "policy-dsl-fmt", "policy-dsl-test"}
    policy_file = str(REPO / "policies" / "jn-2022-2.yaml")
    for h in hooks:
        assert h["language"] == "python" and h["entry"].startswith("policy-dsl ")
        argv = h["entry"].split()[1:] + [str(REPO / a) if a == "policies" else a for a in h.get("args", [])]
        if h.get("pass_filenames", True):
            argv.append(policy_file)
        r = cli(*argv)
        assert r.code == 0, (h["id"], r.out[-500:], r.err[-500:])
