"""What ``applies`` shows as displaced needs the pairs of clauses whose conditions can hold together
at the region and day asked (analysis/conflicts.py: ``overlap_finder``). Its short cuts — the
probes that showed a pair at earlier questions tried first (``Witnesses``, ``Grid.facts_at``),
pairs whose conditions contradict each other on their face not probed (``exclusive``), what a
stretch holds worked out once (``resolve._applying``) — must give what trying every probe of the
grid gives, over the grid's regions × days."""

from __future__ import annotations

import datetime as dt

import pytest

from policy_dsl.analysis import grid
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


def _reference(policy, region, day, topics, ev) -> dict:
    """``applies`` data worked out from each clause's standing, every pair tried on every probe."""
    together_of = _every_probe(policy, region, day, ev)
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


def test_applies_answers_as_trying_every_probe_over_the_grid():
    policy = load_policy()  # a set of its own: no witnesses yet
    g = grid.grid_of(policy)
    topics = list(policy.vocab.kinds)
    fast, slow = Evaluator(policy), Evaluator(policy)
    days = g.dates
    asked = 0
    for day in days[::2] + days[1::2]:  # the second pass meets the witnesses of the first at new days
        for region in g.regions_on(day):
            assert applies_data(policy, region, day, topics, "zh", fast) == _reference(policy, region, day, topics, slow), \
                (region.code, day)
            asked += 1
    assert asked > 50
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
    monkeypatch.setattr(grid.Grid, "probe_paths", lambda *a: searched.append(a) or [])
    assert applies_data(again, region, day, topics, "zh", Evaluator(again)) == answer  # no probe made
    assert not searched
    ev = Evaluator(again)
    finder = overlap_finder(again, region, day, ev)
    clauses = resolve.order(list(again.by_topic["duplicate_enrollment"]))
    wanted = frozenset(frozenset(p) for p in zip(clauses, clauses[1:]))
    finder("duplicate_enrollment", clauses, wanted)  # other clauses, other pairs: searched
    assert searched
    assert witnesses(again).answer(("refund", region.code, day.toordinal() + 1), {}, []) is None


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
