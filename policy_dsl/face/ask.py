"""The questions anyone asks: ``applies`` (what applied on a date in a region) and ``eval`` (what
a person gets). The answers are face/api.py's, which the HTTP service gives too."""

from __future__ import annotations

import sys

from policy_dsl.face import common
from policy_dsl.language.errors import EXIT_INPUT, EXIT_OK, InputError


def cmd_applies(args) -> int:
    from policy_dsl.face.api import applies, applies_found, applies_text, write_pieces

    from policy_dsl.analysis.conflicts import keep_witnesses

    policy = common.policy(args)
    if args.format == "json":  # the text of a stretch answered before is kept (applies_text)
        found, region = applies_found(policy, args.region, args.date, args.topic, args.lang)
        keep_witnesses(policy)  # the next start asks the probes that showed the pairs first
        write_pieces(sys.stdout, applies_text(policy, found, region, args.date, args.lang,
                                              common.policy_set_json(args, policy)))
        return EXIT_OK
    data = applies(policy, args.region, args.date, args.topic, args.lang)
    keep_witnesses(policy)
    data["policy_set"] = common.policy_set_json(args, policy)
    from policy_dsl.face import render

    con = render.console()
    render.render_applies(con, data, args.lang, policy.vocab)
    render.render_policy_set(con, common.policy_set_line(args, policy, args.lang))
    return EXIT_OK


def cmd_eval(args) -> int:
    if args.out or args.jobs != 1 or args.format not in ("table", "json") or any(
            str(p).lower().endswith(_TABLES) for p in args.cases):  # a population (face/batch.py)
        from policy_dsl.face import batch

        return batch.cmd_eval_files(args)
    from policy_dsl.face.api import CaseAnswers

    from policy_dsl.face import progress

    policy = common.policy(args)
    answers = CaseAnswers(policy, args.lang, args.as_of, policy_set=common.policy_set_json(args, policy))
    bar = progress.Bar(progress.count_lines(args.cases), args.lang) if progress.wanted() else None
    with bar or _nothing():
        if args.format == "json":  # JSON Lines out: the bar counts the lines written
            from policy_dsl.face.api import eval_json

            bad = eval_json(answers, args.cases, bar.wrap(sys.stdout) if bar else sys.stdout, args.explain)
        else:
            from policy_dsl.engine.cases import read_cases
            from policy_dsl.face import render

            con = render.console()
            render.render_policy_set(con, common.policy_set_line(args, answers.policy, args.lang))
            for path in args.cases:
                try:
                    _, raws = read_cases(path)
                    for raw in raws:
                        common.show_case(con, answers.answer(raw), answers.policy, args)
                        if bar:
                            bar.counter[0] += 1
                except InputError as exc:  # one source that cannot be read: among several, the others are answered
                    if len(args.cases) == 1:
                        raise
                    answers.bad += 1
                    for d in exc.diagnostics:
                        sys.stderr.write(d.format() + "\n")
            bad = answers.bad
    return EXIT_INPUT if bad else EXIT_OK


_TABLES = (".csv", ".parquet", ".xlsx")  # tools/tables.TABULAR, without importing it for one case


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def cmd_regions(args) -> int:
    """What a region name may mean: the candidates (registry search) and, when it names exactly
    one region on the day, the pooling region a case there is answered for."""
    from policy_dsl.language.errors import InputError
    from policy_dsl.language.regions import default_registry

    from policy_dsl.language.messages import t

    registry = default_registry()
    if args.limit < 1:
        from policy_dsl.language.errors import Diagnostic, command_line

        raise InputError(Diagnostic("E-USAGE", t("regions.limit"), command_line(), "--limit 20"))
    found = registry.search(args.query, args.limit, args.date)
    try:
        one = registry.resolve(args.query, args.date, lang=args.lang)
        resolved, problem = one.describe(), None
    except InputError as exc:
        resolved, problem = None, exc.first.message
    day = t("regions.on", day=args.date.isoformat()) if args.date else ""
    if args.format == "json":
        common.dump_json({"query": args.query, "date": args.date.isoformat() if args.date else None,
                          "resolves_to": resolved, "problem": problem, "candidates": found})
        return EXIT_OK
    from policy_dsl.face import render

    con = render.console()
    if resolved is not None:
        city = resolved["city"]["name"] if resolved.get("city") else resolved["name"]
        con.print(t("regions.resolves", q=args.query, day=day, name=resolved["full_name"], code=resolved["code"], city=city),
                  markup=False)
    elif problem:
        con.print(problem, markup=False)
    if not found:
        con.print(t("regions.none", q=args.query), markup=False)
        return EXIT_OK
    render.render_regions(con, found)
    return EXIT_OK
