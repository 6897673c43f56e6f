"""Where a policy set comes from: a directory, files, or a git revision read without touching
the working tree.

A revision's ``policies/`` is copied out of git into a folder: the files the tool reads (policy
files, ``tests/``, ``sources/``), each checked first against the limits every file has
(safeio.LIMITS: a blob too big is refused before a byte of it is read, never loaded whole), in
one ``git cat-file --batch``. The folder is named by the tree's hash in the user's cache
(policy_dsl.language.cache: the same tree is copied once, and the checked policy set built from
it is reused; the cache keeps such folders bounded by number and age), or, with the cache off, a
temporary folder. A folder being filled is temporary until complete; it is removed on failure,
on exit and on SIGTERM."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from policy_dsl.language.errors import Diagnostic, InputError, Where, command_line
from policy_dsl.language.messages import t
from policy_dsl.language.safeio import LIMITS, clip, on_terminate

_TEMPS: list[str] = []
MAX_LISTING_BYTES = 4 * 1024 * 1024  # `git ls-tree` of a revision's policies/ (some 40,000 files)
_READ = {"": "policy", "tests": "test", "sources": "source"}  # folder under policies/ -> the limit of its files


@atexit.register
def _cleanup() -> None:
    for d in _TEMPS:
        shutil.rmtree(d, ignore_errors=True)
    _TEMPS.clear()


def _git(args: list[str], cwd: Path, max_bytes: int = MAX_LISTING_BYTES, stdin: bytes | None = None) -> tuple[int, bytes]:
    """(exit code, standard output) of git, reading at most ``max_bytes`` of its output (beyond
    that git is stopped and InputError raised)."""
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except (OSError, ValueError) as exc:
        raise InputError(Diagnostic("E-GIT", t("sources.git_cannot_run", reason=clip(exc)), Where("git"), t("sources.git_cannot_run.hint"))) from None
    try:
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        out = proc.stdout.read(max_bytes + 1)
        if len(out) > max_bytes:
            raise InputError(Diagnostic("E-INPUT-SIZE", t("sources.git_too_much", limit=f"{max_bytes:,}", command=f"git {args[0]}"),
                                        Where("git"), t("sources.git_too_much.hint")))
        return proc.wait(timeout=60), out
    except subprocess.TimeoutExpired:
        raise InputError(Diagnostic("E-GIT", t("sources.git_timeout"), Where("git"), None)) from None
    except OSError as exc:
        raise InputError(Diagnostic("E-GIT", t("sources.git_cannot_run", reason=clip(exc)), Where("git"), None)) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def is_git_revision(spec: str, cwd: Path | None = None) -> bool:
    cwd = cwd or Path.cwd()
    if not spec or "\0" in spec or spec.startswith("-") or os.path.lexists(spec):  # lexists never raises (a name
        return False  # too long); git cannot be given a NUL byte, which no revision holds
    code, _ = _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], cwd)
    return code == 0


def git_toplevel(cwd: Path) -> Path:
    """The top folder of the git work tree holding ``cwd``; an input error outside one."""
    code, out = _git(["rev-parse", "--show-toplevel"], cwd)
    if code != 0:
        raise InputError(Diagnostic("E-GIT", t("sources.not_a_repository"), Where(clip(cwd, 200)),
                                    t("sources.not_a_repository.hint")))
    return Path(out.decode("utf-8", "surrogateescape").strip())


def from_git(rev: str, subdir: str = "policies", cwd: Path | None = None) -> Path:
    """A folder holding ``subdir`` (a path from the top of the work tree) as it was at ``rev``
    (the work tree is untouched): its policy files, tests and sources, each within its limit."""
    cwd = cwd or Path.cwd()
    root = git_toplevel(cwd)
    if not is_git_revision(rev, root):
        raise InputError(Diagnostic("E-GIT-REV", t("sources.not_a_revision", rev=clip(rev)), command_line(),
                                    t("sources.not_a_revision.hint")))
    code, tree = _git(["rev-parse", "--verify", "--quiet", f"{rev}:{subdir}"], root)
    code_list, listing = _git(["ls-tree", "-r", "-l", "-z", "--full-tree", rev, "--", subdir], root)
    if code != 0 or code_list != 0 or not listing:
        raise InputError(Diagnostic("E-GIT-REV", t("sources.no_folder", folder=f"{subdir}/", rev=clip(rev)), command_line(), None))
    blobs = _wanted(listing, rev, subdir)
    from policy_dsl.language import cache

    tree_name = "rev-" + cache.key(tree.strip())[:40]  # the tree, as this code copies it
    folder = cache.usable_directory()
    if folder is not None:
        done = Path(folder) / tree_name
        if done.is_dir() and not done.is_symlink():
            try:
                os.utime(done)  # used now (the cache removes the least recently used)
            except OSError:
                pass
            return done
        dest = Path(tempfile.mkdtemp(prefix="." + tree_name + "-", dir=folder))
    else:
        done = None
        dest = Path(tempfile.mkdtemp(prefix="policy-dsl-rev-"))
    _TEMPS.append(str(dest))
    on_terminate(_cleanup)
    try:
        _extract(root, blobs, dest)
        if done is None:
            return dest
        try:
            os.rename(dest, done)
        except OSError:  # another process finished the same tree first
            if not done.is_dir():
                raise
        else:
            _TEMPS.remove(str(dest))
            cache.prune(folder)
        return done
    finally:
        if str(dest) in _TEMPS and done is not None:
            shutil.rmtree(dest, ignore_errors=True)
            _TEMPS.remove(str(dest))


def _wanted(listing: bytes, rev: str, subdir: str) -> list[tuple[str, str, Path]]:
    """The blobs of ``git ls-tree -r -l -z`` the tool reads: (hash, size, path under ``subdir``).
    A file the tool would read that is over its limit, or is a link or a submodule, is an error
    (never skipped); files it never reads are left out."""
    from policy_dsl.language.load import is_policy_name

    out = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name_bytes = entry.partition(b"\t")
        mode, kind, obj, size = meta.decode().split()
        name = PurePosixPath(name_bytes.decode("utf-8", "surrogateescape")).relative_to(subdir)
        top = name.parts[0] if len(name.parts) > 1 else ""
        if top not in _READ or (top != "sources" and not is_policy_name(name.name)) or (top == "" and len(name.parts) > 1):
            continue
        if top == "sources" and len(name.parts) > 2:
            continue
        shown = f"{clip(rev, 40)}:{subdir}/{clip(name.as_posix(), 160)}"
        if kind != "blob" or mode not in ("100644", "100755"):
            what = t("sources.link") if mode == "120000" else t("sources.submodule") if kind == "commit" else t(
                "sources.mode", mode=mode)
            raise InputError(Diagnostic("E-FILE", t("sources.not_a_file", what=what), Where(shown),
                                        t("sources.not_a_file.hint")))
        limit = LIMITS[_READ[top]]
        if int(size) > limit:
            raise InputError(Diagnostic("E-INPUT-SIZE", t("sources.too_big", size=f"{int(size):,}", limit=f"{limit:,}"),
                                        Where(shown), t("sources.too_big.hint")))
        if any(part in ("", ".", "..") for part in name.parts):
            continue
        out.append((obj, size, Path(*name.parts)))
    return out


def _extract(root: Path, blobs: list[tuple[str, str, Path]], dest: Path) -> None:
    """Write ``blobs`` under ``dest``, streamed from one ``git cat-file --batch``: one blob in
    memory at a time, each of the size ``git ls-tree`` gave (checked against its limit)."""
    if not blobs:
        return
    from policy_dsl.language.safeio import _write_hint, _write_reason

    try:
        proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except (OSError, ValueError) as exc:
        raise InputError(Diagnostic("E-GIT", t("sources.git_cannot_run", reason=clip(exc)), Where("git"), t("sources.git_cannot_run.hint"))) from None
    try:
        proc.stdin.write("".join(obj + "\n" for obj, _, _ in blobs).encode())
        proc.stdin.close()
        for obj, size, name in blobs:
            head = proc.stdout.readline(200).split()
            n = int(size)
            if len(head) != 3 or head[0].decode() != obj or head[2] != size.encode():
                raise InputError(Diagnostic("E-GIT", t("sources.git_unexpected", name=clip(name)), Where("git"), None))
            data = proc.stdout.read(n + 1)  # the blob and its line end
            target = dest / name
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[:n])
            except OSError as exc:
                raise InputError(Diagnostic("E-WRITE", t("sources.cannot_copy", reason=_write_reason(exc)),
                                            Where(clip(dest, 200)), _write_hint(exc))) from None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def resolve_spec(spec: str | Path, at_revision=None) -> list[Path]:
    """Policy paths named by ``spec``: an existing file or directory (or anything there: reading
    it says why it cannot be read), else a git revision (read by ``at_revision(rev)`` when given —
    the policy repository's own folders — else ``policies/``)."""
    if str(spec) and os.path.lexists(spec):  # lexists never raises (a name too long, a NUL byte)
        return [Path(spec)]
    if is_git_revision(str(spec)):
        return list(at_revision(str(spec))) if at_revision else [from_git(str(spec))]
    raise InputError(Diagnostic("E-POLICY-SOURCE", t("sources.unknown", spec=clip(spec)),
                                command_line(), t("sources.unknown.hint")))
