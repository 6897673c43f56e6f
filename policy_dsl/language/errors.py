"""Diagnostics: every problem a user can cause is a Diagnostic with a stable code, a place,
what was wrong, what was expected and a hint. Never a traceback."""

from __future__ import annotations

from policy_dsl.language.messages import N_, current, localized, render, t
from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)

# Exit codes, decided here only (docs/cli.md): every command and front end maps its outcome to one.
EXIT_OK = 0  # success
EXIT_FINDINGS = 1  # the policy files have errors, a policy test failed, diff --exit-code found a difference
EXIT_INPUT = 2  # bad input or usage: a case, a region, a date, a command line
EXIT_INTERNAL = 70  # a bug of ours (EX_SOFTWARE); never for anything a user can cause
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # the reader of the output went away (128 + SIGPIPE, as a shell shows a program it ends), any format
EXIT_TERMINATED = 143  # SIGTERM (128 + 15): what was being written is left as it was (safeio.on_terminate)


@dataclass(frozen=True)
class Where:
    """A place in a file (1-based line and column); any part may be unknown."""

    file: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [t(self.file) if self.file in _PLACES else localized(self.file) if self.file else t("where.unknown")]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


_PLACES = {N_("where.command_line")}  # places that are not files: named in words when shown


def command_line() -> Where:
    """Where a problem with the command line is (named in words when shown)."""
    return Where("where.command_line")


@dataclass
class Diagnostic:
    """One finding. ``severity`` is ``error``, ``warning`` or ``note`` (a finding that needs nothing
    done, e.g. a declared, authorised deviation from a higher rule). ``message`` and ``hint`` are
    catalog messages (``t(...)``, language/messages.py) or text from the files; ``format`` and
    ``to_json`` render them in the language current when they are called (or ``lang``)."""

    code: str
    message: str
    where: Where = field(default_factory=Where)
    hint: str | None = None
    severity: str = "error"

    def text(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language)."""
        return localized(self.message, lang)

    def hint_text(self, lang: str | None = None) -> str | None:
        return localized(self.hint, lang) if self.hint else None

    def format(self, lang: str | None = None) -> str:
        """The diagnostic for a person, in ``lang`` (default: the current language): ``file:line:col:
        CODE message`` and the hint, with control characters from a user's text shown escaped
        (``printable``)."""
        text = f"{self.where}: {self.code} {self.text(lang)}"
        if self.hint:
            text += "\n    " + render("diagnostic.hint", {"hint": self.hint_text(lang)}, lang or current())
        return printable(text)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "message": self.text(),
            "where": str(self.where),
            "hint": self.hint_text(),
            "severity": self.severity,
        }


class PolicyDslError(Exception):
    """An error carrying diagnostics; the CLI turns it into a message and an exit code."""

    exit_code = EXIT_INPUT

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__(diagnostics)

    def __str__(self) -> str:  # rendered when shown, in the language of that moment
        return "\n".join(d.format() for d in self.diagnostics)

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]


class InputError(PolicyDslError):
    """Bad user input: a case, a region, a date, a command-line value (exit 2)."""

    exit_code = EXIT_INPUT


class PolicyError(PolicyDslError):
    """The policy files have errors (exit 1)."""

    exit_code = EXIT_FINDINGS


class CalendarError(InputError):
    """A date outside the years the holiday schedule covers."""


def input_error(code: str, message: str, where: Where | str | None = None, hint: str | None = None) -> InputError:
    if isinstance(where, str):
        where = Where(file=where)
    return InputError(Diagnostic(code, message, where or Where(), hint))


def did_you_mean(word: str, choices) -> str | None:
    """A hint naming the closest known word, or None."""
    import difflib

    if not isinstance(word, (str, int, float)):  # a list or a mapping given where a word was expected
        return None
    word = str(word)
    if len(word) > 64:  # no word of ours is that long; and difflib on a huge string is slow
        return None
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:  # a known word with something stuck before or after it: `efective_from` → `from`
        close = sorted((o for o in options if len(o) >= 3 and (word.endswith(o) or word.startswith(o))), key=len)[-1:]
    return t("hint.did_you_mean", word=close[0]) if close else None


# C0 and C1 control characters, DEL, and the bidirectional controls that reorder what a terminal
# shows: written as escapes (``\x1b``, ``\u202e``) wherever a user's text is shown to a person.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0))}
_CONTROLS.update({c: f"\\u{c:04x}" for c in (*range(0x202a, 0x202f), *range(0x2066, 0x206a), 0x200e, 0x200f, 0x61c)})
_CONTROLS.pop(0x0a)  # a line end is the caller's to place


def printable(text: str, keep_newlines: bool = True) -> str:
    """``text`` with control characters (ESC, BEL, CR, C1, bidirectional overrides…) escaped, so
    that nothing from a file reaches a terminal as a command."""
    if text.isprintable() or (keep_newlines and text.replace("\n", "").isprintable()):
        return text  # the common case, without a copy (isprintable is false for every control)
    out = text.translate(_CONTROLS)
    return out if keep_newlines else out.replace("\n", "\\n")
