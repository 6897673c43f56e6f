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
from policy_dsl.language.messages import N_, library_words, t
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
                    raise _err("E-YAML-DEPTH", t("yaml.depth", levels=MAX_DEPTH), file, event.start_mark,
                               t("yaml.depth.hint"), cls)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                open_anchors.pop()
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor in open_anchors:
                    raise _err("E-YAML-ALIAS-CYCLE", t("yaml.alias_cycle", anchor=event.anchor[:40]), file,
                               event.start_mark, t("yaml.alias_cycle.hint"), cls)
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _err("E-YAML-ALIASES", t("yaml.aliases", count=MAX_ALIASES), file, event.start_mark,
                               t("yaml.aliases.hint"), cls)
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
            if nodes > MAX_NODES:
                raise _err("E-YAML-SIZE", t("yaml.size", count=f"{MAX_NODES:,}"), file, event.start_mark,
                           t("yaml.size.hint"), cls)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "nesting depth" in str(exc.problem):
            raise _err("E-YAML-DEPTH", t("yaml.depth", levels=MAX_DEPTH), file, mark, t("yaml.depth.hint"), cls) from None
        raise _err("E-YAML-SYNTAX", t("yaml.syntax", problem=_problem(exc.problem or exc.context)), file, mark,
                   _syntax_hint(text, mark), cls) from None
    except yaml.YAMLError as exc:
        raise _err("E-YAML-SYNTAX", t("yaml.syntax", problem=_problem(str(exc))), file, None, None, cls) from None


def _syntax_hint(text: str, mark) -> str:
    if mark is not None:
        lines = text.splitlines()
        if 0 <= mark.line < len(lines) and "\t" in lines[mark.line]:
            return t("yaml.tabs.hint")
    return t("yaml.syntax.hint")


# PyYAML's and libyaml's own words (their problems and contexts), through the catalog under the context "yaml"
_PYYAML = (
    "but found another document", "could not find expected ':'", "duplicate tag handle %r", "expected ' ', but found %r",
    "expected '!', but found %r", "expected ',' or ']', but got %r", "expected ',' or '}', but got %r",
    "expected '<document start>', but found %r", "expected '>', but found %r", "expected <block end>, but found %r",
    "expected URI escape sequence of 2 hexadecimal numbers, but found %r", "expected URI, but found %r",
    "expected a comment or a line break, but found %r", "expected a digit or ' ', but found %r",
    "expected a digit or '.', but found %r", "expected a digit, but found %r", "expected a single document in the stream",
    "expected alphabetic or numeric character, but found %r", "expected chomping or indentation indicators, but found %r",
    "expected escape sequence of %d hexadecimal numbers, but found %r",
    "expected indentation indicator in the range 1-9, but found 0", "expected the node content, but found %r",
    "found character %r that cannot start any token", "found duplicate YAML directive",
    "found duplicate anchor %r; first occurrence", "found incompatible YAML document (version 1.* is required)",
    "found undefined alias %r", "found undefined tag handle %r", "found unexpected document separator",
    "found unexpected end of stream", "found unknown escape character %r", "mapping keys are not allowed here",
    "mapping values are not allowed here", "second occurrence", "sequence entries are not allowed here",
    "while parsing a %s", "while parsing a %s node", "while parsing a block collection", "while parsing a block mapping",
    "while parsing a flow mapping", "while parsing a flow sequence", "while parsing a node", "while parsing a tag",
    "while scanning a %s", "while scanning a block scalar", "while scanning a directive",
    "while scanning a double-quoted scalar", "while scanning a quoted scalar", "while scanning a simple key",
    "while scanning a tag", "while scanning an %s", "while scanning for the next token",
    "special characters are not allowed",
    # libyaml's (the C parser's) words
    "block sequence entries are not allowed in this context",
    "control characters are not allowed",
    "could not find expected directive name",
    "did not find URI escaped octet",
    "did not find expected '!'",
    "did not find expected ',' or ']'",
    "did not find expected ',' or '}'",
    "did not find expected '-' indicator",
    "did not find expected <document start>",
    "did not find expected <stream-start>",
    "did not find expected alphabetic or numeric character",
    "did not find expected comment or line break",
    "did not find expected digit or '.' character",
    "did not find expected hexdecimal number",
    "did not find expected key",
    "did not find expected node content",
    "did not find expected tag URI",
    "did not find expected version number",
    "did not find expected whitespace or line break",
    "did not find expected whitespace",
    "did not find the expected '>'",
    "found a tab character that violates indentation",
    "found a tab character where an indentation space is expected",
    "found an incorrect leading UTF-8 octet",
    "found an incorrect trailing UTF-8 octet",
    "found an indentation indicator equal to 0",
    "found character that cannot start any token",
    "found duplicate %TAG directive",
    "found duplicate %YAML directive",
    "found extremely long version number",
    "found incompatible YAML document",
    "found invalid Unicode character escape code",
    "found undefined tag handle",
    "found unexpected ':'",
    "found unexpected document indicator",
    "found unexpected non-alphabetical character",
    "found unknown directive name",
    "found unknown escape character",
    "incomplete UTF-16 character",
    "incomplete UTF-16 surrogate pair",
    "incomplete UTF-8 octet sequence",
    "input error",
    "input is too long",
    "invalid Unicode character",
    "invalid leading UTF-8 octet",
    "invalid length of a UTF-8 sequence",
    "invalid trailing UTF-8 octet",
    "mapping keys are not allowed in this context",
    "mapping values are not allowed in this context",
    "while parsing a %TAG directive",
    "while parsing a block node",
    "while parsing a flow node",
    "while parsing a quoted scalar",
    "while parsing a tag directive",
    "while parsing",
    "while scanning a %TAG directive",
    "while scanning a %YAML directive",
    "while scanning a plain scalar",
    "while scanning a tag directive",
    "while scanning an alias",
    "while scanning an anchor",
)


def _problem(text) -> str:
    """PyYAML's description of a problem, in the current language where the catalog has it."""
    return library_words("yaml", _PYYAML, str(text))


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
        raise _err("E-YAML-DOCUMENTS", t("yaml.documents", problem=_problem(exc.problem)), file, exc.problem_mark,
                   t("yaml.documents.hint"), cls) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _err("E-YAML-SYNTAX", t("yaml.syntax", problem=_problem(exc.problem or exc.context)), file, mark,
                   _syntax_hint(text, mark), cls) from None
    loaded = Loaded(None, file)
    if node is None:
        return loaded
    loaded.data = _convert(node, (), loaded, cls)
    return loaded


def _convert(node, path: Path, out: Loaded, cls):
    out.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if len(out.positions) > MAX_NODES:  # aliases expanded: a few of them can name very many values
        raise _err("E-YAML-SIZE", t("yaml.size_expanded", count=f"{MAX_NODES:,}"), out.file,
                   node.start_mark, t("yaml.size_expanded.hint"), cls)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
        raise _err("E-YAML-TAG", t("yaml.tag", tag=node.tag), out.file, node.start_mark, t("yaml.tag.hint"), cls)
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            key = _key(key_node, out.file, cls)
            if key in result:
                first = out.key_positions[path + (key,)]
                raise _err("E-YAML-DUPLICATE-KEY", t("yaml.duplicate_key", key=key, line=first[0]), out.file,
                           key_node.start_mark, t("yaml.duplicate_key.hint"), cls)
            out.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, path + (key,), out, cls)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), out, cls) for i, item in enumerate(node.value)]
    return _scalar(node, out.file, cls, path)


def _key(node, file: str, cls) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _err("E-YAML-KEY", t("yaml.key_not_word"), file, node.start_mark, None, cls)
    if node.tag == "tag:yaml.org,2002:merge":
        raise _err("E-YAML-MERGE", t("yaml.merge"), file, node.start_mark, t("yaml.merge.hint"), cls)
    if node.tag != _STR:
        if node.tag == "tag:yaml.org,2002:bool" or (not node.style and node.value.lower() in _BOOL_WORDS):
            raise _err("E-YAML-BOOL-KEY", t("yaml.bool_key", key=node.value), file, node.start_mark,
                       t("yaml.quote_it", value=node.value), cls)
        raise _err("E-YAML-KEY", t("yaml.key_not_string", key=node.value), file, node.start_mark,
                   t("yaml.quote_it", value=node.value), cls)
    if not node.style and node.value.lower() in _BOOL_WORDS:
        raise _err("E-YAML-BOOL-KEY", t("yaml.bool_key", key=node.value), file, node.start_mark,
                   t("yaml.quote_it", value=node.value), cls)
    return node.value


def _scalar(node, file: str, cls, path: Path = ()):
    tag = node.tag
    if tag not in _SCALAR_TAGS:
        raise _err("E-YAML-TAG", t("yaml.tag", tag=tag), file, node.start_mark, t("yaml.tag.hint"), cls)
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
        raise _err("E-INPUT-NUMBER", t("yaml.number_too_large", number=value[:40]), file, node.start_mark,
                   t("yaml.number_too_large.hint"), cls)
    if tag == "tag:yaml.org,2002:float" and node.tag == _STR:  # a YAML 1.2 float PyYAML reads as text: 1e3
        number = float(value)
    else:
        number = _CONSTRUCTOR.construct_object(node)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        raise _err("E-INPUT-NUMBER", t("yaml.not_finite", number=value), file, node.start_mark,
                   t("yaml.not_finite.hint"), cls)
    return number


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), as far as it is read here.
# Only a plain scalar that looks like a number is matched against these: they are given to ``re``
# as text, compiled (and kept by ``re``) when first used — a case file often holds no plain
# number, and compiling them at import cost 0.4 ms of every start that reads YAML.
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_CORE_INT = r"[-+]?(?:0|[1-9][0-9]*)\Z"
_CORE_FLOAT = r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z"
_CORE_SPECIAL = r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"
_LEADING_ZERO = r"([-+]?)0+([0-9]+)\Z"
_PREFIXED = r"[-+]?0(?:x[0-9a-fA-F_]+|o[0-7_]+|b[01_]+)\Z"  # YAML 1.1 or 1.2 hex, octal, binary
_LOOKS_NUMERIC = re.compile(r"[-+]?(?:[0-9]|\.[0-9])")  # a plain text that might be a YAML 1.2 number


def _core_number_tag(node, file: str, cls, path: Path) -> str:
    """The tag of a plain scalar under the YAML 1.2 core schema (int, float or str), or an error
    (E-YAML-NUMBER) when YAML 1.1 and 1.2 readers would read it differently — a leading zero
    (octal to 1.1), 0x and 0o, 0b, ``_`` between digits, base 60 (``1:00``) — naming the key and
    the decimal meant."""
    value = node.value
    if re.match(_CORE_INT, value):
        return "tag:yaml.org,2002:int"
    if re.match(_CORE_FLOAT, value) and not re.match(_LEADING_ZERO, value):
        return "tag:yaml.org,2002:float" if node.tag != "tag:yaml.org,2002:int" else node.tag
    if re.match(_CORE_SPECIAL, value):
        return "tag:yaml.org,2002:float"
    if node.tag == _STR and not (re.match(_LEADING_ZERO, value) or re.match(_PREFIXED, value)):
        return _STR  # text for both readers: 1.2.3, 2022年, 3个月, 0x
    key = _path_text(path) or t("yaml.the_value")
    meant, old = _meant(value, node.tag)
    if re.match(_LEADING_ZERO, value):
        what = t("yaml.leading_zero_octal", old=old) if old is not None else t("yaml.leading_zero")
        hint = t("yaml.leading_zero.hint", meant=meant, value=value)
    elif re.match(_PREFIXED, value):
        base = {"x": N_("yaml.hexadecimal"), "o": N_("yaml.octal"), "b": N_("yaml.binary")}[value.lstrip("+-")[1]]
        what = t("yaml.prefixed", base=t(base))
        hint = t("yaml.prefixed.hint", meant=meant) if meant is not None else t("yaml.write_decimal")
    elif ":" in value:
        what = t("yaml.base60", old=old)
        hint = t("yaml.base60.hint", old=old, value=value)
    else:
        what = t("yaml.underscore")
        hint = t("yaml.write_meant", meant=meant) if meant is not None else t("yaml.underscore.hint")
    raise _err("E-YAML-NUMBER", t("yaml.number", key=key, value=value[:40], what=what), file, node.start_mark, hint, cls)


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
    m = re.match(_LEADING_ZERO, value)
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
