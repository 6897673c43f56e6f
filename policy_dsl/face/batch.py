"""Populations: ``eval CASES... --out FILE [--jobs N]`` — case files of any format (JSON Lines,
JSON, YAML, CSV, Parquet, Excel) answered a batch at a time, in input order, into a file of any
of these formats, by this process or by a pool of N processes (``concurrent.futures``).

Without ``--explain``, Parquet batches and JSON Lines slices (read by Arrow where that reading is
JSON's, ``fast/jsonrows.py``) into JSON Lines, Parquet or CSV go to the columnar backend
(``fast/columnar.py``; ``POLICY_DSL_COLUMNAR=0`` turns it off): the same bytes, whole columns at a
time, each row it declines answered in its place by the row-wise path and counted in the summary.
Otherwise every case is answered by ``api.CaseAnswers`` exactly as ``eval --format json`` answers it: JSON
Lines out are the same lines, JSON and YAML out hold the same answers (the trace only with
``--explain``; a JSON list an answer a line, as ``eval`` prints it), and a table row is made from the JSON answer (tools/tables.py). A bad case is an
error in its place, never a stopped run. The input is read as it goes and the answers written as
they come, so memory holds a few batches whatever the size of the population; with ``--jobs N``
at most 2·N batches are in flight and the output is written in input order, the same bytes as
with one process. A file is written to a temporary file beside it and renamed when complete: it
holds the old contents or all the new ones, never half."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from policy_dsl.face import common
from policy_dsl.language.errors import EXIT_INPUT, EXIT_OK, Diagnostic, InputError, PolicyDslError, Where, command_line
from policy_dsl.language.messages import N_, say, t, words
from policy_dsl.tools import tables

SLICE_BYTES = 4 * 1024 * 1024  # a JSON Lines batch: about this many bytes of whole lines
ROWS = 20_000  # a batch of table rows
ARROW_ROWS = 16_384  # a batch of Parquet rows (each process holds a few as Python objects)
ROW_GROUP_ROWS = 131_072  # rows of a Parquet row group written
SHOWN_ERRORS = 20  # bad cases listed on stderr (all are in the output)

_WORDS_IDS = {  # key -> message id (the words are in the catalog)
    "wrote": N_("batch.words.wrote"),
    "bad": N_("batch.words.bad"),
    "more": N_("batch.words.more"),
    "columns": N_("batch.words.columns"),
    "columnar": N_("batch.words.columnar"),
    "reasons": {"input": N_("batch.reason.input"), "expression": N_("batch.reason.expression"),
                "value": N_("batch.reason.value"), "calendar": N_("batch.reason.calendar"),
                "conflict": N_("batch.reason.conflict"), "reject": N_("batch.reason.reject"),
                "improving": N_("batch.reason.improving"), "conditional-note": N_("batch.reason.conditional_note"),
                "nested": N_("batch.reason.nested"), "sub-answer": N_("batch.reason.sub_answer"),
                "output": N_("batch.reason.output"), "partial-delegation": N_("batch.reason.partial_delegation")},
}
WORDS = words(_WORDS_IDS)


# -- what to read and write ------------------------------------------------------------------


def input_format(path: str) -> str:
    """The format of a case file: by its extension; YAML otherwise (as ``eval`` always read it)."""
    if path == "-":
        return "yaml"
    return tables.format_of(path) or "yaml"


def output_format(args) -> str:
    """The format answers are written in: ``--format`` when it names a file format, else the
    extension of ``--out``; without ``--out``, ``json`` (the shape ``eval --format json`` prints)."""
    if args.format not in ("table", "json"):
        return args.format
    if args.out is None:
        return "json"
    fmt = tables.format_of(args.out)
    if fmt is None:
        raise InputError(Diagnostic("E-USAGE", t("batch.unknown_format", out=args.out), Where("--out"),
                                    t("batch.unknown_format.hint")))
    return fmt


def _check_files(args, out_fmt: str) -> None:
    for path in args.cases:
        fmt = input_format(path)
        if fmt in tables.TABULAR and path == "-":
            raise InputError(Diagnostic("E-USAGE", t("batch.table_from_stdin"), command_line(), t("batch.table_from_stdin.hint")))
        tables.need_library(fmt, path)
        if path != "-":  # a regular file that can be read (safeio): never a pipe, a folder, a link to nothing…
            from policy_dsl.language.safeio import open_regular

            open_regular(path, code="E-CASE-FILE").close()
    tables.need_library(out_fmt, str(args.out or "--format"))
    if out_fmt in tables.BINARY and args.out is None:
        raise InputError(Diagnostic("E-USAGE", t("batch.binary_to_file", fmt=out_fmt), Where("--format"),
                                    t("batch.binary_to_file.hint", fmt=out_fmt)))
    if args.jobs < 1:
        raise InputError(Diagnostic("E-USAGE", t("batch.jobs"), Where("--jobs"), t("batch.jobs.hint")))


# -- batches ---------------------------------------------------------------------------------


class Batch:
    """Cases to answer together, as cheap to send to another process as can be: a slice of a
    JSON Lines file (``lines``: offset, length, first line number — the worker reads it), table
    rows (``cells``: the Columns and (row number, cells) pairs), a Parquet record batch
    (``arrow``: the Columns, the first row number, the batch), or cases already read (``raw``)."""

    __slots__ = ("kind", "path", "payload")

    def __init__(self, kind: str, path: str, payload):
        self.kind, self.path, self.payload = kind, path, payload

    def cases(self):
        """The RawCases of the batch, in order."""
        from policy_dsl.engine.cases import RawCase, _label, jsonl_items, raw_line

        if self.kind == "raw":
            yield from self.payload
            return
        if self.kind == "lines":
            offset, length, first = self.payload
            path = Path(self.path)
            for n, data, clean in jsonl_items(path, _slice(self.path, offset, length), first):
                yield raw_line(path, n, data, clean)
            return
        if self.kind == "cells":
            columns, rows = self.payload
        else:
            columns, first, record_batch = self.payload
            rows = tables.arrow_rows(record_batch, first)
        for n, cells in rows:
            where = Where(self.path, n)
            if isinstance(cells, InputError):
                yield RawCase(cells, where, tables.row_label(n))
                continue
            data = columns.case(cells)
            yield RawCase(data, where, _label(data, tables.row_label(n)))


def _slice(path: str, offset: int, length: int):
    """The bytes of a JSON Lines slice as a stream: in memory (C-speed ``readline``), unless the
    slice is one line too long to hold, which is then read as it goes."""
    if length > 16 * SLICE_BYTES:
        return _Slice(path, offset, length)
    with open(path, "rb") as fh:
        fh.seek(offset)
        return io.BytesIO(fh.read(length))


class _Slice(io.RawIOBase):
    """``length`` bytes of a file from ``offset``, read as a binary stream (readline included)."""

    def __init__(self, path: str, offset: int, length: int):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with the stream
        self._fh.seek(offset)
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._left <= 0:
            return 0
        data = self._fh.read(min(len(b), self._left))
        b[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        limit = self._left if size is None or size < 0 else min(size, self._left)
        data = self._fh.readline(limit)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._fh.close()
        super().close()


def batches(path: str, fmt: str, notices: list, sizes: dict, notify=None, columnar: bool = False):
    """The batches of one case file, in order (read as they are asked for); ``columnar``: for the
    columnar backend (larger: a batch costs it little memory, and each has a cost of its own)."""
    if fmt == "jsonl" and path != "-":
        yield from _line_slices(path, COLUMNAR_SLICE_BYTES if columnar else SLICE_BYTES)
        return
    if fmt in ("json", "yaml", "jsonl"):
        from policy_dsl.engine.cases import read_cases

        shape, raws = read_cases(path)
        sizes.setdefault("shapes", []).append(shape)
        chunk = []
        for raw in raws:
            chunk.append(raw)
            if len(chunk) >= ROWS:
                yield Batch("raw", path, chunk)
                chunk = []
        if chunk:
            yield Batch("raw", path, chunk)
        return
    sizes.setdefault("shapes", []).append("list")
    if fmt == "parquet":
        names, record_batches, _, _ = tables.parquet_batches(path, COLUMNAR_ARROW_ROWS if columnar else ARROW_ROWS)
        columns = tables.Columns(names, path)
        _notice(columns, path, notices, notify)
        for first, rb in record_batches:
            yield Batch("arrow", path, (columns, first, rb))
        return
    header, rows = tables.csv_rows(path) if fmt == "csv" else tables.xlsx_rows(path)
    columns = tables.Columns(header, path)
    _notice(columns, path, notices, notify)
    chunk = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= ROWS:
            yield Batch("cells", path, (columns, chunk))
            chunk = []
    if chunk:
        yield Batch("cells", path, (columns, chunk))


def _notice(columns, path: str, notices: list, notify) -> None:
    text = columns.notice()
    if text:
        notices.append((path, text))
        if notify is not None:
            notify(path, text)


def _line_slices(path: str, slice_bytes: int = SLICE_BYTES):
    """Slices of a JSON Lines file of about ``slice_bytes`` each, cut after a line end, with the
    number of their first line (the file is read once here, to find the line ends; a line longer
    than a slice is a slice of its own)."""
    from policy_dsl.language.safeio import read_limited

    if not os.path.isfile(path):
        read_limited(Path(path), 0, path, code="E-CASE-FILE")  # says why: a folder, a device, a pipe…
    first, offset = 1, 0
    with open(path, "rb") as fh:
        while True:
            fh.seek(offset)
            block = fh.read(slice_bytes)
            if not block:
                return
            cut = block.rfind(b"\n") + 1
            if cut:
                length, lines = cut, block.count(b"\n", 0, cut)
            else:  # one line longer than a slice: to its end
                length, lines = len(block), 0
                while more := fh.read(slice_bytes):
                    end = more.find(b"\n")
                    if end >= 0:
                        length, lines = length + end + 1, 1
                        break
                    length += len(more)
            yield Batch("lines", path, (offset, length, first))
            first += lines
            offset += length


# -- answering (in this process or in each process of the pool) ------------------------------


class Chunk:
    """What answering a batch gives: the number of cases, of bad ones, the first few errors (for
    stderr), and the answers in the output format (bytes, answer dicts, rows or an Arrow batch);
    ``columnar``: how many cases the columnar backend answered and how many it left to the
    reference path, by reason (None: the batch went the row-wise way)."""

    __slots__ = ("cases", "bad", "errors", "payload", "columnar")

    def __init__(self, cases: int, bad: int, errors: list, payload, columnar: dict | None = None):
        self.cases, self.bad, self.errors, self.payload = cases, bad, errors, payload
        self.columnar = columnar


class _Raised:
    """A PolicyDslError raised while answering in another process, carried back to be raised
    again (its diagnostics pickle; the exception itself does not)."""

    def __init__(self, exc: PolicyDslError):
        self.cls, self.diagnostics = type(exc), exc.diagnostics

    def again(self) -> PolicyDslError:
        return self.cls(self.diagnostics)


class _Keep:
    """Stands for a LineWriter: keeps the Result CaseAnswers would have written."""

    result = None

    def write(self, result) -> None:
        self.result = result


class Answering:
    """Answers batches against one policy set into one output format (``answer``)."""

    def __init__(self, policy, lang: str, as_of, out_fmt: str, explain: bool, id_type: str,
                 policy_set: dict | None = None):
        from policy_dsl.face.api import CaseAnswers

        self.answers = CaseAnswers(policy, lang, as_of, policy_set=policy_set)  # JSON answers end with it
        self.lang, self.out_fmt, self.explain = lang, out_fmt, explain
        self.schema = tables.arrow_schema(id_type) if out_fmt == "parquet" else None
        self._columnar = None

    def answer(self, batch: Batch) -> Chunk:
        if not self.explain and self.out_fmt in COLUMNAR_FORMATS and batch.kind in ("arrow", "lines") and columnar_wanted():
            if batch.kind == "arrow":
                return self._answer_columnar(batch)
            read = _json_batch(batch)
            if read is not None:
                return self._answer_columnar(*read)
        before = self.answers.bad
        errors: list = []
        if self.out_fmt == "jsonl":
            n, payload = self._lines(batch, errors)
        elif self.out_fmt in ("json", "yaml"):
            payload = []
            for raw in batch.cases():
                out = self.answers.answer(raw, self.explain)
                if "error" in out:
                    _note(errors, out)
                payload.append(out)
            n = len(payload)
        else:
            from policy_dsl.engine.results import result_json

            rows = []
            keep = _Keep()
            answer, lang = self.answers.answer, self.lang
            for raw in batch.cases():
                out = answer(raw, False, keep)
                if out is None:
                    out = result_json(keep.result, lang, trace=False)
                else:
                    _note(errors, out)
                rows.append(tables.answer_row(out))
            n = len(rows)
            if self.out_fmt == "csv":
                payload = tables.CsvRows(self.lang).rows(rows)
            elif self.out_fmt == "parquet":
                payload = tables.arrow_batch(rows, self.schema)
            else:
                payload = rows
        return Chunk(n, self.answers.bad - before, errors, payload)

    def _answer_columnar(self, batch: Batch, lines: list | None = None) -> Chunk:
        """A batch of Arrow rows answered by the columnar backend (policy_dsl.fast.columnar); the rows
        it declines, and the first row of each kind of answer it has not seen, by the reference path.
        ``lines``: the batch was read from these lines of JSON Lines (``_json_batch``), which the
        reference path reads again."""
        import numpy as np
        import pyarrow as pa

        from policy_dsl.fast import columnar

        if self._columnar is None:
            self._columnar = columnar.ColumnarBackend(getattr(self.answers.evaluator, "reference", self.answers.evaluator),
                                                      self.answers.validator.registry, self.lang, self.answers.as_of)
        backend = self._columnar
        columns, first, rb = batch.payload
        before = self.answers.bad
        errors: list = []
        ba = columnar.evaluate_batch(backend, rb, columns.paths, columns.specs, batch.path, first, lines is not None)
        memo: dict = {}
        missing = columnar.missing_keys(backend, ba)
        declined = np.flatnonzero(~ba.taken)
        cells: dict = {}
        if lines is None:  # the cells of the rows the reference path answers, read at once
            needed = sorted(set(missing.values()) | set(declined.tolist()))
            if needed:
                cells = {r: c for r, (_, c) in zip(needed, tables.arrow_rows(rb.take(pa.array(needed)), 0))}

        def reference(row: int) -> dict:
            got = memo.get(row)
            if got is None:
                got = memo[row] = self._row_json(batch, row, lines, cells.get(row))
            return got

        for key, row in missing.items():
            answer = reference(row)
            where = Where(batch.path, first + row, 1) if lines is not None else Where(batch.path, first + row)
            columnar.learn(backend, ba, key, row, answer, tables.answer_row(answer)[-5:-1], str(where))
        fallback = [reference(int(r)) for r in declined]
        rejected = np.flatnonzero(ba.taken & (ba.status == columnar.STATUS.index("error")))
        # CaseAnswers counted the bad rows it answered (declined ones, and a rejected row answered for its texts)
        self.answers.bad += len(rejected) - sum("error" in a for r, a in memo.items() if ba.taken[r])
        if len(rejected) or any("error" in a for a in fallback):  # the first few, in row order, for stderr
            said = [(int(r), a) for r, a in zip(declined, fallback) if "error" in a]
            for r in rejected[:SHOWN_ERRORS]:
                e = backend.texts[int(ba.key[r])].cells
                where = Where(batch.path, first + int(r), 1) if lines is not None else Where(batch.path, first + int(r))
                said.append((int(r), {"error": {"where": str(where), "code": e[0], "message": e[1]}}))
            for _, a in sorted(said, key=lambda x: x[0]):
                _note(errors, a)
        order = np.argsort(np.concatenate([np.flatnonzero(ba.taken), declined]), kind="stable")
        if self.out_fmt == "jsonl":
            import json

            more = [(json.dumps(a, ensure_ascii=False) + "\n").encode() for a in fallback]
            payload = _spliced(columnar.json_lines(backend, ba), declined, more)
        else:
            rows = columnar.arrow_rows(backend, ba, self.schema or tables.arrow_schema("text"))
            if len(fallback):
                more = tables.arrow_batch([tables.answer_row(a) for a in fallback], rows.schema)
                rows = pa.Table.from_batches([rows, more]).take(pa.array(order)).combine_chunks().to_batches()[0]
            if self.out_fmt == "parquet":
                payload = rows
            else:  # csv: the rows as the row-wise path gives them to CsvRows
                payload = tables.CsvRows(self.lang).rows(list(zip(*[c.to_pylist() for c in rows.columns])))
        counts = {"columnar": int(ba.taken.sum()), "declined": ba.counts()}
        return Chunk(rb.num_rows, self.answers.bad - before, errors, payload, counts)

    def _row_json(self, batch: Batch, row: int, lines: list | None = None, cells=None) -> dict:
        """The JSON answer (without the trace) of one row of an Arrow batch, by the row-wise path
        (``lines``: from its line of JSON Lines, read as ``eval`` reads it; ``cells``: the row's,
        when read already)."""
        from policy_dsl.engine.cases import RawCase, _label, jsonl_items, raw_line
        from policy_dsl.engine.results import result_json

        columns, first, rb = batch.payload
        if lines is not None:
            (n, data, clean), = jsonl_items(Path(batch.path), io.BytesIO(lines[row]), first + row)
            raw = raw_line(Path(batch.path), n, data, clean)
        else:
            n = first + row
            if cells is None:
                (_, cells), = tables.arrow_rows(rb.slice(row, 1), n)
            data = columns.case(cells)
            raw = RawCase(data, Where(batch.path, n), _label(data, tables.row_label(n)))
        keep = _Keep()
        out = self.answers.answer(raw, False, keep)
        if out is None:
            return result_json(keep.result, self.lang, trace=False, vocab=self.answers.policy.vocab,
                               extra=self.answers.extra)
        return out

    def _lines(self, batch: Batch, errors: list):
        """JSON Lines answers of a batch, as ``eval --format json`` writes them (the batch lane
        for a slice of JSON Lines without --explain)."""
        from policy_dsl.engine.results import LineWriter

        buf = io.BytesIO()
        text = io.TextIOWrapper(buf, encoding="utf-8", newline="\n", write_through=True)
        lines = LineWriter(self.lang, text, self.answers.policy.vocab, self.answers.extra)
        answers = self.answers

        def write(out) -> None:
            if out is not None:
                if "error" in out:
                    _note(errors, out)
                lines.write_json(out)

        if batch.kind == "lines" and not self.explain:
            from policy_dsl.fast.lane import answer_lines

            offset, length, first = batch.payload
            answer_lines(Path(batch.path), answers.validator, answers.evaluator, lines, answers.as_of,
                         lambda raw: write(answers.answer(raw, False, lines)), _slice(batch.path, offset, length), first)
        else:
            for raw in batch.cases():
                write(answers.answer(raw, self.explain, lines))
        lines.flush()
        text.flush()
        payload = buf.getvalue()
        return payload.count(b"\n"), payload


COLUMNAR_FORMATS = ("parquet", "jsonl", "csv")  # outputs the columnar backend writes
COLUMNAR_ARROW_ROWS = 131_072  # a batch of Parquet rows for the columnar backend (numpy arrays, not objects)
COLUMNAR_SLICE_BYTES = 4 * 1024 * 1024  # a JSON Lines batch for it


def columnar_wanted() -> bool:
    """Whether batches go to the columnar backend: unless POLICY_DSL_COLUMNAR=0 (the row-wise path,
    for comparisons), and only where numpy and pyarrow are installed."""
    if os.environ.get("POLICY_DSL_COLUMNAR", "1") == "0":
        return False
    import importlib.util

    return importlib.util.find_spec("numpy") is not None and importlib.util.find_spec("pyarrow") is not None


class JsonColumns:
    """What each key of a JSON Lines slice read as a table gives: the key itself (a JSON key is
    never a heading: ``类型`` or ``enrollments.0.scheme`` is a key no kind has), with its spec."""

    def __init__(self, names):
        specs = tables._specs()
        self.paths = [(name,) for name in names]
        self.specs = [tables._spec_of((name,), specs) if name in ("id", "kind") or name in specs else None
                      for name in names]


def _json_batch(batch: Batch):
    """A slice of JSON Lines as an Arrow batch for the columnar backend, and its lines: ``(Batch,
    lines)``, or None where Arrow's reading could differ from JSON's meaning (``fast.jsonrows``)."""
    offset, length, first = batch.payload
    if length > 2 * COLUMNAR_SLICE_BYTES:
        return None
    from policy_dsl.fast import jsonrows

    with open(batch.path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    rb = jsonrows.record_batch(data, tables._specs())
    if rb is None or "kind" not in rb.schema.names or "region" not in rb.schema.names:
        return None
    return Batch("arrow", batch.path, (JsonColumns(rb.schema.names), first, rb)), data.split(b"\n")


def _spliced(lines, declined, more: list) -> bytes:
    """The UTF-8 of an Arrow string array's values, one after another, with ``more[j]`` put in
    at row ``declined[j]`` of the whole (rows in increasing order): copied once."""
    import numpy as np

    if len(lines) == 0:
        return b"".join(more)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1].tolist()
    data = memoryview(lines.buffers()[2])
    parts, at = [], 0
    for j, row in enumerate(declined.tolist()):
        upto = row - j  # the backend's rows before this one
        parts += (data[offsets[at]: offsets[upto]], more[j])
        at = upto
    parts.append(data[offsets[at]: offsets[-1]])
    return b"".join(parts)


def _note(errors: list, out: dict) -> None:
    if len(errors) < SHOWN_ERRORS:
        e = out["error"]
        errors.append(f"{e['where']}: {e['code']} {e['message']}")


_WORKER: Answering | None = None


def _start_worker(make, settings) -> None:
    global _WORKER
    _WORKER = make(*settings)


def _answer_in_worker(batch: Batch):
    try:
        return _WORKER.answer(batch)
    except PolicyDslError as exc:
        return _Raised(exc)


def answered(batch_iter, jobs: int, settings: tuple, make=None):
    """The Chunks of the batches, in order: answered by ``make(*settings)`` (default Answering;
    anything with ``answer(batch) -> Chunk``, picklable by name) here (``jobs`` 1) or in each of
    a pool of ``jobs`` processes, with at most 2·jobs batches in flight."""
    make = make or Answering
    if jobs == 1:
        answering = make(*settings)
        for batch in batch_iter:
            yield answering.answer(batch)
        return
    import collections
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_start_worker, initargs=(make, settings)) as pool:
        pending: collections.deque = collections.deque()
        try:
            for batch in batch_iter:
                pending.append(pool.submit(_answer_in_worker, batch))
                if len(pending) >= 2 * jobs:
                    yield _result(pending.popleft())
            while pending:
                yield _result(pending.popleft())
        finally:
            for f in pending:
                f.cancel()


def _result(future) -> Chunk:
    got = future.result()
    if isinstance(got, _Raised):
        raise got.again()
    return got


# -- writing ---------------------------------------------------------------------------------


def Output(path: str):
    """The file answers are written to, as they come: policy_dsl.language.safeio.AtomicFile (a
    temporary file in the same folder, renamed over the target by ``commit``, so the target holds
    its old contents or all the new ones; removed by ``abort``; a full disk or a file-size limit
    is E-WRITE, the target unchanged)."""
    from policy_dsl.language.safeio import AtomicFile

    return AtomicFile(path)


class Sink:
    """Answers written in order in one format to a binary stream: ``write(chunk)``, ``close()``."""

    def __init__(self, fmt: str, stream, lang: str, schema=None, to_file: bool = True):
        self.fmt, self.stream, self.lang, self.to_file = fmt, stream, lang, to_file
        self.count = 0
        self._first = None  # JSON and YAML: the first answer, until a second shows it is a list
        self._listing = False
        self._writer = None
        self._pending: list = []
        self._pending_rows = 0
        if fmt == "csv":
            stream.write(tables.CsvRows(lang).header())
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(stream, schema)
        elif fmt == "xlsx":
            import openpyxl

            self._book = openpyxl.Workbook(write_only=True)
            self._sheet = self._book.create_sheet(say(lang, "batch.sheet"))
            self._sheet.append(tables.headings(lang))
            self._dates = tables.date_columns()

    def write(self, chunk: Chunk) -> None:
        payload = chunk.payload
        if self.fmt in ("jsonl", "csv"):
            self.stream.write(payload)
        elif self.fmt in ("json", "yaml"):
            for item in payload:
                self._item(item)
        elif self.fmt == "parquet":
            self._pending.append(payload)
            self._pending_rows += payload.num_rows
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush_arrow()
        else:
            if self.count + len(payload) >= tables.EXCEL_MAX_ROWS:
                raise InputError(Diagnostic("E-OUTPUT-SIZE", t("batch.excel_rows", limit=f"{tables.EXCEL_MAX_ROWS - 1:,}"),
                                            Where("--out"), t("batch.excel_rows.hint")))
            for row in payload:
                self._sheet.append(tables.xlsx_cells(row, self._dates, self._sheet))
        self.count += chunk.cases

    def _flush_arrow(self) -> None:
        if self._pending:
            import pyarrow as pa

            self._writer.write_table(pa.Table.from_batches(self._pending), row_group_size=ROW_GROUP_ROWS)
            self._pending, self._pending_rows = [], 0

    def _item(self, item: dict) -> None:
        if not self._listing:
            if self._first is None:
                self._first = item  # one answer, or the first of a list: the next tells
                return
            self._start_list()
        self._list_item(item, first_item=False)

    def _start_list(self) -> None:
        first, self._first, self._listing = self._first, None, True
        if self.fmt == "json":
            self.stream.write(b"[\n")
        self._list_item(first, first_item=True)

    def _list_item(self, item: dict, first_item: bool) -> None:
        """One answer of a list: on a line of its own, as ``eval`` prints a list, or a YAML item."""
        if self.fmt == "json":
            import json

            text = json.dumps(item, ensure_ascii=False)
            self.stream.write((b"" if first_item else b",\n") + text.encode())
        else:
            import yaml

            self.stream.write(yaml.safe_dump([item], allow_unicode=True, sort_keys=False).encode())

    def close(self, single: bool) -> None:
        """Finish the file; ``single``: one case was read from a file holding one case (JSON and
        YAML then hold that answer, not a list of one)."""
        if self.fmt in ("json", "yaml"):
            if self._first is not None and single:
                if self.fmt == "json":
                    from policy_dsl.face.api import dumps

                    self.stream.write(dumps(self._first).encode())
                else:
                    import yaml

                    self.stream.write(yaml.safe_dump(self._first, allow_unicode=True, sort_keys=False).encode())
            elif self._first is not None or self._listing:
                if not self._listing:
                    self._start_list()
                if self.fmt == "json":
                    self.stream.write(b"\n]\n")
            elif self.to_file:  # no case at all: an empty list (on stdout nothing, as eval prints)
                self.stream.write(b"[]\n")
        elif self.fmt == "parquet":
            self._flush_arrow()
            self._writer.close()
        elif self.fmt == "xlsx":
            self._book.save(self.stream)
        self.stream.flush()


# -- the command -----------------------------------------------------------------------------


def _id_type(paths) -> str:
    """``int`` when every input is a Parquet file with an integer ``id`` column (the answers'
    ``id`` column keeps that type), else ``text``."""
    import pyarrow
    import pyarrow.parquet as pq

    for p in paths:
        if input_format(p) != "parquet":
            return "text"
        try:
            schema = pq.read_schema(p)
        except (pyarrow.ArrowException, OSError, ValueError, NotImplementedError):  # not Parquet: reading it says so
            return "text"
        if "id" not in schema.names or not str(schema.field("id").type).startswith(("int", "uint")):
            return "text"
    return "int"


def cmd_eval_files(args) -> int:
    """``eval`` with --out, --jobs, or a table format in or out."""
    out_fmt = output_format(args)
    _check_files(args, out_fmt)
    policy = common.policy(args)
    lang = args.lang
    w = WORDS[lang]
    notices: list = []
    sizes: dict = {}

    def notice(path, text):
        sys.stderr.write(w["columns"].format(file=path, cols=text) + "\n")

    wide = not args.explain and out_fmt in COLUMNAR_FORMATS and columnar_wanted()  # batches for the columnar backend

    def all_batches():
        for path in args.cases:
            yield from batches(path, input_format(path), notices, sizes, notice, wide)

    if args.out is None and args.format == "table":  # tables shown to a person, one case after another
        return _show_all(args, policy, all_batches())
    id_type = _id_type(args.cases) if out_fmt == "parquet" else "text"
    settings = (policy, lang, args.as_of, out_fmt, args.explain, id_type, common.policy_set_json(args, policy))
    output = Output(str(args.out)) if args.out is not None else None
    stream = output.fh if output else sys.stdout.buffer
    if not output:
        sys.stdout.flush()
    total = cases = bad = 0
    shown: list = []
    columnar: dict | None = None  # the columnar backend's count, and the cases it left, by reason
    bar = _bar(args)
    try:
        sink = Sink(out_fmt, stream, lang, tables.arrow_schema(id_type) if out_fmt == "parquet" else None,
                    to_file=output is not None)
        with bar or _Nothing():
            for chunk in answered(all_batches(), args.jobs, settings):
                sink.write(chunk)
                cases += chunk.cases
                bad += chunk.bad
                if chunk.columnar is not None:
                    columnar = _add_counts(columnar, chunk.columnar)
                shown.extend(chunk.errors[: max(0, SHOWN_ERRORS - len(shown))])
                if bar:
                    bar.counter[0] = cases
        single = sizes.get("shapes") == ["single"] and cases == 1
        sink.close(single)
        if output:
            output.commit()
    except BaseException:
        if output:
            output.abort()
        raise
    total = cases
    if output:
        for line in shown:
            sys.stderr.write(line + "\n")
        if bad > len(shown):
            sys.stderr.write(w["more"].format(k=bad - len(shown)) + "\n")
        if args.format == "json":
            common.dump_json({"out": str(args.out), "format": out_fmt, "cases": total, "bad": bad,
                              "columns_not_read": [{"file": p, "notice": t} for p, t in notices],
                              "columnar": columnar,
                              "policy_set": common.policy_set_json(args, policy)})
        else:
            sys.stdout.write(w["wrote"].format(n=total, out=args.out, fmt=out_fmt) + "\n")
            if bad:
                sys.stdout.write(w["bad"].format(k=bad) + "\n")
            if columnar is not None:
                left = columnar["declined"]
                why = "".join(say(lang, "batch.words.reason_count", reason=w["reasons"].get(r, r), count=f"{k:,}")
                              for r, k in left.items())
                sys.stdout.write(w["columnar"].format(n=columnar["answered"], k=sum(left.values()),
                                                      why=f"（{why[1:]}）" if why and lang == "zh" else
                                                      f" ({why[2:]})" if why else "") + "\n")
            sys.stdout.write(common.policy_set_line(args, policy, lang) + "\n")
    return EXIT_INPUT if bad else EXIT_OK


def _add_counts(total: dict | None, more: dict) -> dict:
    """The columnar backend's counts of two runs of batches together (Chunk.columnar)."""
    total = total or {"answered": 0, "declined": {}}
    total["answered"] += more["columnar"]
    for reason, k in more["declined"].items():
        total["declined"][reason] = total["declined"].get(reason, 0) + k
    return total


def _bar(args):
    from policy_dsl.face import progress

    if not progress.wanted(stdout=io.StringIO() if args.out else None):
        return None
    total = 0
    for p in args.cases:
        fmt = input_format(p)
        if fmt == "jsonl":
            n = progress.count_lines([p])
        elif fmt == "parquet":
            import pyarrow
            import pyarrow.parquet as pq

            try:
                n = pq.ParquetFile(p).metadata.num_rows
            except (pyarrow.ArrowException, OSError, ValueError, NotImplementedError):  # reading it says what is wrong
                n = None
        else:
            n = None
        if n is None:
            total = None
            break
        total += n
    return progress.Bar(total, args.lang)


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _show_all(args, policy, batch_iter) -> int:
    """Each answer as a table for a person (eval without --format json), from any case file."""
    from policy_dsl.face import render
    from policy_dsl.face.api import CaseAnswers

    answers = CaseAnswers(policy, args.lang, args.as_of, policy_set=common.policy_set_json(args, policy))
    con = render.console()
    render.render_policy_set(con, common.policy_set_line(args, policy, args.lang))
    for batch in batch_iter:
        for raw in batch.cases():
            common.show_case(con, answers.answer(raw), policy, args)
    return EXIT_INPUT if answers.bad else EXIT_OK
