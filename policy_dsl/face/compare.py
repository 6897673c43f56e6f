"""The commands that compare and show policy sets: ``diff`` (and ``git-diff``, git's external diff
driver), ``timeline`` and ``report``."""

from __future__ import annotations

import sys
from pathlib import Path

from policy_dsl.face import common
from policy_dsl.language.errors import EXIT_FINDINGS, EXIT_OK, Diagnostic, InputError, PolicyDslError, Where, command_line
from policy_dsl.language.messages import t


def cmd_diff(args) -> int:
    from policy_dsl.face.api import load_policy
    from policy_dsl.face.api import evaluator_for  # the fast backend: the same answers
    from policy_dsl.tools import diff

    if args.between:
        if not args.region or args.old or args.new:
            raise InputError(Diagnostic("E-USAGE", t("diff.between_usage"), command_line(),
                                        "policy-dsl diff --region 济南 --between 2022-03-31 2022-04-01"))
        from policy_dsl.language.regions import default_registry

        d1, d2 = args.between
        region = default_registry().resolve(args.region, d2, Where("--region"), args.lang)
        data = diff.between(common.policy(args), region, d1, d2, evaluator_for=evaluator_for)
        different = bool(data["entering"] or data["leaving"] or data["kinds"])
    else:
        if not args.old:
            raise InputError(Diagnostic("E-USAGE", t("diff.needs_old"), command_line(), t("diff.needs_old.hint")))
        from policy_dsl.face.discover import at_revision
        from policy_dsl.language.sources import resolve_spec

        def paths_of(spec):
            return resolve_spec(spec, lambda rev: at_revision(rev).paths)

        old = load_policy(paths_of(args.old))
        new = load_policy(paths_of(args.new)) if args.new else common.policy(args)
        data = diff.diff_sets(old, new, behaviour=not args.structural_only, evaluator_for=evaluator_for)
        different = bool(data["structural"]) or bool(data.get("behavioural", {}).get("changed"))
        data["old"] = {"source": str(args.old), "hash": old.fingerprint}
        data["new"] = ({"source": str(args.new), "hash": new.fingerprint} if args.new
                       else common.policy_set_json(args, new))
    if args.format == "json":
        common.dump_json(data)
    else:
        from policy_dsl.face import render

        con = render.console()
        if args.between:
            render.render_between(con, data, args.lang)
        else:
            render.render_diff(con, data, args.lang)
    return EXIT_FINDINGS if (args.exit_code and different) else EXIT_OK


def cmd_timeline(args) -> int:
    from policy_dsl.language.regions import default_registry
    from policy_dsl.tools import timeline

    from policy_dsl.face.api import check_topics

    policy = common.policy(args)
    topics = args.topic or list(policy.vocab.kinds)
    check_topics(topics, None, policy.vocab)
    first, last = timeline.span(policy)  # the years the policy files span
    start, end = args.start or first, args.end or last
    if end < start:
        raise InputError(Diagnostic("E-USAGE", t("timeline.to_before_from", end=end, start=start), command_line(), None))
    region = default_registry().resolve(args.region, end, Where("--region"), args.lang)
    data = timeline.timeline_data(policy, region, topics, start, end)
    if args.svg:
        from policy_dsl.language.safeio import atomic_write

        atomic_write(args.svg, timeline.timeline_svg(policy, region, topics, start, end, args.lang))
    if args.format == "json":
        common.dump_json({"region": region.to_json(), "from": start.isoformat(), "to": end.isoformat(), "topics": data,
                          "policy_set": common.policy_set_json(args, policy)})
    else:
        from policy_dsl.face import render

        render.render_timeline(render.console(), region, data, start, end, args.lang, policy.vocab)
    return EXIT_OK


def cmd_git_diff(args) -> int:
    """git calls: PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE."""
    from policy_dsl.face import render
    from policy_dsl.face.api import load_unchecked
    from policy_dsl.language.model import PolicySet
    from policy_dsl.tools import diff

    if len(args.args) < 7:
        raise InputError(Diagnostic("E-USAGE", t("git_diff.arguments"), command_line(),
                                    "git config diff.policy-dsl.command 'policy-dsl git-diff'"))
    path, old_file, _, _, new_file = args.args[:5]
    con = render.console()
    con.print(f"policy-dsl diff {path}")
    sides = []
    for f in (old_file, new_file):
        if f == "/dev/null":
            sides.append(None)
            continue
        try:
            sides.append(load_unchecked([Path(f)]))
        except PolicyDslError as exc:  # not a policy file git can show as data: say why, plainly
            for d in exc.diagnostics:
                con.print(f"  {d.format()}")
            return EXIT_OK
    empty = PolicySet([], {}, [])
    data = {"structural": [c.to_json() for c in diff.structural(sides[0] or empty, sides[1] or empty)]}
    render.render_diff(con, data, args.lang)
    return EXIT_OK


def cmd_report(args) -> int:
    from policy_dsl.tools.report import Site

    policy = common.policy(args)
    src = common.source(args)
    dirs = [Path(p) if Path(p).is_dir() else Path(p).parent for p in src.paths]
    site = Site(policy, dirs, args.lang, test_roots=list(src.tests))
    written = site.write(args.out)
    passed = sum(t.passed for t in site.tests)
    failed = len(site.tests) - passed
    if args.format == "json":
        common.dump_json({"out": str(args.out), "index": str(args.out / "index.html"), "files": [str(p) for p in written],
                          "tests": {"passed": passed, "failed": failed}, "policy_set": common.policy_set_json(args, policy)})
    else:
        sys.stdout.write(t("report.written", n=len(written), out=str(args.out), index=str(args.out / "index.html")) + "\n")
        sys.stdout.write(t("report.tests", passed=passed, failed=failed) + "\n")
    return EXIT_OK
