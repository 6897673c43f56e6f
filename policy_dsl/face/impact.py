"""``impact OLD NEW --cases FILE [--out DIR]``: the behavioural difference of a change on the
user's own population. Each case is answered under both policy sets (OLD and NEW as for
``diff``: folders, files or git revisions) exactly as ``eval`` answers it, the two JSON answers
are compared (tools/impact.py), and the changes are counted by region, kind, deciding clause and
output. ``--out DIR`` also writes the changed cases (``changed.parquet`` for a Parquet
population, else ``changed.jsonl``: each with both answers) and ``index.html`` with charts.
The population is read a batch at a time (face/batch.py), by N processes with ``--jobs N``."""

from __future__ import annotations

import json
import os
import sys

from policy_dsl.face import batch, common
from policy_dsl.language.errors import EXIT_FINDINGS, EXIT_OK, Diagnostic, InputError, Where
from policy_dsl.language.messages import N_, t, words
from policy_dsl.tools import tables

_WORDS_IDS = {  # key -> message id (the words are in the catalog)
    "sets": N_("impact.cli.sets"),
    "wrote": N_("impact.cli.wrote"),
}
WORDS = words(_WORDS_IDS)


class Comparing:
    """Answers batches under two policy sets; a Chunk's payload is the changed cases (with both
    answers) and its ``bad`` the bad cases under each set."""

    def __init__(self, old_policy, new_policy, lang: str, as_of):
        from policy_dsl.face.api import CaseAnswers
        from policy_dsl.language.kinds import vocabulary

        self.old = CaseAnswers(old_policy, lang, as_of)
        self.new = CaseAnswers(new_policy, lang, as_of)
        self.lang = lang
        self.kinds = vocabulary().kinds

    def _json(self, answers, raw) -> dict:
        from policy_dsl.engine.results import result_json

        keep = batch._Keep()
        out = answers.answer(raw, False, keep)
        return result_json(keep.result, self.lang, trace=False) if out is None else out

    def answer(self, b) -> batch.Chunk:
        from policy_dsl.tools.impact import compare

        records = []
        n = 0
        bad_old, bad_new = self.old.bad, self.new.bad
        for raw in b.cases():
            n += 1
            old, new = self._json(self.old, raw), self._json(self.new, raw)
            answered = new if "kind" in new else old
            kind = answered.get("kind") or _text(raw.data, "kind")
            spec = self.kinds.get(kind)
            changes = compare(old, new, spec.outputs if spec else ())
            if changes:
                region = answered["region"]["code"] if "region" in answered else _text(raw.data, "region")
                records.append({"row": raw.where.line, "id": new.get("id", old.get("id")), "kind": kind, "region": region,
                                "decision_date": answered.get("decision_date"), "changes": changes, "old": old, "new": new})
        return batch.Chunk(n, (self.old.bad - bad_old, self.new.bad - bad_new), [], records)


def _text(data, key: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    return str(value) if value is not None else ""


class ChangedRows:
    """The changed cases, written as they come: ``changed.jsonl`` (each with both answers) or
    ``changed.parquet`` (the row, id and changed outputs, then each answer's row as ``old.*`` and
    ``new.*``)."""

    def __init__(self, folder, fmt: str):
        self.fmt = fmt
        self.name = f"changed.{fmt}"
        self.output = folder.open(self.name)  # safeio.OutputFolder: written as it comes, put in place at the end
        self._rows: list = []
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            answer = tables.arrow_schema("text")
            fields = [pa.field("row", pa.int64()), pa.field("id", pa.string()), pa.field("changed", pa.list_(pa.string()))]
            for side in ("old", "new"):
                fields += [pa.field(f"{side}.{f.name}", f.type) for f in answer if f.name != "id"]
            self.schema = pa.schema(fields)
            self._answer_schema = answer
            self._writer = pq.ParquetWriter(self.output.fh, self.schema)

    def write(self, record: dict) -> None:
        if self.fmt == "jsonl":
            line = {"row": record["row"], "id": record["id"], "changed": [c[0] for c in record["changes"]],
                    "old": record["old"], "new": record["new"]}
            self.output.fh.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
            return
        old, new = tables.answer_row(record["old"]), tables.answer_row(record["new"])
        case_id = record["id"]
        self._rows.append([record["row"], None if case_id is None else str(case_id), [c[0] for c in record["changes"]],
                           *old[1:], *new[1:]])
        if len(self._rows) >= batch.ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            import pyarrow as pa

            columns = list(zip(*self._rows))
            answer_types = [f for f in self._answer_schema if f.name != "id"]
            arrays = [pa.array(columns[0], pa.int64()), pa.array(columns[1], pa.string()),
                      pa.array(columns[2], pa.list_(pa.string()))]
            width = len(answer_types)
            for side in range(2):
                part = [list(c) for c in columns[3 + side * width: 3 + (side + 1) * width]]
                rb = tables.arrow_batch([list(r) for r in zip([None] * len(part[0]), *part)], self._answer_schema)
                arrays += rb.columns[1:]
            self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
            self._rows = []

    def close(self) -> None:
        if self.fmt == "parquet":
            self._flush()
            self._writer.close()
        self.output.commit()

    def abort(self) -> None:
        self.output.abort()


def cmd_impact(args) -> int:
    from policy_dsl.face.api import load_policy
    from policy_dsl.face.discover import at_revision
    from policy_dsl.language.sources import resolve_spec
    from policy_dsl.tools import impact

    cases = args.cases
    fmt = batch.input_format(cases)
    tables.need_library(fmt, cases)
    from policy_dsl.language.safeio import open_regular

    open_regular(cases, code="E-CASE-FILE").close()  # a regular file that can be read: never a pipe, a folder…
    if args.jobs < 1:
        raise InputError(Diagnostic("E-USAGE", t("batch.jobs"), Where("--jobs"), t("batch.jobs.hint")))

    def paths_of(spec):
        return resolve_spec(spec, lambda rev: at_revision(rev).paths)

    old = load_policy(paths_of(args.old))
    new = load_policy(paths_of(args.new)) if args.new else common.policy(args)
    lang = args.lang
    folder = str(args.out) if args.out else None
    changed_rows = out_folder = None
    if folder:  # never a file or a link in its place; created if missing (safeio.OutputFolder)
        from policy_dsl.language.safeio import OutputFolder

        out_folder = OutputFolder(folder)
        changed_rows = ChangedRows(out_folder, "parquet" if fmt == "parquet" else "jsonl")
    tally = impact.Tally()
    notices: list = []
    try:
        chunks = batch.answered(batch.batches(cases, fmt, notices, {}, _notice(lang)), args.jobs,
                                (old, new, lang, args.as_of), Comparing)
        for chunk in chunks:
            tally.cases += chunk.cases
            tally.bad["old"] += chunk.bad[0]
            tally.bad["new"] += chunk.bad[1]
            for record in chunk.payload:
                tally.add(record)
                if changed_rows:
                    changed_rows.write(record)
        if changed_rows:
            changed_rows.close()
    except BaseException:
        if changed_rows:
            changed_rows.abort()
            out_folder.close()
        raise
    data = tally.to_json()
    data["old"] = {"source": str(args.old), "hash": old.fingerprint}
    data["new"] = ({"source": str(args.new), "hash": new.fingerprint} if args.new else common.policy_set_json(args, new))
    if folder:
        index = os.path.join(folder, "index.html")
        page = impact.impact_page(data, lang, changed_rows.name)
        with out_folder:
            out_folder.write("index.html", page)
        data["files"] = {"changed": os.path.join(folder, changed_rows.name), "index": index}
    if args.format == "json":
        common.dump_json(data)
    else:
        w = WORDS[lang]
        lines = [w["sets"].format(old=data["old"]["source"], oh=old.fingerprint, new=data["new"]["source"],
                                  nh=new.fingerprint)]
        lines += impact.summary_lines(data, lang)
        if folder:
            lines.append(w["wrote"].format(files=", ".join(data["files"].values()), index=data["files"]["index"]))
        sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FINDINGS if (args.exit_code and data["changed"]) else EXIT_OK


def _notice(lang: str):
    def notify(path, text):
        sys.stderr.write(batch.WORDS[lang]["columns"].format(file=path, cols=text) + "\n")

    return notify
