"""What ``applies`` shows as displaced needs the pairs of clauses whose conditions can hold together
at the region and day asked (analysis/conflicts.py: ``overlap_finder``), each searched among its
own probes (analysis/pairs.py: the values its two conditions compare with, every combination).
It must find every pair that some probe of the grid shows, and every pair it finds beyond them
must hold on a real case; its short cuts — the probes that showed a pair at earlier questions
tried first (``Witnesses``), pairs whose conditions contradict each other on their face not
probed (``exclusive``), the conjuncts searched group by group, what a stretch holds worked out
once (``resolve._applying``) — must not change what it finds."""

from __future__ import annotations

import datetime as dt

import pytest

from policy_dsl.analysis import grid, pairs
from policy_dsl.analysis.conflicts import _contradict, _not_after, _term, keep_witnesses, overlap_finder, witnesses
from policy_dsl.engine import resolve
from policy_dsl.engine.evaluate import Evaluator
from policy_dsl.face.api import applies_data, applies_json, load_policy
from policy_dsl.language.expr.parse import parse_expression
from policy_dsl.language.periods import add_months


def _every_probe(policy, region, day, ev):
    """The pairs of each topic's clauses in force that hold together on some probe, every probe tried."""
    finder = overlap_finder(policy, region, day, ev)
    return lambda topic, clauses: finder(topic, clauses)  # without ``wanted``: the whole grid


def _reference(policy, region, day, topics, ev, together_of=None) -> dict:
    """``applies`` data worked out from each clause's standing, the pairs together as
    ``together_of(topic, clauses)`` gives them (default: every pair tried on every probe of the grid)."""
    together_of = together_of or _every_probe(policy, region, day, ev)
    out = {}
    for topic in topics:
        sts = resolve.standings(policy, topic, region, day)
        in_force = resolve.order([s.clause for s in sts if s.state == "in_force"])
        pending = sorted((s for s in sts if s.state == "pending"), key=lambda s: (s.start, -s.clause.doc.rank))
        outputs = policy.vocab.kinds[topic].outputs
        together = together_of(topic, in_force)
        rows = []
        for c in in_force:
            displaces = [(o, r) for o in in_force if o is not c and (r := resolve.beats(c, o))
                         and resolve.claimed_outputs(c, outputs) & resolve.claimed_outputs(o, outputs)
                         and frozenset((c, o)) in together]
            rows.append({"clause": c, "start": c.local_start(region), "until": c.in_force.until, "displaces": displaces})
        out[topic] = {"in_force": rows, "pending": [{"clause": s.clause, "start": s.start} for s in pending]}
    return applies_json(out, region, day)


def _witness_case(policy, topic, region, day, pair, judge):
    """A case kept as a witness of ``pair`` (a path among the pair's probes, made at (region,
    day)) on which the reference evaluator ``judge`` finds both conditions holding; with the
    clauses in force there."""
    a, b = sorted(pair, key=lambda c: c.ref)
    sts = resolve.standings(policy, topic, region, day)
    in_force = [s.clause for s in sts if s.state == "in_force"]
    g = grid.grid_of(policy)
    probes = pairs.PairProbes(g, Evaluator(policy), topic, region, day, in_force)
    plan = pairs.plan_of(g, topic, a, b)
    for path in witnesses(policy).places(topic, pair):
        facts = probes.at(plan, path)
        if facts is not None:
            case = grid.make_case(topic, region, facts, day)
            if set(judge.holding(case, [a, b])) == {a, b}:
                return case, in_force
    return None, in_force


def test_applies_finds_what_every_probe_of_the_grid_finds_and_more_only_on_real_cases():
    policy = load_policy()  # a set of its own: no witnesses yet
    g = grid.grid_of(policy)
    topics = list(policy.vocab.kinds)
    fast, slow, judge = Evaluator(policy), Evaluator(policy), Evaluator(policy)
    days = g.dates
    asked = more = 0
    for day in days[::2] + days[1::2]:  # the second pass meets the witnesses of the first at new days
        for region in g.regions_on(day):
            answer = applies_data(policy, region, day, topics, "zh", fast)
            grid_found = _reference(policy, region, day, topics, slow)
            assert answer["topics"].keys() == grid_found["topics"].keys()
            for topic, found in answer["topics"].items():
                ref = grid_found["topics"][topic]
                assert found["pending"] == ref["pending"]
                assert [r["rule"] for r in found["in_force"]] == [r["rule"] for r in ref["in_force"]]
                for row, ref_row in zip(found["in_force"], ref["in_force"]):
                    assert all(d in row["displaces"] for d in ref_row["displaces"]), (region.code, day, topic)
                    for d in row["displaces"]:
                        if d in ref_row["displaces"]:
                            continue
                        more += 1  # no probe of the grid shows it: its witness must be a case where both hold
                        pair = frozenset(policy.clauses[r] for r in (row["rule"], d["rule"]))
                        case, in_force = _witness_case(policy, topic, region, day, pair, judge)
                        assert case is not None, (region.code, day, topic, d["rule"])
                        judge.holding(case, in_force)  # every clause in force can be read on it
            asked += 1
    assert asked > 50 and more > 0
    assert witnesses(policy)._places  # the short cut was taken


def test_a_pair_that_holds_together_on_some_days_only(tmp_path):
    """An officer's edit makes 济南's flexible-worker clause hold only on payments in December: the
    probe that showed the pair in December is no witness in June, and ``applies`` must say so."""
    import shutil

    from policy_dsl.language import resources
    from policy_dsl.language.regions import default_registry

    folder = tmp_path / "policies"
    shutil.copytree(resources.policies_dir(), folder)
    text = (folder / "jn-2022-2.yaml").read_text(encoding="utf-8")
    edited = text.replace('    when: worker == "flexible"\n    decide:\n      waiting_months: 0\n',
                          '    when: worker == "flexible" and month_number(paid_on) == 12\n    decide:\n'
                          '      waiting_months: 0\n', 1)
    assert edited != text
    (folder / "jn-2022-2.yaml").write_text(edited, encoding="utf-8")
    policy = load_policy([folder])
    jinan = default_registry().get("370100")
    fast, slow = Evaluator(policy), Evaluator(policy)

    def displaced(day):
        data = applies_data(policy, jinan, day, ["first_enrollment"], "zh", fast)
        assert data == _reference(policy, jinan, day, ["first_enrollment"], slow)
        return [d["rule"] for row in data["topics"]["first_enrollment"]["in_force"] for d in row["displaces"]]

    assert displaced(dt.date(2023, 12, 15)) == ["lu-2021-54/first-enrollment-flexible"]
    assert displaced(dt.date(2023, 6, 15)) == []  # the witness of December tried again, and not one here
    assert displaced(dt.date(2024, 12, 2)) == ["lu-2021-54/first-enrollment-flexible"]


def test_a_place_in_the_grid_makes_the_probe_the_grid_has_there(policy):
    g = grid.grid_of(policy)
    for kind in ("transfer", "newborn", "duplicate_enrollment", "resident_enrollment"):
        for region in g.regions[:2]:
            day = g.days(kind)[len(g.days(kind)) // 2]
            known: dict = {}
            for path, facts in g.iter_facts(kind, region, day, paths=True):
                assert g.facts_at(kind, region, day, path, known) == facts
                assert g.facts_at(kind, region, day, path) == facts
            assert g.facts_at(kind, region, day, (10_000,) * len(path)) is None


def test_witnesses_are_kept_for_the_same_files_only(tmp_path, monkeypatch, policies_copy, cli):
    """What one process learnt is tried first by the next that loads the same files (the user's
    cache, ``keep_witnesses``); an edited set starts with none; the answers are the same."""
    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path / "cache"))
    first = load_policy([policies_copy])
    assert not witnesses(first)._places
    region, day, topics = grid.grid_of(first).regions[0], dt.date(2022, 4, 1), list(first.vocab.kinds)
    answer = applies_data(first, region, day, topics, "zh", Evaluator(first))
    keep_witnesses(first)
    again = load_policy([policies_copy])  # as the next process would: another object, from the cache
    assert again is not first and witnesses(again).to_data(again) == witnesses(first).to_data(first)
    assert applies_data(again, region, day, topics, "zh", Evaluator(again)) == answer
    assert not witnesses(again).changed  # nothing new to keep: found where the last process found it
    text = (policies_copy / "jn-2022-2.yaml").read_text(encoding="utf-8")
    (policies_copy / "jn-2022-2.yaml").write_text(text + "\n", encoding="utf-8")
    assert not witnesses(load_policy([policies_copy]))._places  # an edit gives a new set (its files' bytes are its key)
    assert cli("applies", "--policies", policies_copy, "--date", "2022-04-01", "--region", "济南", "--format", "json").code == 0
    assert witnesses(load_policy([policies_copy]))._places  # the command kept what it learnt


def test_an_answer_is_kept_for_the_same_question_of_the_same_set(tmp_path, monkeypatch, policies_copy):
    """A question asked again — the same topic, region and day, the same clauses in force and
    pairs asked — is answered with what the search found the first time, by this process or (from
    the user's cache) the next that loads the same files; a new day, or other clauses, is searched."""
    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path / "cache"))
    first = load_policy([policies_copy])
    region, day, topics = grid.grid_of(first).regions[0], dt.date(2022, 4, 1), list(first.vocab.kinds)
    answer = applies_data(first, region, day, topics, "zh", Evaluator(first))
    asked = dict(witnesses(first)._answers)
    assert {q[:2] for q in asked} >= {("duplicate_enrollment", region.code), ("refund", region.code)}
    keep_witnesses(first)
    again = load_policy([policies_copy])
    assert {q: (len(a), len(c), len(f)) for q, (a, c, f) in witnesses(again)._answers.items()} == \
        {q: (len(a), len(c), len(f)) for q, (a, c, f) in asked.items()}
    searched = []
    monkeypatch.setattr(pairs.PairProbes, "witness", lambda *a: searched.append(a))
    assert applies_data(again, region, day, topics, "zh", Evaluator(again)) == answer  # no probe made
    assert not searched
    ev = Evaluator(again)
    finder = overlap_finder(again, region, day, ev)
    clauses = resolve.order(list(again.by_topic["duplicate_enrollment"]))
    wanted = frozenset(frozenset(p) for p in zip(clauses, clauses[1:]))
    finder("duplicate_enrollment", clauses, wanted)  # other clauses, other pairs: searched
    assert searched
    assert witnesses(again).answer(("refund", region.code, day.toordinal() + 1), {}, []) is None


def test_the_text_kept_for_a_stretch_is_the_text_made_for_each_day(tmp_path, monkeypatch, policy):
    """``applies_text`` (what ``applies --format json`` prints): the text after the day kept in the
    user's cache for one answer's shape is, for every other day and region with that shape, the
    text ``dumps`` makes of the answer made afresh; another policy set gets its own; a corrupt
    entry is a miss (the text is made and kept again)."""
    from policy_dsl.face.api import applies_found, applies_text, dumps
    from policy_dsl.language import cache

    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path / "cache"))
    named = {"kind": "installed", "source": "installed", "hash": policy.fingerprint}
    made = []
    real_store = cache.store
    monkeypatch.setattr(cache, "store", lambda name, key, obj: (made.append(name), real_store(name, key, obj)))
    days = [dt.date(2021, 6, 1) + dt.timedelta(days=41 * i) for i in range(16)]
    for text_region in ("济南", "370102", "青岛", "110101"):
        for day in days:
            for lang in ("zh", "en"):
                found, region = applies_found(policy, text_region, day, None, lang)
                fresh = {**applies_json(found, region, day, lang), "policy_set": named}
                assert applies_text(policy, found, region, day, lang, named) == dumps(fresh)
    assert 0 < made.count("applies-text") < 4 * 16 * 2  # the days of one stretch share their text
    found, region = applies_found(policy, "济南", days[0], None, "zh")
    other = {**named, "hash": "0" * 16}
    fresh = applies_json(found, region, days[0], "zh")
    assert applies_text(policy, found, region, days[0], "zh", other) == dumps({**fresh, "policy_set": other})
    for f in (tmp_path / "cache").iterdir():
        if f.name.startswith("applies-text-"):
            f.write_bytes(f.read_bytes()[:-3] + b"xyz")  # a corrupt entry: its hash does not match
    made.clear()
    for day in days[:3]:
        found, region = applies_found(policy, "济南", day, None, "zh")
        fresh = {**applies_json(found, region, day, "zh"), "policy_set": named}
        assert applies_text(policy, found, region, day, "zh", named) == dumps(fresh)
    assert "applies-text" in made


@pytest.mark.parametrize("a, b, exclusive", [
    ("paid_on <= period_end(birth_date, 90 days)", "paid_on > period_end(birth_date, 6 months)", True),
    ("paid_on <= period_end(birth_date, 90 days)", "paid_on > period_end(birth_date, 6 months) and "
                                                   "paid_on <= period_end(birth_date, 12 months)", True),
    ("paid_on <= period_end(birth_date, 6 months)", "paid_on > period_end(birth_date, 90 days)", False),
    ("paid_on <= period_end(birth_date, 180 days)", "paid_on > period_end(birth_date, 6 months)", False),
    ("paid_on < period_end(birth_date, 2 months)", "paid_on >= period_end(birth_date, 2 months)", True),
    ("paid_on <= period_end(birth_date, 90 days)", "paid_on > period_end(other_date, 6 months)", False),
    ("paid_on <= end(month_of(y - 1, 12))", "paid_on >= start(month_of(y, 1))", True),
    ("paid_on < start(month_of(y - 1, 9))", "start(month_of(y, 1)) <= paid_on", True),
    ("paid_on <= end(month_of(y, 1))", "paid_on >= start(month_of(y, 1))", False),
    ("paid_on <= end(month_of(y, 1))", "paid_on >= start(month_of(z, 2))", False),
    ("paid_on < 2022-01-01", "paid_on >= 2022-01-01", True),
    ("paid_on <= 2022-01-01", "paid_on >= 2022-01-01", False),
    ("x == start(month_of(y, 3))", "x > end(month_of(y, 2)) and x < end(month_of(y, 3))", False),
    ("x == start(month_of(y, 3))", "x > start(month_of(y, 3))", True),
])
def test_bounds_the_calendar_orders(a, b, exclusive):
    assert _contradict(parse_expression(a), parse_expression(b)) is exclusive
    assert _contradict(parse_expression(b), parse_expression(a)) is exclusive


@pytest.mark.parametrize("a, b, exclusive", [
    ('reason == "death"', 'reason in ["duplicate", "employment"]', True),
    ('reason == "death"', 'reason in ["death", "military"]', False),
    ('reason in ["a", "b"]', 'reason in ["c"]', True),
    ('reason in ["a", "b"]', 'reason in ["b", "c"]', False),
    ('reason in ["a", "b"]', 'reason not in ["a", "b", "c"]', True),
    ('reason in ["a", "b"]', 'reason not in ["a"]', False),
    ('reason == "a"', 'reason not in ["a", "b"]', True),
    ('reason in ["a"]', 'reason != "a"', True),
    ('reason != "a"', 'reason not in ["b"]', False),
    ('reason in []', 'x', False),
    ('reason in []', 'reason in []', True),
    ('reason in ["a", 1]', 'reason == "b"', False),  # a list with other than strings: not read
    ('reason in ["a"]', 'other in ["b"]', False),
])
def test_membership_in_lists_of_strings(a, b, exclusive):
    assert _contradict(parse_expression(a), parse_expression(b)) is exclusive
    assert _contradict(parse_expression(b), parse_expression(a)) is exclusive


def test_the_order_of_period_ends_holds_for_every_start_day():
    durations = [(n, "day") for n in (0, 1, 28, 30, 31, 59, 60, 90, 165, 181, 365)] + \
                [(n, "month") for n in (0, 1, 2, 3, 6, 12)]
    start = dt.date(2019, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range(4 * 366)]
    for x in durations:
        for y in durations:
            order = _not_after((("period_end", "b"), x), (("period_end", "b"), y))
            if order is None:
                continue
            for b in days:
                nx, ny = (add_months(b, v[0]) if v[1] == "month" else b + dt.timedelta(days=v[0]) for v in (x, y))
                assert nx <= ny, (x, y, b)


def test_the_order_of_month_bounds_holds():
    for text, k, m, end in [("start(month_of(y - 1, 9))", -1, 9, 0), ("end(month_of(y + 2, 12))", 2, 12, 1)]:
        assert _term(parse_expression(text)) == (("month", "y"), (12 * k + m, end))
    for y in (2019, 2020, 2024):
        bounds = sorted(((12 * k + m, e), (dt.date(y + k, m, 1) if e == 0 else add_months(dt.date(y + k, m, 1), 1)
                                           - dt.timedelta(days=1)))
                        for k in (-1, 0, 1) for m in range(1, 13) for e in (0, 1))
        for (px, dx), (py, dy) in zip(bounds, bounds[1:]):
            assert _not_after((("month", "y"), px), (("month", "y"), py)) == "<" and dx < dy


def _displaced(data: dict, topic: str) -> dict:
    return {row["rule"]: [d["rule"] for d in row["displaces"]] for row in data["topics"][topic]["in_force"]}


def test_a_displacement_that_only_three_values_at_once_show(cli):
    """济南, 2022-04-01: each of these pairs holds together only on a case that puts three or more
    facts at once away from their ordinary values — a land-requisitioned farmer (a defaulted field
    of the resident item) enrolled across schemes with a year of employee enrollment; a
    poverty-registered person (a person fact) with two resident enrollments by 户籍 and 常住地; a
    poverty-registered (or discharged) person moving between cities after a long gap — which no
    row that covers pairs of values makes. ``applies`` shows each displacement; the grid's own
    probes show none of them."""
    import json

    from policy_dsl.language.regions import default_registry

    run = cli("applies", "--date", "2022-04-01", "--region", "济南", "--format", "json")
    assert run.code == 0
    data = json.loads(run.out)
    dup = _displaced(data, "duplicate_enrollment")
    assert dup["yb-2020-33/poverty-chooses"] == ["yb-2020-33/duplicate-resident-keep-residence"]
    assert "yb-2020-33/duplicate-cross-scheme-one-year" in dup["yb-2020-33/land-requisitioned-suspend-resident"]
    transfer = _displaced(data, "transfer")
    for rule, shown in [("yb-2020-33/poverty-no-waiting-transfer", ["jn-2022-2/transfer-follows-54-within",
                                                                  "lu-2021-54/transfer-intra-within",
                                                                  "yb-2021-43/transfer-long-gap"]),
                        ("yb-2020-33/veteran-no-waiting-transfer", ["jn-2022-2/transfer-follows-54-within",
                                                                  "lu-2021-54/transfer-intra-within",
                                                                  "yb-2021-43/transfer-short-gap-back-paid"])]:
        assert all(r in transfer[rule] for r in shown), (rule, transfer[rule])

    policy = load_policy()
    jinan, day = default_registry().get("370100"), dt.date(2022, 4, 1)
    every = overlap_finder(policy, jinan, day, Evaluator(policy))
    for topic, a, b in [("duplicate_enrollment", "yb-2020-33/poverty-chooses", "yb-2020-33/duplicate-resident-keep-residence"),
                        ("duplicate_enrollment", "yb-2020-33/land-requisitioned-suspend-resident",
                         "yb-2020-33/duplicate-cross-scheme-one-year"),
                        ("transfer", "yb-2020-33/poverty-no-waiting-transfer", "yb-2021-43/transfer-long-gap")]:
        in_force = [s.clause for s in resolve.standings(policy, topic, jinan, day) if s.state == "in_force"]
        assert frozenset((policy.clauses[a], policy.clauses[b])) not in every(topic, in_force)  # the grid's probes


@pytest.mark.parametrize("case, governing, displaced, values", [
    ({"enrollments": [{"scheme": "employee", "basis": "employment", "continuous_employee_years": 1},
                      {"scheme": "resident", "basis": "employment", "continuous_employee_years": 0.5,
                       "land_requisitioned": True}]},
     ["yb-2020-33/land-requisitioned-suspend-resident", "yb-2020-33/subsidy-cross-scheme-one-year"],
     ["yb-2020-33/duplicate-cross-scheme-one-year"], {"keep": 0, "other": "suspend", "subsidy_deducted": True}),
    ({"enrollments": [{"scheme": "resident", "basis": "residence", "continuous_employee_years": 0},
                      {"scheme": "resident", "basis": "hukou", "continuous_employee_years": 0}],
      "poverty_registered": True},
     ["yb-2020-33/poverty-chooses", "yb-2020-33/subsidy-resident-duplicate"],
     ["yb-2020-33/duplicate-resident-keep-residence"], {"chooses": True, "other": "terminate", "keep": None}),
])
def test_the_witness_of_a_new_displacement_is_answered_so(cli, tmp_path, case, governing, displaced, values):
    """The witnesses ``applies`` found for the two duplicate-enrollment displacements above, as an
    officer would type them: ``eval`` decides them by the displacing clause."""
    import json

    path = tmp_path / "case.json"
    path.write_text(json.dumps({"kind": "duplicate_enrollment", "region": "370100", "date": "2022-04-01", **case}),
                    encoding="utf-8")
    run = cli("eval", path, "--format", "json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["status"] == "decided"
    assert [g["rule"] for g in result["governing"]] == governing
    assert [d["rule"] for d in result["displaced"]] == displaced
    assert {k: result[k] for k in values} == values


def _every_path(probes, plan) -> list:
    """Every path of the pair's product (the facts it reads through their values, the others at 0)."""
    import itertools

    ranges = []
    acc: dict = {}
    for i, (name, _, _) in enumerate(probes.order):
        values = probes.values(plan, i, acc)
        acc[name] = values[0]
        ranges.append(range(len(values)) if name in plan.read else range(1))
    return list(itertools.product(*ranges))


@pytest.mark.parametrize("topic, region, day", [
    ("refund", "370100", dt.date(2022, 4, 6)),  # a death in the collection period: none on 6 April
    ("refund", "370100", dt.date(2022, 9, 3)),  # …and some on 3 September
    ("duplicate_enrollment", "370100", dt.date(2022, 4, 1)),
    ("newborn", "370100", dt.date(2022, 4, 1)),
    ("transfer", "370102", dt.date(2022, 4, 1)),
])
def test_the_search_by_groups_finds_what_the_whole_product_finds(topic, region, day):
    """Split into conjuncts and groups of facts, pruned as soon as a conjunct fails, the search of
    a pair finds a witness exactly when some probe of the pair's whole product shows it."""
    from policy_dsl.language.regions import default_registry

    policy = load_policy()
    ev, g = Evaluator(policy), grid.grid_of(policy)
    region = default_registry().get(region)
    in_force, _, _, wanted = resolve._applying(resolve.Stretches(policy).at(topic, region, day),
                                               policy.vocab.kinds[topic].outputs)
    probes = pairs.PairProbes(g, ev, topic, region, day, in_force)
    compared = 0
    for pair in sorted(wanted, key=lambda p: sorted(c.ref for c in p)):
        a, b = sorted(pair, key=lambda c: c.ref)
        plan = pairs.plan_of(g, topic, a, b)
        every = _every_path(probes, plan)
        if len(every) > 3000:
            continue
        found = probes.witness(plan, a, b)
        whole = next((p for p in every if (f := probes.at(plan, p)) is not None and probes.shows(a, b, f)), None)
        assert (found is None) == (whole is None), (a.ref, b.ref)
        if found is not None:
            assert probes.shows(a, b, probes.at(plan, found))
        compared += 1
    assert compared >= 2


def test_answers_kept_share_their_parts(tmp_path, monkeypatch, policies_copy):
    """The answers of the days of one stretch repeat the same pairs asked, clauses and pairs found:
    each is kept as one object for all (``Witnesses.answered``), so what the user's cache holds
    grows by a question's key, not by a copy of its answer; read back, the same answers."""
    import pickle

    from policy_dsl.language.regions import default_registry

    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path / "cache"))
    policy = load_policy([policies_copy])
    jinan, topics, ev = default_registry().get("370100"), list(policy.vocab.kinds), Evaluator(policy)
    asked = {}
    for i in range(40):
        day = dt.date(2022, 5, 2) + dt.timedelta(days=i)
        asked[day] = applies_data(policy, jinan, day, topics, "zh", ev)
    answers = witnesses(policy).to_data(policy)[3]
    assert len(answers) > 40
    for part in range(3):
        assert len({id(e[part]) for e in answers.values()}) == len({e[part] for e in answers.values()})
    copies = {q: (frozenset(tuple(list(p)) for p in a), tuple(list(c)), tuple(tuple(list(p)) for p in f))
              for q, (a, c, f) in answers.items()}  # each answer its own objects, as kept before
    assert 3 * len(pickle.dumps(answers, -1)) < len(pickle.dumps(copies, -1))
    keep_witnesses(policy)
    again = load_policy([policies_copy])
    for day, answer in asked.items():
        assert applies_data(again, jinan, day, topics, "zh", Evaluator(again)) == answer
