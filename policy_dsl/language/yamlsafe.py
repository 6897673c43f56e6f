"""Reading YAML as data: ``yaml.safe_load`` semantics and stricter. Duplicate keys, non-string
keys, YAML 1.1 boolean keys (``on``, ``yes``…), merge keys, custom tags, invalid UTF-8,
recursive aliases (``&a [*a]``) and oversized, over-deep or alias-heavy documents are refused
with a position. Numbers are read by the YAML 1.2 core schema, and a number whose meaning
differs between YAML 1.1 and 1.2 (``030``, ``0x1E``, ``1:00``, ``1_000``…) is refused, naming the
key and the decimal meant. Every value keeps the line and column where it was written."""

from __future__ import annotations

import math
import re
from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)

import yaml

from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, Where
from policy_dsl.language.safeio import decode  # noqa: F401 - here too, where it always was (it lives in safeio: no yaml needed)

try:  # the C parser when present; the pure-Python one otherwise
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 64
MAX_NODES = 200_000

_BOOL_WORDS = {"y", "yes", "n", "no", "on", "off", "true", "false"}
_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

Path = tuple
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


@dataclass
class Loaded:
    """A YAML document as plain data, with the position of every value and every key."""

    data: object
    file: str
    positions: dict = field(default_factory=dict)  # path -> (line, col) of the value
    key_positions: dict = field(default_factory=dict)  # path -> (line, col) of the key naming it

    def where(self, path: Path, key: bool = False) -> Where:
        """The closest known position of ``path`` (walking up to a parent if needed)."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while True:
            if p in table:
                line, col = table[p]
                return Where(self.file, line, col)
            if p in self.positions:
                line, col = self.positions[p]
                return Where(self.file, line, col)
            if not p:
                return Where(self.file)
            p = p[:-1]


def _err(code: str, message: str, file: str, mark=None, hint: str | None = None, cls=InputError) -> PolicyDslError:
    where = Where(file, mark.line + 1, mark.column + 1) if mark is not None else Where(file)
    return cls(Diagnostic(code, message, where, hint))


def _prescan(text: str, file: str, cls) -> None:
    """Walk the event stream (iteratively) to bound depth, aliases and size before composing."""
    depth = aliases = nodes = 0
    open_anchors: list = []  # the anchor of each collection being read (None where it has none)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                open_anchors.append(event.anchor)
                depth += 1
                nodes += 1
                if depth > MAX_DEPTH:
                    raise _err("E-YAML-DEPTH", f"nesting deeper than {MAX_DEPTH} levels", file, event.start_mark,
                               "flatten the structure", cls)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_anchors.pop()
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise _err("E-YAML-ALIAS-CYCLE", f"alias `*{event.anchor[:40]}` refers to the collection it is in "
                               "(a recursive structure, which has no end as data)", file, event.start_mark,
                               "write the values out instead of the alias", cls)
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _err("E-YAML-ALIASES", f"more than {MAX_ALIASES} aliases", file, event.start_mark,
                               "write the values out instead of using anchors (&) and aliases (*)", cls)
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
            if nodes > MAX_NODES:
                raise _err("E-YAML-SIZE", f"more than {MAX_NODES:,} values", file, event.start_mark,
                           "split the file", cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "nesting depth" in str(exc.problem):
            raise _err("E-YAML-DEPTH", f"nesting deeper than {MAX_DEPTH} levels", file, mark,
                       "flatten the structure", cls) from None
        raise _err("E-YAML-SYNTAX", f"YAML syntax: {exc.problem or exc.context}", file, mark,
                   _syntax_hint(text, mark), cls) from None
    except yaml.YAMLError as exc:
        raise _err("E-YAML-SYNTAX", f"YAML syntax: {exc}", file, None, None, cls) from None


def _syntax_hint(text: str, mark) -> str:
    if mark is not None:
        lines = text.splitlines()
        if 0 <= mark.line < len(lines) and "\t" in lines[mark.line]:
            return "YAML does not allow tabs for indentation; use spaces"
    return "check indentation and quoting near this place"


def load_yaml(text: str, file: str, cls=InputError) -> Loaded:
    """Parse one YAML document into plain data with positions. Raises ``cls`` on any problem."""
    _prescan(text, file, cls)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.composer.ComposerError as exc:
        raise _err("E-YAML-DOCUMENTS", f"YAML: {exc.problem}", file, exc.problem_mark,
                   "a file holds one YAML document; remove the extra `---`", cls) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _err("E-YAML-SYNTAX", f"YAML syntax: {exc.problem or exc.context}", file, mark,
                   _syntax_hint(text, mark), cls) from None
    loaded = Loaded(None, file)
    if node is None:
        return loaded
    loaded.data = _convert(node, (), loaded, cls)
    return loaded


def _convert(node, path: Path, out: Loaded, cls):
    out.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if len(out.positions) > MAX_NODES:  # aliases expanded: a few of them can name very many values
        raise _err("E-YAML-SIZE", f"more than {MAX_NODES:,} values once the aliases are written out", out.file,
                   node.start_mark, "write the values out instead of nesting aliases", cls)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
        raise _err("E-YAML-TAG", f"tag `{node.tag}` is not allowed", out.file, node.start_mark,
                   "policy and case files hold plain data only", cls)
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            key = _key(key_node, out.file, cls)
            if key in result:
                first = out.key_positions[path + (key,)]
                raise _err("E-YAML-DUPLICATE-KEY", f"duplicate key `{key}` (first at line {first[0]})", out.file,
                           key_node.start_mark, "remove one of them: YAML keeps only the last, silently", cls)
            out.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, path + (key,), out, cls)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), out, cls) for i, item in enumerate(node.value)]
    return _scalar(node, out.file, cls, path)


def _key(node, file: str, cls) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _err("E-YAML-KEY", "a key must be a plain word, not a list or mapping", file, node.start_mark, None, cls)
    if node.tag == "tag:yaml.org,2002:merge":
        raise _err("E-YAML-MERGE", "merge keys (`<<`) are not allowed", file, node.start_mark,
                   "write the keys out", cls)
    if node.tag != _STR:
        if node.tag == "tag:yaml.org,2002:bool" or (not node.style and node.value.lower() in _BOOL_WORDS):
            raise _err("E-YAML-BOOL-KEY",
                       f"key `{node.value}` is read by YAML 1.1 readers as a boolean, not as the word",
                       file, node.start_mark, f'quote it: "{node.value}"', cls)
        raise _err("E-YAML-KEY", f"key `{node.value}` is not a string", file, node.start_mark,
                   f'quote it: "{node.value}"', cls)
    if not node.style and node.value.lower() in _BOOL_WORDS:
        raise _err("E-YAML-BOOL-KEY", f"key `{node.value}` is read by YAML 1.1 readers as a boolean, not as the word",
                   file, node.start_mark, f'quote it: "{node.value}"', cls)
    return node.value


def _scalar(node, file: str, cls, path: Path = ()):
    tag = node.tag
    if tag not in _SCALAR_TAGS:
        raise _err("E-YAML-TAG", f"tag `{tag}` is not allowed", file, node.start_mark,
                   "policy and case files hold plain data only", cls)
    value = node.value
    if not node.style and (tag in _NUMBER_TAGS or tag == _STR and _LOOKS_NUMERIC.match(value)):
        tag = _core_number_tag(node, file, cls, path)
    if tag == _STR or tag == "tag:yaml.org,2002:timestamp":
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() in ("true", "yes", "on", "y")
    if tag == "tag:yaml.org,2002:int" and len(value) > 30:
        raise _err("E-INPUT-NUMBER", f"number `{value[:40]}…` is too large", file, node.start_mark,
                   "write a number of at most 30 digits", cls)
    if tag == "tag:yaml.org,2002:float" and node.tag == _STR:  # a YAML 1.2 float PyYAML reads as text: 1e3
        number = float(value)
    else:
        number = _CONSTRUCTOR.construct_object(node)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        raise _err("E-INPUT-NUMBER", f"`{value}` is not a finite number", file, node.start_mark,
                   "write a plain number", cls)
    return number


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), as far as it is read here
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_CORE_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_CORE_SPECIAL = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_LEADING_ZERO = re.compile(r"([-+]?)0+([0-9]+)\Z")
_PREFIXED = re.compile(r"[-+]?0(?:x[0-9a-fA-F_]+|o[0-7_]+|b[01_]+)\Z")  # YAML 1.1 or 1.2 hex, octal, binary
_LOOKS_NUMERIC = re.compile(r"[-+]?(?:[0-9]|\.[0-9])")  # a plain text that might be a YAML 1.2 number


def _core_number_tag(node, file: str, cls, path: Path) -> str:
    """The tag of a plain scalar under the YAML 1.2 core schema (int, float or str), or an error
    (E-YAML-NUMBER) when YAML 1.1 and 1.2 readers would read it differently — a leading zero
    (octal to 1.1), 0x and 0o, 0b, ``_`` between digits, base 60 (``1:00``) — naming the key and
    the decimal meant."""
    value = node.value
    if _CORE_INT.match(value):
        return "tag:yaml.org,2002:int"
    if _CORE_FLOAT.match(value) and not _LEADING_ZERO.match(value):
        return "tag:yaml.org,2002:float" if node.tag != "tag:yaml.org,2002:int" else node.tag
    if _CORE_SPECIAL.match(value):
        return "tag:yaml.org,2002:float"
    if node.tag == _STR and not (_LEADING_ZERO.match(value) or _PREFIXED.match(value)):
        return _STR  # text for both readers: 1.2.3, 2022年, 3个月, 0x
    key = _path_text(path) or "the value"
    meant, old = _meant(value, node.tag)
    if _LEADING_ZERO.match(value):
        what = f"has a leading zero: YAML 1.1 reads it as the octal number {old}" if old is not None else \
            "has a leading zero, which YAML 1.1 readers do not read as the decimal number"
        hint = f"write {meant} (no leading zero); if it is a code, quote it: \"{value}\""
    elif _PREFIXED.match(value):
        base = {"x": "a hexadecimal", "o": "an octal", "b": "a binary"}[value.lstrip("+-")[1]]
        what = f"is {base} number; policy and case files take decimal numbers"
        hint = f"write the decimal {meant}" if meant is not None else "write a decimal number"
    elif ":" in value:
        what = f"is a base-60 number to YAML 1.1 readers ({old}) and text to YAML 1.2 readers"
        hint = f"write {old} for the number, or quote \"{value}\" for the text"
    else:
        what = "has `_` between its digits, which YAML 1.1 readers skip and YAML 1.2 readers take as text"
        hint = f"write {meant}" if meant is not None else "write the digits without `_`"
    raise _err("E-YAML-NUMBER", f"`{key}: {value[:40]}` {what}", file, node.start_mark, hint, cls)


def _meant(value: str, tag: str) -> tuple:
    """(the decimal number a person most likely meant, YAML 1.1's reading) for a plain number."""
    old = None
    if tag in _NUMBER_TAGS and len(value) <= 40:
        try:
            old = _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, value))
        except (yaml.YAMLError, ValueError, ArithmeticError, TypeError):  # no 1.1 reading to show
            old = None
    if isinstance(old, float) and old == int(old):
        old = int(old)
    m = _LEADING_ZERO.match(value)
    if m:
        return int(m.group(1) + m.group(2)), old
    text = value.replace("_", "").lower()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    try:
        if text.startswith(("0x", "0o", "0b")):
            return sign * int(text[2:], {"x": 16, "o": 8, "b": 2}[text[1]]), old
        return (sign * int(text) if text.isdigit() else sign * float(text)), old
    except ValueError:
        return old, old


def _path_text(path: Path) -> str:
    """A path as written: ``clauses[3].decide.waiting_months``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
