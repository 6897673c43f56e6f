"""The batch progress bar: shown on stderr only when stderr is a terminal and the answers go to a
file or a pipe; counted from the line ends written; never in the answers themselves."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from policy_dsl.face import progress


class _Tty(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def test_wanted_only_with_a_terminal_on_stderr_and_not_on_stdout(monkeypatch):
    monkeypatch.delenv("POLICY_DSL_NO_PROGRESS", raising=False)
    assert progress.wanted(_Tty(False), _Tty(True))
    assert not progress.wanted(_Tty(True), _Tty(True))  # the answers are on the terminal: no bar among them
    assert not progress.wanted(_Tty(False), _Tty(False))  # stderr piped
    monkeypatch.setenv("POLICY_DSL_NO_PROGRESS", "1")
    assert not progress.wanted(_Tty(False), _Tty(True))


def test_the_bar_counts_line_ends_in_text_and_bytes():
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    bar = progress.Bar(3)
    wrapped = bar.wrap(out)
    wrapped.write('{"a": 1}\n{"a": 2}\n')
    wrapped.buffer.write(b'{"a": 3}\n')
    assert bar.counter[0] == 3


def test_count_lines_of_json_lines_inputs(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text("{}\n{}\n{}\n", encoding="utf-8")
    assert progress.count_lines([p]) == 3
    assert progress.count_lines([p, tmp_path / "c.json"]) is None


def test_a_long_batch_on_a_terminal_shows_the_bar_on_stderr_only(tmp_path, monkeypatch):
    cases = tmp_path / "cases.jsonl"
    line = '{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}\n'
    cases.write_text(line * 20, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = ("import sys, time; from policy_dsl.face import progress; progress.DELAY = 0.0\n"
            "from policy_dsl.face.api import CaseAnswers\n"
            "orig = CaseAnswers.answer\n"
            "def slow(self, *a, **k):\n    time.sleep(0.05); return orig(self, *a, **k)\n"
            "CaseAnswers.answer = slow\n"
            "from policy_dsl.face.cli import main; sys.exit(main(sys.argv[1:]))")
    leader, follower = pty.openpty()
    env = {**os.environ, "POLICY_DSL_NO_PROGRESS": ""}
    with open(out, "w", encoding="utf-8") as fh:
        proc = subprocess.run([sys.executable, "-c", code, "eval", str(cases), "--format", "json", "--explain"],
                              stdout=fh, stderr=follower, env=env, timeout=120)
    os.close(follower)
    seen = b""
    try:
        while chunk := os.read(leader, 65536):
            seen += chunk
    except OSError:
        pass
    os.close(leader)
    assert proc.returncode == 0
    assert "已答复".encode() in seen
    assert "已答复" not in out.read_text(encoding="utf-8")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 20
