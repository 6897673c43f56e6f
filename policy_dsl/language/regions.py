"""The registry of administrative divisions (GB/T 2260: province, prefecture, county) with the days
each code is valid and what it became, and resolution of what a user types for a region — a code,
a Chinese name with or without its suffix, a name with its city or province before it (济南市历下区,
济南历下), pinyin — to one division valid on a date, with its chain district → city (the pooling
region) → province → country. A name that fits several divisions is an error listing them.

The data is ``policy_dsl/data/regions.tsv``, built by ``scripts/update_regions.py`` from its cited
source: one record a line, in code order, the keys a user may type for it in its last column
(``|历下区|历下|lixia|lixiaqu|``). It is read as bytes and searched, not parsed whole: a command
that names one region reads the lines of that region and its chain only. ``search`` (for the
service and the web page) builds an index of every key on first use.

Every message this module says is in ``MESSAGES`` (ids of the message catalog), in Chinese and English."""

from __future__ import annotations

import datetime as dt
import functools

from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, InputError, Where
from policy_dsl.language.messages import N_, words
from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)

LEVELS = ("country", "province", "city", "district")
MAX_INPUT = 64  # no region name is longer: longer input is refused without echoing it all

_MESSAGES_IDS = {  # key -> message id (the words are in the catalog)
    "how": N_("regions.words.how"),
    "too-long": N_("regions.words.too_long"),
    "not-six-digits": N_("regions.words.not_six_digits"),
    "six-digits": N_("regions.words.six_digits"),
    "unknown-code": N_("regions.words.unknown_code"),
    "unknown-name": N_("regions.words.unknown_name"),
    "did-you-mean": N_("regions.words.did_you_mean"),
    "ambiguous": N_("regions.words.ambiguous"),
    "ambiguous-hint": N_("regions.words.ambiguous_hint"),
    "abolished": N_("regions.words.abolished"),
    "abolished-bare": N_("regions.words.abolished_bare"),
    "renamed": N_("regions.words.renamed"),
    "use-instead": N_("regions.words.use_instead"),
    "use-instead-city": N_("regions.words.use_instead_city"),
    "not-yet": N_("regions.words.not_yet"),
    "on-day": N_("regions.words.on_day"),
    "now": N_("regions.words.now"),
    "was-before": N_("regions.words.was_before"),
    "jurisdiction-unknown": N_("regions.words.jurisdiction_unknown"),
    "jurisdiction-unknown-hint": N_("regions.words.jurisdiction_unknown_hint"),
    "jurisdiction-period": N_("regions.words.jurisdiction_period"),
    "jurisdiction-period-hint-ended": N_("regions.words.jurisdiction_period_hint_ended"),
    "jurisdiction-period-hint-gone": N_("regions.words.jurisdiction_period_hint_gone"),
    "jurisdiction-period-hint-later": N_("regions.words.jurisdiction_period_hint_later"),
    "span": N_("regions.words.span"),
    "list-sep": N_("regions.words.list_sep"),
    "code-and-name": N_("regions.words.code_and_name"),
    "open-start": N_("regions.words.open_start"),
    "open-end": N_("regions.words.open_end"),
}
MESSAGES = words(_MESSAGES_IDS)


def say(key: str, lang: str = "zh", **values) -> str:
    """The message ``key`` in ``lang`` (zh or en), filled in."""
    texts = MESSAGES.get(lang) or MESSAGES["zh"]
    return texts[key].format(**values)


@dataclass(eq=False)
class Region:
    """One record of a code: a division under one name, valid from ``valid_from`` to ``valid_to``
    (inclusive; None: before the registry's first table / still valid). Records of one code
    compare equal."""

    code: str
    name: str
    short: str
    pinyin: str
    level: str
    parent_code: str | None = None
    municipality: bool = False
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    successors: tuple[str, ...] = ()
    change: str | None = None
    keys: tuple[str, ...] = ()
    parent: "Region | None" = field(default=None, repr=False)

    def __eq__(self, other):
        return isinstance(other, Region) and other.code == self.code

    def __hash__(self):
        return hash(self.code)

    def __str__(self) -> str:
        return self.name

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    @functools.cached_property
    def chain(self) -> tuple["Region", ...]:
        """This region and its ancestors, most specific first."""
        out = [self]
        while out[-1].parent is not None:
            out.append(out[-1].parent)
        return tuple(out)

    @functools.cached_property
    def chain_codes(self) -> frozenset[str]:
        return frozenset(r.code for r in self.chain)

    @functools.cached_property
    def city(self) -> "Region":
        """The pooling region: the prefecture-level city, or a municipality; else the region itself
        (a county-level city under its province directly, such as 济源市)."""
        for r in self.chain:
            if r.level == "city" or (r.level == "province" and r.municipality):
                return r
        return self

    @functools.cached_property
    def province(self) -> "Region":
        for r in self.chain:
            if r.level == "province":
                return r
        return self

    @property
    def full_name(self) -> str:
        """The name with its province and city before it: 山东省济南市历下区 (全国 for the country)."""
        names = [r.name for r in reversed(self.chain) if r.level != "country"]
        return "".join(names) or self.name

    def within(self, code: str) -> bool:
        return code in self.chain_codes

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name}

    def describe(self) -> dict:
        """What ``Registry.search`` answers for this record."""
        return {"code": self.code, "name": self.name, "full_name": self.full_name, "level": self.level,
                "city": self.city.to_json() if self.city is not self else None,
                "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_to": self.valid_to.isoformat() if self.valid_to else None,
                "successors": list(self.successors)}


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


class _ByCode:
    """``Registry.by_code``: code → the code's latest record, as a read-only mapping whose records
    are read from the data when first asked for."""

    def __init__(self, registry: "Registry"):
        self._registry = registry

    def get(self, code, default=None):
        try:
            return self._registry.get(code)
        except KeyError:
            return default

    def __getitem__(self, code) -> Region:
        return self._registry.get(code)

    def __contains__(self, code) -> bool:
        return self.get(code) is not None

    def keys(self):
        return [r.code for r in self._registry.latest()]

    def __iter__(self):
        return iter(self.keys())

    def values(self):
        return self._registry.latest()

    def items(self):
        return [(r.code, r) for r in self._registry.latest()]

    def __len__(self) -> int:
        return len(self._registry.latest())


class Registry:
    """Every record of the registry file. ``get``/``by_code``: a code's latest record;
    ``records``: all of a code's records; ``resolve``: what a user typed, on a day; ``search``:
    candidates for a prefix. The methods named here are the public interface."""

    def __init__(self, data: bytes, origin: str = "<regions>"):
        self.origin = origin
        self._data = data
        self.source: dict = {}
        pos = 0
        while data.startswith(b"#", pos):  # the header: comments and `#@key<TAB>value` lines
            end = data.index(b"\n", pos)
            if data.startswith(b"#@", pos):
                key, _, value = data[pos + 2:end].decode("utf-8").partition("\t")
                self.source[key] = value
            pos = end + 1
        self._body = pos - 1  # the newline before the first record: every record follows a newline
        self._at: dict[int, Region] = {}  # line offset -> its record
        self._latest: dict[str, Region] = {}  # code -> its latest record
        self._records: dict[str, tuple[Region, ...]] = {}
        self._keyed: dict[str, tuple[Region, ...]] = {}
        self._all: list[Region] | None = None
        self._index: list | None = None
        self.by_code = _ByCode(self)

    # -- records
    def _line(self, start: int) -> Region:
        r = self._at.get(start)
        if r is not None:
            return r
        end = self._data.find(b"\n", start)
        f = self._data[start:end if end != -1 else len(self._data)].decode("utf-8").split("\t")
        code, name, short, pinyin, level, municipal, parent, vf, vt, succ, change, keys = f
        r = Region(code=code, name=name, short=short, pinyin=pinyin, level=level, parent_code=parent or None,
                   municipality=municipal == "1", valid_from=_date(vf), valid_to=_date(vt),
                   successors=tuple(succ.split()), change=change or None, keys=tuple(keys.strip("|").split("|")))
        self._at[start] = r
        if parent:
            r.parent = self.get(parent)
        return r

    def records(self, code: str) -> tuple[Region, ...]:
        """Every record of ``code``, oldest first (empty if the registry has no such code)."""
        hit = self._records.get(code)
        if hit is not None:
            return hit
        out = []
        if code.__class__ is str and len(code) == 6 and code.isdigit():
            data, needle = self._data, code.encode() + b"\t"
            start = self._first_line(needle[:6])
            while data.startswith(needle, start):
                out.append(start)
                start = data.find(b"\n", start) + 1
                if not start:
                    break
        found = tuple(self._line(s) for s in out)
        if found:
            self._records[code] = found
        return found

    def _first_line(self, code: bytes) -> int:
        """The offset of the first record whose code is ``code`` or after it (binary search: the
        records are in code order)."""
        data = self._data
        lo, hi = self._body + 1, len(data)  # records starting before lo are before code; at hi or after, not
        while lo < hi:
            mid = (lo + hi) // 2
            start = data.rfind(b"\n", lo - 1, mid) + 1  # the start of the record holding mid
            if data[start:start + 6] < code:
                lo = data.find(b"\n", start) + 1 or len(data)
            else:
                hi = start
        return lo

    def get(self, code: str) -> Region:
        """The latest record of ``code``; KeyError if there is none."""
        r = self._latest.get(code)
        if r is None:
            found = self.records(code) if code.__class__ is str else ()
            if not found:
                raise KeyError(code)
            r = self._latest[code] = found[-1]
        return r

    @property
    def country(self) -> Region:
        return self.get("000000")

    def all(self) -> list[Region]:
        """Every record, in code order (read whole on first use)."""
        if self._all is None:
            data, out, i = self._data, [], self._body
            latest = self._latest
            while i != -1 and i + 1 < len(data):
                r = self._line(i + 1)
                out.append(r)
                latest[r.code] = r  # a parent's records all come before its children's
                i = data.find(b"\n", i + 1)
            groups: dict[str, list] = {}
            for r in out:
                groups.setdefault(r.code, []).append(r)
            self._records.update((c, tuple(g)) for c, g in groups.items())
            self._all = out
        return self._all

    def latest(self) -> list[Region]:
        """Each code's latest record, in code order."""
        out = {}
        for r in self.all():
            out[r.code] = r
        return list(out.values())

    def current(self, on: dt.date | None = None) -> list[Region]:
        """The records valid on ``on`` (None: still valid), in code order."""
        return [r for r in self.all() if (r.valid_to is None if on is None else r.valid_on(on))]

    def with_key(self, key: str) -> tuple[Region, ...]:
        """The records a user's ``key`` (a name, short name or pinyin, as typed) names exactly."""
        hit = self._keyed.get(key)
        if hit is not None:
            return hit
        out = []
        if key and "|" not in key and "\n" not in key:
            data, needle = self._data, ("|" + key + "|").encode("utf-8")
            i = data.find(needle, self._body)
            while i != -1:
                out.append(self._line(data.rfind(b"\n", 0, i) + 1))
                i = data.find(b"\n", i)
                i = data.find(needle, i) if i != -1 else -1
        found = tuple(out)
        if len(self._keyed) < 4096:
            self._keyed[key] = found
        return found

    def named(self, key: str, within: Region | None = None) -> list[Region]:
        """The records ``key`` names: a key of their own, or a region's key followed by a lower
        region's (济南市历下区, 济南历下, 山东济南, jinanlixia); inside ``within`` if given."""
        direct = [r for r in self.with_key(key) if within is None or (r.within(within.code) and r is not within)]
        if direct:
            return direct
        out: list[Region] = []
        for i in range(min(len(key) - 2, 32), 1, -1):  # the longest head that names a region with the rest in it
            head, rest = key[:i], key[i:]
            for h in self.with_key(head):
                if h.level == "district" or (within is not None and (not h.within(within.code) or h is within)):
                    continue
                for r in self.named(rest, h):
                    if all(r is not x for x in out):
                        out.append(r)
            if out:
                break
        return out

    # -- resolution
    def resolve(self, text, on: dt.date | None = None, where: Where | None = None, lang: str = "zh") -> Region:
        """The one record ``text`` names that is valid on ``on`` (None: now). An InputError (in
        ``lang``) when it names none, several (each listed with its city and code), or one that
        was abolished (saying what it became) or did not exist yet."""
        if on is not None and text.__class__ is str:  # the common case, a code valid that day
            r = self._latest.get(text)
            if r is not None and r.valid_on(on):
                return r
        where = where or Where()
        raw = str(text).strip()
        if len(raw) > MAX_INPUT:
            raise InputError(Diagnostic("E-REGION-UNKNOWN", say("too-long", lang, head=raw[:20], n=len(raw)), where,
                                        say("how", lang)))
        key = normal_key(raw)
        if key.isdigit():
            if len(key) != 6:
                raise InputError(Diagnostic("E-REGION-UNKNOWN", say("not-six-digits", lang, raw=raw), where,
                                            say("six-digits", lang)))
            candidates = list(self.records(key))
            if not candidates:
                raise InputError(Diagnostic("E-REGION-UNKNOWN", say("unknown-code", lang, raw=raw), where, say("how", lang)))
        else:
            candidates = self.named(key) if key else []
            if key.isascii() and not any(_alive(r, on) for r in candidates):  # xian: 西安 xi'an
                loose = self.named("~" + key.replace("'", ""))
                candidates += [r for r in loose if all(r is not x for x in candidates)]
            if not candidates:
                close = self._closest(key)
                raise InputError(Diagnostic("E-REGION-UNKNOWN", say("unknown-name", lang, raw=raw), where,
                                            say("did-you-mean", lang, word=close) if close else say("how", lang)))
        live = [r for r in candidates if _alive(r, on)]
        if len(live) > 1:
            live = _narrow(live, key)
        if len(live) == 1:
            return live[0]
        if live:
            names = say("list-sep", lang).join(f"{r.full_name} {r.code}" for r in live)
            first = live[0]
            example = (first.city.name + first.name) if first.city is not first else first.full_name
            raise InputError(Diagnostic("E-REGION-AMBIGUOUS", say("ambiguous", lang, raw=raw, n=len(live), names=names),
                                        where, say("ambiguous-hint", lang, example=example)))
        gone = [r for r in candidates if r.valid_to is not None and (on is None or on > r.valid_to)]
        if gone:
            raise InputError(self._gone(max(gone, key=lambda r: r.valid_to), where, lang))
        later = min(candidates, key=lambda r: r.valid_from or dt.date.min)
        before = self.predecessors(later)
        when = say("on-day", lang, day=on.isoformat()) if on else say("now", lang)
        raise InputError(Diagnostic(
            "E-REGION-NOT-YET", say("not-yet", lang, name=later.full_name, code=later.code,
                                    day=later.valid_from.isoformat() if later.valid_from else "?", on=when),
            where, say("was-before", lang, before=say("list-sep", lang).join(f"{r.full_name} {r.code}" for r in before)) if before else None))

    def _gone(self, gone: Region, where: Where, lang: str) -> Diagnostic:
        day = (gone.valid_to + dt.timedelta(days=1)).isoformat()
        became = self.became(gone)
        if [s.code for s in became] == [gone.code]:
            return Diagnostic("E-REGION-ABOLISHED", say("renamed", lang, name=gone.full_name, code=gone.code, day=day,
                                                        new=f"{became[0].name} {became[0].code}"),
                              where, say("use-instead", lang, first=say("code-and-name", lang, code=became[0].code,
                                                                        name=became[0].name)))
        if not became:
            return Diagnostic("E-REGION-ABOLISHED", say("abolished-bare", lang, name=gone.full_name, code=gone.code, day=day),
                              where, None)
        sep = say("list-sep", lang)
        text = sep.join(f"{s.full_name} {s.code}" for s in became)
        cities = sorted({s.city.name + " " + s.city.code for s in became if s.city is not s})
        first = say("code-and-name", lang, code=became[0].code, name=became[0].name)
        hint = say("use-instead-city", lang, first=first, cities=sep.join(cities)) if cities else say("use-instead", lang, first=first)
        return Diagnostic("E-REGION-ABOLISHED", say("abolished", lang, name=gone.full_name, code=gone.code, day=day, became=text),
                          where, hint)

    def became(self, gone: Region) -> list[Region]:
        """The records ``gone`` became: each successor's record that starts after ``gone`` ends."""
        out = []
        for code in gone.successors:
            recs = self.records(code)
            after = [r for r in recs if gone.valid_to is None or r.valid_to is None or r.valid_to > gone.valid_to]
            if after:
                out.append(after[0])
        return out

    def predecessors(self, region: Region) -> list[Region]:
        """The records that became ``region``: those ending before it starts that name its code
        among their successors."""
        data, needle, out = self._data, region.code.encode(), []
        i = data.find(needle, self._body)
        while i != -1:
            r = self._line(data.rfind(b"\n", 0, i) + 1)
            if (region.code in r.successors and r.valid_to is not None and region.valid_from is not None
                    and r.valid_to < region.valid_from and all(r is not x for x in out)):
                out.append(r)
            i = data.find(needle, i + 1)
        return out

    def _closest(self, key: str) -> str | None:
        import difflib

        if not key or len(key) > MAX_INPUT:
            return None
        words = {k for r in self.all() for k in r.keys if k.isascii() == key.isascii()}
        close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.6)
        return close[0] if close else None

    # -- documents
    def jurisdiction_problem(self, code: str, first: dt.date, last: dt.date | None, where: Where,
                             lang: str = "zh") -> Diagnostic | None:
        """An error unless ``code`` names one division valid on every day from ``first`` to
        ``last`` (None: with no end) — the period a document is in force."""
        recs = self.records(code)
        if not recs:
            return Diagnostic("E-REGION-UNKNOWN", say("jurisdiction-unknown", lang, code=code), where,
                              say("jurisdiction-unknown-hint", lang))
        spans = []  # (first record, last record) of the code's unbroken stretches (a renaming keeps the division)
        for r in recs:
            prev = spans[-1][1] if spans else None
            if (prev is not None and prev.valid_to is not None and r.valid_from is not None and prev.successors == (code,)
                    and r.valid_from == prev.valid_to + dt.timedelta(days=1)):
                spans[-1] = (spans[-1][0], r)
            else:
                spans.append((r, r))
        for a, b in spans:
            if (a.valid_from is None or a.valid_from <= first) and (b.valid_to is None or (last is not None and last <= b.valid_to)):
                return None
        # the stretch that holds the first day, else the last one that ended before it, else the first after it
        a, b = next((s for s in spans if (s[0].valid_from is None or s[0].valid_from <= first)
                     and (s[1].valid_to is None or first <= s[1].valid_to)), (None, None))
        if a is None:
            before = [s for s in spans if s[1].valid_to is not None and s[1].valid_to < first]
            a, b = before[-1] if before else spans[0]
        valid = say("span", lang, start=a.valid_from.isoformat() if a.valid_from else say("open-start", lang),
                    end=b.valid_to.isoformat() if b.valid_to else say("open-end", lang))
        period = say("span", lang, start=first.isoformat(), end=last.isoformat() if last else say("open-end", lang))
        sep = say("list-sep", lang)
        if b.valid_to is not None and b.valid_to < first:
            became = sep.join(f"{s.full_name} {s.code}" for s in self.became(b)) or "—"
            hint = say("jurisdiction-period-hint-gone", lang, day=(b.valid_to + dt.timedelta(days=1)).isoformat(), became=became)
        elif b.valid_to is not None and (last is None or last > b.valid_to):
            became = sep.join(f"{s.full_name} {s.code}" for s in self.became(b)) or "—"
            hint = say("jurisdiction-period-hint-ended", lang, became=became, last=b.valid_to.isoformat())
        else:
            hint = say("jurisdiction-period-hint-later", lang)
        return Diagnostic("E-JURISDICTION-PERIOD", say("jurisdiction-period", lang, name=b.name, code=code, valid=valid,
                                                       period=period), where, hint)

    # -- search
    def search(self, q: str, limit: int = 10, on: dt.date | None = None) -> list[dict]:
        """Records for a query being typed: a code prefix (3701), the start of a Chinese name or
        pinyin (济, 历下, jin, lix), or a region then the start of a lower one (济南历, jinanli).
        Only records valid on ``on`` (None: still valid); exact keys first, then by level and
        code. Each is ``Region.describe()``: code, name, full name, level, city, valid from/to."""
        import bisect

        key = normal_key(str(q)[:MAX_INPUT])
        if not key or limit <= 0:
            return []
        alive = (lambda r: r.valid_to is None) if on is None else (lambda r: r.valid_on(on))
        if key.isdigit():
            found = [r for r in self.all() if r.code.startswith(key) and alive(r)]
            return [r.describe() for r in found[:limit]]
        index = self._search_index()

        def starting(prefix: str, within: Region | None = None) -> list[Region]:
            i = bisect.bisect_left(index, (prefix,))
            out = []
            while i < len(index) and index[i][0].startswith(prefix):
                r = index[i][2]
                if alive(r) and (within is None or (r.within(within.code) and r is not within)):
                    out.append((index[i][0] != prefix, len(index[i][0]), r))
                i += 1
            return out

        hits = starting(key)
        if not hits:
            for i in range(min(len(key) - 1, 32), 0, -1):
                for h in self.with_key(key[:i]):
                    if h.level != "district" and alive(h):
                        hits += starting(key[i:], h)
        hits.sort(key=lambda t: (t[0], t[1], LEVELS.index(t[2].level), t[2].code))
        seen, out = set(), []
        for _, _, r in hits:
            if id(r) not in seen:
                seen.add(id(r))
                out.append(r.describe())
                if len(out) == limit:
                    break
        return out

    def _search_index(self) -> list:
        if self._index is None:
            self._index = sorted(((k.lstrip("~"), n, r) for n, r in enumerate(self.all()) for k in r.keys),
                                 key=lambda t: (t[0], t[1]))
        return self._index


def _alive(r: Region, on: dt.date | None) -> bool:
    return r.valid_to is None if on is None else r.valid_on(on)


def _narrow(live: list[Region], key: str) -> list[Region]:
    """Of several records a key names, the one meant when the others cannot be: the ones whose full
    name it is (吉林市, not 吉林省), else a city named with the districts inside it that share its
    name (东营: 东营市, not its 东营区)."""
    exact = [r for r in live if r.name == key]
    if exact and len(exact) < len(live):
        live = exact
    cities = {r.city.code for r in live}
    if len(cities) == 1:
        top = [r for r in live if r.city is r]
        if len(top) == 1:
            return top
    return live


def normal_key(text: str) -> str:
    """What a user typed, as the registry's keys are written: no spaces or separators, full-width
    forms as ASCII, Latin letters in lower case, ü as v."""
    if not text.isascii() and not all("\u4e00" <= ch <= "\u9fff" for ch in text):  # CJK ideographs alone (济南)
        import unicodedata  # are as NFKC writes them, with nothing below to replace: no import of unicodedata

        text = unicodedata.normalize("NFKC", text).replace("ü", "v").replace("Ü", "v").replace("’", "'").replace("‘", "'")
    if text.isascii():
        text = text.lower().replace("u:", "v").replace("`", "'")
        for sep in " -_,./":
            text = text.replace(sep, "")
    else:
        for sep in " \u3000·、，,/":
            text = text.replace(sep, "")
    return text


@functools.cache
def default_registry() -> Registry:
    return load_registry(resources.data_file("regions.tsv"))


def load_registry(path) -> Registry:
    """The registry in the table at ``path`` (a str or a path-like object)."""
    with open(path, "rb") as fh:
        return Registry(fh.read(), str(path))
