"""Words for people: one message catalog, Chinese (``zh``, the default) and English (``en``).

The catalog is gettext's: ``policy_dsl/locale/{zh_CN,en}/LC_MESSAGES/policy_dsl.po`` (the source,
edited by hand) compiled to ``.mo`` by ``scripts/compile_messages.py`` (Babel) and read with the
standard ``gettext`` module, only when a message is first produced (docs/i18n.md). Message ids are
stable symbolic names (``check.summary``), never English sentences: the English text is a
translation like the Chinese one.

A message in code is one call::

    t("fmt.installed", path=p)          # a Message: str in the current language

The language is a context variable: the command line sets it from ``--lang`` (or
``POLICY_DSL_LANG``) for the whole command; the HTTP service sets it per request (``using``), so
requests in both languages can be answered at the same time. A Message is the text in the language
current when it was made, and keeps its id and arguments: ``localized(message, lang)`` (what
diagnostics do when they are printed) renders it again in the language asked for then.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
DOMAIN = "policy_dsl"
_LOCALE = {"zh": "zh_CN", "en": "en"}  # a language as users write it -> its catalog folder
LOCALE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "locale")

_language: ContextVar[str] = ContextVar("policy_dsl_language", default=DEFAULT)
_catalogs: dict = {}


def current() -> str:
    """The language messages are made in now (``zh`` unless a caller said otherwise)."""
    return _language.get()


def chosen(lang: str | None) -> str:
    """``lang`` if it is one of LANGUAGES, else the default (an unknown word is refused where it
    is read: ``--lang`` by argparse, ``lang=`` by the service)."""
    return lang if lang in LANGUAGES else DEFAULT


class using:
    """``with using("en"): ...``: messages made inside the block are English (the context variable
    is set for this thread or task only, and restored after)."""

    __slots__ = ("lang", "_token")

    def __init__(self, lang: str | None):
        self.lang = chosen(lang)

    def __enter__(self):
        self._token = _language.set(self.lang)
        return self.lang

    def __exit__(self, *exc):
        _language.reset(self._token)
        return False


def set_language(lang: str | None):
    """Set the language for the rest of this context (the command line does, once); returns the
    token that ``reset_language`` takes."""
    return _language.set(chosen(lang))


def reset_language(token) -> None:
    _language.reset(token)


def catalog(lang: str):
    """The compiled catalog of ``lang`` (a ``gettext.GNUTranslations``), read on first use."""
    found = _catalogs.get(lang)
    if found is None:
        path = os.path.join(LOCALE_DIR, _LOCALE[lang], "LC_MESSAGES", DOMAIN + ".mo")
        if not _READER:
            import gettext

            _READER.append(gettext.GNUTranslations)
        with open(path, "rb") as fh:
            found = _catalogs[lang] = _READER[-1](fh)
    return found


_READER: list = []  # the class that reads a compiled catalog: gettext's, unless ``read_with`` named another


def read_with(translations) -> None:
    """Read the compiled catalogs with ``translations`` (a ``gettext.GNUTranslations`` that reads
    the same files alike) from now on: the command line names one that keeps what it parsed in
    the user's cache (language/catalogs.py). Catalogs read already are kept."""
    _READER.append(translations)


def template(msgid: str, lang: str, n: int | None = None) -> str:
    """The catalog text of ``msgid`` in ``lang`` (the plural form for ``n`` where the entry has
    plural forms); the other language's text if this one lacks it, the id itself if both do (the
    tests make sure neither happens: tests/test_messages.py)."""
    for one in (lang, *(x for x in LANGUAGES if x != lang)):
        cat = catalog(one)
        text = cat.ngettext(msgid, msgid, n) if n is not None else msgid
        if text == msgid:
            text = cat.gettext(msgid)
        if text != msgid:
            return text
    return msgid


def render(msgid: str, args: dict, lang: str) -> str:
    """The text of message ``msgid`` with ``args`` filled in (``str.format`` fields), in ``lang``;
    arguments that are Messages themselves are rendered in ``lang`` too."""
    text = template(msgid, lang, args.get("n") if args else None)
    if not args:
        return text
    return text.format(**{k: _shown(v, lang) for k, v in args.items()})


def _shown(value, lang: str):
    """An argument as a message shows it in ``lang``: a Message rendered in it, a list or tuple
    joined as that language writes a list (its items shown so too)."""
    if isinstance(value, Message):
        return value.in_language(lang)
    if isinstance(value, (list, tuple)):
        return template("list.separator", lang).join(str(_shown(v, lang)) for v in value)
    return value


class Message(str):
    """A message of the catalog: the str of its text in the language current when it was made,
    which also keeps ``id`` and ``args`` to be rendered again in another (``in_language``)."""

    def __new__(cls, msgid: str, /, **args):
        self = super().__new__(cls, render(msgid, args, _language.get()))
        self.id, self.args = msgid, args
        return self

    def in_language(self, lang: str) -> str:
        return render(self.id, self.args, lang)

    def __reduce__(self):  # pickled (the policy cache) as id and arguments, rendered when read
        return (_remade, (self.id, self.args))

    def __repr__(self) -> str:
        return f"t({self.id!r}{''.join(f', {k}={v!r}' for k, v in self.args.items())})"


def _remade(msgid: str, args: dict) -> Message:
    return Message(msgid, **args)


t = Message  # the one-line way to write a message: t("id", name=value, ...)


def say(lang: str, msgid: str, /, **args) -> str:
    """The text of message ``msgid`` in ``lang`` (a plain str: for code that is given the
    language to speak, such as a result rendered for a request, rather than taking the current one)."""
    return render(msgid, args, chosen(lang))


def both(msgid: str, /, **args) -> dict:
    """``{"zh": ..., "en": ...}``: message ``msgid`` in each language, for data that carries both
    (the notes of an answer, shown later in the language asked for)."""
    return {lang: render(msgid, args, lang) for lang in LANGUAGES}


class Words:
    """A module's words in one language by key (``WORDS[lang]["title"]``), each a message of the
    catalog given as its id (``ids``: key -> id, a table of them, or None for a key that is
    deliberately empty);
    the text is the catalog's template, fields unfilled, read when first asked for."""

    __slots__ = ("lang", "ids")

    def __init__(self, lang: str, ids: dict):
        self.lang, self.ids = lang, ids

    def __getitem__(self, key: str):
        msgid = self.ids[key]
        if isinstance(msgid, dict):  # a table within the table
            return Words(self.lang, msgid)
        return template(msgid, self.lang) if msgid else ""

    def get(self, key: str, default=None):
        return self[key] if key in self.ids else default

    def __contains__(self, key) -> bool:
        return key in self.ids

    def __iter__(self):
        return iter(self.ids)

    def keys(self):
        return self.ids.keys()

    def items(self):
        return [(k, self[k]) for k in self.ids]


def words(ids: dict) -> dict:
    """``{lang: Words(lang, ids)}`` for every language: a table of words keyed by language, as
    modules that draw pages and tables index it."""
    return {lang: Words(lang, ids) for lang in LANGUAGES}


def N_(msgid: str) -> str:
    """Marks a message id kept as data (a table of ids) for the catalog checks; returns it unchanged."""
    return msgid


def localized(text, lang: str | None = None) -> str:
    """``text`` in ``lang`` (default: the current language): a Message is rendered again, any
    other text is returned as it is (it came from the policy files, or a user)."""
    if isinstance(text, Message):
        return text.in_language(lang or _language.get())
    return text if text is None or isinstance(text, str) else str(text)


_PATTERNS: dict = {}


def library_words(context: str, templates, text: str) -> str:
    """``text``, an English message a library made from one of ``templates`` (printf style:
    ``%r``, ``%s``, ``%d``), in the current language: the catalog holds each template under the
    gettext context ``context`` (as argparse's words are under ``argparse``), and the values the
    library filled in are kept. Text no template makes is returned as it is."""
    import re

    for template in templates:
        pattern = _PATTERNS.get(template)
        if pattern is None:
            parts = re.split(r"%[rsd]", template)
            pattern = _PATTERNS[template] = re.compile("(.+?)".join(map(re.escape, parts)), re.S)
        found = pattern.fullmatch(text)
        if found:
            words = catalog(current()).pgettext(context, template)
            values = iter(found.groups())
            return re.sub(r"%[rsd]", lambda _: next(values, ""), words)
    return text


def join(items) -> str:
    """Words joined as a list is written in the current language (``、`` in Chinese, ``, `` in English)."""
    return t("list.separator").join(map(str, items))
