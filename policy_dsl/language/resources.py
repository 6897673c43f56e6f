"""Package data: the grammar, the JSON Schemas, the kinds and regions tables and the shipped
policies. In an installed wheel they live under ``policy_dsl/_shipped``; in a source checkout
they are read from the repository's top-level ``grammar/`` and ``policies/``.

Each place is given as a ``pathlib.Path`` (``policies_dir``, ``data_path``…) and, for what every
command reads at start-up, as a str (``policies_folder``, ``data_file``): importing pathlib costs
3-4 ms of a 40-60 ms start, so the start-up path never does."""

from __future__ import annotations

import functools
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

_PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # policy_dsl/, links resolved


def _shipped(name: str) -> str:
    if os.path.isdir(_PACKAGE):  # on the file system, where importlib.resources would look too (and it costs an import)
        installed = os.path.join(_PACKAGE, "_shipped", name)
        if os.path.isdir(installed) or os.path.isfile(installed):
            return installed
    else:  # pragma: no cover - e.g. a zip
        from importlib import resources

        found = resources.files("policy_dsl").joinpath("_shipped", name)
        if found.is_dir() or found.is_file():
            return str(_path(str(found)))
    return os.path.join(os.path.dirname(_PACKAGE), name)


def _path(name: str) -> Path:
    from pathlib import Path

    return Path(name)


def package_dir() -> Path:
    """The folder of the installed (or checked-out) policy_dsl package."""
    return _path(_PACKAGE)


def grammar_file() -> str:
    return os.path.join(_shipped("grammar"), "expr.lark")


def grammar_path() -> Path:
    return _path(grammar_file())


def policies_folder() -> str:
    """The directory of the policies shipped with the package (``policies_dir``, as a str)."""
    return _shipped("policies")


def policies_dir() -> Path:
    """The directory of the policies shipped with the package."""
    return _path(policies_folder())


def data_file(name: str) -> str:
    """The package's data file ``name`` (``data_path``, as a str)."""
    return os.path.join(_PACKAGE, "data", name)


def data_path(name: str) -> Path:
    return _path(data_file(name))


def schema_path(name: str) -> Path:
    return _path(os.path.join(_PACKAGE, "schemas", f"{name}.schema.json"))


@functools.cache
def grammar_text() -> str:
    with open(grammar_file(), encoding="utf-8") as fh:
        return fh.read()
