"""The policy set as the interpreter sees it: documents, clauses, definitions, all with their
source positions and citation paths (``济医保发〔2022〕2号 › 一``); and what the interpreter
takes and gives: a validated ``Case`` and its ``Result``."""

from __future__ import annotations

import datetime as dt
from policy_dsl.language.records import dataclass, field  # dataclasses, quicker to import (records.py)

from policy_dsl.language.errors import Where
from policy_dsl.language.expr import ast

LEVEL_RANK = {"national": 0, "province": 1, "city": 2}
OUTCOMES = ("decide", "delegate", "adopt", "reject", "evaluate_as", "inform")


def canonical_number(text: str) -> str:
    """A document number with 〔 〕 brackets and no spaces (input may use [ ] or ［ ］)."""
    out = text.strip().replace(" ", "")
    for a, b in (("[", "〔"), ("]", "〕"), ("［", "〔"), ("］", "〕"), ("【", "〔"), ("】", "〕")):
        out = out.replace(a, b)
    return out


class Expr:
    """An expression of a policy file: its text, AST, compiled closures, and where it is written.
    The closures are made from the AST when first used (and are not pickled: policy_dsl.language.cache)."""

    __slots__ = ("text", "node", "where", "_fn", "_traced")

    def __init__(self, text: str, node: ast.Node, where: Where, fn=None, traced=None):
        self.text, self.node, self.where, self._fn, self._traced = text, node, where, fn, traced

    @property
    def fn(self):
        """The closure computing the value (expr.compile)."""
        if self._fn is None:
            from policy_dsl.language.expr.compile import compile_expr

            self._fn = compile_expr(self.node)
        return self._fn

    @property
    def traced(self):
        """The closure that also records its steps, for the trace."""
        if self._traced is None:
            from policy_dsl.language.expr.compile import compile_expr

            self._traced = compile_expr(self.node, trace=True)
        return self._traced

    def __getstate__(self):
        return self.text, self.node, self.where

    def __setstate__(self, state):
        self.text, self.node, self.where = state
        self._fn = self._traced = None

    def __repr__(self) -> str:
        return f"Expr({self.text!r}, where={self.where})"


@dataclass
class InForce:
    start: dt.date | None = None
    until: dt.date | None = None
    lower_deadline: dt.date | None = None
    text: str | None = None
    adoptions: dict = field(default_factory=dict)  # region code -> (date, by)

    def merged(self, override: "InForce | None") -> "InForce":
        if override is None:
            return self
        return InForce(
            start=override.start or self.start,
            until=override.until or self.until,
            lower_deadline=override.lower_deadline or self.lower_deadline,
            text=override.text or self.text,
            adoptions={**self.adoptions, **override.adoptions},
        )


@dataclass
class Supersession:
    id: str
    kind: str  # displaces_earlier | yields_to_later_superior
    article: str | None
    text: str


@dataclass
class Deviation:
    """A lower clause's declared departure from a higher clause, and the words of a higher document
    that authorise it (``deviations`` in a policy file; ``check`` then notes the difference,
    I-HIERARCHY-AUTHORISED, instead of warning, W-HIERARCHY)."""

    clause: str  # the higher clause departed from: document-id/clause-id
    text: str  # the authorising words, quoted from that document's source (or ``document``'s)
    document: str | None = None  # the id of the document that authorises it, when not that clause's
    reading: dict | None = None  # {zh, en}: why the text authorises it

    @property
    def source(self) -> str:
        return self.clause


@dataclass(eq=False)
class Document:
    id: str
    number: str
    aliases: list[str]
    title: str
    issuers: list[str]
    level: str
    jurisdiction: str
    issued: dt.date
    issued_precision: str
    source: str
    forwards: list[str]
    in_force: InForce
    version: int
    changelog: list[dict]
    supersession: list[Supersession]
    file: str
    where: Where
    clauses: list["Clause"] = field(default_factory=list)
    jurisdiction_where: Where | None = None  # where the file writes the jurisdiction

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    @property
    def yields_to_later_superior(self) -> bool:
        return any(s.kind == "yields_to_later_superior" for s in self.supersession)

    def names(self) -> set[str]:
        return {canonical_number(self.number), *(canonical_number(a) for a in self.aliases), self.id}


@dataclass(eq=False)
class Clause:
    doc: Document
    id: str
    topics: tuple[str, ...]
    article: str
    text: str
    in_force: InForce
    where: Where
    when: Expr | None = None
    outcome: str = "decide"  # one of OUTCOMES
    decide: list[tuple[str, Expr]] = field(default_factory=list)
    delegate_to: str | None = None
    bounds: dict | None = None
    delegated: tuple | None = None  # the outputs a delegation leaves to the lower level (None: all of them)
    adopt: str | None = None
    adopted: "Clause | None" = None
    reject: dict | None = None
    evaluate_as: tuple[str, list[tuple[str, Expr]]] | None = None
    inform: dict | None = None  # {zh, en}: decides nothing; added to the notes of any answer while the clause applies
    exception_to: object = None  # None | "all" | list of refs
    improves: bool = False  # an exception that improves on the rules it excepts: its outputs may read `excepted`
    reading: dict | None = None
    notes: list[dict] = field(default_factory=list)
    note_whens: dict = field(default_factory=dict)  # index in notes -> Expr: the note is shown only when it holds
    deviations: list = field(default_factory=list)  # Deviation: authorised departures from higher clauses

    @property
    def ref(self) -> str:
        return f"{self.doc.id}/{self.id}"

    @property
    def citation(self) -> str:
        return f"{self.doc.number} › {self.article}"

    @property
    def is_exception(self) -> bool:
        return self.exception_to is not None

    def effective(self) -> "Clause":
        """The clause whose condition and outcome this one uses (itself, or what it adopts)."""
        return self.adopted if self.adopted is not None else self

    def local_start(self, region) -> dt.date | None:
        """When this clause starts in ``region`` (a Region): its own date, or for regions below the
        jurisdiction's level with a lower deadline, the recorded adoption, else the deadline."""
        f = self.in_force
        if f.lower_deadline is None or region.code == self.doc.jurisdiction:
            return f.start or self.doc.issued
        city = region.city.code
        if city in f.adoptions:
            return f.adoptions[city][0]
        return f.lower_deadline

    def applies_to_region(self, region) -> bool:
        return region.within(self.doc.jurisdiction)


@dataclass
class Definition:
    name: str
    kinds: tuple[str, ...]
    expr: Expr
    reading: dict | None
    file: str


@dataclass
class PolicySet:
    documents: list[Document]
    definitions: dict[str, Definition]
    files: list[str]
    fingerprint: str = ""
    vocab: object = field(default=None, repr=False, compare=False)  # its kinds table (kinds.Vocabulary)

    def __post_init__(self):
        if self.vocab is None:  # no kinds.yaml of its own: the packaged table
            from policy_dsl.language.kinds import vocabulary

            self.vocab = vocabulary()
        self.clauses: dict[str, Clause] = {c.ref: c for d in self.documents for c in d.clauses}
        self.by_topic: dict[str, list[Clause]] = {}
        for d in self.documents:
            for c in d.clauses:
                for t in c.topics:
                    self.by_topic.setdefault(t, []).append(c)

    def document(self, name: str) -> Document | None:
        key = canonical_number(name)
        for d in self.documents:
            if key in d.names():
                return d
        return None


@dataclass
class Case:
    """A validated case: kind, region (a Region), facts with typed values, decision date.
    ``as_of``: the decision date was given (``eval --as-of``) rather than read from the kind's
    decision fact; the cases it asks about (``answer(...)``, ``evaluate_as``) are then decided on
    the same day."""

    kind: str
    region: object
    facts: dict
    decision_date: dt.date
    id: object = None
    where: Where = field(default_factory=Where)
    as_of: bool = False


@dataclass
class Result:
    """The answer to a case: status, outputs, bounds, and why — governing clauses with the outputs
    each gave, displaced ones with the reason and by whom, pending ones with their start, notes,
    the trace (``[(depth, event)]``, events of ``policy_dsl.engine.trace``), the kinds it was
    redirected to, the improving exceptions that applied, the clauses that only inform."""

    case: Case
    status: str = "no_rule"
    outputs: dict = field(default_factory=dict)
    bounds: dict | None = None
    governing: list = field(default_factory=list)  # [(Clause, [outputs])]
    displaced: list = field(default_factory=list)  # [(Clause, reason, by Clause | None)]
    pending: list = field(default_factory=list)  # [(Clause, start date)]
    notes: list = field(default_factory=list)  # [{"zh","en"}]
    trace: list = field(default_factory=list)  # [(depth, event)]
    redirected: list = field(default_factory=list)  # kinds this case was evaluated as
    undetermined: list = field(default_factory=list)  # [(Clause, CalendarError)] conditions the schedule could not settle
    improving: list = field(default_factory=list)  # [(Clause, [outputs it changed])] improving exceptions that applied
    shape: object = field(default=None, repr=False, compare=False)  # a fast backend's: what fixes all but the values
    informing: list = field(default_factory=list)  # clauses with outcome `inform` that apply: their words are notes
    fired: set = field(default_factory=set)  # id() of each conditional note (`notes[].when`) that holds
    # the reference evaluator's: the sub-answers (`answer(...)`) the case asked itself, by key (a key None: one
    # that could not be a key); what else it read is the case and the clauses in force there
    asked: dict | None = field(default=None, repr=False, compare=False)
