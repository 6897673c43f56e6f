"""The message catalog: checks the two .po files and compiles them to the .mo files read at run time.

    python scripts/compile_messages.py                  # check both catalogs, write the .mo files
    python scripts/compile_messages.py --check          # exit 1 if a .mo is not what its .po compiles to
    python scripts/compile_messages.py --add ID ZH EN   # add (or change) one message in both, then compile
    python scripts/compile_messages.py --remove ID      # remove one message from both, then compile

The sources are ``policy_dsl/locale/{zh_CN,en}/LC_MESSAGES/policy_dsl.po`` (docs/i18n.md); the
compiled ``.mo`` files beside them are committed, so an installed package needs no build step and
no Babel. Needs Babel (``pip install -e ".[test]"``)."""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).resolve().parent.parent / "policy_dsl" / "locale"
LANGS = {"zh": "zh_CN", "en": "en"}
FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}|%\((\w+)\)[sr]|(%[srd])")


def po_path(lang: str) -> Path:
    return LOCALE / LANGS[lang] / "LC_MESSAGES" / "policy_dsl.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def read(path: Path):
    with open(path, "rb") as fh:
        return (read_mo if path.suffix == ".mo" else read_po)(fh)


def key(message) -> str:
    """A message's id, with its context (argparse's own words) before it: ``argparse|usage: ``."""
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return f"{message.context}|{msgid}" if message.context else msgid


def texts(catalog) -> dict:
    """id -> its text (a tuple of plural forms for a plural entry), the header left out."""
    return {key(m): (tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string) for m in catalog if m.id}


def fields(text) -> list:
    """The fields a text fills in: ``{name}`` (ours), ``%(name)s``, ``%s``, ``%r``, ``%d`` (a library's)."""
    parts = text if isinstance(text, tuple) else (text,)
    return sorted({"".join(f) for p in parts for f in FIELD.findall(p)} - {"%s", "%r", "%d"}) + sorted(
        f[2] for f in FIELD.findall(parts[0]) if f[2])


def problems() -> list[str]:
    """What is wrong with the two catalogs: ids missing from either, empty or fuzzy texts, and
    texts whose ``{fields}`` differ between the languages."""
    out = []
    cats = {lang: read(po_path(lang)) for lang in LANGS}
    found = {lang: texts(c) for lang, c in cats.items()}
    for lang, cat in cats.items():
        other = next(x for x in LANGS if x != lang)
        for msgid in sorted(set(found[other]) - set(found[lang])):
            out.append(f"{po_path(lang)}: `{msgid}` is missing (it is in the {other} catalog)")
        for m in cat:
            if not m.id:
                continue
            msgid = key(m)
            strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
            if not all(s and s.strip() for s in strings):
                out.append(f"{po_path(lang)}: `{msgid}` has no text")
            if m.fuzzy:
                out.append(f"{po_path(lang)}: `{msgid}` is marked fuzzy")
    for msgid in sorted(set(found["zh"]) & set(found["en"])):
        zh, en = fields(found["zh"][msgid]), fields(found["en"][msgid])
        if zh != en:
            out.append(f"`{msgid}`: fields differ: zh {zh}, en {en}")
    return out


def compiled(lang: str) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, read(po_path(lang)))
    return buf.getvalue()


def stale() -> list[str]:
    """The .mo files whose messages are not those of their .po file."""
    out = []
    for lang in LANGS:
        mo = mo_path(lang)
        if not mo.exists() or texts(read(mo)) != texts(read(po_path(lang))):
            out.append(str(mo))
    return out


def add(entries: dict) -> None:
    """Add or change messages in both catalogs: ``{id: (zh, en)}`` (kept sorted by id, unwrapped)."""
    for i, lang in enumerate(LANGS):
        path = po_path(lang)
        catalog = read(path)
        for msgid, pair in entries.items():
            if msgid in catalog:
                catalog[msgid].string = pair[i]
            else:
                catalog.add(msgid, pair[i])
        buf = io.BytesIO()
        write_po(buf, catalog, width=0, sort_output=True, omit_header=False)
        path.write_bytes(buf.getvalue())


def remove(msgids) -> None:
    """Remove messages from both catalogs."""
    for lang in LANGS:
        path = po_path(lang)
        catalog = read(path)
        for msgid in msgids:
            catalog.delete(msgid)
        buf = io.BytesIO()
        write_po(buf, catalog, width=0, sort_output=True, omit_header=False)
        path.write_bytes(buf.getvalue())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 if a .mo file is stale")
    ap.add_argument("--add", nargs=3, metavar=("ID", "ZH", "EN"), help="add or change one message in both catalogs")
    ap.add_argument("--remove", metavar="ID", action="append", help="remove a message from both catalogs")
    args = ap.parse_args()
    if args.remove:
        remove(args.remove)
    if args.add:
        add({args.add[0]: tuple(args.add[1:])})
    found = problems()
    for p in found:
        print(p, file=sys.stderr)
    if args.check:
        out_of_date = stale()
        for p in out_of_date:
            print(f"{p} is out of date: run python scripts/compile_messages.py", file=sys.stderr)
        return 1 if found or out_of_date else 0
    if found:
        return 1
    for lang in LANGS:
        data = compiled(lang)
        if not mo_path(lang).exists() or mo_path(lang).read_bytes() != data:
            mo_path(lang).write_bytes(data)
            print(f"wrote {mo_path(lang).relative_to(LOCALE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
