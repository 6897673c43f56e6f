"""The vocabulary shared by policy files and case files: kinds of case, their facts and types,
which fact fixes the decision date, the outputs, and the facts that cannot be true together
(``data/kinds.yaml``).

The packaged table is ``vocabulary()``. A policy folder may carry its own ``kinds.yaml``, which
replaces the packaged one for that policy set (``policy_dsl.language.load`` reads it); code that
has a policy set uses ``policy.vocab``, never ``vocabulary()``."""

from __future__ import annotations

import functools
from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)

from policy_dsl.language import resources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from policy_dsl.language.expr import types as T

PACKAGED_DISPLAY = "policy_dsl/data/kinds.yaml"  # how diagnostics name the packaged table


@dataclass(frozen=True)
class Kind:
    name: str
    zh: str
    en: str
    facts: dict  # name -> spec dict
    decided_on: str
    outputs: tuple[str, ...]

    def scope(self, vocab=None) -> dict[str, T.Type]:
        """Types of the names an expression of this kind may read (without definitions/outputs),
        ``vocab`` being the kinds table the kind is in (``policy.vocab``; by default the packaged one)."""
        from policy_dsl.language.expr import types as T

        vocab = vocab or vocabulary()
        out = T.Scope({name: T.from_spec(spec) for name, spec in self.facts.items()}, kinds=vocab)
        out.update({name: T.from_spec(spec) for name, spec in vocab.person_flags.items()})
        out["region"] = T.REGION
        out["decision_date"] = T.DATE
        return out


def optional(spec: dict) -> bool:
    """Whether a case may leave the fact out (``optional: true``, or a ``default``)."""
    return bool(spec.get("optional")) or "default" in spec


def absent_value(spec: dict):
    """The value of an optional fact a case leaves out: its ``default``, else null (a person flag:
    false)."""
    if "default" in spec:
        return spec["default"]
    return False if spec["type"] == "bool" else None


@dataclass(frozen=True)
class Constraint:
    """Facts that cannot be true together: on a case of one of ``kinds``, ``require`` must hold."""

    kinds: tuple[str, ...]
    require: object  # the parsed expression (ast.Node)
    text: str
    names: tuple[str, ...]  # the facts it reads, in the order written
    zh: str
    en: str
    line: int | None = None  # where it is written in kinds.yaml


@dataclass(frozen=True)
class Vocabulary:
    kinds: dict[str, Kind]
    outputs: dict[str, dict]
    person_flags: dict[str, dict]
    constraints: tuple = ()  # Constraint, in the order of the table
    labels: dict | None = None  # the table's `labels`: the names people use for facts, values and kinds
    file: str = PACKAGED_DISPLAY  # the kinds table it was read from, as diagnostics name it
    path: str = ""  # and where it is on disk ("": the packaged table)

    def output_type(self, name: str) -> T.Type:
        from policy_dsl.language.expr import types as T

        return T.from_spec(self.outputs[name])

    def person_defaults(self) -> dict:
        """Each person fact with its value when a case leaves it out (false, or null)."""
        return {name: absent_value(spec) for name, spec in self.person_flags.items()}

    def constraints_for(self, kind: str) -> tuple:
        return tuple(c for c in self.constraints if kind in c.kinds)

    def kind_named(self, text) -> str | None:
        """The kind a case names: its own name, its Chinese name, or another name the table lists."""
        if not isinstance(text, str):
            return None
        if text in self.kinds:
            return text
        word = text.strip()
        for name, kind in self.kinds.items():
            if word == kind.zh or word in ((self.labels or {}).get("kinds") or {}).get(name, ()):
                return name
        return None

    def value_named(self, fact: str, text, values) -> object | None:
        """The value of the enumerated ``fact`` that ``text`` names: a value itself, or one of the
        words the table lists for it (``labels.values``)."""
        if text in values:
            return text
        if not isinstance(text, str):
            return None
        words = ((self.labels or {}).get("values") or {}).get(fact.rsplit(".", 1)[-1]) or {}
        word = text.strip()
        for value, names in words.items():
            if value in values and word in names:
                return value
        return None

    def fact_label(self, fact: str, lang: str = "zh") -> str:
        """How people name a fact (its name when the table gives no label)."""
        label = ((self.labels or {}).get("facts") or {}).get(fact) or {}
        return label.get(lang) or fact

    def value_label(self, fact: str, value, lang: str = "zh"):
        """How people name an enumerated value (the value itself in English or without a label)."""
        if lang != "zh":
            return value
        names = (((self.labels or {}).get("values") or {}).get(fact) or {}).get(value)
        return names[0] if names else value


def build_vocabulary(data: dict, constraints: tuple = (), file: str = PACKAGED_DISPLAY, path: str = "") -> Vocabulary:
    """The Vocabulary of a kinds table already read (and, for a policy folder's, validated)."""
    flags = dict(data.get("person_flags") or {})
    kinds = {
        name: Kind(name, spec["zh"], spec["en"], spec["facts"], spec["decided_on"], tuple(spec["outputs"]))
        for name, spec in data["kinds"].items()
    }
    return Vocabulary(kinds, data["outputs"], flags, constraints, data.get("labels") or {}, file, path)


@functools.cache
def vocabulary() -> Vocabulary:
    """The packaged kinds table (``policy_dsl/data/kinds.yaml``)."""
    from policy_dsl.language import cache

    path = resources.data_file("kinds.yaml")
    with open(path, "rb") as fh:
        raw = fh.read()

    def read():
        from policy_dsl.language.yamlsafe import decode, load_yaml

        loaded = load_yaml(decode(raw, str(path)), str(path))
        return loaded.data, _constraints(loaded)

    data, constraints = cache.cached("kinds", [str(path), raw], read, tuple)
    return build_vocabulary(data, constraints)


def _constraints(loaded) -> tuple:
    """The constraints of the table, parsed and type-checked against each kind they name (a
    constraint that is not a well-typed condition is an error in the table: PolicyError)."""
    from policy_dsl.language.errors import Diagnostic, PolicyError
    from policy_dsl.language.messages import t
    from policy_dsl.language.expr import ast
    from policy_dsl.language.expr import types as T
    from policy_dsl.language.expr.parse import parse_in_file

    data = loaded.data
    flags = data["person_flags"]
    out = []
    for i, spec in enumerate(data.get("constraints") or ()):
        where = loaded.where(("constraints", i, "require"))
        kinds = tuple(data["kinds"]) if spec["kinds"] == "all" else tuple(spec["kinds"])
        node = parse_in_file(spec["require"], where)
        for k in kinds:
            if k not in data["kinds"]:
                raise PolicyError(Diagnostic("E-REFERENCE", t("kinds.constraint_kind", kind=k), where, None))
            facts = data["kinds"][k]["facts"]
            scope = {n: T.from_spec(s) for n, s in {**facts, **flags}.items()}
            scope.update(region=T.REGION, decision_date=T.DATE)
            try:
                if not T.assignable(T.infer(node, scope), T.BOOL):
                    raise T.TypeError_(t("kinds.constraint_bool"), node)
            except T.TypeError_ as exc:
                raise PolicyError(Diagnostic(exc.code, t("kinds.constraint_for", kind=k, message=exc.message), where, exc.hint)) from None
        read = [n.name for n in ast.walk(node) if isinstance(n, ast.Name)]
        out.append(Constraint(kinds, node, spec["require"], tuple(dict.fromkeys(read)), spec["zh"], spec["en"],
                              where.line))
    return tuple(out)
