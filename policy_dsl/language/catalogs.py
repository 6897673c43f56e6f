"""The message catalogs as gettext reads them, kept in the user's cache (language/cache.py):
gettext parses each of a catalog's thousand-odd entries in Python, 1-2 ms at every start that
says a word; reading what it made back takes a quarter of that. The command line reads its
catalogs so (``messages.read_with``; language/messages.py cannot import the cache, which speaks
through it)."""

from __future__ import annotations

import gettext
import io

from policy_dsl.language import cache


class KeptTranslations(gettext.GNUTranslations):
    """``gettext.GNUTranslations`` whose reading of a compiled catalog is kept under the
    catalog's bytes: exactly what gettext's ``_parse`` made — the messages, the header's fields,
    the charset — with the plural rule made again from the header as gettext makes it. Anything
    else under that key is a miss, and the file is parsed (and kept)."""

    def _parse(self, fp):  # the hook gettext names for another way of reading a .mo file
        raw = fp.read()
        entry = cache.key("catalog", raw)
        kept = cache.load("catalog", entry, tuple)
        if kept is not None and len(kept) == 3 and isinstance(kept[0], dict) and isinstance(kept[1], dict) \
                and isinstance(kept[2], (str, type(None))):
            self._catalog, self._info, self._charset = kept
            forms = self._info.get("plural-forms")
            self.plural = gettext.c2py(forms.split(";")[1].split("plural=")[1]) if forms else _germanic
            return
        super()._parse(io.BytesIO(raw))
        cache.store("catalog", entry, (self._catalog, self._info, self._charset))


def _germanic(n) -> int:
    """gettext's plural rule where a catalog names none."""
    return int(n != 1)
