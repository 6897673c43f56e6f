"""The vocabulary shared by policy files and case files: kinds of case, their facts and types,
which fact fixes the decision date, and the outputs (``data/kinds.yaml``)."""

from __future__ import annotations

import functools
from policy_dsl.language.records import dataclass  # dataclasses, quicker to import (records.py)

from policy_dsl.language import resources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from policy_dsl.language.expr import types as T


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
        from policy_dsl.language.expr import types as T

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
        from policy_dsl.language.expr import types as T

        return T.from_spec(self.outputs[name])


@functools.cache
def vocabulary() -> Vocabulary:
    from policy_dsl.language import cache

    path = resources.data_path("kinds.yaml")
    raw = path.read_bytes()

    def read():
        from policy_dsl.language.yamlsafe import decode, load_yaml

        return load_yaml(decode(raw, str(path)), str(path)).data

    data = cache.cached("kinds", [str(path), raw], read)
    kinds = {
        name: Kind(name, spec["zh"], spec["en"], spec["facts"], spec["decided_on"], tuple(spec["outputs"]))
        for name, spec in data["kinds"].items()
    }
    return Vocabulary(kinds, data["outputs"], data["person_flags"])
