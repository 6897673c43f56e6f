"""Which policy set a command uses, and how answers name it.

The checkout is the policy set: with no ``--policies`` or ``--rev``, a command looks from the
current folder upward (stopping at the top of a git work tree) for a policy repository — a folder
with a ``policy-dsl.toml`` naming its policy folders, or a folder holding ``policies/`` with policy
files — and uses it. Only outside any policy repository does it use the copy installed with the
package. ``--rev REV`` reads the repository's policy folders as they were at REV, without touching
the work tree. Every answer names the set it came from (``PolicySource.label`` and the content hash
of its files, ``PolicySet.fingerprint``).

``policy-dsl.toml``::

    [policies]
    folders = ["policies"]          # policy files (*.yaml), relative to this file
    tests = ["policies/tests"]      # policy tests written as data (default: <folder>/tests)
"""

from __future__ import annotations

import os

from policy_dsl.language.errors import Diagnostic, InputError, Where, command_line
from policy_dsl.language.messages import join, t

TYPE_CHECKING = False
if TYPE_CHECKING:  # pathlib is imported only where a path is worked on: the start-up path names folders by str
    from pathlib import Path

CONFIG_NAME = "policy-dsl.toml"
POLICY_FOLDER = "policies"
MAX_CONFIG_BYTES = 64 * 1024


class PolicySource:
    """Where a policy set comes from. ``kind``: ``repository`` (found from the current folder),
    ``folder`` (given with --policies or as an argument), ``revision`` (--rev, read from git) or
    ``installed`` (the copy shipped with the package); ``paths``: the policy folders or files read;
    ``tests``: where its policy tests are; ``root``: the repository's top folder (each a
    ``pathlib.Path``; given as paths or as strs spelt as pathlib spells them). ``folders``: the
    paths as strs (what a command loads its set from at start-up, without importing pathlib). (A
    plain class: dataclasses cost a start-up import.)"""

    __slots__ = ("kind", "folders", "_tests", "_root", "rev")

    def __init__(self, kind: str, paths: tuple, tests: tuple, root: Path | str | None = None, rev: str | None = None):
        self.kind, self.rev = kind, rev
        self.folders = tuple(os.fspath(p) for p in paths)
        self._tests, self._root = tuple(tests), root

    @property
    def paths(self) -> tuple:
        return tuple(_path(p) for p in self.folders)

    @property
    def tests(self) -> tuple:
        return tuple(_path(p) for p in self._tests)

    @property
    def root(self) -> Path | None:
        return None if self._root is None else _path(self._root)

    def __repr__(self) -> str:
        return f"PolicySource({self.kind!r}, {self.label!r})"

    @property
    def label(self) -> str:
        """How answers name the set: its folder(s), ``REV`` of a repository, or ``installed``."""
        if self.kind == "revision":
            return f"{self.rev} ({_shown(self.root)})"
        if self.kind == "installed":
            return "installed"
        if self.kind == "repository":  # the folders as the repository names them, wherever one stands in it
            return ", ".join(os.path.relpath(p, self._root).replace(os.sep, "/") for p in self.folders)
        return ", ".join(self.folders)

    def to_json(self, fingerprint: str | None = None) -> dict:
        out = {"kind": self.kind, "source": self.label}
        if self._root is not None:
            out["root"] = os.fspath(self._root)
        if fingerprint:
            out["hash"] = fingerprint
        return out


def _path(name) -> Path:
    from pathlib import Path

    return Path(name)


def _shown(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def _inside_installed_package(path: Path) -> bool:
    from pathlib import Path

    from policy_dsl.language import resources

    try:
        package = resources.package_dir().resolve()
        target = Path(path).resolve()
    except OSError:
        return False
    return target == package or package in target.parents


def writable_path(path: Path) -> bool:
    """Whether tools may rewrite files at ``path``: never inside the installed package."""
    return not _inside_installed_package(path)


def installed() -> PolicySource:
    from policy_dsl.language import resources

    folder = resources.policies_folder()
    return PolicySource("installed", (folder,), (os.path.join(folder, "tests"),))


def given(paths: list[Path]) -> PolicySource:
    """The set named on the command line (folders or files)."""
    from pathlib import Path

    folders = [Path(p) if os.path.isdir(p) else Path(p).parent for p in paths]
    return PolicySource("folder", tuple(Path(p) for p in paths), tuple(dict.fromkeys(f / "tests" for f in folders)))


def find_repository(start: Path | None = None) -> PolicySource | None:
    """The policy repository holding ``start`` (default: the current folder), or None. Looks in
    ``start`` and each folder above it, stopping after the top of a git work tree."""
    from policy_dsl.language.files import path_name

    here = path_name(start or os.getcwd())  # as pathlib's Path(…).absolute() spells it, with strs
    if not os.path.isabs(here):
        here = os.getcwd() if here == "." else os.path.join(os.getcwd(), here)
    folder = here
    while True:  # here, then each folder above it
        config = os.path.join(folder, CONFIG_NAME)
        if os.path.isfile(config):
            return _from_config(_path(config))
        candidate = os.path.join(folder, POLICY_FOLDER)
        if os.path.isdir(candidate) and _has_policy_files(candidate):
            return PolicySource("repository", (candidate,), (os.path.join(candidate, "tests"),), root=folder)
        if os.path.exists(os.path.join(folder, ".git")):
            return None
        above = os.path.dirname(folder)
        if above == folder:
            return None
        folder = above


def _has_policy_files(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(e.name.endswith((".yaml", ".yml")) for e in entries)
    except OSError:
        return False


def _from_config(config: Path) -> PolicySource:
    import tomllib

    from policy_dsl.language.safeio import read_limited

    where = Where(str(config))
    try:
        data = tomllib.loads(read_limited(config, MAX_CONFIG_BYTES, str(config)).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Diagnostic("E-CONFIG", t("config.not_toml", file=CONFIG_NAME, error=str(exc)), where,
                                    '[policies]\nfolders = ["policies"]')) from None
    section = data.get("policies", {})
    if not isinstance(section, dict):
        raise InputError(Diagnostic("E-CONFIG", t("config.not_a_table"), where, '[policies]\nfolders = ["policies"]'))
    unknown = set(section) - {"folders", "tests"}
    if unknown:
        from policy_dsl.language.errors import did_you_mean

        name = sorted(unknown)[0]
        raise InputError(Diagnostic("E-CONFIG", t("config.unknown_key", key=f"policies.{name}"), where,
                                    did_you_mean(name, ("folders", "tests")) or t("config.keys", keys=join(("folders", "tests")))))
    root = config.parent
    folders = _folder_list(section.get("folders", [POLICY_FOLDER]), "folders", where)
    tests = _folder_list(section.get("tests", [f"{f}/tests" for f in folders]), "tests", where)
    paths = tuple(root / f for f in folders)
    for p in paths:
        if not p.is_dir():
            raise InputError(Diagnostic("E-CONFIG", t("config.no_folder", folder=str(p), file=CONFIG_NAME), where,
                                        t("config.no_folder.hint")))
    return PolicySource("repository", paths, tuple(root / t for t in tests), root=root)


def _folder_list(value, key: str, where: Where) -> list[str]:
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value)):
        raise InputError(Diagnostic("E-CONFIG", t("config.not_a_list", key=f"policies.{key}"), where,
                                    f'{key} = ["policies"]'))
    from pathlib import Path

    for v in value:
        if os.path.isabs(v) or ".." in Path(v).parts:
            raise InputError(Diagnostic("E-CONFIG", t("config.outside", folder=v, key=f"policies.{key}"),
                                        where, t("config.outside.hint")))
    return list(value)


def at_revision(rev: str, start: Path | None = None) -> PolicySource:
    """The policy folders of the repository holding ``start``, as they were at git revision ``rev``."""
    from policy_dsl.language.sources import from_git

    from pathlib import Path

    repo = find_repository(start)
    cwd = Path(start or os.getcwd())
    if repo is None:  # a git work tree without a policy repository in it: policies/ at its top
        folders = [POLICY_FOLDER]
        base = cwd
    else:
        base = repo.root
        folders = [os.path.relpath(p, base) for p in repo.paths]
    paths = tuple(from_git(rev, _in_git(base, f), cwd=base) for f in folders)
    return PolicySource("revision", paths, tuple(p / "tests" for p in paths), root=repo.root if repo else None, rev=rev)


def _in_git(base: Path, folder: str) -> str:
    """``folder`` (relative to ``base``) as a path from the top of base's git work tree."""
    from pathlib import Path

    from policy_dsl.language.sources import git_toplevel

    top = git_toplevel(base)
    return Path(os.path.relpath(base / folder, top)).as_posix()


def policy_source(policies: list[Path] | None = None, rev: str | None = None) -> PolicySource:
    """The policy set a command uses: ``--policies`` paths, else ``--rev``, else the repository
    found from the current folder, else the installed copy."""
    if policies and rev:
        raise InputError(Diagnostic("E-USAGE", t("discover.policies_and_rev"), command_line(), "policy-dsl eval CASE --rev HEAD~1"))
    if policies:
        return given(policies)
    if rev is not None:
        return at_revision(rev)
    return find_repository() or installed()
