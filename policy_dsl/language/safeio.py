"""Reading what a user gives us without trusting it: files are checked with ``stat`` before a
byte is read (a regular file, not a device, a pipe or a folder; not bigger than the limit), read
at most up to the limit, and text echoed back in messages is clipped. Every refusal is a
Diagnostic with a code (docs/errors.md), never a traceback."""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, InputError, Where

# Dates a case or a command line may give. Outside them the answer would be fiction (and date
# arithmetic would leave the calendar Python knows: year 10000).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)
ECHO_CHARS = 80  # at most this much of a user's text is repeated in a message


def clip(text, n: int = ECHO_CHARS) -> str:
    """``text`` (anything) as one line of at most ``n`` characters."""
    text = str(text)
    if len(text) > 4 * n:
        text = text[: 4 * n]
    text = " ".join(text.split()) if any(c in text for c in "\n\r\t") else text
    return text if len(text) <= n else text[: n - 1] + "…"


def date_in_range(d: dt.date) -> bool:
    return DATE_MIN <= d <= DATE_MAX


def range_error(code: str, what: str, d, where: Where, hint: str | None = None) -> InputError:
    return InputError(Diagnostic(code, f"{what}: {d} is outside the dates this tool answers for "
                                 f"({DATE_MIN.year}–{DATE_MAX.year})", where,
                                 hint or "check the year"))


def read_limited(path: Path, max_bytes: int, display: str | None = None, cls=InputError,
                 code: str = "E-FILE") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; otherwise ``cls``
    (E-INPUT-SIZE for a file too big, ``code`` for anything else) — decided by ``stat`` before
    reading, so a 100 MB file, /dev/zero or a named pipe cost nothing."""
    name = clip(display or str(path), 200)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else clip(exc)
        raise cls(Diagnostic(code, f"cannot read: {why}", Where(clip(name, 200)), "check the path")) from None
    if stat.S_ISDIR(st.st_mode):
        raise cls(Diagnostic(code, "is a folder, not a file", Where(name), "name a file"))
    if not stat.S_ISREG(st.st_mode):
        raise cls(Diagnostic(code, "is not a regular file (a device, a pipe or a socket)", Where(name),
                             "name a file on disk"))
    if st.st_size > max_bytes:
        raise cls(_too_big(name, st.st_size, max_bytes))
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise cls(Diagnostic(code, f"cannot read: {exc.strerror or exc}", Where(name), "check the path")) from None
    if len(raw) > max_bytes:  # it grew between stat and read
        raise cls(_too_big(name, len(raw), max_bytes, at_least=True))
    return raw


def read_stdin_limited(max_bytes: int, display: str = "-") -> bytes:
    """Standard input, refused once it passes ``max_bytes`` (never read further)."""
    raw = sys.stdin.buffer.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InputError(_too_big(display, len(raw), max_bytes, at_least=True))
    return raw


def _too_big(name: str, size: int, max_bytes: int, at_least: bool = False) -> Diagnostic:
    return Diagnostic("E-INPUT-SIZE", f"file is {f'more than {max_bytes:,}' if at_least else f'{size:,}'} bytes; "
                      f"at most {max_bytes:,} are read", Where(name),
                      "split the file, or check that it is the file you meant")


def decode(raw: bytes, file: str, max_bytes: int = 2 * 1024 * 1024, cls=InputError) -> str:
    """UTF-8 text of ``raw`` without a BOM; refuses oversized or undecodable input."""
    if len(raw) > max_bytes:
        raise cls(Diagnostic("E-INPUT-SIZE", f"file is {len(raw):,} bytes; at most {max_bytes:,} are read",
                             Where(file), "split the file, or check that it is the file you meant"))
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise cls(Diagnostic("E-INPUT-UTF8", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}", Where(file, line, col),
                             "save the file as UTF-8")) from None
