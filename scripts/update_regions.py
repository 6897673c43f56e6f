"""Rebuild the packaged region registry, policy_dsl/data/regions.tsv, from its source.

    python scripts/update_regions.py --source PATH [--rev REV] [--since 2000-01-01] [--out FILE] [--check]

The source is the areacodes data set (https://github.com/yescallop/areacodes, CC0-1.0): the
Ministry of Civil Affairs' (民政部) yearly tables of the codes at and above county level
(GB/T 2260, 《中华人民共和国县级以上行政区划代码》), with the approvals (批复) that changed them,
their numbers and dates. PATH is a clone of that repository (files are read at REV, default
HEAD, and its commit and date are cited in the output) or a folder holding its ``codes.json``
(then give ``--commit`` and ``--date``). The script reads ``codes.json`` only.

What the output holds, for each record of a code valid on or after ``--since``: the name, a short
name (the name less its suffix: 济南市 → 济南, 延边朝鲜族自治州 → 延边), pinyin of the short name
(pypinyin, with the place-name readings of scripts/regions_readings.yaml), the level, the parent,
the first and last day it is valid, the codes it became, what changed it, and the keys a user
may type for it. Days come from the approving document's date where the source records one (a
code ends the day before, its successor starts that day), from the project's readings where it
has one for that document, else the change is known to the year only (1 January). ``--check``
exits 1 if the file is not what the source gives (nothing is written).

pypinyin is needed here only (``pip install pypinyin``), never at run time."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "policy_dsl" / "data" / "regions.tsv"
READINGS = Path(__file__).resolve().parent / "regions_readings.yaml"
SOURCE_URL = "https://github.com/yescallop/areacodes"
COLUMNS = ("code", "name", "short", "pinyin", "level", "municipality", "parent", "from", "to", "successors",
           "change", "keys")
LEVELS = {"省级": "province", "地级": "city", "县级": "district"}

# Suffixes a name is written without (longest first); the ethnic groups named in the names of
# autonomous areas (延边朝鲜族自治州 → 延边).
SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "特区", "新区", "省", "市", "区",
            "县", "旗", "盟")
ETHNIC = ("蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
          "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
          "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
          "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺")
COUNTRY = {"code": "000000", "name": "全国", "short": "全国", "pinyin": "quanguo", "level": "country",
           "keys": ("全国", "中国", "中华人民共和国", "quanguo", "zhongguo", "china")}
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0}


# -- reading the source -----------------------------------------------------------------------------
@dataclass
class Source:
    codes: dict  # codes.json
    commit: str
    date: str  # the commit's date, YYYY-MM-DD


def read_source(path: Path, rev: str = "HEAD", commit: str | None = None, date: str | None = None) -> Source:
    """codes.json from a clone (at ``rev``, with its commit and date) or from a folder."""
    if (path / "codes.json").is_file() and not (commit is None or date is None):
        return Source(json.loads((path / "codes.json").read_text(encoding="utf-8")), commit, date)
    git = ["git", "--git-dir", str(path / ".git") if (path / ".git").exists() else str(path)]
    text = subprocess.run(git + ["show", f"{rev}:codes.json"], check=True, capture_output=True).stdout.decode()
    info = subprocess.run(git + ["log", "-1", "--format=%H %cs", rev], check=True, capture_output=True).stdout.decode()
    sha, day = info.split()
    return Source(json.loads(text), sha, day)


def _cn_number(text: str) -> int:
    if all(c in _CN_DIGITS for c in text):  # 一九八五
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    tens, _, units = text.partition("十")  # 二十六, 十二, 三十
    if "十" not in text:
        return _CN_DIGITS[text]
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def approval(description: str) -> tuple[str | None, dt.date | None, str]:
    """(文号, date, title) of a change description of the source."""
    head = description.split("\n\n", 1)[0]
    lines = head.splitlines()
    title = lines[0].lstrip("# ").strip() if lines else ""
    meta = dict(line.split("：", 1) for line in lines[1:] if "：" in line)
    number = meta.get("文号") or (title if re.fullmatch(r"\S+〔\d{4}〕\d+号", title) else None)
    day = None
    m = re.search(r"(\S+?)年(\S+?)月(\S+?)日", meta.get("日期") or meta.get("时间") or "")
    if m:
        try:
            y, mo, d = (int(x) if x.isdigit() else _cn_number(x) for x in m.groups())
            day = dt.date(y, mo, d)
        except (KeyError, ValueError):
            day = None
    return number, day, title


# -- building records -------------------------------------------------------------------------------
@dataclass
class Record:
    code: str
    name: str
    level: str
    parent: str
    start: int | None  # the first year's table that has it (None: in the source's first table)
    end: int | None  # the first year's table that no longer has it
    links: list = field(default_factory=list)  # the source's successor entries ending it
    children: list = field(default_factory=list)
    municipality: bool = False
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    successors: list = field(default_factory=list)
    change: list = field(default_factory=list)
    short: str = ""
    pinyin: str = ""
    keys: tuple = ()


def records_of(codes: dict) -> list[Record]:
    """Every record of the source's tree, with its parent code (the province for a county under
    none) and the successor entries that end it (not earlier partial transfers)."""
    out = []
    first = min(it["start"] for it in codes["items"])

    def walk(items, parent: Record | None):
        for it in items:
            code = f"{it['code']:06d}"
            level = "province" if code.endswith("0000") else "city" if code.endswith("00") else "district"
            end = it.get("end")
            r = Record(code, it["name"], level, parent.code if parent else COUNTRY["code"],
                       it["start"] if it["start"] > first else None, end,
                       [s for s in it.get("succ", ()) if end is not None and s.get("time", end) == end])
            out.append(r)
            if parent is not None:
                parent.children.append(r)
            walk(it.get("children", ()), r)

    walk(codes["items"], None)
    for r in out:
        r.municipality = r.level == "province" and bool(r.children) and all(c.level == "district" for c in r.children)
    return out


def _effective(description: str, readings: dict) -> tuple[dt.date | None, str]:
    number, day, title = approval(description)
    said = f"{number or title}" + (f"（{day.isoformat()}）" if day else "")
    if number and number in readings.get("effective", {}):
        r = readings["effective"][number]
        return dt.date.fromisoformat(str(r["date"])), f"{said}；{' '.join(str(r['note']).split())}"
    return day, said


def date_changes(records: list[Record], codes: dict, readings: dict) -> None:
    """Validity days and successors. A record ends on the day before its change takes effect; the
    records it became start that day. A prefecture abolished with no entry of its own takes its
    counties' change (and, when they went into one new prefecture, that prefecture)."""
    descriptions = codes["descriptions"]
    by_code: dict[str, list[Record]] = {}
    for r in records:
        by_code.setdefault(r.code, []).append(r)
    starts: dict[tuple[str, int], tuple[dt.date | None, str]] = {}  # (code, year) -> when, why

    def when(r: Record, links) -> tuple[dt.date | None, str | None]:
        for s in links:
            if "desc" in s:
                return _effective(descriptions[str(r.end)][s["desc"]], readings)
        return None, None

    ended = [r for r in records if r.end is not None]
    change: dict[int, tuple[dt.date | None, str | None]] = {}  # id(record) -> the day its change took effect, why
    for r in sorted(ended, key=lambda r: r.level != "district"):  # counties first: prefectures use theirs
        day, why = when(r, r.links)
        succ = [f"{s['code']:06d}" for s in r.links]
        if not succ:
            gone = [c for c in r.children if c.end == r.end]
            if day is None:
                day, why = next((change[id(c)] for c in gone if change[id(c)][0] is not None), (None, None))
            for c in gone:
                for s in c.successors:
                    prefecture = s[:4] + "00"
                    new = [p for p in by_code.get(prefecture, ()) if p.start == r.end and p.level == "city"]
                    s = prefecture if new and r.level == "city" else s
                    if s not in succ:
                        succ.append(s)
            if any(x.start == r.end for x in by_code[r.code] if x is not r) and r.code not in succ:
                succ.insert(0, r.code)  # renamed under the same code
        change[id(r)] = (day, why)
        r.valid_to = (day or dt.date(r.end, 1, 1)) - dt.timedelta(days=1)
        r.successors = succ
        r.change.append(f"止：{why}" if why else f"止：{r.end}年（日期不详）")
        for s in succ:
            starts.setdefault((s, r.end), (day, why))
    for r in records:
        if r.start is None:
            continue
        day, why = starts.get((r.code, r.start), (None, None))
        r.valid_from = day or dt.date(r.start, 1, 1)
        r.change.insert(0, f"起：{why}" if why else f"起：{r.start}年（日期不详）")


# -- names ------------------------------------------------------------------------------------------
def short_name(name: str) -> str:
    """The name as written without its suffix (two characters at least, else the name)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            if suffix.startswith("自治"):
                stripped = True
                while stripped and base.endswith("族"):
                    stripped = False
                    for e in sorted(ETHNIC, key=len, reverse=True):
                        if base.endswith(e + "族") and len(base) > len(e) + 1:
                            base, stripped = base[: -len(e) - 1], True
                            break
            return base if len(base) >= 2 else name
    return name


def pinyin_of(name: str, readings: dict) -> str:
    """Toneless pinyin of a name, ü written v (吕梁 → lvliang), with the syllable mark ' before a
    syllable that starts with a, o or e."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name)
    if len(syllables) != len(name):  # one syllable a character (names are all Chinese)
        syllables = [lazy_pinyin(c)[0] for c in name]
    chars = readings.get("pinyin", {}).get("chars", {})
    syllables = [chars.get(c, s) for c, s in zip(name, syllables)]
    for word, reading in readings.get("pinyin", {}).get("names", {}).items():
        i = name.find(word)
        while i != -1:
            syllables[i: i + len(word)] = [reading] + [""] * (len(word) - 1)
            i = name.find(word, i + len(word))
    out = ""
    for s in (s.replace("ü", "v").lower() for s in syllables if s):
        out += ("'" if out and s[0] in "aoe" else "") + s  # 西安 xi'an, 金安 jin'an (济南 is jinan)
    return out


def name_keys(r: Record, readings: dict) -> None:
    """The keys a user may type: the name, the short name, their pinyin, and their pinyin without
    the syllable mark, marked `~` (xian for 西安: tried when nothing has the exact spelling)."""
    r.short = short_name(r.name)
    r.pinyin = pinyin_of(r.short, readings)
    spelled = [r.pinyin, pinyin_of(r.name, readings)]
    keys = [r.name, r.short, *spelled, *("~" + p.replace("'", "") for p in spelled if "'" in p)]
    r.keys = tuple(dict.fromkeys(k for k in keys if k))


# -- output -----------------------------------------------------------------------------------------
def build(source: Source, readings: dict, since: dt.date) -> list[Record]:
    """The records to ship: every record valid on or after ``since``, with the records they
    name as parent, in code order (a code's records oldest first)."""
    records = records_of(source.codes)
    date_changes(records, source.codes, readings)
    keep = [r for r in records if r.valid_to is None or r.valid_to >= since]
    latest = {}
    for r in records:
        if r.code not in latest or (r.valid_to is None or (latest[r.code].valid_to or dt.date.max) < r.valid_to):
            latest[r.code] = r
    kept = {id(r) for r in keep}
    for r in list(keep):
        p = latest.get(r.parent)
        while p is not None and id(p) not in kept:
            keep.append(p)
            kept.add(id(p))
            p = latest.get(p.parent)
    for r in keep:
        name_keys(r, readings)
    return sorted(keep, key=lambda r: (r.code, r.valid_from or dt.date.min))


def _cell(value: str) -> str:
    if any(c in value for c in "\t\n\r|"):
        raise SystemExit(f"a tab, newline or | in the source's text: {value!r}")
    return value


def line(r: Record) -> str:
    cells = (r.code, r.name, r.short, r.pinyin, r.level, "1" if r.municipality else "", r.parent,
             r.valid_from.isoformat() if r.valid_from else "", r.valid_to.isoformat() if r.valid_to else "",
             " ".join(r.successors), "；".join(r.change))
    return "\t".join(_cell(c) for c in cells) + "\t|" + "|".join(_cell(k) for k in r.keys) + "|"


def country_line() -> str:
    c = COUNTRY
    return "\t".join((c["code"], c["name"], c["short"], c["pinyin"], c["level"], "", "", "", "", "", "")) + \
        "\t|" + "|".join(c["keys"]) + "|"


def render(source: Source, records: list[Record], since: dt.date) -> str:
    as_of = max(max(r.start or 0, r.end or 0) for r in records_of(source.codes))
    header = {
        "title": "中华人民共和国县级以上行政区划代码（省级、地级、县级）及其变更",
        "standard": "GB/T 2260",
        "publisher": "中华人民共和国民政部",
        "source": "areacodes：民政部历年《中华人民共和国县级以上行政区划代码》与区划变更批复的汇编",
        "source_url": SOURCE_URL,
        "source_commit": source.commit,
        "source_date": source.date,
        "licence": "CC0-1.0",
        "data_as_of": f"{as_of}-12-31",
        "since": since.isoformat(),
        "readings": "scripts/regions_readings.yaml",
        "columns": " ".join(COLUMNS),
    }
    out = ["# The GB/T 2260 registry of policy-dsl: one record a line, a code's records oldest first.",
           "# Generated by scripts/update_regions.py; do not edit by hand: rerun the script.",
           "# from/to: first and last day valid (empty: before the source's first table / still valid).",
           *(f"#@{k}\t{v}" for k, v in header.items()), country_line()]
    out += [line(r) for r in records]
    return "\n".join(out) + "\n"


def load_readings(path: Path = READINGS) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True, help="a clone of the areacodes repository, or a folder with codes.json")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--commit", help="the source's commit (when --source is a plain folder)")
    ap.add_argument("--date", help="the source commit's date, YYYY-MM-DD (when --source is a plain folder)")
    ap.add_argument("--since", type=dt.date.fromisoformat, default=dt.date(2000, 1, 1),
                    help="keep records valid on or after this day (default 2000-01-01)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if --out differs from what the source gives")
    args = ap.parse_args(argv)
    source = read_source(args.source, args.rev, args.commit, args.date)
    text = render(source, build(source, load_readings(), args.since), args.since)
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'differs from the source'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {text.count(chr(10)) - 1} lines from {SOURCE_URL} @ {source.commit[:12]} ({source.date})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
