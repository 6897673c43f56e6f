"""The vocabulary shared by policy files and case files: kinds of case, their facts and types,
which fact fixes the decision date, and the outputs (``data/kinds.yaml``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from policy_dsl import resources
from policy_dsl.expr import types as T
from policy_dsl.yamlsafe import decode, load_yaml


@dataclass(frozen=True)
class Kind:
    name: str
    zh: str
    en: str
    facts: dict  # name -> spec dict
    decided_on: str
    outputs: tuple[str, ...]

    def scope(self) -> dict[str, T.Type]:
        """Types of the names an expression of this kind may read (without definitions/outputs)."""
        out = {name: T.from_spec(spec) for name, spec in self.facts.items()}
        out.update({name: T.from_spec(spec) for name, spec in vocabulary().person_flags.items()})
        out["region"] = T.REGION
        out["decision_date"] = T.DATE
        return out


@dataclass(frozen=True)
class Vocabulary:
    kinds: dict[str, Kind]
    outputs: dict[str, dict]
    person_flags: dict[str, dict]

    def output_type(self, name: str) -> T.Type:
        return T.from_spec(self.outputs[name])


@functools.cache
def vocabulary() -> Vocabulary:
    path = resources.data_path("kinds.yaml")
    data = load_yaml(decode(path.read_bytes(), str(path)), str(path)).data
    kinds = {
        name: Kind(name, spec["zh"], spec["en"], spec["facts"], spec["decided_on"], tuple(spec["outputs"]))
        for name, spec in data["kinds"].items()
    }
    return Vocabulary(kinds, data["outputs"], data["person_flags"])
