"""Cases and answers as tables: the files a data team holds (CSV, Excel, Parquet) read as case data,
and answers written as rows.

Reading. A table has a header row naming its columns: a case key (``id``, ``kind``, ``region``),
a fact or person flag of the kinds table, by its name or its label (``data/kinds.yaml`` ``labels``:
``缴费日期`` for ``paid_on``); a list of mappings (``enrollments``) is given either as flattened
columns ``enrollments.0.scheme``, ``enrollments.1.basis`` … (numbered from 0, as the case validator
names them) or as JSON text in one ``enrollments`` cell. Other columns (a name, an identity
number…) are not read, and said so once. Each row is one case: an empty cell is a key left out;
a cell is converted by the type the kinds table gives its fact (``true``/``false``/``是``/``否`` for
true or false, numbers for numbers, a date cell of Excel or Parquet as the date's text, a month
given as its first day as ``YYYY-MM``); anything else is passed on as text, and the case validator
— the same one every case goes through, which also reads dates as people type them — says what
is wrong with it. A row is numbered as the file shows it: the header is row 1 of a CSV or Excel
sheet, the first case row 2; the first case of a Parquet file is row 1.

Writing. One row per answer, in input order: ``ROW_FIELDS`` — ``id``, ``kind``, ``region`` (code),
``decision_date``, ``status``, every output of the kinds table, ``bounds`` (JSON text),
``governing`` (the deciding clause as "文号 › 条款"), ``rule`` (its rule id), ``notes`` and
``error`` as text. Each row is made from the JSON answer of the case (``answer_row``), which
stays the reference. CSV and Excel take Chinese headings under ``--lang zh`` (``headings``);
Parquet keeps the field names and typed columns (dates as dates, counts as integers).

pyarrow (Parquet) and openpyxl (Excel) are the ``data`` extra, imported only when such a file is
read or written."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re

from policy_dsl.language.errors import Diagnostic, InputError, Where, did_you_mean
from policy_dsl.language.messages import N_, join, t, words

# Formats by extension. `json` and `yaml` hold one case or a list; `jsonl` one case a line.
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
              ".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}
FORMATS = ("jsonl", "json", "yaml", "csv", "parquet", "xlsx")
TABULAR = frozenset({"csv", "parquet", "xlsx"})
BINARY = frozenset({"parquet", "xlsx"})  # written to a file only, never to a terminal or a pipe
EXTRA = {"parquet": "pyarrow", "xlsx": "openpyxl"}  # the library each needs (the `data` extra)

MAX_XLSX_BYTES = 256 * 1024 * 1024  # an Excel file is a zip read whole by openpyxl's reader
EXCEL_MAX_ROWS = 1_048_576  # Excel's own limit, header row included
MAX_BAD_ROWS = 100_000  # a CSV whose rows cannot be read at all (after this many, it is not CSV)

# Every user-facing word of this module, in one place (the message catalogue takes them from here).
_WORDS_IDS = {  # key -> message id (the words are in the catalog)
    "id": N_("tables.words.id"),
    "kind": N_("tables.words.kind"),
    "region": N_("tables.words.region"),
    "decision_date": N_("tables.words.decision_date"),
    "status": N_("tables.words.status"),
    "bounds": N_("tables.words.bounds"),
    "governing": N_("tables.words.governing"),
    "rule": N_("tables.words.rule"),
    "notes": N_("tables.words.notes"),
    "error": N_("tables.words.error"),
    "row": N_("tables.words.row"),
}
WORDS = words(_WORDS_IDS)
# The names a header may give the case keys, beside the key itself (and the headings written above).
KEY_NAMES = {"id": ("编号", "ID", "Id"), "kind": ("案例类型", "类型", "种类"), "region": ("地区", "地区代码", "统筹地区", "参保地")}
TRUE_WORDS = frozenset({"true", "是", "1", "yes", "y", "对", "√"})
FALSE_WORDS = frozenset({"false", "否", "0", "no", "n", "错", "×"})
_ABSENT = object()
_INDEX = re.compile(r"0|[1-9][0-9]{0,2}")
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,15}")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def format_of(path: str) -> str | None:
    """The format a file's extension names (``EXTENSIONS``), or None."""
    return EXTENSIONS.get(os.path.splitext(str(path))[1].lower())


def need_library(fmt: str, where: str) -> None:
    """An InputError (E-FORMAT) if the library ``fmt`` needs is not installed, saying how to add it."""
    name = EXTRA.get(fmt)
    if name is None:
        return
    import importlib.util

    if importlib.util.find_spec(name) is None:
        raise InputError(Diagnostic("E-FORMAT", t("tables.needs_library", fmt=fmt, library=name),
                                    Where(where), t("tables.needs_library.hint")))


# -- reading ---------------------------------------------------------------------------------


def _vocab():
    from policy_dsl.language.kinds import vocabulary

    return vocabulary()


class Columns:
    """What each column of a header gives: a path into the case (``("paid_on",)``,
    ``("enrollments", 0, "scheme")``) and the spec of its value, or nothing (a column not read).
    Picklable: the process pool sends it with each batch."""

    __slots__ = ("paths", "specs", "ignored", "names")

    def __init__(self, header, where: str):
        self.names = [("" if h is None else str(h)).strip() for h in header]
        self.paths, self.specs, self.ignored = [], [], []
        words, specs = _words(), _specs()
        seen: dict = {}
        for i, name in enumerate(self.names):
            path = _path(name, words, specs)
            if path is None:
                if name:
                    self.ignored.append(name)
                self.paths.append(None)
                self.specs.append(None)
                continue
            if path in seen:
                raise InputError(Diagnostic(
                    "E-CASE-COLUMN", t("tables.same_column", first=seen[path] + 1, first_name=self.names[seen[path]], second=i + 1,
                                       second_name=name, key=".".join(map(str, path))), Where(where, 1),
                    t("tables.same_column.hint")))
            seen[path] = i
            self.paths.append(path)
            self.specs.append(_spec_of(path, specs))
        for key in ("kind", "region"):
            if (key,) not in seen:
                raise InputError(Diagnostic(
                    "E-CASE-COLUMN", t("tables.no_column", key=key), Where(where, 1),
                    t("tables.no_column.hint", key=key, names="、".join(KEY_NAMES[key]),
                      header=join(f"`{n}`" for n in self.names if n)[:300])))

    def notice(self) -> str | None:
        """Columns not read, with a likely name for each that looks like one (None if all are read)."""
        if not self.ignored:
            return None
        known = list(_words())
        shown = []
        for name in self.ignored[:20]:
            guess = did_you_mean(name, known)
            shown.append(f"`{name}`" + (f" ({guess})" if guess else ""))
        more = len(self.ignored) - 20
        return ", ".join(shown) + (f" … (+{more})" if more > 0 else "")

    def case(self, cells) -> dict:
        """The case data of one row of cells (shorter rows: the missing cells are empty)."""
        out: dict = {}
        nested = None
        for path, spec, cell in zip(self.paths, self.specs, cells):
            if path is None:
                continue
            value = cell_value(cell, spec)
            if value is _ABSENT:
                continue
            if len(path) == 1:
                out[path[0]] = value
            else:
                if nested is None:
                    nested = {}
                nested.setdefault(path[0], {}).setdefault(path[1], {})[path[2]] = value
        if nested:
            for name, items in nested.items():
                if name in out:  # both JSON text and flattened columns: the validator names the list
                    continue
                out[name] = [items[i] for i in sorted(items)]
        return out


def _words() -> dict:
    """Every name a header may use → the key it means (names, then labels)."""
    global _WORDS
    if _WORDS is None:
        vocab = _vocab()
        words: dict = {}
        for key, names in KEY_NAMES.items():
            words[key] = key
            for lang in ("zh", "en"):
                words.setdefault(WORDS[lang][key], key)
            for n in names:
                words.setdefault(n, key)
        for name in _specs():
            words.setdefault(name, name)
        for name in _specs():
            for lang in ("zh", "en"):
                label = vocab.fact_label(name, lang)
                if label != name:
                    words.setdefault(label, name)
        _WORDS = words
    return _WORDS


_WORDS = None
_SPECS = None


def _specs() -> dict:
    """Each fact and person flag by name → its spec (the same name means the same fact in every
    kind, and in every list of mappings)."""
    global _SPECS
    if _SPECS is None:
        vocab = _vocab()
        specs: dict = {}
        for kind in vocab.kinds.values():
            for name, spec in kind.facts.items():
                specs.setdefault(name, spec)
                if spec["type"] == "list" and isinstance(spec.get("items"), dict):
                    for item, item_spec in spec["items"].items():
                        specs.setdefault(item, item_spec)
        for name, spec in vocab.person_flags.items():
            specs.setdefault(name, spec)
        specs["region"] = {"type": "region"}  # the case's own region (an enrollment's too)
        _SPECS = specs
    return _SPECS


def _path(name: str, words: dict, specs: dict):
    key = words.get(name)
    if key is not None:
        return (key,)
    parts = name.split(".")
    if len(parts) == 3 and _INDEX.fullmatch(parts[1].strip()):
        outer, inner = words.get(parts[0].strip()), words.get(parts[2].strip())
        spec = specs.get(outer)
        if spec and spec["type"] == "list" and inner in (spec.get("items") or {}):
            return (outer, int(parts[1]), inner)
    return None


def _spec_of(path: tuple, specs: dict) -> dict:
    if path[0] in ("id", "kind"):
        return {"type": path[0]}
    if len(path) == 3:
        return specs[path[0]]["items"][path[2]]
    return specs[path[0]]


def cell_value(cell, spec: dict):
    """The case value of a table cell for a fact of ``spec`` (``_ABSENT`` for an empty cell). Text is
    converted by the fact's type where it plainly is one (``2.5`` a number, ``是`` true); a date
    cell becomes its text; anything else is passed on for the case validator to judge."""
    if cell is None:
        return _ABSENT
    t = spec["type"]
    cls = cell.__class__
    if cls is str:
        text = cell.strip()
        if not text:
            return _ABSENT
        if t == "bool":
            low = text.lower()
            return True if low in TRUE_WORDS else False if low in FALSE_WORDS else text
        if t == "int" or t == "id":
            return int(text) if t == "int" and _INT_TEXT.fullmatch(text) else text
        if t == "number":
            if _INT_TEXT.fullmatch(text):
                return int(text)
            if _NUMBER_TEXT.fullmatch(text):
                return float(text)
            return text
        if t == "list" and text.startswith("["):
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return text
        return text
    if cls is float and cell != cell:  # NaN: an empty numeric cell (pandas writes them)
        return _ABSENT
    if isinstance(cell, dt.datetime):
        if t == "month" and cell.day == 1 and cell.time() == dt.time():
            return f"{cell.year:04d}-{cell.month:02d}"
        return cell.date().isoformat() if cell.time() == dt.time() or t == "date" else cell.isoformat()
    if isinstance(cell, dt.date):
        if t == "month" and cell.day == 1:
            return f"{cell.year:04d}-{cell.month:02d}"
        return cell.isoformat()
    if cls is float and cell.is_integer() and t in ("int", "number", "region", "id", "bool") and abs(cell) < 1e15:
        cell = int(cell)  # Excel keeps every number as a float
        cls = int
    if cls is int and t == "region":
        return str(cell)
    if cls is int and t == "bool" and cell in (0, 1):
        return bool(cell)
    if cls is list and t == "list":
        return [_item(x, spec) for x in cell]
    return cell


def _item(item, spec: dict):
    """An item of a list of mappings read from Parquet (a struct): its values converted as cells."""
    if not isinstance(item, dict) or not isinstance(spec.get("items"), dict):
        return item
    out = {}
    for key, value in item.items():
        sub = spec["items"].get(key)
        v = cell_value(value, sub) if sub is not None else value
        if v is not _ABSENT:
            out[key] = v
    return out


def row_label(n: int, lang: str | None = None) -> str:
    """How row ``n`` is named in messages, in ``lang`` (default: the current language)."""
    from policy_dsl.language.messages import current

    return WORDS[lang or current()]["row"].format(n=n)


def csv_rows(path: str):
    """The rows of a CSV file as lists of text, with their row numbers: ``(header, iterator of
    (number, cells or InputError))``. UTF-8 (a BOM is dropped); a file that is not UTF-8 but is
    GB 18030 (as Excel saves CSV on a Chinese Windows) is read as such. A row that cannot be
    read (bytes that are no text, a field too large) is an InputError in its place."""
    import csv

    fh = open(path, "rb")  # noqa: SIM115 - closed by the iterator
    head = fh.read(1 << 20)
    encoding = _encoding(head)
    fh.seek(0)
    text = io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise InputError(Diagnostic("E-CASE-COLUMN", t("tables.empty"), Where(path, 1),
                                    t("tables.header.hint"))) from None
    except csv.Error as exc:
        fh.close()
        raise InputError(Diagnostic("E-CASE-CSV", t("tables.header_unreadable", reason=exc), Where(path, 1), None)) from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def rows():
        bad = 0
        n = 1
        with fh:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    n += 1
                    bad += 1
                    if bad > MAX_BAD_ROWS:
                        raise InputError(Diagnostic("E-CASE-CSV", t("tables.not_csv", limit=f"{MAX_BAD_ROWS:,}"),
                                                    Where(path, n), t("tables.not_csv.hint"))) from None
                    yield n, InputError(Diagnostic("E-CASE-CSV", f"{row_label(n)}: {exc}", Where(path, n), None))
                    continue
                n += 1
                if not cells or not any(c.strip() for c in cells):
                    continue  # an empty row is no case
                if any(_has_surrogate(c) for c in cells):
                    yield n, InputError(Diagnostic("E-INPUT-UTF8", t("tables.not_text", row=row_label(n), encoding=encoding),
                                                   Where(path, n), t("cases.not_utf8.hint")))
                    continue
                yield n, cells

    return header, rows()


def _has_surrogate(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _encoding(head: bytes) -> str:
    """``utf-8`` unless ``head`` (the first bytes of a file) is not UTF-8 but is GB 18030."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and len(head) >= 1 << 20:  # a character cut at the end of what was read
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return "utf-8"


def xlsx_rows(path: str):
    """The rows of the first sheet of an Excel workbook: ``(header, iterator of (number, cells))``
    (cells as Excel holds them: text, numbers, dates, true/false)."""
    import openpyxl

    from policy_dsl.language.safeio import read_limited  # checks it is a regular file, and its size

    raw = read_limited(path, MAX_XLSX_BYTES, path, code="E-CASE-FILE")
    import zipfile

    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, ValueError, TypeError, AttributeError,
            EOFError, OSError) as exc:  # what openpyxl raises for a file that is not a workbook
        raise InputError(Diagnostic("E-CASE-XLSX", t("tables.not_xlsx", reason=f"{type(exc).__name__}: {str(exc)[:120]}"),
                                    Where(path), t("tables.not_xlsx.hint"))) from None
    del raw
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    header = next(it, None)
    if header is None:
        book.close()
        raise InputError(Diagnostic("E-CASE-COLUMN", t("tables.empty_sheet"), Where(path, 1),
                                    t("tables.header.hint")))

    def rows():
        try:
            for n, cells in enumerate(it, 2):
                if cells and any(c is not None and (c.__class__ is not str or c.strip()) for c in cells):
                    yield n, cells
        finally:
            book.close()

    return list(header), rows()


def parquet_batches(path: str, batch_size: int):
    """``(column names, iterator of (first row number, Arrow record batch))`` of a Parquet file."""
    import pyarrow
    import pyarrow.parquet as pq

    try:
        f = pq.ParquetFile(path)
    except (pyarrow.ArrowException, OSError, ValueError, NotImplementedError) as exc:  # a file that is not Parquet
        raise InputError(Diagnostic("E-CASE-PARQUET", t("tables.not_parquet", reason=str(exc)[:160]), Where(path),
                                    t("tables.not_parquet.hint"))) from None

    def batches():
        n = 1
        for batch in f.iter_batches(batch_size=batch_size):
            yield n, batch
            n += batch.num_rows

    return list(f.schema_arrow.names), batches(), f.metadata.num_rows, f.schema_arrow


def arrow_rows(batch, first: int):
    """(row number, cells) of an Arrow record batch, the cells as Python values."""
    columns = [c.to_pylist() for c in batch.columns]
    return zip(range(first, first + batch.num_rows), zip(*columns)) if columns else iter(())


# -- writing ---------------------------------------------------------------------------------


def row_fields() -> list[str]:
    """The columns of an answer row, in order."""
    return ["id", "kind", "region", "decision_date", "status", *_vocab().outputs, "bounds", "governing", "rule",
            "notes", "error"]


def headings(lang: str) -> list[str]:
    """The header row of CSV and Excel: Chinese labels under ``zh``, the field names otherwise."""
    fields = row_fields()
    if lang != "zh":
        return fields
    outputs = _vocab().outputs
    return [WORDS["zh"].get(f) if f in WORDS["zh"] else outputs[f].get("zh", f) for f in fields]


def answer_row(answer: dict) -> list:
    """The row of one JSON answer (``ROW_FIELDS``' order), its values as in the JSON answer."""
    outputs = _vocab().outputs
    if "error" in answer:
        e = answer["error"]
        return [answer.get("id"), *[None] * (4 + len(outputs) + 4), f"{e['where']}: {e['code']} {e['message']}"]
    governing = answer.get("governing") or []
    first = governing[0] if governing else None
    bounds = answer.get("bounds")
    notes = answer.get("notes") or []
    return [answer.get("id"), answer["kind"], answer["region"]["code"], answer["decision_date"], answer["status"],
            *[answer.get(name) for name in outputs],
            json.dumps(bounds, ensure_ascii=False) if bounds is not None else None,
            f"{first['document']} › {first['article']}" if first else None,
            first["rule"] if first else None,
            "\n".join(notes) if notes else None, None]


def _text(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if value.__class__ is float and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a number as a table holds it (5.0 and 5 are one number in a float column)
    return str(value)


class CsvRows:
    """CSV text of answer rows: ``header()`` then ``rows(rows)``, each giving UTF-8 bytes. A BOM
    leads under Chinese headings, so that Excel opens the file as UTF-8."""

    def __init__(self, lang: str):
        self.lang = lang

    def header(self) -> bytes:
        return ("\ufeff" if self.lang == "zh" else "").encode() + self.rows([headings(self.lang)], raw=True)

    def rows(self, rows, raw: bool = False) -> bytes:
        import csv

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if raw:
            w.writerows(rows)
        else:
            w.writerows([[_text(v) for v in row] for row in rows])
        return buf.getvalue().encode("utf-8")


def arrow_schema(id_type: str = "text"):
    """The Parquet schema of answer rows: dates as dates, counts as integers, lists as lists."""
    import pyarrow as pa

    types = {"date": pa.date32(), "int": pa.int64(), "bool": pa.bool_(), "number": pa.float64(),
             "enum": pa.string(), "list": pa.list_(pa.string())}
    fields = [pa.field("id", pa.int64() if id_type == "int" else pa.string()), pa.field("kind", pa.string()),
              pa.field("region", pa.string()), pa.field("decision_date", pa.date32()), pa.field("status", pa.string())]
    for name, spec in _vocab().outputs.items():
        fields.append(pa.field(name, types.get(spec["type"], pa.string())))
    fields += [pa.field(n, pa.string()) for n in ("bounds", "governing", "rule", "notes", "error")]
    return pa.schema(fields)


def arrow_batch(rows: list, schema):
    """An Arrow record batch of answer rows (``answer_row``) with ``schema`` (``arrow_schema``)."""
    import pyarrow as pa

    columns = list(zip(*rows)) if rows else [()] * len(schema)
    arrays = []
    for field, values in zip(schema, columns):
        t = field.type
        values = list(values)
        if t == pa.date32():
            arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
        elif t == pa.string():
            arrays.append(pa.array([v if v is None or v.__class__ is str else _text(v) for v in values], pa.string()))
        elif t == pa.int64() and field.name == "id":
            arrays.append(pa.array([v if v.__class__ is int else None for v in values], pa.int64()))
        else:
            arrays.append(pa.array(values, t))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def xlsx_cells(row: list, date_columns: frozenset, sheet) -> list:
    """Cells for openpyxl's write-only sheet: dates as Excel dates, text always as text (never a
    formula, whatever it starts with), lists as JSON text."""
    from openpyxl.cell import WriteOnlyCell

    out = []
    for i, v in enumerate(row):
        if v is None or v.__class__ in (bool, int, float):
            out.append(v)
        elif i in date_columns:
            cell = WriteOnlyCell(sheet, dt.date.fromisoformat(v))
            cell.number_format = "yyyy-mm-dd"
            out.append(cell)
        else:
            text = _text(v)
            if text.startswith("="):
                cell = WriteOnlyCell(sheet, text)
                cell.data_type = "s"
                out.append(cell)
            else:
                out.append(text)
    return out


def date_columns() -> frozenset:
    """The positions of date columns in an answer row."""
    outputs = _vocab().outputs
    return frozenset(i for i, f in enumerate(row_fields())
                     if f == "decision_date" or (f in outputs and outputs[f]["type"] == "date"))
