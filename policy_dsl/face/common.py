"""What the command handlers share: the policy set a command uses (and how answers name it), and
JSON on stdout."""

from __future__ import annotations

import sys

from policy_dsl.language.messages import t, using


def source(args):
    """The PolicySource of this command line (face/discover.py), found once."""
    found = getattr(args, "_source", None)
    if found is None:
        from policy_dsl.face.discover import policy_source

        found = policy_source(getattr(args, "policies", None), getattr(args, "rev", None))
        args._source = found
    return found


def policy(args):
    """The checked policy set this command line uses (face/discover.py)."""
    from policy_dsl.face.api import load_policy

    return load_policy(list(source(args).folders))


def policy_set_json(args, policy) -> dict:
    """How an answer names the policy set it came from: kind, folder or revision, content hash."""
    return source(args).to_json(policy.fingerprint)


def policy_set_line(args, policy, lang: str) -> str:
    """The same, one line for people."""
    src = source(args)
    with using(lang):
        return t("policy_set.line", label=source_label(src), hash=policy.fingerprint)


def source_label(src) -> str:
    """How people are told which policy set this is: its folders or revision, or in words for the installed copy."""
    return t("policy_set.installed") if src.kind == "installed" else src.label


def dump_json(data) -> None:
    from policy_dsl.face.api import dumps, write_pieces

    write_pieces(sys.stdout, dumps(data))


def show_case(con, out, policy, args) -> None:
    """One JSON answer for a person (a table), or its error on stderr (eval without --format json)."""
    from policy_dsl.face import render

    if "error" in out:
        e = out["error"]
        from policy_dsl.language.safeio import printable

        sys.stderr.write(printable(f"{e['where']}: {e['code']} {e['message']}\n"
                                   + ("    " + t("diagnostic.hint", hint=e["hint"]) + "\n" if e.get("hint") else "")))
        return
    render.render_result(con, out, policy, args.lang, args.explain)
