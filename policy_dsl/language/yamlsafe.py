"""Reading YAML as data: ``yaml.safe_load`` semantics and stricter. Duplicate keys, non-string
keys, YAML 1.1 boolean keys (``on``, ``yes``…), merge keys, custom tags, invalid UTF-8 and
oversized, over-deep or alias-heavy documents are refused with a position. Every value keeps
the line and column where it was written."""

from __future__ import annotations

import math
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
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                nodes += 1
                if depth > MAX_DEPTH:
                    raise _err("E-YAML-DEPTH", f"nesting deeper than {MAX_DEPTH} levels", file, event.start_mark,
                               "flatten the structure", cls)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
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
    return _scalar(node, out.file, cls)


def _key(node, file: str, cls) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _err("E-YAML-KEY", "a key must be a plain word, not a list or mapping", file, node.start_mark, None, cls)
    if node.tag == "tag:yaml.org,2002:merge":
        raise _err("E-YAML-MERGE", "merge keys (`<<`) are not allowed", file, node.start_mark,
                   "write the keys out", cls)
    if node.tag != _STR:
        if node.tag == "tag:yaml.org,2002:bool" or (node.style is None and node.value.lower() in _BOOL_WORDS):
            raise _err("E-YAML-BOOL-KEY",
                       f"key `{node.value}` is read by YAML 1.1 readers as a boolean, not as the word",
                       file, node.start_mark, f'quote it: "{node.value}"', cls)
        raise _err("E-YAML-KEY", f"key `{node.value}` is not a string", file, node.start_mark,
                   f'quote it: "{node.value}"', cls)
    if node.style is None and node.value.lower() in _BOOL_WORDS:
        raise _err("E-YAML-BOOL-KEY", f"key `{node.value}` is read by YAML 1.1 readers as a boolean, not as the word",
                   file, node.start_mark, f'quote it: "{node.value}"', cls)
    return node.value


def _scalar(node, file: str, cls):
    tag = node.tag
    if tag not in _SCALAR_TAGS:
        raise _err("E-YAML-TAG", f"tag `{tag}` is not allowed", file, node.start_mark,
                   "policy and case files hold plain data only", cls)
    value = node.value
    if tag == _STR or tag == "tag:yaml.org,2002:timestamp":
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() in ("true", "yes", "on", "y")
    if tag == "tag:yaml.org,2002:int" and len(value) > 30:
        raise _err("E-INPUT-NUMBER", f"number `{value[:40]}…` is too large", file, node.start_mark,
                   "write a number of at most 30 digits", cls)
    number = _CONSTRUCTOR.construct_object(node)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        raise _err("E-INPUT-NUMBER", f"`{value}` is not a finite number", file, node.start_mark,
                   "write a plain number", cls)
    return number


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
