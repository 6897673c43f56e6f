"""A slice of JSON Lines read as one Arrow record batch for the columnar backend (Arrow's JSON
reader, in C++), only where every row then means what the line means to ``engine/cases``:

- one row a line: no blank line, no byte-order mark (the row numbers are the line numbers);
- no ``null``, ``NaN`` or ``Infinity`` anywhere in the slice (Arrow cannot tell a key given as
  null from a key left out, and would read NaN as a number; such a slice goes the row-wise way);
- dates, months and enumerated values kept as the text written (an explicit schema: Arrow
  would otherwise make ``"2022-01-01"`` a timestamp, whatever text wrote it);
- anything Arrow refuses — a line that is not one object, a key given twice, a value of another
  JSON type than its column's, a number beyond 64 bits, a lone surrogate — leaves the slice to
  the row-wise path, which says what is wrong with it.

Values are then checked as JSON values (``arrowcases.Reader.json``): ``true`` only for a flag,
an integer only for a whole number, text exactly as written."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.json as pj

_TEXT = ("date", "month", "enum")


def _arrow_type(spec: dict):
    """The Arrow type a fact's JSON value is read as, or None (Arrow infers it)."""
    t = spec["type"]
    if t in _TEXT:
        return pa.string()
    return None


def schema(specs: dict) -> pa.Schema:
    """The explicit part of the schema: the facts written as text, and ``kind``."""
    fields = [pa.field(name, _arrow_type(spec)) for name, spec in specs.items() if _arrow_type(spec) is not None]
    return pa.schema(fields + [pa.field("kind", pa.string())])


_SCHEMAS: dict = {}


def record_batch(data: bytes, specs: dict) -> pa.RecordBatch | None:
    """The rows of the JSON Lines ``data`` (whole lines), one a line, or None (see above)."""
    if not data or data.startswith(b"\xef\xbb\xbf") or b"null" in data or b"NaN" in data or b"Infinity" in data:
        return None
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    explicit = _SCHEMAS.get(id(specs))
    if explicit is None or explicit[0] is not specs:
        explicit = _SCHEMAS[id(specs)] = (specs, schema(specs))
    try:
        table = pj.read_json(io.BytesIO(data),
                             read_options=pj.ReadOptions(use_threads=False, block_size=max(len(data), 1 << 20)),
                             parse_options=pj.ParseOptions(explicit_schema=explicit[1], unexpected_field_behavior="infer"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):  # the row-wise path says what
        return None
    if table.num_rows != lines or not table.num_rows:
        return None
    # the columns of the explicit schema the slice does not give are left out (no key, no column)
    keep = [i for i in range(table.num_columns) if table.column(i).null_count < table.num_rows]
    table = table.select(keep).combine_chunks()
    batches = table.to_batches()
    return batches[0] if len(batches) == 1 else None
