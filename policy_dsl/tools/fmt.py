"""``policy-dsl fmt``: the canonical layout of policy files, keeping every comment and every
quoted text byte for byte (ruamel.yaml round trip).

The canonical layout:

- keys in the order of docs/language.md (``document``, ``definitions``, ``clauses``; inside a
  document ``id number aliases title issuers level jurisdiction issued issued_precision source
  forwards in_force encoding supersession``; inside a clause ``id topic article text in_force when
  <outcome> reading notes exception_to improves``; ``zh`` before ``en``). The outputs under ``decide`` and
  the facts under ``evaluate_as`` keep their written order: it is meaningful.
- 2-space indentation; a list's ``-`` indented 2 under its key; no line folding (the source
  texts stay on one line); scalars keep their quoting style and flow collections (``[a, b]``,
  ``{zh: …, en: …}``) stay flow; ``null`` written as ``null``.
- one blank line between clauses (and between definitions), at most one blank line anywhere,
  none at the end of the file; LF line ends, no BOM, no trailing spaces.

A comment stays where it was written, attached to the key or item it follows. Before anything is
written, the result is read back: it must load (with the project's own strict loader) to the
same data in the canonical order, and hold the same comments; otherwise the file is refused and
left alone. Formatting a formatted file changes nothing."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

from policy_dsl.language.errors import Diagnostic, PolicyError, PolicyDslError, Where
from policy_dsl.language.messages import t

IN_FORCE = ("from", "until", "lower_deadline", "text", "adoptions")
TEXTS = ("zh", "en")
CLAUSE = ("id", "topic", "article", "text", "in_force", "when",
          "decide", "delegate", "adopt", "reject", "evaluate_as", "inform", "reading", "notes", "exception_to",
          "improves", "deviations")
DOCUMENT = ("id", "number", "aliases", "title", "issuers", "level", "jurisdiction", "issued", "issued_precision",
            "source", "forwards", "in_force", "encoding", "supersession")

# path pattern (``*`` = any list item) → key order; mappings not named here keep their order
ORDER: dict[tuple, tuple] = {
    (): ("document", "definitions", "clauses"),
    ("document",): DOCUMENT,
    ("document", "in_force"): IN_FORCE,
    ("document", "in_force", "adoptions", "*"): ("region", "from", "by"),
    ("document", "encoding"): ("version", "changelog"),
    ("document", "encoding", "changelog", "*"): ("version", "date", "change"),
    ("document", "supersession", "*"): ("id", "kind", "article", "text"),
    ("definitions", "*"): ("name", "kinds", "expr", "reading"),
    ("definitions", "*", "reading"): TEXTS,
    ("clauses", "*"): CLAUSE,
    ("clauses", "*", "in_force"): IN_FORCE,
    ("clauses", "*", "in_force", "adoptions", "*"): ("region", "from", "by"),
    ("clauses", "*", "delegate"): ("to", "outputs", "bounds"),
    ("clauses", "*", "delegate", "bounds"): ("max_waiting_months", "soft"),
    ("clauses", "*", "reject"): TEXTS,
    ("clauses", "*", "reading"): TEXTS,
    ("clauses", "*", "notes", "*"): ("when",) + TEXTS,
    ("clauses", "*", "inform"): TEXTS,
    ("clauses", "*", "evaluate_as"): ("kind", "facts"),
    ("clauses", "*", "deviations", "*"): ("from", "authorised_by", "text", "reading"),
    ("clauses", "*", "deviations", "*", "reading"): TEXTS,
}
# lists whose items are separated by one blank line
SPACED = {("clauses",), ("definitions",)}


class FormatRefused(PolicyError):
    """The formatted text would not hold the same content; nothing is written."""


def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 1_000_000  # never fold: the quoted source texts stay as written
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _pattern(path: tuple) -> tuple:
    return tuple("*" if isinstance(p, int) else p for p in path)


def _is_block(node) -> bool:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return isinstance(node, (CommentedMap, CommentedSeq)) and len(node) > 0 and not node.fa.flow_style()


def _tail(node):
    """(collection, key, slot) of the comment token that ends ``node``'s text."""
    from ruamel.yaml.comments import CommentedMap

    if not _is_block(node):
        return None
    if isinstance(node, CommentedMap):
        key = list(node.keys())[-1]
        slot = 2
    else:
        key = len(node) - 1
        slot = 0
    value = node[key]
    if _is_block(value):
        return _tail(value)
    return node, key, slot


def _token(where):
    node, key, slot = where
    entry = node.ca.items.get(key)
    return entry[slot] if entry and len(entry) > slot else None


def _set_token(where, value: str | None) -> None:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    node, key, slot = where
    entry = node.ca.items.setdefault(key, [None, None, None, None])
    while len(entry) < 4:
        entry.append(None)
    if not value:
        entry[slot] = None
    elif entry[slot] is not None:
        entry[slot].value = value
    else:
        entry[slot] = CommentToken(value, CommentMark(0), None)


def _split(value: str) -> tuple[str, str]:
    """A trailing comment token: (the end-of-line part, the lines after it). The end-of-line part
    is ``# …\\n`` for a comment on the value's line, else empty (the value's own line end)."""
    if not value:
        return "", ""
    first, _, rest = value.partition("\n")
    if first.strip().startswith("#"):
        return first + "\n", rest
    return "", rest


def _detach_tail(node) -> str:
    where = _tail(node)
    if where is None:
        return ""
    tok = _token(where)
    if tok is None:
        return ""
    eol, rest = _split(tok.value)
    _set_token(where, eol or None)
    return rest


def _attach_tail(node, rest: str) -> None:
    where = _tail(node)
    if where is None or not rest:
        return
    tok = _token(where)
    if tok is None:
        _set_token(where, "\n" + rest)
    else:
        eol, mine = _split(tok.value)
        _set_token(where, (eol or "\n") + mine + rest)


def _reorder(node, path: tuple) -> None:
    """Put the keys of every mapping in the canonical order, children first, moving the comment
    lines that end a mapping along with its end."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        for k in list(node.keys()):
            _reorder(node[k], path + (k,))
        order = ORDER.get(_pattern(path))
        if not order:
            return
        keys = list(node.keys())
        rank = {k: i for i, k in enumerate(order)}
        wanted = sorted(keys, key=lambda k: (rank.get(k, len(order)), keys.index(k)))
        if wanted == keys:
            return
        rest = _detach_tail(node) if _is_block(node) else ""
        for k in wanted:
            node.move_to_end(k)
        _attach_tail(node, rest)
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            _reorder(item, path + (i,))


def _tokens(node):
    """Every comment token in the tree."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if not isinstance(node, (CommentedMap, CommentedSeq)):
        return
    ca = node.ca
    if ca.comment:
        for part in ca.comment:
            for tok in (part if isinstance(part, list) else [part]):
                if tok is not None:
                    yield tok
    for entry in ca.items.values():
        for part in entry:
            for tok in (part if isinstance(part, list) else [part]):
                if tok is not None:
                    yield tok
    children = node.values() if isinstance(node, CommentedMap) else node
    for child in children:
        yield from _tokens(child)


def _blank_lines(root) -> None:
    """At most one blank line anywhere; one between spaced list items; none at the end."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    for tok in _tokens(root):
        if isinstance(tok.value, str):
            tok.value = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", tok.value)
    if isinstance(root, CommentedMap):
        for key in SPACED:
            seq = root.get(key[0])
            if isinstance(seq, CommentedSeq) and _is_block(seq):
                for i, item in enumerate(list(seq)[:-1]):
                    where = _tail(item)
                    if where is None:
                        continue
                    before_next = (seq.ca.items.get(i + 1) or [None, None])[1]  # lines ruamel keeps before the next item
                    while before_next and before_next[0].value.strip("\n") == "" and before_next[0].value:
                        before_next.pop(0)  # a blank line there (after a flow collection): the one added below replaces it
                    tok = _token(where)
                    eol, rest = _split(tok.value) if tok is not None else ("", "")
                    if not rest.startswith("\n"):
                        rest = "\n" + rest
                    _set_token(where, (eol or "\n") + rest)
    where = _tail(root)
    if where is not None:
        tok = _token(where)
        if tok is not None:
            eol, rest = _split(tok.value)
            rest = rest.strip("\n")
            _set_token(where, (eol or "\n") + (rest + "\n" if rest else "") if (eol or rest) else None)


_COMMENT = re.compile(r"(?:^|\s)(#.*)$")


def comments(text: str) -> Counter:
    """The comments of a YAML text, as a multiset of their words (position aside)."""
    out: Counter = Counter()
    for line in text.splitlines():
        m = _COMMENT.search(line)
        if m:
            out[m.group(1).strip()] += 1
    return out


def canonical_data(data, path: tuple = ()):
    """Plain data with the mappings' keys in the canonical order (for comparing)."""
    if isinstance(data, dict):
        order = ORDER.get(_pattern(path))
        keys = list(data)
        if order:
            rank = {k: i for i, k in enumerate(order)}
            keys.sort(key=lambda k: (rank.get(k, len(order)), list(data).index(k)))
        return {k: canonical_data(data[k], path + (k,)) for k in keys}
    if isinstance(data, list):
        return [canonical_data(x, path + (i,)) for i, x in enumerate(data)]
    return data


def _load_plain(text: str, name: str):
    from policy_dsl.language.yamlsafe import load_yaml

    return load_yaml(text, name, PolicyError).data


def format_text(text: str, name: str = "<text>") -> str:
    """The canonical layout of a policy file's text. Raises PolicyError when the text is not
    YAML the project reads, and FormatRefused when the result would not hold the same data and
    comments (nothing should be written then)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    before = _load_plain(text, name)  # the project's own strict reading first: its errors, its positions
    y = _yaml()
    from ruamel.yaml.error import YAMLError

    try:
        tree = y.load(text)
    except (YAMLError, ValueError) as exc:  # ruamel's errors, after the strict reading above accepted the text
        raise PolicyError(Diagnostic("E-FMT-PARSE", t("fmt.cannot_read", reason=str(exc).splitlines()[0][:200]),
                                     Where(name), t("fmt.cannot_read.hint"))) from None
    if tree is None:
        return text
    _reorder(tree, ())
    _blank_lines(tree)
    out = io.StringIO()
    y.dump(tree, out)
    result = out.getvalue()
    result = _reindent_comments("\n".join(line.rstrip() for line in result.split("\n")))
    _verify(before, text, result, name)
    return result


_BLOCK_START = re.compile(r"(?:^|[:\-])\s*[|>][-+0-9]*\s*(?:#.*)?$")


def _reindent_comments(text: str) -> str:
    """Each whole-line comment indented like the line it precedes (block scalars untouched)."""
    lines = text.split("\n")
    out = []
    block_indent = None  # inside a block scalar: the indentation of its content
    opening = False  # the line before opened a block scalar
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if opening and stripped:
            block_indent, opening = indent, False
        if block_indent is not None:
            if not stripped or indent >= block_indent:
                out.append(line)
                continue
            block_indent = None
        if stripped.startswith("#"):
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].lstrip().startswith("#")):
                j += 1
            target = len(lines[j]) - len(lines[j].lstrip(" ")) if j < len(lines) else 0
            out.append(" " * target + stripped)
            continue
        if _BLOCK_START.search(line) and not stripped.startswith(("\"", "'")):
            opening = True
        out.append(line)
    return "\n".join(out)


def _verify(before, text: str, result: str, name: str) -> None:
    try:
        after = _load_plain(result, name)
    except PolicyDslError as exc:
        raise FormatRefused(Diagnostic("E-FMT-REFUSED", t("fmt.would_not_load", reason=exc.first.message),
                                       Where(name), t("fmt.refused.hint"))) from None
    if json.dumps(canonical_data(before), ensure_ascii=False, default=str) != json.dumps(after, ensure_ascii=False, default=str):
        raise FormatRefused(Diagnostic("E-FMT-REFUSED", t("fmt.different_data"),
                                       Where(name), t("fmt.refused.hint")))
    if comments(text) != comments(result):
        lost = comments(text) - comments(result)
        raise FormatRefused(Diagnostic("E-FMT-REFUSED", t("fmt.comments_lost", comment=next(iter(lost))[:60])
                                       if lost else t("fmt.comments_changed"),
                                       Where(name), t("fmt.refused.hint")))


def format_file(path: Path, check: bool = False) -> bool:
    """Format one file in place (or only compare, with ``check``). True when it changes. The file
    is read as every policy file is (safeio: a regular file of at most 2 MiB) and written with
    ``safeio.atomic_write``: it holds its old text or the new one, never a part (a full disk, a
    file-size limit or a kill leaves it as it was). A symbolic link is followed to the file it
    names, which is the file formatted; the link stays."""
    import os

    from policy_dsl.language.safeio import LIMITS, atomic_write, decode, read_limited

    raw = read_limited(path, LIMITS["policy"], str(path), PolicyError, code="E-FILE")
    text = decode(raw, str(path), LIMITS["policy"], cls=PolicyError)
    result = format_text(text, str(path))
    changed = result.encode("utf-8") != raw
    if changed and not check:
        atomic_write(os.path.realpath(path), result, str(path), PolicyError)
    return changed
