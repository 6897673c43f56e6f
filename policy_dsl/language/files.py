"""Stage (language): which files make a policy set, and the names diagnostics give them — what a
command reads at every start (``face.api.load_policy``: the files' names and bytes key the cached
set), so this module imports neither pathlib nor the reading of the files (language/load.py)."""

from __future__ import annotations

import os

from policy_dsl.language.errors import Diagnostic, PolicyError, Where
from policy_dsl.language.messages import t
from policy_dsl.language.safeio import LIMITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

MAX_POLICY_BYTES = LIMITS["policy"]
KINDS_FILES = ("kinds.yaml", "kinds.yml")  # a policy folder's own kinds table: not a policy file

POLICY_SUFFIXES = (".yaml", ".yml")


def is_policy_name(name: str) -> bool:
    """Whether a file name found in a folder names a policy file: ends in .yaml or .yml, in any
    case (``X.YAML`` too); hidden names (``.x.yaml``, an editor's lock or backup) never do."""
    return name.lower().endswith(POLICY_SUFFIXES) and not name.startswith(".")


def policy_files(paths: list[Path]) -> list[Path]:
    """The policy files named by ``paths`` (files, or folders searched for policy names —
    ``is_policy_name`` — not descending into ``tests/`` or ``sources/``, and not the folder's
    ``kinds.yaml``), in a stable order. A policy set is exactly these files: anything found with
    a policy name is in it, whatever it is (a link to nothing, a loop of links, a pipe, a folder),
    and reading it then says why it cannot be read; nothing is skipped. A folder that cannot be
    listed is an error (E-FILE)."""
    from pathlib import Path

    return [Path(f) for f in policy_file_names([path_name(p) for p in paths])]


def policy_file_names(paths: list[str]) -> list[str]:
    """``policy_files`` as strs, for ``paths`` spelt as pathlib spells them (``path_name``):
    what a command reads at start-up, without importing pathlib."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):  # False, not an error, for a name too long or with a NUL byte (read then says why)
            try:
                with os.scandir(p) as entries:
                    names = sorted(e.name for e in entries if is_policy_name(e.name) and e.name not in KINDS_FILES)
            except OSError as exc:
                from policy_dsl.language.safeio import why_unreadable

                what, hint = why_unreadable(p, exc)
                raise PolicyError(Diagnostic("E-FILE", t("load.cannot_list", what=what), Where(p), hint)) from None
            out.extend(_joined(p, name) for name in names)
        elif os.path.basename(p) not in KINDS_FILES:
            out.append(p)
    return out


def path_name(path) -> str:
    """``str(pathlib.Path(path))``: a path (a str or path-like) spelt as pathlib spells it — no
    empty or ``.`` parts, no separator at the end —, pathlib imported only for one that is not
    spelt so already."""
    name = os.fspath(path)
    if os.sep == "/" and isinstance(name, str) and name and not name.startswith("//") \
            and all(part not in ("", ".") for part in name.split("/")[1 if name.startswith("/") else 0:]):
        return name
    from pathlib import Path

    return str(Path(name))


def _joined(folder: str, name: str) -> str:
    """``str(Path(folder) / name)`` for a ``folder`` spelt as pathlib spells it."""
    return name if folder == "." else os.path.join(folder, name)


def kinds_file(files: list[Path]) -> Path | None:
    """The kinds table of the policy set made of ``files``: a ``kinds.yaml`` in the folder of the
    files (the first folder that has one, whatever it is: one that cannot be read is an error,
    never passed over for the packaged table); None: the packaged table."""
    found = kinds_file_name([path_name(f) for f in files])
    if found is None:
        return None
    from pathlib import Path

    return Path(found)


def kinds_file_name(files: list[str]) -> str | None:
    """``kinds_file`` as a str, for ``files`` spelt as pathlib spells them."""
    for folder in dict.fromkeys(os.path.dirname(f) or "." for f in files):
        for name in KINDS_FILES:
            candidate = _joined(folder, name)
            if os.path.lexists(candidate):
                return candidate
    return None


def _display(path: Path | str, root: Path | str | None) -> str:
    """``path`` as diagnostics name it: below ``root`` (default: the current folder), both with
    links resolved, the path from there; else as given. (``Path(path).resolve()`` relative to
    ``root.resolve()``, without importing pathlib.)"""
    if os.sep != "/":  # pragma: no cover - another system's paths (drives, case): pathlib's own reading
        from pathlib import Path

        try:
            return str(Path(path).resolve().relative_to(Path(root or Path.cwd()).resolve()))
        except (ValueError, OSError, RuntimeError):
            return str(path)
    try:
        base = _resolved(os.getcwd() if root is None else root)
        full = _resolved(path)
    except (ValueError, OSError):  # a name too long, a NUL byte; a loop of links
        return str(path)
    if full == base:
        return "."
    below = base if base.endswith("/") else base + "/"
    return full[len(below):] if full.startswith(below) else str(path)


def _resolved(path) -> str:
    """The absolute path with every link resolved (``os.path.realpath``); OSError (ELOOP) for a
    loop of links, as ``Path.resolve`` refuses one."""
    import errno

    full = os.path.realpath(path)
    try:
        os.stat(full)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise
    return full
