"""A progress bar for long batches: on stderr, only when stderr is a terminal and the answers go
somewhere else (a file or a pipe: the bar never mixes with them), shown once the batch has run for
a second, and gone when it ends. Counting costs nothing per case: the answers written are counted
by their line ends, in the chunks the writer already makes."""

from __future__ import annotations

import os
import sys

DELAY = 1.0  # seconds before the bar appears


def wanted(stdout=None, stderr=None) -> bool:
    """Whether a bar may be shown: stderr is a terminal, stdout is not, and no one said no
    (POLICY_DSL_NO_PROGRESS)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if os.environ.get("POLICY_DSL_NO_PROGRESS"):
        return False
    try:
        return stderr.isatty() and not stdout.isatty()
    except (AttributeError, ValueError):
        return False


def count_lines(paths) -> int | None:
    """The number of cases in JSON Lines files (their non-empty lines, about), or None when any
    input is not JSON Lines."""
    total = 0
    for p in paths:
        if not str(p).endswith(".jsonl"):
            return None
        try:  # a regular file only: a pipe named *.jsonl is never opened here (it would block)
            from policy_dsl.language.errors import PolicyDslError
            from policy_dsl.language.safeio import open_regular

            with open_regular(p) as fh:
                while chunk := fh.read(1 << 20):
                    total += chunk.count(b"\n")
        except (OSError, PolicyDslError):
            return None
    return total


class _Counting:
    """A text stream (with its bytes ``buffer``) that counts the line ends written through it."""

    def __init__(self, stream, counter):
        self._stream, self._counter = stream, counter
        buffer = getattr(stream, "buffer", None)
        self.buffer = _Counting(buffer, counter) if buffer is not None else None

    def write(self, data):
        self._counter[0] += data.count(b"\n" if isinstance(data, (bytes, bytearray, memoryview)) else "\n")
        return self._stream.write(data)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Bar:
    """``with Bar(total, lang) as bar: ... bar.wrap(stdout)``: counts what is written through the
    wrapped stream and shows the count on stderr after DELAY seconds, until the block ends."""

    def __init__(self, total: int | None, lang: str = "zh"):
        import threading  # here: a command that shows no bar does not import it

        self.total, self.lang = total, lang
        self.counter = [0]
        self._done = threading.Event()
        self._thread = None

    def wrap(self, stream):
        return _Counting(stream, self.counter)

    def __enter__(self):
        import threading

        self._thread = threading.Thread(target=self._show, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return False

    def _show(self) -> None:
        if self._done.wait(DELAY):
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from policy_dsl.language.messages import t, using

        with using(self.lang):  # a thread of its own: the command's language is passed, not inherited
            done, cases = t("progress.answered"), t("progress.cases")
        with Progress(TextColumn(done), BarColumn(), MofNCompleteColumn(), TextColumn(cases),
                      TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("", total=self.total)
            while not self._done.wait(0.2):
                progress.update(task, completed=self.counter[0])
