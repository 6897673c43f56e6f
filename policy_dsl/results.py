"""Results as data: the JSON shape of INTERFACE.md, in the language asked for."""

from __future__ import annotations

from policy_dsl.evaluate import Result
from policy_dsl.kinds import vocabulary
from policy_dsl.values import to_json

REASONS = {
    "exception": {"zh": "特别规定优先（例外条款）", "en": "an explicit exception prevails"},
    "specificity": {"zh": "下级（更具体的辖区）规定优先", "en": "the more specific jurisdiction governs"},
    "later_rule": {"zh": "同级新规定优于旧规定", "en": "the later rule of the same level governs"},
    "yields_to_superior": {"zh": "本文件声明上级调整后按新政策执行", "en": "yields to a later adjustment by a superior level"},
    "tie": {"zh": "同等优先，结论相同", "en": "tied, with the same outcome"},
}


def clause_ref(clause) -> dict:
    return {"document": clause.doc.number, "article": clause.article, "level": clause.doc.level, "rule": clause.ref}


def result_json(result: Result, lang: str = "zh", trace: bool = True) -> dict:
    """The INTERFACE.md result object for one case."""
    case = result.case
    vocab = vocabulary()
    kind = vocab.kinds[case.kind]
    out: dict = {}
    if case.id is not None:
        out["id"] = case.id
    out["kind"] = case.kind
    out["region"] = case.region.city.to_json()
    if case.region.city is not case.region:
        out["region"]["district"] = case.region.to_json()
    out["decision_date"] = case.decision_date.isoformat()
    out["status"] = result.status
    for name in vocab.outputs:
        if name in kind.outputs:
            out[name] = to_json(result.outputs.get(name))
        else:
            out[name] = None
    out["bounds"] = result.bounds
    governing = []
    for clause, fields in result.governing:
        entry = clause_ref(clause)
        entry["outputs"] = fields
        if clause.adopted is not None:
            entry["adopts"] = clause_ref(clause.adopted)
        governing.append(entry)
    out["governing"] = governing
    out["displaced"] = [
        {**clause_ref(c), "reason": reason, "by": by.ref if by is not None else None,
         "explanation": REASONS.get(reason, {}).get(lang, reason)}
        for c, reason, by in result.displaced
    ]
    out["pending"] = [{**clause_ref(c), "in_force_from": start.isoformat() if start else None}
                      for c, start in result.pending]
    out["notes"] = [n.get(lang) or n["zh"] for n in result.notes]
    if result.redirected:
        out["evaluated_as"] = result.redirected
    out["trace"] = [("  " * depth) + (line.get(lang) or line["zh"]) for depth, line in result.trace] if trace else []
    return out
