"""Beyond one machine: the evaluation of ``eval CASES.parquet --out ANSWERS.parquet`` as a function
of Arrow record batches, for engines that hand a function one part of a table at a time —
Dask (``evaluate_parquet``: ``dask.dataframe`` over the Parquet partitions, ``map_partitions``
into it) and Spark (``DataFrame.mapInArrow``, docs/scale.md).

Each part is answered by ``face/batch.Answering`` — the same code, the same rows, as ``eval``'s
Parquet output — so a population answered here is identical to one answered by ``eval`` (row
numbers in errors counted from the start of the whole table when the engine says where a part
starts, as ``evaluate_parquet`` does). The ``dask`` extra installs Dask; nothing here is imported
by ``eval``."""

from __future__ import annotations

from policy_dsl.face import batch
from policy_dsl.tools import tables

_ANSWERERS: dict = {}  # per process: (policy hash, lang, as_of, id type) -> ArrowAnswers


class ArrowAnswers:
    """``answers(record_batch, first_row)``: the answer rows of a record batch of cases (the
    columns of ``tables.arrow_schema``), in order; a bad case's row holds its error."""

    def __init__(self, policy, lang: str = "zh", as_of=None, id_type: str = "text"):
        self.answering = batch.Answering(policy, lang, as_of, "parquet", False, id_type)
        self.schema = self.answering.schema

    def __call__(self, record_batch, first_row: int = 1, source: str = "<part>"):
        columns = tables.Columns(record_batch.schema.names, source)
        return self.answering.answer(batch.Batch("arrow", source, (columns, first_row, record_batch))).payload

    def batches(self, record_batches, source: str = "<part>"):
        """Answer rows of each batch of an iterator (Spark's ``mapInArrow`` takes this; rows are
        numbered within the part the iterator holds)."""
        first = 1
        for rb in record_batches:
            yield self(rb, first, source)
            first += rb.num_rows


def answers_for(policy, lang: str = "zh", as_of=None, id_type: str = "text") -> ArrowAnswers:
    """The ArrowAnswers of this process for a policy set (made once per process and kept)."""
    key = (policy.fingerprint, lang, as_of, id_type)
    found = _ANSWERERS.get(key)
    if found is None:
        found = _ANSWERERS[key] = ArrowAnswers(policy, lang, as_of, id_type)
    return found


def answer_frame(frame, policy, lang: str, as_of, id_type: str, source: str, offsets, partition_info=None):
    """``map_partitions``' function: a pandas frame of cases → the frame of their answer rows."""
    import pandas as pd
    import pyarrow as pa

    number = partition_info["number"] if partition_info else 0
    rb = pa.RecordBatch.from_pandas(frame, preserve_index=False)
    out = answers_for(policy, lang, as_of, id_type)(rb, offsets[number] + 1, source)
    return out.to_pandas(types_mapper=pd.ArrowDtype)


def evaluate_parquet(cases: str, out: str | None = None, policy=None, lang: str = "zh", as_of=None,
                     id_type: str | None = None, **read_options):
    """The answers of the Parquet population ``cases`` (a file, a folder of parts or a glob,
    anywhere ``dask.dataframe.read_parquet`` reads) as a Dask frame, one row per case in the
    input's order — with the columns and rows of ``eval --out ANSWERS.parquet`` (``id_type``: as
    eval decides it, from the type of the ``id`` column) — written to the folder ``out`` when
    given; ``read_options`` go to ``read_parquet`` (e.g. ``split_row_groups=True``). Runs on the current Dask scheduler: a ``distributed.Client`` made
    before the call sends the work to its cluster."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    if policy is None:
        from policy_dsl.face.api import load_policy

        policy = load_policy()
    frame = dd.read_parquet(cases, **read_options)
    if id_type is None:  # as eval: an integer id column stays integer
        id_type = "int" if "id" in frame.columns and pd.api.types.is_integer_dtype(frame.dtypes["id"]) else "text"
    lengths = frame.map_partitions(len).compute()
    offsets, total = [], 0
    for n in lengths:
        offsets.append(total)
        total += int(n)
    meta = tables.arrow_schema(id_type).empty_table().to_pandas(types_mapper=pd.ArrowDtype)
    shared = dask.delayed(policy, pure=True)  # sent to each worker once, not with every part
    answers = frame.map_partitions(answer_frame, shared, lang, as_of, id_type, str(cases), offsets, meta=meta,
                                   align_dataframes=False)
    if out is not None:
        answers.to_parquet(out, write_index=False)
    return answers
