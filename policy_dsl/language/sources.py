"""Where a policy set comes from: a directory, files, or a git revision read without touching
the working tree (``git show REV:policies/...`` into a temporary directory)."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, InputError, Where

_TEMPS: list[str] = []


@atexit.register
def _cleanup() -> None:
    for d in _TEMPS:
        shutil.rmtree(d, ignore_errors=True)


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(Diagnostic("E-GIT", f"cannot run git: {exc}", Where("git"), "is git installed?")) from None


def is_git_revision(spec: str, cwd: Path | None = None) -> bool:
    cwd = cwd or Path.cwd()
    if Path(spec).exists():
        return False
    run = _git(["rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"], cwd)
    return run.returncode == 0


def git_toplevel(cwd: Path) -> Path:
    """The top folder of the git work tree holding ``cwd``; an input error outside one."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise InputError(Diagnostic("E-GIT", "not inside a git repository", Where(str(cwd)), "run it inside the policy repository"))
    return Path(top.stdout.decode().strip())


def from_git(rev: str, subdir: str = "policies", cwd: Path | None = None) -> Path:
    """A temporary directory holding ``subdir`` (a path from the top of the work tree) as it was at
    ``rev`` (the work tree is untouched)."""
    cwd = cwd or Path.cwd()
    root = git_toplevel(cwd)
    if not is_git_revision(rev, root):
        raise InputError(Diagnostic("E-GIT-REV", f"`{rev}` is not a git revision here", Where("command line"),
                                    "e.g. HEAD~1, main, a commit hash or a tag"))
    listing = _git(["ls-tree", "-r", "--name-only", rev, "--", subdir], root)
    names = [n for n in listing.stdout.decode("utf-8").splitlines() if n]
    if not names:
        raise InputError(Diagnostic("E-GIT-REV", f"no `{subdir}/` in revision `{rev}`", Where("command line"), None))
    dest = Path(tempfile.mkdtemp(prefix="policy-dsl-rev-"))
    _TEMPS.append(str(dest))
    for name in names:
        blob = _git(["show", f"{rev}:{name}"], root)
        if blob.returncode != 0:
            continue
        target = dest / Path(name).relative_to(subdir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)
    return dest


def resolve_spec(spec: str | Path, at_revision=None) -> list[Path]:
    """Policy paths named by ``spec``: an existing file or directory, else a git revision (read by
    ``at_revision(rev)`` when given — the policy repository's own folders — else ``policies/``)."""
    p = Path(spec)
    if p.exists():
        return [p]
    if is_git_revision(str(spec)):
        return list(at_revision(str(spec))) if at_revision else [from_git(str(spec))]
    raise InputError(Diagnostic("E-POLICY-SOURCE", f"`{spec}` is neither a file, a directory nor a git revision",
                                Where("command line"), "give a policies folder, a policy file, or a revision like HEAD~1"))
