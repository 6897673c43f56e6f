"""Policy and case files are data: safe_load semantics, no duplicate or boolean keys, bounded."""

from __future__ import annotations

import pytest

from policy_dsl.language.errors import InputError
from policy_dsl.language.yamlsafe import decode, load_yaml


@pytest.mark.parametrize("text,code", [
    ("a: 1\na: 2\n", "E-YAML-DUPLICATE-KEY"),
    ("on: 1\n", "E-YAML-BOOL-KEY"),
    ("yes: 1\n", "E-YAML-BOOL-KEY"),
    ("1: x\n", "E-YAML-KEY"),
    ("a: !!python/object/apply:os.system [ls]\n", "E-YAML-TAG"),
    ("a: .nan\n", "E-INPUT-NUMBER"),
    ("a:\n\t- b\n", "E-YAML-SYNTAX"),
    ("<<: {a: 1}\n", "E-YAML-MERGE"),
    ("a: 1\n---\nb: 2\n", "E-YAML-DOCUMENTS"),
])
def test_refused(text, code):
    with pytest.raises(InputError) as info:
        load_yaml(text, "f.yaml")
    assert info.value.first.code == code
    assert info.value.first.where.line is not None


def test_alias_bomb_refused():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    with pytest.raises(InputError) as info:
        load_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert info.value.first.code == "E-YAML-ALIASES"


def test_deep_nesting_refused():
    with pytest.raises(InputError) as info:
        load_yaml("a: " + "[" * 10000 + "]" * 10000 + "\n", "deep.yaml")
    assert info.value.first.code == "E-YAML-DEPTH"


def test_invalid_utf8_and_bom():
    with pytest.raises(InputError) as info:
        decode(b"a: 1\nb: \xff\n", "f.yaml")
    assert (info.value.first.where.line, info.value.first.where.col) == (2, 4)
    assert load_yaml(decode("\ufeffa: 1\n".encode(), "f.yaml"), "f.yaml").data == {"a": 1}


def test_size_limit():
    with pytest.raises(InputError) as info:
        decode(b"a" * 100, "f.yaml", max_bytes=10)
    assert info.value.first.code == "E-INPUT-SIZE"


def test_positions_and_dates_kept_as_text():
    loaded = load_yaml("x:\n  - d: 2022-04-01\n", "f.yaml")
    assert loaded.data == {"x": [{"d": "2022-04-01"}]}
    assert loaded.positions[("x", 0, "d")] == (2, 8)
