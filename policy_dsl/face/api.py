"""Entry points shared by the CLI and by programs: load a policy set (checked), evaluate cases."""

from __future__ import annotations

import os

from policy_dsl.language import resources
from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, PolicyError, Where, command_line
from policy_dsl.language.messages import N_, join, t
from policy_dsl.language.model import PolicySet

TYPE_CHECKING = False
if TYPE_CHECKING:  # pathlib is not imported at start-up: a policy set's files are named by str (load.policy_file_names)
    from pathlib import Path

_IN_MEMORY = Where("<data>")  # where a case given as data is

# passes that must succeed before any answer is given
# (cycles: circular precedence would make the answer depend on the order the files are read)
ESSENTIAL = ("link", "types", "dates", "exceptions", "cycles")


def run_checks(policy: PolicySet, names=None) -> list[Diagnostic]:
    from policy_dsl.analysis import check

    out = []
    for name, fn in check.PASSES:
        if names is None or name in names:
            out.extend(fn(policy))
    return out


def load_policy(paths: list[Path] | None = None) -> PolicySet:
    """The policy set in ``paths`` (default: the shipped policies), linked and type-checked.
    Raises PolicyError with every diagnostic if the files have errors. A set checked before (the
    same files, byte for byte, by the same interpreter) comes from the user's cache (policy_dsl.language.cache)."""
    from policy_dsl.language.files import path_name, policy_file_names

    files = policy_file_names([path_name(p) for p in paths] if paths else [resources.policies_folder()])
    if not files:
        raise PolicyError(Diagnostic("E-FILE", t("load.no_policy_files", paths=", ".join(map(str, paths or []))),
                                     hint=t("load.no_policy_files.hint")))
    from policy_dsl.language import cache
    from policy_dsl.language.files import MAX_POLICY_BYTES, _display, kinds_file_name
    from policy_dsl.language.safeio import read_limited

    kinds = kinds_file_name(files)  # a policy folder's own kinds table is part of the set
    keyed = files + [kinds] if kinds is not None else files
    try:  # each file's name as diagnostics show it, and its bytes (stat first: no device, pipe, huge file)
        contents = [read_limited(f, MAX_POLICY_BYTES) for f in keyed]
        entry_key = cache.key(*(part for f, b in zip(keyed, contents) for part in (_display(f, None), b)))
    except (OSError, ValueError, PolicyDslError):  # a file that cannot be read: load_files says so
        contents = entry_key = None
    policy = cache.load("policy", entry_key, PolicySet) if entry_key else None
    if policy is None:
        from pathlib import Path

        policy = _load_checked([Path(f) for f in files])
        if entry_key:
            cache.store("policy", entry_key, policy)
    if contents is not None:  # the content hash answers name: the files' names and bytes, wherever they are
        policy.fingerprint = fingerprint([os.path.basename(f) for f in keyed], contents)
        policy.cache_key = entry_key  # what else is kept for this set is kept under its key (analysis.conflicts.witnesses)
    return policy


def fingerprint(names, contents) -> str:
    """The content hash of a policy set: 16 hex digits of a digest of its files' names and bytes."""
    from policy_dsl.language import cache

    return cache.digest(*(part for n, b in zip(names, contents) for part in (n, b)))[:16]


def _load_checked(files: list[Path]) -> PolicySet:
    from policy_dsl.language.load import load_files

    policy, diags, _ = load_files(files)
    errors = [d for d in diags if d.severity == "error"]
    if policy is None or errors:
        raise PolicyError(errors or diags)
    errors = [d for d in run_checks(policy, ESSENTIAL) if d.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return policy


def load_unchecked(paths: list[Path]) -> PolicySet:
    """A policy set that is only read and linked (no type checks): enough to compare files,
    e.g. a single policy file in a git diff without the definitions beside it."""
    from policy_dsl.language.load import load_files, policy_files

    policy, diags, _ = load_files(policy_files(paths))
    errors = [d for d in diags if d.severity == "error"]
    if policy is None or errors:
        raise PolicyError(errors or diags)
    from policy_dsl.analysis import check

    check.link(policy)
    return policy


def evaluator_for(policy: PolicySet):
    """The evaluator the command line and programs answer with: the fast backend
    (policy_dsl.fast.plans) in front of the reference evaluator, which answers every case the
    backend declines and every case asked with its trace. Both give the same answers
    (tests/test_backends.py)."""
    from policy_dsl.engine.evaluate import Evaluator
    from policy_dsl.fast.evaluator import FastEvaluator

    return FastEvaluator(Evaluator(policy))


class Answerer:
    """Cases given as data, answered one after another against one policy set: how a program (or a
    batch) asks without the command line. ``result(data)`` is the Result of one case (the case keys of
    docs/reference.md; ``policy_dsl.engine.results.result_json`` makes it the JSON answer), without the trace unless
    ``explain``; a bad case raises InputError, as ``eval`` reports it."""

    def __init__(self, policy: PolicySet | None = None, as_of=None):
        from policy_dsl.engine.cases import CaseValidator, _is_clean
        from policy_dsl.language.model import Case
        from policy_dsl.language.regions import default_registry

        self.policy = policy if policy is not None else load_policy()
        self.evaluator = evaluator_for(self.policy)
        self.validator = CaseValidator(default_registry(), vocab=self.policy.vocab)
        self.as_of = as_of
        self._clean, self._case = _is_clean, Case

    def result(self, data, explain: bool = False, where=None):
        if data.__class__ is dict and self._clean(data):  # CaseValidator._fast, without the RawCase
            parts = self.validator.fast_parts(data, self.as_of)
            if parts is not None:
                kind, region, facts, day, case_id = parts
                return self.evaluator.evaluate(self._case(kind, region, facts, day, case_id, where or _IN_MEMORY,
                                                          self.as_of is not None), explain=explain)
        from policy_dsl.engine.cases import RawCase

        raw = RawCase(data, where or _IN_MEMORY, ("cases.label.the_case", None))
        return self.evaluator.evaluate(self.validator.validate(raw, self.as_of), explain=explain)


# -- what the CLI prints, as functions a program (the service) calls too ----------------------
def parse_day(text: str, where=None):
    """The date ``text`` names (2022-04-01, 2022/4/1, 2022年4月1日, full-width digits too), within
    the range the tool answers for; an InputError (E-DATE) naming ``where`` otherwise — what
    ``--date`` says on the command line."""
    from policy_dsl.language.safeio import clip, date_in_range, range_error
    from policy_dsl.language.values import typed_date

    where = where or command_line()
    d, wrong = typed_date(text)
    if d is None:
        problem = N_("date.does_not_exist") if wrong == "exists" else N_("date.not_a_date_format")
        raise InputError(Diagnostic("E-DATE", t(problem, text=clip(text)), where, t("date.write_forms")))
    if not date_in_range(d):
        raise range_error("E-DATE", t("date.word"), text, where)
    return d


def check_topics(topics, where=None, vocab=None) -> None:
    """An InputError (E-TOPIC) for the first topic that is not a kind of case (of ``vocab``, the
    policy set's kinds table; by default the packaged one)."""
    from policy_dsl.language.errors import did_you_mean
    from policy_dsl.language.kinds import vocabulary
    from policy_dsl.language.safeio import clip

    kinds = (vocab or vocabulary()).kinds
    for topic in topics:
        if topic not in kinds:
            raise InputError(Diagnostic("E-TOPIC", t("topic.unknown", topic=clip(topic)), where or command_line(),
                                        did_you_mean(topic, kinds) or t("topic.known", topics=join(kinds))))


def applies(policy: PolicySet, region_text, day, topics=None, lang: str = "zh", evaluator=None,
            where=None) -> dict:
    """What ``applies --date DAY --region REGION [--topic T...] --format json`` prints, as data:
    the region is resolved on ``day`` and the topics checked as the command does (InputError)."""
    found, region = applies_found(policy, region_text, day, topics, lang, evaluator, where)
    return applies_json(found, region, day, lang)


def applies_found(policy: PolicySet, region_text, day, topics=None, lang: str = "zh", evaluator=None,
                  where=None) -> tuple:
    """(what ``resolve.what_applies`` found, the region): what ``applies`` answers from."""
    from policy_dsl.language.regions import default_registry

    topics = list(topics or policy.vocab.kinds)
    check_topics(topics, where, policy.vocab)
    region = default_registry().resolve(region_text, day, Where("--region") if where is None else where, lang)
    return _what_applies(policy, region, day, topics, evaluator), region


def applies_data(policy: PolicySet, region, day, topics: list[str], lang: str = "zh", evaluator=None) -> dict:
    """What ``applies --format json`` prints, as data (``evaluator``: one to reuse; the overlaps of
    conditions are the reference evaluator's)."""
    return applies_json(_what_applies(policy, region, day, topics, evaluator), region, day, lang)


def _what_applies(policy: PolicySet, region, day, topics: list[str], evaluator=None) -> dict:
    from policy_dsl.analysis.conflicts import overlap_finder
    from policy_dsl.engine.resolve import what_applies

    reference = getattr(evaluator, "reference", evaluator)  # a FastEvaluator's reference, or the reference itself
    return what_applies(policy, region, day, topics, overlap_finder(policy, region, day, reference),
                        reference.stretches if reference is not None else None)


class AppliesTexts:
    """The text ``dumps`` makes of ``applies`` answers (``policy_set`` last), for one policy set,
    quicker for questions that differ from an earlier one only in the day asked: the answer names
    the day only in its first field, and everything after it follows from what ``what_applies``
    found (the clauses, their dates, what each displaces, the pending ones), the region, the
    language and the policy set. So the text after the day is kept for each such shape (at most
    ``KEEP_CHARS`` characters in all: the oldest go first) — cut from ``dumps``'s own text of the
    first answer of that shape — and a later answer of the same shape is the same text with its
    own day. Threads may share one."""

    KEEP_CHARS = 4 * 1024 * 1024
    _HEAD = '{\n  "date": "'

    def __init__(self, policy_set: dict | None = None):
        from _thread import allocate_lock

        self.policy_set = policy_set
        self._tails: dict = {}  # shape -> the text after the day (in the order made)
        self._chars = 0
        self._lock = allocate_lock()

    def text(self, found: dict, region, day, lang: str = "zh") -> str:
        """``dumps`` of ``applies_json(found, region, day, lang)`` with ``policy_set`` added."""
        city = region.city
        shape = (lang, region.code, region.name, city is region, city.code, city.name, tuple(
            (topic, tuple((r["clause"], r["start"], r["until"], tuple(r["displaces"])) for r in rows["in_force"]),
             tuple((p["clause"], p["start"]) for p in rows["pending"])) for topic, rows in found.items()))
        iso = day.isoformat()
        tail = self._tails.get(shape)
        if tail is None:
            data = applies_json(found, region, day, lang)
            if self.policy_set is not None:
                data["policy_set"] = self.policy_set
            text = dumps(data)
            head = self._HEAD + iso
            if not text.startswith(head):  # the layout this class relies on changed: a bug here, said at once
                raise AssertionError(f"applies text does not begin with {head!r}")
            with self._lock:
                if shape not in self._tails:
                    tail = self._tails[shape] = text[len(head):]
                    self._chars += len(tail)
                while self._chars > self.KEEP_CHARS and self._tails:
                    self._chars -= len(self._tails.pop(next(iter(self._tails))))
            return text
        return self._HEAD + iso + tail


def applies_text(policy: PolicySet, found: dict, region, day, lang: str = "zh", policy_set: dict | None = None) -> str:
    """What ``applies --format json`` prints for what ``applies_found`` found: ``dumps`` of
    ``applies_json`` with ``policy_set`` last. The text after the day (``AppliesTexts``) is kept in
    the user's cache under the policy set's key (its files and this interpreter) and all that
    text is made of — each clause by its ref with its dates and what it displaces and why, the
    pending ones, the region, the language, the policy set —, so a new day of a stretch asked
    before is that text after its own day: neither the answer's JSON object nor ``dumps``'s
    indenting (pure Python) is made again. A set without a key, or no entry, makes the text."""
    texts = AppliesTexts(policy_set)
    set_key = policy.__dict__.get("cache_key")
    if not set_key:
        return texts.text(found, region, day, lang)
    from policy_dsl.language import cache

    entry_key = cache.key("applies-text", set_key, repr(_text_shape(found, region, lang, policy_set)))
    head = AppliesTexts._HEAD + day.isoformat()
    tail = cache.load("applies-text", entry_key, str)
    if tail is not None:
        return head + tail
    text = texts.text(found, region, day, lang)
    cache.store("applies-text", entry_key, text[len(head):])
    return text


def _text_shape(found: dict, region, lang: str, policy_set) -> tuple:
    """All that an ``applies`` text after its day is made of, by value (clauses by ref)."""
    def day(d):
        return d.isoformat() if d is not None else None

    city = region.city
    return (lang, region.code, region.name, city is region, city.code, city.name, repr(policy_set), tuple(
        (topic, tuple((r["clause"].ref, day(r["start"]), day(r["until"]), tuple((o.ref, why) for o, why in r["displaces"]))
                      for r in rows["in_force"]),
         tuple((p["clause"].ref, day(p["start"])) for p in rows["pending"])) for topic, rows in found.items()))


def applies_json(found: dict, region, day, lang: str = "zh") -> dict:
    """The JSON shape (docs/cli.md, `applies`) of ``resolve.what_applies`` data."""
    from policy_dsl.engine.results import REASONS, clause_ref

    data = {"date": day.isoformat(), "region": region.to_json(), "topics": {}}
    if region.city is not region:
        data["region"]["city"] = region.city.to_json()
    for topic, t in found.items():
        data["topics"][topic] = {
            "in_force": [{**clause_ref(r["clause"]), "from": r["start"].isoformat() if r["start"] else None,
                          "to": r["until"].isoformat() if r["until"] else None,
                          "displaces": [{**clause_ref(o), "reason": reason,
                                         "explanation": REASONS.in_language(reason, lang)} for o, reason in r["displaces"]]}
                         for r in t["in_force"]],
            "pending": [{**clause_ref(p["clause"]), "in_force_from": p["start"].isoformat() if p["start"] else None}
                        for p in t["pending"]],
        }
    return data


def error_json(exc: PolicyDslError) -> dict:
    """The ``{"error": {...}}`` object a command prints under ``--format json`` when it fails (with
    every diagnostic under ``errors`` when there are several)."""
    d = exc.first
    body = {"error": {"code": d.code, "message": d.text(), "where": str(d.where)}}
    if len(exc.diagnostics) > 1:
        body["errors"] = [x.to_json() for x in exc.diagnostics]
    return body


def dumps(data) -> str:
    """JSON text as the commands print it under ``--format json`` (a line end included)."""
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


class CaseAnswers:
    """Cases answered as ``eval`` answers them, against one policy set: ``answer(raw)`` is the JSON
    answer of a RawCase — the result, or ``{"id", "error"}`` for a bad case (``bad`` counts them).
    ``evaluator`` and ``validator``: ones to reuse (each keeps what it learnt; use them from one
    thread at a time)."""

    def __init__(self, policy: PolicySet, lang: str = "zh", as_of=None, evaluator=None, validator=None,
                 policy_set: dict | None = None):
        from policy_dsl.engine.cases import CaseValidator
        from policy_dsl.language.regions import default_registry

        self.policy, self.lang, self.as_of = policy, lang, as_of
        # every answer ends with the policy set that gave it (face/discover.py: PolicySource.to_json)
        self.extra = {"policy_set": policy_set} if policy_set is not None else None
        self.evaluator = evaluator if evaluator is not None else evaluator_for(policy)
        self.validator = validator if validator is not None else CaseValidator(default_registry(), lang, vocab=policy.vocab)
        self.bad = 0

    def answer(self, raw, traced: bool = True, lines=None):
        """The JSON answer of ``raw``, its trace only with ``traced``. Without the trace and given
        ``lines`` (a LineWriter, the quicker way), the answer is written there and None returned,
        unless the case is bad."""
        from policy_dsl.engine.results import result_json

        try:
            case = self.validator.validate(raw, self.as_of)
            result = self.evaluator.evaluate(case, explain=traced)
            if not traced and lines is not None:
                lines.write(result)
                return None
            return result_json(result, self.lang, trace=traced, vocab=self.policy.vocab, extra=self.extra)
        except PolicyDslError as exc:
            if exc.exit_code != 2:  # not the case's fault (the policy files): not an answer
                raise
            self.bad += 1
            from policy_dsl.engine.cases import echo_id

            d = exc.first
            out = {"id": echo_id(raw.data), "error": {"code": d.code, "message": d.text(self.lang), "where": str(d.where)}}
            if d.hint:
                out["error"]["hint"] = d.hint_text(self.lang)
            return out


def eval_json(answers: CaseAnswers, sources, stream, explain: bool = False, on_lines=None) -> bool:
    """Write to ``stream`` (text, with a ``buffer`` for bytes, as sys.stdout) what ``eval SOURCE...
    --format json`` prints, in one shape for all the sources and in their order: JSON Lines when
    any source is JSON Lines (a line a case), else one object for a single case, else one list
    (an answer a line, written as the answers come: memory does not grow with the cases). Every
    answer carries its trace only under ``explain``; without it the cases of a file go through the
    batch lane (policy_dsl.fast.lane). Each source is a path (``-``: standard input, in any form), or ``(name, body)``: an
    open binary stream named as a file would be (its extension gives its form). True if a case
    was bad. A source that cannot be read at all raises InputError when it is the only one
    (answers already written stay written); among several, it takes its place in the output as
    ``{"source", "error"}`` and the others are answered. ``on_lines(writer)`` is told the
    LineWriter of JSON Lines answers when it is made (a stream read as it arrives flushes it while
    it waits for more)."""
    from policy_dsl.engine.cases import read_cases, shape_of, stdin_source

    opened = []  # (name, body, form)
    for source in sources:
        name, body = (source, None) if isinstance(source, (str, os.PathLike)) else source
        name = str(name)
        if name == "-" and body is None:  # its form is known only once its first bytes are read
            from policy_dsl.engine.cases import STDIN

            form, body = stdin_source()
            opened.append((STDIN, body, form))
        else:
            opened.append((name, body, shape_of(name)))
    out = _JsonOut(stream, answers, explain, on_lines, lines=any(form == "lines" for _, _, form in opened))
    try:
        for name, body, form in opened:
            try:
                shape, raws = read_cases(name, body=body, form=form)
                if len(opened) == 1 and shape == "single" and out.mode != "lines":
                    out.mode = "single"
                if out.traced or out.mode == "single":
                    for raw in raws:
                        out.answer(raw)
                elif form == "lines":  # the batch lane (policy_dsl.fast.lane), from the text of each line
                    raws.close()
                    out.lane(name, body)
                else:
                    out.lane_cases(raws)
            except InputError as exc:
                if len(opened) == 1:
                    raise
                out.source_error(name, exc)
    except BaseException:
        out.close(complete=False)
        raise
    out.close()
    return answers.bad > 0


class _JsonOut:
    """The output of eval_json: one object, or the answers written by a LineWriter, a line each:
    as JSON Lines, or as the items of a list (``_ListItems``)."""

    def __init__(self, stream, answers: CaseAnswers, explain: bool, on_lines, lines: bool):
        self.stream, self.answers, self.on_lines = stream, answers, on_lines
        self.mode = "lines" if lines else "list"
        self.traced = explain  # every answer: the trace only with --explain
        self.writer = None
        self.listed = None  # the list's stream (list mode, once an answer is written)

    def lines(self):
        if self.writer is None:
            from policy_dsl.engine.results import LineWriter

            stream = self.stream
            if self.mode == "list":
                stream = self.listed = _ListItems(stream)
            self.writer = LineWriter(self.answers.lang, stream, self.answers.policy.vocab, self.answers.extra)
            if self.on_lines is not None and self.mode == "lines":
                self.on_lines(self.writer)
        return self.writer

    def answer(self, raw) -> None:
        if self.mode == "single":
            write_pieces(self.stream, dumps(self.answers.answer(raw, self.traced)))
            return
        writer = self.lines()
        got = self.answers.answer(raw, self.traced, writer)
        if got is not None:
            writer.write_json(got)

    def _fallback(self, raw) -> None:
        writer = self.writer
        got = self.answers.answer(raw, False, writer)
        if got is not None:
            writer.write_json(got)

    def lane(self, name: str, body) -> None:
        """A JSON Lines source answered without the trace by the batch lane."""
        from policy_dsl.fast.lane import answer_lines

        writer, answers = self.lines(), self.answers
        from pathlib import Path

        answer_lines(Path(name), answers.validator, answers.evaluator, writer, answers.as_of, self._fallback, body)

    def lane_cases(self, raws) -> None:
        """The cases of a JSON or YAML source answered without the trace by the batch lane."""
        from policy_dsl.fast.lane import answer_cases

        writer, answers = self.lines(), self.answers
        answer_cases(raws, answers.validator, answers.evaluator, writer, answers.as_of, self._fallback)

    def source_error(self, name: str, exc: InputError) -> None:
        self.answers.bad += 1
        d = exc.first
        got = {"source": name, "error": {"code": d.code, "message": d.message, "where": str(d.where)}}
        if d.hint:
            got["error"]["hint"] = d.hint
        self.lines().write_json(got)

    def close(self, complete: bool = True) -> None:
        """The end of the output: the answers flushed, a list closed (only when ``complete``: after
        a failure nothing is added to what was written)."""
        if self.writer is not None:
            self.writer.flush()
        if self.mode == "list" and complete:
            if self.listed is None:
                self.stream.write("[]\n")
            else:
                self.listed.close()


class _ListItems:
    """A stream for a LineWriter that makes its lines the items of a JSON list, one a line: ``[``
    and a line end before the first, a comma before each line end between two, a line end and
    ``]`` after the last. An answer's JSON text holds no raw line end (json.dumps escapes them), so
    each line end written ends an item; the last one written is held back until more follows."""

    def __init__(self, stream):
        self.stream = stream
        raw = getattr(stream, "buffer", None)
        self.buffer = None if raw is None else _ListBytes(self, raw)
        self.started = self.held = False

    def _joined(self, chunk, end, comma, opening):
        parts = []
        if not self.started:
            parts.append(opening)
            self.started = True
        if self.held:
            parts.append(comma)
            self.held = False
        if chunk.endswith(end):
            chunk = chunk[:-1]
            self.held = True
        parts.append(chunk.replace(end, comma))
        return chunk[:0].join(parts)

    def write(self, text: str) -> None:
        if text:
            self.stream.write(self._joined(text, "\n", ",\n", "[\n"))

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        """The end of the list (its last line end, held back, and ``]``)."""
        self.stream.flush()
        if self.buffer is None:
            self.stream.write("\n]\n" if self.started else "[]\n")
        else:
            self.buffer.raw.write(b"\n]\n" if self.started else b"[]\n")
            self.buffer.raw.flush()


class _ListBytes:
    """The bytes side of a ``_ListItems``."""

    def __init__(self, items: _ListItems, raw):
        self.items, self.raw = items, raw

    def write(self, chunk: bytes) -> None:
        if chunk:
            self.raw.write(self.items._joined(chunk, b"\n", b",\n", b"[\n"))

    def flush(self) -> None:
        self.raw.flush()


def write_pieces(stream, text: str) -> None:
    """``stream.write(text)`` in pieces of 64 KiB: one huge write to a pipe whose reader has gone
    can end "written" in part without an error, and the broken pipe would go unseen."""
    for i in range(0, len(text), 1 << 16):
        stream.write(text[i:i + (1 << 16)])
