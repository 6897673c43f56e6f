"""Package data: the grammar, the JSON Schemas, the kinds and regions tables and the shipped
policies. In an installed wheel they live under ``policy_dsl/_shipped``; in a source checkout
they are read from the repository's top-level ``grammar/`` and ``policies/``."""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # policy_dsl/


def _shipped(name: str) -> Path:
    if _PACKAGE.is_dir():  # on the file system, where importlib.resources would look too (and it costs an import)
        installed = _PACKAGE / "_shipped" / name
    else:  # pragma: no cover - e.g. a zip
        from importlib import resources

        installed = resources.files("policy_dsl").joinpath("_shipped", name)
    if installed.is_dir() or installed.is_file():
        return Path(str(installed))
    return _PACKAGE.parent / name


def package_dir() -> Path:
    """The folder of the installed (or checked-out) policy_dsl package."""
    return _PACKAGE


def grammar_path() -> Path:
    return _shipped("grammar") / "expr.lark"


def policies_dir() -> Path:
    """The directory of the policies shipped with the package."""
    return _shipped("policies")


def data_path(name: str) -> Path:
    return _PACKAGE / "data" / name


def schema_path(name: str) -> Path:
    return _PACKAGE / "schemas" / f"{name}.schema.json"


@functools.cache
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")
