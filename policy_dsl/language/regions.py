"""The registry of administrative divisions (GB/T 2260) with validity dates, and resolution of
a user's region (code, name with or without suffix, pinyin) to a chain district → city →
province → country on a date."""

from __future__ import annotations

import datetime as dt
import functools
from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)
from pathlib import Path

from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, InputError, Where, did_you_mean

LEVELS = ("country", "province", "city", "district")


@dataclass(eq=False)
class Region:
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
        """The pooling region: the prefecture-level city, or a municipality; else the region itself."""
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

    def within(self, code: str) -> bool:
        return code in self.chain_codes

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name}


def _date(text) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


class Registry:
    """All known regions, indexed by code and by every name a user may type."""

    def __init__(self, entries: list[dict], source: dict):
        self.source = source
        self.by_code: dict[str, Region] = {}
        for e in entries:
            r = Region(
                code=e["code"], name=e["name"], short=e["short"], pinyin=e["pinyin"], level=e["level"],
                parent_code=e.get("parent"), municipality=bool(e.get("municipality")),
                valid_from=_date(e.get("valid_from")), valid_to=_date(e.get("valid_to")),
                successors=tuple(e.get("successors") or ()), change=e.get("change"),
            )
            self.by_code[r.code] = r
        self.by_name: dict[str, list[Region]] = {}
        for r in self.by_code.values():
            r.parent = self.by_code.get(r.parent_code) if r.parent_code else None
            for key in {r.name, r.short, r.pinyin.lower()}:
                self.by_name.setdefault(key, []).append(r)

    @property
    def country(self) -> Region:
        return self.by_code["000000"]

    def get(self, code: str) -> Region:
        return self.by_code[code]

    def resolve(self, text, on: dt.date | None = None, where: Where | None = None) -> Region:
        """The region ``text`` names, valid on ``on``; an InputError saying what it became otherwise."""
        if on is not None and text.__class__ is str:  # the common case, a code valid that day: no more to do
            r = self.by_code.get(text)
            if r is not None and r.valid_on(on):
                return r
        where = where or Where()
        raw = str(text).strip()
        if len(raw) > 64:  # no region name is that long: say so without echoing it all
            raise InputError(Diagnostic("E-REGION-UNKNOWN", f"`{raw[:20]}…` ({len(raw):,} characters) is not a region",
                                        where, "give a 6-digit GB/T 2260 code, a Chinese name or pinyin, e.g. 370100, 济南 or jinan"))
        key = raw.lower() if raw.isascii() else raw
        key = key.replace(" ", "")
        if key in ("全国", "china", "quanguo"):
            key = "000000"
        if key.isdigit():
            if len(key) != 6:
                raise InputError(Diagnostic("E-REGION-UNKNOWN", f"region code `{raw}` is not 6 digits", where,
                                            "a GB/T 2260 code has 6 digits, e.g. 370100 for 济南市"))
            candidates = [self.by_code[key]] if key in self.by_code else []
        else:
            candidates = list(self.by_name.get(key, ()))
        if not candidates:
            hint = did_you_mean(raw, list(self.by_name)) or "give a 6-digit GB/T 2260 code, a Chinese name or pinyin, e.g. 370100, 济南 or jinan"
            raise InputError(Diagnostic("E-REGION-UNKNOWN", f"unknown region `{raw}`", where, hint))
        if on is None:
            current = [r for r in candidates if r.valid_to is None]
        else:
            current = [r for r in candidates if r.valid_on(on)]
        if len(current) == 1:
            return current[0]
        if len(current) > 1:
            names = "、".join(f"{r.name} {r.code}" for r in current)
            raise InputError(Diagnostic("E-REGION-AMBIGUOUS", f"region `{raw}` names several divisions: {names}",
                                        where, "give the 6-digit code"))
        gone = candidates[0]
        when = f"on {on.isoformat()}" if on else "now"
        if gone.valid_to is not None and (on is None or on > gone.valid_to):
            succ = [self.by_code[c] for c in gone.successors if c in self.by_code]
            became = "、".join(f"{s.name} {s.code}" + (f"（{s.city.name}）" if s.city is not s else "") for s in succ)
            cities = sorted({s.city.name for s in succ})
            raise InputError(Diagnostic(
                "E-REGION-ABOLISHED",
                f"{gone.name} {gone.code} was abolished after {gone.valid_to.isoformat()}; it became {became}",
                where, f"use {succ[0].code} ({succ[0].name})" + (f" or the city {'、'.join(cities)}" if cities else "")
                if succ else None))
        raise InputError(Diagnostic("E-REGION-NOT-YET", f"{gone.name} {gone.code} did not exist {when} (from {gone.valid_from})",
                                    where, None))


@functools.cache
def default_registry() -> Registry:
    return load_registry(resources.data_path("regions.yaml"))


def load_registry(path: Path) -> Registry:
    from policy_dsl.language import cache

    raw = path.read_bytes()

    def read():
        from policy_dsl.language.yamlsafe import decode, load_yaml

        return load_yaml(decode(raw, str(path)), str(path)).data

    data = cache.cached("regions", [str(path), raw], read)
    return Registry(data["regions"], data.get("source", {}))
