"""Stage (analysis): the probe grid of a policy set — the regions, days and fact values on which
the tools (diff, check, coverage, report, timeline, benchmarks) put questions to the interpreter.
Everything is read from the policy files and their kinds table, the way a property-based tester
reads a schema; nothing here names a region, a year, a circular, a kind or a fact. It produces
questions, never answers.

Regions (``Grid.regions``, each with its ``role``):
- every region a document names as its jurisdiction, records an adoption (or deferral) for, or a
  condition names (``within(r, "…")``), at city or district level;
- for a province among them: one city of the province with no document, adoption or deferral of
  its own (the first by code, valid over the whole span);
- for the country: one prefecture-level city outside every province and city named (the first by
  code, valid over the whole span);
- for each city named: its first district by code (answers must hold for districts).

Days (``Grid.dates`` and ``Grid.days(kind)``):
- every day on which something starts or ends — issue, in force from and until, adoption, deferral,
  deadline for the lower level — and the day before (after ``until``: the day after); each date
  a condition writes, and the day before; 1 January of each year the files span;
- for a kind, also the calendar points its expressions use (``month_of(y, 9)``: the first and the
  last day of September and the days either side, in each year); for a kind decided on a month,
  the first day of each of those days' months.

Fact values (``Grid.facts(kind, region, day)``): for each fact of the kind (kinds table order)
and each person fact, from the kinds table (type, values, range, placement) and the expressions
that read it (conditions, outputs, definitions; adopted clauses included), read from their ASTs:
- a fact no expression of the kind reads: one value (it cannot change an answer);
- enum: each value; bool: false and true; optional: also absent (null);
- int, number: each boundary a comparison draws (the constant parts of both sides, e.g.
  ``continuous_years >= 2`` → 2, ``contribution_years >= min_years`` with ``min_years`` 30 or 25 →
  30 and 25) and its neighbours (±1 for int, ±0.5 for number), inside the fact's ``range``;
  without any, the range's ends (or 0 and 1);
- ``year_of: F``: the year of F's value and the years either side;
- date and month facts are placed relative to their anchor (``before`` / ``after`` / ``around``
  in the table; by default around the decision fact): the anchor itself and the day before;
  for the month offsets the comparisons draw (``month(paid_on) - last_paid_month - 1 <= 3`` → 4
  months) the offset and its neighbours (and 0 and 1 month); for each duration a comparison uses
  (``period_end(birth_date, 6 months)``) the day that ends the period on the anchor and the days
  ``DAY_NEIGHBOURS`` past it; for the calendar months a comparison uses, their first and last
  days and the days either side, in the anchor's year and the years either side;
- region: each probe region valid on the day;
- list of records (``items``, ``length``): the items' fields by the same rules, every combination.
Combinations that break a constraint of the kinds table (``constraints``) are left out: they are
input errors, not questions.

Probes (``Grid.facts(kind, region, day)``): the product of every value of every fact is too many
once a kind reads a few optional facts or person facts (each doubles it or more), so the probes
are two sets of combinations:
- the ordinary product: every combination of the values of the facts a case of the kind must
  give (for a list, of its items' required fields), with every optional fact, defaulted fact and
  person fact absent (its first value that completes a combination). When one (kind, region, day)
  has more than ``MAX_COMBINATIONS``, ``MAX_COMBINATIONS`` evenly spaced ones are kept, plus for
  each value of each fact the first combination with it (``Grid.sampled`` records where);
- covering rows (``Grid.covering_rows``): rows in which each value of each fact meets each value
  of each other fact at least once (all pairs, a covering array of strength 2; a list counts each
  field of each item as a fact), wherever the constraints allow the pair.
A question that needs three facts at particular values at once, all of them away from the
ordinary case, may be missed; ``Grid.iter_facts`` still yields the whole product for a prober
that wants it.

``grid_of(policy)`` is the grid of one set (cached on it); ``Grid([old, new], extra_regions)`` the
union of two sets' grids (``diff``)."""

from __future__ import annotations

import datetime as dt
import functools

from policy_dsl.language.errors import PolicyDslError
from policy_dsl.language.expr import ast
from policy_dsl.language.expr.compile import EvalError
from policy_dsl.language.model import Case, Expr, PolicySet
from policy_dsl.language.periods import add_months
from policy_dsl.language.values import Month, to_json

DAY_NEIGHBOURS = (-1, 0, 1, 2, 5, 9)  # days past a period's end; 9 exceeds the longest run of non-working days (8)
MAX_COMBINATIONS = 4096  # fact combinations for one (kind, region, day) before sampling
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
PLACEMENTS = ("before", "after", "around")
_MAX_CONSTANTS = 32  # constant parts kept for one expression (an `if` chain doubles them)
_MISMATCH = object()  # Grid._put: a value not where the shape puts it


# -- what a kind's expressions read and compare with ------------------------------------
class KindExpressions:
    """What the expressions of one kind (over one or more policy sets) read and compare with."""

    def __init__(self):
        self.read: set[str] = set()  # fact paths read: "paid_on", "enrollments.basis"
        self.bounds: dict[str, set] = {}  # numeric fact path -> boundaries
        self.offsets: dict[str, set] = {}  # date/month fact path -> month offsets
        self.durations: dict[str, set] = {}  # date fact path -> durations
        self.calendar: dict[str, set] = {}  # date/month fact path -> calendar month numbers
        self.months: set[int] = set()  # calendar month numbers any expression uses (month_of(y, m))
        self.dates: set[dt.date] = set()  # dates and months the expressions write
        self.regions: set[str] = set()  # region codes the expressions write (within(r, "…"))


def goes_on_to(clause) -> set[str]:
    """The kinds a clause goes on to (with what it adopts): its ``evaluate_as`` target and the
    kinds its expressions ask for (``answer(...)``)."""
    out = {n.kind for e, _ in _clause_expressions(clause) for n in ast.answers(e.node)}
    out |= {c.evaluate_as[0] for c in (clause, clause.effective()) if c.evaluate_as}
    return out


def _clause_expressions(clause) -> list[tuple[Expr, dict]]:
    """Every expression a clause evaluates (its own and what it adopts), each with the names it
    may use from the clause (outputs decided in it)."""
    out = []
    for c in dict.fromkeys((clause, clause.effective())):
        local = {name: e for name, e in c.decide}
        found = [c.when] + [e for _, e in c.decide]
        if c.evaluate_as:
            found += [e for _, e in c.evaluate_as[1]]
        found += list((getattr(c, "note_whens", None) or {}).values())
        out += [(e, local) for e in found if isinstance(e, Expr)]
    return out


def analyse(policies: list[PolicySet], kind: str, vocab) -> KindExpressions:
    """What the expressions of ``kind`` read and compare with, in every set of ``policies``."""
    out = KindExpressions()
    facts = vocab.kinds[kind].facts
    lists = {name for name, spec in facts.items() if spec["type"] == "list"}
    for policy in policies:
        defs = {d.name: d.expr for d in policy.definitions.values() if kind in d.kinds}
        roots = [(e, local) for c in policy.by_topic.get(kind, ()) for e, local in _clause_expressions(c)]
        roots += [(e, {}) for e in defs.values()]
        for expr, local in roots:
            scope = {**{n: e.node for n, e in defs.items()}, **{n: e.node for n, e in local.items()}}
            walker = _Walker(scope, lists)
            out.read |= walker.reads(expr.node)
            for node in walker.nodes(expr.node):
                _note(node, walker, out, facts, vocab)
    return out


class _Walker:
    """Reads an expression with the names it may use (definitions, outputs of the clause)
    expanded into their expressions."""

    def __init__(self, scope: dict, lists: set[str]):
        self.scope, self.lists = scope, lists

    def nodes(self, node, seen=()):
        """Every node, expanded names included (each name once on a path)."""
        for n in ast.walk(node):
            yield n
            if isinstance(n, ast.Name) and n.name in self.scope and n.name not in seen:
                yield from self.nodes(self.scope[n.name], seen + (n.name,))

    def reads(self, node, seen=()) -> set[str]:
        out = set()
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                if n.name in self.scope and n.name not in seen:
                    out |= self.reads(self.scope[n.name], seen + (n.name,))
                else:
                    out.add(n.name)
            elif isinstance(n, ast.Field):
                base = n.obj.obj if isinstance(n.obj, ast.Index) else n.obj
                if isinstance(base, ast.Name) and base.name in self.lists:
                    out.add(f"{base.name}.{n.name}")
        return out

    def constants(self, node, seen=()) -> frozenset:
        """The constant parts an expression may have, the rest taken as 0: ``x - y - 1`` → {-1};
        ``if c then 30 else 25`` → {30, 25}."""
        if isinstance(node, ast.Literal):
            v = node.value
            return frozenset({v}) if isinstance(v, (int, float)) and not isinstance(v, bool) else frozenset({0})
        if isinstance(node, ast.Name):
            if node.name in self.scope and node.name not in seen:
                return self.constants(self.scope[node.name], seen + (node.name,))
            return frozenset({0})
        if isinstance(node, ast.Unary) and node.op == "-":
            return frozenset(-v for v in self.constants(node.operand, seen))
        if isinstance(node, ast.Binary) and node.op in ("+", "-"):
            a, b = self.constants(node.left, seen), self.constants(node.right, seen)
            sign = 1 if node.op == "+" else -1
            return _capped(x + sign * y for x in a for y in b)
        if isinstance(node, ast.If):
            return _capped(self.constants(node.then, seen) | self.constants(node.other, seen))
        if isinstance(node, ast.Call) and node.func in ("min", "max"):
            return _capped(v for a in node.args for v in self.constants(a, seen))
        return frozenset({0})


def _capped(values) -> frozenset:
    return frozenset(sorted(set(values), key=lambda v: (abs(v), v))[:_MAX_CONSTANTS])


def _note(node, walker: _Walker, out: KindExpressions, facts: dict, vocab) -> None:
    """Record what one node of an expression of the kind says about the grid."""
    if isinstance(node, ast.Literal):
        if node.kind == "date":
            out.dates.add(node.value)
        elif node.kind == "month":
            out.dates.add(node.value.first_day())
        return
    if isinstance(node, ast.Call):
        if node.func == "month_of" and len(node.args) == 2 and isinstance(node.args[1], ast.Literal):
            if isinstance(node.args[1].value, int) and 1 <= node.args[1].value <= 12:
                out.months.add(node.args[1].value)
        if node.func == "within" and len(node.args) == 2 and isinstance(node.args[1], ast.Literal):
            out.regions.add(str(node.args[1].value))
        return
    if not isinstance(node, ast.Binary):
        return
    if node.op == "in" and isinstance(node.right, ast.ListExpr):
        for path in walker.reads(node.left):
            if _spec(path, facts, vocab).get("type") in ("int", "number"):
                out.bounds.setdefault(path, set()).update(
                    i.value for i in node.right.items if isinstance(i, ast.Literal) and isinstance(i.value, (int, float)))
        return
    if node.op not in COMPARISONS:
        return
    left, right = walker.reads(node.left), walker.reads(node.right)
    cl, cr = walker.constants(node.left), walker.constants(node.right)
    inner = list(walker.nodes(node))
    durations = {n.value for n in inner if isinstance(n, ast.Literal) and n.kind == "duration"}
    months = {n.args[1].value for n in inner if isinstance(n, ast.Call) and n.func == "month_of" and len(n.args) == 2
              and isinstance(n.args[1], ast.Literal) and isinstance(n.args[1].value, int)}
    for side, path in [("left", p) for p in left] + [("right", p) for p in right]:
        spec = _spec(path, facts, vocab)
        t = spec.get("type")
        if t in ("int", "number") and "year_of" not in spec:
            found = {r - c for c in cl for r in cr} if side == "left" else {c - r for c in cl for r in cr}
            out.bounds.setdefault(path, set()).update(found)
        elif t in ("date", "month"):
            out.offsets.setdefault(path, set()).update(abs(c - r) for c in cl for r in cr if float(c - r).is_integer())
            if durations:
                out.durations.setdefault(path, set()).update(durations)
            if months:
                out.calendar.setdefault(path, set()).update(m for m in months if 1 <= m <= 12)


def _spec(path: str, facts: dict, vocab) -> dict:
    """The spec of a fact path of the kind ("fact", "list.field") or of a person fact; {} if none."""
    name, _, item = path.partition(".")
    spec = facts.get(name) or vocab.person_flags.get(name) or {}
    if item:
        return (spec.get("items") or {}).get(item) or {}
    return spec


class Analyses(dict):
    """What each kind's expressions read and compare with (kind -> KindExpressions), as kept in
    the user's cache."""


# -- the grid -----------------------------------------------------------------------------
class Grid:
    """The probe grid of one policy set, or the union of the grids of several (``diff``)."""

    def __init__(self, policies: list[PolicySet], extra_regions=(), registry=None):
        from policy_dsl.language.regions import default_registry

        self.policies = list(policies)
        self.registry = registry or default_registry()
        self.kinds = {}  # kind name -> (Kind, the vocabulary it comes from): the last set's wins
        self.person_flags: dict = {}
        for p in self.policies:
            self.kinds.update({name: (k, p.vocab) for name, k in p.vocab.kinds.items()})
            self.person_flags.update(p.vocab.person_flags)
        self._analysis: dict[str, KindExpressions] = {}
        self._days: dict[str, list[dt.date]] = {}
        self._orders: dict[str, list] = {}
        self._checks: dict[str, tuple] = {}
        self._phases: dict = {}  # (kind, day) -> phase
        self._runs_of: dict = {}  # kind -> where its decision days change phase (``_phase_runs``)
        self._valid_regions: dict = {}  # day -> regions_on
        self._region_lists: dict = {}  # the codes of a list of regions -> that list (one object for each)
        self._region_class_index: dict = {}  # (id of a list of regions, codes) -> (the list, _region_classes)
        self._months: dict[str, set] = {}
        self._read: dict[str, set] = {}
        self.sampled: dict[tuple, int] = {}  # (kind, region code or None, day) -> combinations before sampling
        self._probes: dict = {}  # (kind, region code or None: _regional, day) -> probe_paths
        self._put_probes: dict = {}  # the same, for the last probes put to a region from its shape's (``_put``)
        self._extra = list(extra_regions)
        self._regions_found: tuple | None = None
        self._span_index: dict = {}  # (kind, region code) -> _spans

    # made when first asked for (``applies`` needs only the facts of one region and day)
    @functools.cached_property
    def first(self) -> dt.date:
        return self._span()[0]

    @functools.cached_property
    def last(self) -> dt.date:
        return self._span()[1]

    @functools.cached_property
    def years(self) -> list[int]:
        """The years the files span."""
        return list(range(self.first.year, self.last.year + 1))

    @functools.cached_property
    def dates(self) -> list[dt.date]:
        """Every day on which something starts or ends, and the day before (module docstring)."""
        return self._dates()

    @property
    def regions(self) -> list:
        """The probe regions (module docstring), each with its ``roles`` entry."""
        if self._regions_found is None:
            roles: dict[str, str] = {}
            self._regions_found = (self._regions(self._extra, roles), roles)
        return self._regions_found[0]

    @property
    def roles(self) -> dict[str, str]:
        """Region code -> why it is probed: document, adoption, condition, changed document,
        district, city of a district named, no document, outside."""
        self.regions
        return self._regions_found[1]

    # -- span and days
    def _file_dates(self) -> set[dt.date]:
        days = set()
        for p in self.policies:
            for d in p.documents:
                if d.issued and d.issued != dt.date.min:
                    days.add(d.issued)
                for c in [d, *d.clauses]:
                    days |= _in_force_dates(c.in_force)
        for kind in self.kinds:
            days |= self.analysis(kind).dates
        return days

    def _span(self) -> tuple[dt.date, dt.date]:
        """From 1 January of the earliest year the files name to 31 December of the latest (and of
        the year after, when the latest day is not 1 January: the steady state after the last
        change has a year of its own)."""
        days = self._file_dates()
        if not days:
            today = dt.date.today()
            return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
        lo, hi = min(days), max(days)
        last_year = hi.year if (hi.month, hi.day) == (1, 1) else hi.year + 1
        return dt.date(lo.year, 1, 1), dt.date(last_year, 12, 31)

    def _dates(self) -> list[dt.date]:
        days = set()
        for p in self.policies:
            for d in p.documents:
                if d.issued and d.issued != dt.date.min:
                    days |= {d.issued, d.issued - dt.timedelta(days=1)}
                for c in [d, *d.clauses]:
                    f = c.in_force
                    for x in _in_force_dates(f):
                        days |= {x, x - dt.timedelta(days=1)}
                    if f.until:
                        days.add(f.until + dt.timedelta(days=1))
        for kind in self.kinds:
            days |= {x for d in self.analysis(kind).dates for x in (d, d - dt.timedelta(days=1))}
        days |= {dt.date(y, 1, 1) for y in self.years}
        return sorted(d for d in days if self.first <= d <= self.last)

    def analysis(self, kind: str) -> KindExpressions:
        """What the kind's expressions read and compare with. For one policy set read from files,
        all kinds' at once, kept in the user's cache with the set (policy_dsl.language.cache)."""
        found = self._analysis.get(kind)
        if found is None:
            if len(self.policies) == 1 and self.policies[0].fingerprint and not self._analysis:
                from policy_dsl.language import cache

                policy = self.policies[0]
                self._analysis.update(cache.cached("grid", ["analysis", policy.fingerprint], lambda: Analyses(
                    (name, analyse([policy], name, policy.vocab)) for name in policy.vocab.kinds), Analyses))
                found = self._analysis.get(kind)
            if found is None:
                k, vocab = self.kinds[kind]
                found = self._analysis[kind] = analyse([p for p in self.policies if kind in p.vocab.kinds], kind, vocab)
        return found

    def calendar_months(self, kind: str) -> set[int]:
        """The calendar months the kind's expressions use, and those of the kinds it is evaluated
        as or asks (evaluate_as, answer(...))."""
        found = self._months.get(kind)
        if found is None:
            found = self._months[kind] = self._calendar_months(kind)
        return found

    def _calendar_months(self, kind: str) -> set[int]:
        months, todo, seen = set(), [kind], set()
        while todo:
            k = todo.pop()
            if k in seen or k not in self.kinds:
                continue
            seen.add(k)
            months |= self.analysis(k).months
            for p in self.policies:
                for c in p.by_topic.get(k, ()):
                    todo += sorted(goes_on_to(c))
        return months

    def days(self, kind: str) -> list[dt.date]:
        """The decision days of ``kind``: ``dates`` and the kind's calendar points (for a kind
        decided on a month, the first day of each of those days' months)."""
        found = self._days.get(kind)
        if found is None:
            days = set(self.dates)
            for y in self.years:
                for m in self.calendar_months(kind):
                    month = Month.of(y, m)
                    a, b = month.first_day(), month.last_day()
                    days |= {a, a - dt.timedelta(days=1), b, b + dt.timedelta(days=1)}
            k, _ = self.kinds[kind]
            if k.facts[k.decided_on]["type"] == "month":
                days = {Month.of_date(d).first_day() for d in days}
            found = self._days[kind] = sorted(d for d in days if self.first <= d <= self.last)
        return found

    def phase(self, kind: str, day: dt.date) -> tuple:
        """Where ``day`` falls among the kind's calendar months (before, in, after each): two days
        of one phase differ, for the kind's expressions, only by the calendar. Worked out once for
        each kind and day (every probe region asks it of the same days)."""
        found = self._phases.get((kind, day))
        if found is None:
            out = []
            for m in sorted(self.calendar_months(kind)):
                month = Month.of(day.year, m)
                out.append((day >= month.first_day(), day > month.last_day()))
            found = self._phases[(kind, day)] = tuple(out)
        return found

    def standing(self, kind: str, region, day: dt.date) -> tuple:
        """The standing of each clause on ``kind`` at (region, day), in each set of the grid."""
        from policy_dsl.engine import resolve

        return tuple(resolve.standing(c, region, day).state for p in self.policies for c in p.by_topic.get(kind, ()))

    def sample_days(self, kind: str, region, days: list[dt.date] | None = None) -> list[dt.date]:
        """Of ``days`` (sorted; default: the kind's decision days), the first on which each standing of the
        kind's clauses holds in each calendar phase (between two such days only the calendar
        changes): what ``check`` and ``check --coverage`` probe. The standings are those of the
        clauses that apply in ``region`` (the others are `outside` there every day), worked out
        once for each span between the days they change (``_spans``). Only the days where the
        phase, the span or the region's validity changes are looked at (a day after one of the
        same three cannot be the first of its standing and phase): a region costs what its own
        clauses and the calendar cost, not the number of days the whole policy set names."""
        import bisect

        from policy_dsl.engine import resolve

        edges, spans, here = self._spans(kind, region)
        if days is None:
            days, starts = self.days(kind), self._phase_runs(kind)
        else:
            starts = self._runs(kind, days)
        cuts = [*edges, region.valid_from, region.valid_to and region.valid_to + dt.timedelta(days=1)]
        looked = sorted(set(starts).union(bisect.bisect_left(days, e) for e in cuts if e is not None))
        seen: set = set()
        out = []
        for i in looked:
            if i == len(days):
                break
            day = days[i]
            if not region.valid_on(day):
                continue
            s = bisect.bisect_right(edges, day)
            standing = spans[s]
            if standing is None:
                standing = spans[s] = tuple(resolve.standing(c, region, day).state for c in here)
            key = (standing, self.phase(kind, day))
            if key not in seen:
                seen.add(key)
                out.append(day)
        return out

    def _phase_runs(self, kind: str) -> list[int]:
        """``_runs`` of the kind's decision days (made once for each kind)."""
        found = self._runs_of.get(kind)
        if found is None:
            found = self._runs_of[kind] = self._runs(kind, self.days(kind))
        return found

    def _runs(self, kind: str, days: list[dt.date]) -> list[int]:
        """The places in ``days`` (sorted) where the calendar phase differs from the day before's."""
        out, last = [], None
        for i, day in enumerate(days):
            phase = self.phase(kind, day)
            if phase != last:
                out.append(i)
                last = phase
        return out

    def here(self, kind: str, region) -> tuple:
        """The clauses of ``kind``, in each set of the grid, that apply in ``region``."""
        return self._spans(kind, region)[2]

    def _spans(self, kind: str, region) -> tuple:
        """(the days on which a standing of the clauses of ``kind`` that apply in ``region`` changes
        — issued, start, the day after the end —, the standings between them as found, those
        clauses), made once for each kind and region."""
        key = (kind, region.code)
        found = self._span_index.get(key)
        if found is None:
            from policy_dsl.engine import resolve

            here = tuple(c for p in self.policies for c in resolve.applying(p, kind, region))
            edges = sorted({x for c in here for x in (c.doc.issued, c.local_start(region),
                                                     c.in_force.until + dt.timedelta(days=1) if c.in_force.until else None)
                            if x})
            found = self._span_index[key] = (edges, [None] * (len(edges) + 1), here)
        return found

    # -- regions
    def _regions(self, extra: list[str], roles: dict) -> list:
        reg = self.registry
        named: dict[str, str] = {}  # code -> role
        for p in self.policies:
            for d in p.documents:
                named.setdefault(d.jurisdiction, "document")
        for p in self.policies:
            for d in p.documents:
                for c in [d, *d.clauses]:
                    for code in _in_force_regions(c.in_force):
                        named.setdefault(code, "adoption")
        for kind in self.kinds:
            for code in self.analysis(kind).regions:
                named.setdefault(code, "condition")
        for code in extra:
            named.setdefault(code, "changed document")
        regions = {}
        for code in named:
            try:
                regions[code] = reg.get(code)
            except KeyError:  # an unknown code: check reports it (E-REGION-UNKNOWN)
                continue
        cities = sorted((r for r in regions.values() if r.level not in ("country", "province") or r.municipality),
                        key=lambda r: r.code)
        provinces = sorted((r for r in regions.values() if r.level == "province" and not r.municipality),
                           key=lambda r: r.code)
        out: list = []

        def add(r, role):
            if r is not None and r.code not in roles:
                roles[r.code] = role
                out.append(r)

        def spanning(r) -> bool:
            return r.valid_on(self.first) and r.valid_on(self.last)

        for r in cities:
            add(r, named[r.code])
            if r.level == "district":
                add(r.city, "city of a district named")
            else:
                add(next(_children(reg, r, "district", spanning), None), "district")
        named_codes = set(regions) - {reg.country.code}
        for p in provinces:
            add(next((c for c in _children(reg, p, "city", spanning) if not (c.chain_codes & named_codes - {p.code})),
                     None), "no document")
        if any(r.level == "country" for r in regions.values()):
            add(next((c for q in _children(reg, reg.country, "province", spanning) if q.code not in named_codes
                      and not q.municipality for c in _children(reg, q, "city", spanning)
                      if not (c.chain_codes & named_codes)), None), "outside")
        return out

    def regions_on(self, day: dt.date) -> list:
        """The probe regions valid on ``day`` (one list for each day, shared: not to be changed)."""
        found = self._valid_regions.get(day)
        if found is None:
            found = [r for r in self.regions if r.valid_on(day)]
            found = self._valid_regions[day] = self._region_lists.setdefault(tuple(r.code for r in found), found)
        return found

    # -- fact values
    def _order(self, kind: str) -> list:
        """(name, spec, is a person fact) for each fact of the kind, anchors before what they anchor."""
        found = self._orders.get(kind)
        if found is None:
            k, _ = self.kinds[kind]
            entries = [(n, s, False) for n, s in k.facts.items()] + [(n, s, True) for n, s in self.person_flags.items()]
            entries.sort(key=lambda e: e[0] != k.decided_on)  # the decision fact first: most are placed by it
            done, found = set(), []
            while entries:
                for i, (n, s, person) in enumerate(entries):
                    anchor = _anchor(s) or k.decided_on
                    if n == k.decided_on or anchor in done or anchor not in k.facts:
                        break
                else:
                    i = 0  # anchors that go round (the kinds table is refused for that): in order
                found.append(entries.pop(i))
                done.add(found[-1][0])
            self._orders[kind] = found
        return found

    def _values(self, kind: str, name: str, spec: dict, person: bool, region, day: dt.date, acc: dict) -> list:
        k, _ = self.kinds[kind]
        read = name in self._read_names(kind)
        t = spec["type"]
        if name == k.decided_on:
            return [Month.of_date(day) if t == "month" else day]
        optional = bool(spec.get("optional")) or "default" in spec
        if not read:
            if optional or (person and t == "bool"):
                return [spec.get("default", False if t == "bool" else None)]
            return [self._one(kind, name, spec, region, day, acc)]
        values = self._read_values(kind, name, name, spec, region, day, acc)
        if optional and t == "list":
            values = ListProduct(values.fields, values.length, absent_first=True)
        elif optional and t != "bool":
            values = [None] + [v for v in values if v is not None]
        return values

    def _region_values(self, kind: str, region, day: dt.date) -> list:
        """The values of a region fact (``from_region``) at a probe in ``region``: of the probe
        regions, one for each way the expressions that can run there can tell regions apart —
        whether it is ``region``, shares its city or province, its level, and whether it lies
        within each region code those expressions write (``within(r, "…")``, a code compared) —
        the first of each in grid order. Then a region costs what its own clauses cost, not the
        number of regions squared. Every probe region when the kind's expressions pass a region
        on to another kind (``answer(...)``, ``evaluate_as``), which could tell more apart."""
        regions = self.regions_on(day) or [region]
        codes = self._region_codes(kind, region)
        if codes is None:
            return list(regions)
        own, classes, by_province = self._region_classes(regions, codes)
        # a probe region outside ``region``'s province is neither it nor of its city or province:
        # the first of its class outside that province stands for the others; those of the
        # province (a few) are told apart one by one
        mine = region.province.code
        picks = {}  # the key -> the place of the first region with it
        for key, places in classes.items():
            at = next((i for i in places if regions[i].province.code != mine), None)
            if at is not None:
                picks[(False, False, False, key)] = at
        for i in by_province.get(mine, ()):
            x = regions[i]
            picks.setdefault((x == region, x.city == region.city, True, own[i]), i)
        return [regions[i] for i in sorted(picks.values())]

    def _region_classes(self, regions: list, codes: tuple) -> tuple:
        """For ``_region_values``: each region's own key (its level, whether it is a city or a
        province itself, and how it stands to each of ``codes``), the places of the regions of each
        key and of each province, in grid order; made once for each list of regions and codes."""
        key = (id(regions), codes)
        found = self._region_class_index.get(key)
        if found is None or found[0] is not regions:
            own, classes, by_province = [], {}, {}
            for i, x in enumerate(regions):
                k = (x.level, x.municipality, x.city == x, x.province == x, tuple(x.within(c) for c in codes),
                     tuple(x.city.code == c or x.province.code == c for c in codes))
                own.append(k)
                classes.setdefault(k, []).append(i)
                by_province.setdefault(x.province.code, []).append(i)
            found = self._region_class_index[key] = (regions, (own, classes, by_province))
        return found[1]

    def _region_codes(self, kind: str, region) -> tuple | None:
        """The literal texts in the expressions that can run for ``kind`` in ``region`` (its clauses
        there, the kind's definitions, the kinds table's constraints), or None when they pass
        values on to another kind."""
        key = ("region codes", kind, region.code)
        if key in self._checks:
            return self._checks[key]
        nodes = [e.node for c in self.here(kind, region) for e, _ in _clause_expressions(c)]
        if any(c.effective().evaluate_as for c in self.here(kind, region)):
            nodes = None
        if nodes is not None:
            for p in self.policies:
                nodes += [d.expr.node for d in p.definitions.values() if kind in d.kinds]
            _, vocab = self.kinds[kind]
            nodes += [c.require for c in vocab.constraints_for(kind)]
            walked = [n for node in nodes for n in ast.walk(node)]
            if any(isinstance(n, getattr(ast, "Answer", ())) for n in walked):
                nodes = None
            else:
                codes = tuple(sorted({str(n.value) for n in walked if isinstance(n, ast.Literal) and isinstance(n.value, str)}))
        found = self._checks[key] = None if nodes is None else codes
        return found

    def _read_names(self, kind: str) -> set[str]:
        """The facts the kind's expressions read (a list fact when a field of its items is read)."""
        found = self._read.get(kind)
        if found is None:
            read = self.analysis(kind).read
            found = self._read[kind] = set(read) | {p.split(".", 1)[0] for p in read}
        return found

    def _list_fields(self, kind, name, spec, region, day, acc) -> list:
        """(field, its values) for each field of the items of list fact ``name``, in the kinds
        table's order: the values ``_read_values`` crosses into the list's values."""
        an = self.analysis(kind)
        return [(f, (self._read_values(kind, f, f"{name}.{f}", s, region, day, acc)
                     if f"{name}.{f}" in an.read else [self._one(kind, f"{name}.{f}", s, region, day, acc)]))
                for f, s in spec["items"].items()]

    def _list_indices(self, kind, name, spec, region, day, acc) -> list:
        """The places, among the values of list fact ``name``, of the lists whose items give each
        required field each of its values and every optional field its first."""
        fields = self._list_fields(kind, name, spec, region, day, acc)
        width, item = 1, [0]
        for f, values in fields:
            fs = spec["items"][f]
            keep = range(len(values)) if not fs.get("optional") and "default" not in fs else range(1)
            item = [x * len(values) + j for x in item for j in keep]
            width *= len(values)
        out = [0]
        for _ in range(spec.get("length") or 1):
            out = [x * width + r for x in out for r in item]
        skip = 1 if spec.get("optional") or "default" in spec else 0  # absent comes first
        return [skip + x for x in out]

    def _one(self, kind, name, spec, region, day, acc):
        """The value of a fact no expression reads."""
        t = spec["type"]
        if t == "enum":
            return spec["values"][0]
        if t == "bool":
            return False
        if t == "region":
            return region
        if t in ("date", "month"):
            a = self._anchor_day(kind, spec, day, acc)
            return Month.of_date(a) if t == "month" else a
        if t in ("int", "number"):
            if "year_of" in spec:
                return self._anchor_day(kind, spec, day, acc).year
            return (spec.get("range") or [0])[0]
        if t == "list":
            return [{f: self._one(kind, f"{name}.{f}", s, region, day, acc) for f, s in spec["items"].items()}
                    for _ in range(spec.get("length") or 1)]
        return None

    def _anchor_day(self, kind, spec, day, acc) -> dt.date:
        k, _ = self.kinds[kind]
        anchor = _anchor(spec) or k.decided_on
        v = acc.get(anchor, day) if anchor != k.decided_on else day
        return v.first_day() if isinstance(v, Month) else (v if isinstance(v, dt.date) else day)

    def _read_values(self, kind, name, path, spec, region, day, acc) -> list:
        an = self.analysis(kind)
        t = spec["type"]
        if t == "enum":
            return list(spec["values"])
        if t == "bool":
            return [False, True]
        if t == "region":
            return self._region_values(kind, region, day)
        if t in ("int", "number"):
            if "year_of" in spec:
                y = self._anchor_day(kind, spec, day, acc).year
                return [y - 1, y, y + 1]
            return _numbers(an.bounds.get(path, ()), t, spec.get("range"))
        if t in ("date", "month"):
            return self._placed(kind, path, spec, t, day, acc)
        if t == "list":
            return ListProduct(self._list_fields(kind, name, spec, region, day, acc), spec.get("length") or 1)
        return [None]

    def _placed(self, kind, path, spec, t, day, acc) -> list:
        """A date or month fact placed relative to its anchor (module docstring)."""
        an = self.analysis(kind)
        k, _ = self.kinds[kind]
        side = next((p for p in PLACEMENTS if p in spec), "around")
        a = self._anchor_day(kind, spec, day, acc)
        signs = {"before": (-1,), "after": (1,), "around": (-1, 1)}[side]
        offsets = {0, 1}
        for o in an.offsets.get(path, ()):
            offsets |= {int(o) - 1, int(o), int(o) + 1}
        offsets = sorted(o for o in offsets if o >= 0)
        if t == "month":
            base = Month.of_date(a)
            return sorted({base + s * o for s in signs for o in offsets})
        out = {a} | {a + dt.timedelta(days=s) for s in signs}
        for s in signs:
            for o in offsets:
                if o:
                    m = Month.of_date(a) + s * o
                    out |= {m.first_day(), m.last_day()}
        for d in an.durations.get(path, ()):
            for s in signs:  # the day that ends the period on the anchor, and the days past it
                end = add_months(a, s * d.n) if d.unit.startswith("month") else a + dt.timedelta(days=s * d.n)
                out |= {end + dt.timedelta(days=s * e) for e in DAY_NEIGHBOURS}
        for m in an.calendar.get(path, ()):
            for y in (a.year - 1, a.year, a.year + 1):
                month = Month.of(y, m)
                f, l_ = month.first_day(), month.last_day()
                out |= {f, f - dt.timedelta(days=1), l_, l_ + dt.timedelta(days=1)}
        if side == "before":
            out = {x for x in out if x <= a}
        elif side == "after":
            out = {x for x in out if x >= a}
        return sorted(out)

    def _constraint_checks(self, kind: str) -> tuple:
        found = self._checks.get(kind)
        if found is None:
            from policy_dsl.language.expr.compile import compile_expr

            _, vocab = self.kinds[kind]
            found = self._checks[kind] = tuple((c.names, compile_expr(c.require), {}) for c in vocab.constraints_for(kind))
        return found

    def _defaults(self, kind: str) -> dict:
        found = self._checks.get(("defaults", kind))
        if found is None:
            _, vocab = self.kinds[kind]
            found = self._checks[("defaults", kind)] = vocab.person_defaults()
        return found

    def _possible(self, kind: str, facts: dict, region, day) -> bool:
        """Whether the facts keep every constraint of the kinds table (an input error otherwise)."""
        checks = self._constraint_checks(kind)
        if not checks:
            return True
        env = None
        for names, test, known in checks:  # each constraint's answer, remembered by the values it reads
            key = (region.code, day, *(_memo_key(facts.get(n)) for n in names))
            ok = known.get(key)
            if ok is None:
                if env is None:
                    env = {**self._defaults(kind), **facts, "region": region, "decision_date": day, "__trace__": None}
                try:
                    ok = bool(test(env))
                except (PolicyDslError, EvalError, ArithmeticError, ValueError):  # a constraint these facts
                    ok = True  # cannot be read on (e.g. a date the holiday schedule lacks): keep the question
                if len(known) < 100_000:
                    known[key] = ok
            if not ok:
                return False
        return True

    def _checker(self, kind: str, region, day: dt.date, acc: dict):
        """possible(i): whether the constraints whose last fact is the i-th of ``_order(kind)``
        keep the facts chosen in ``acc`` (checked as soon as the facts a constraint reads are
        chosen, so a combination that breaks one is never completed); each answer remembered by
        the values the constraint reads."""
        staged = self._staged_checks(kind, [n for n, _, _ in self._order(kind)])
        env = {**self._defaults(kind), "region": region, "decision_date": day, "__trace__": None}

        def possible(i: int) -> bool:
            for names, test, memo in staged[i]:
                key = (region.code, day, *(_memo_key(acc[n]) if n in acc else None for n in names))
                ok = memo.get(key)
                if ok is None:
                    env.update((n, acc[n]) for n in names if n in acc)
                    try:
                        ok = bool(test(env))
                    except (PolicyDslError, EvalError, ArithmeticError, ValueError):  # a constraint these facts
                        ok = True  # cannot be read on (a date the holiday schedule lacks): keep the question
                    if len(memo) < 100_000:
                        memo[key] = ok
                if not ok:
                    return False
            return True

        return possible, staged

    def iter_facts(self, kind: str, region, day: dt.date, paths: bool = False, vary=None):
        """The fact combinations of ``kind`` at (region, day), one at a time and unsampled (a prober
        that stops at the first it needs makes no more): typed values (Region, Month, date), in
        the kinds table's order, person facts only when not at their absent value. With ``paths``:
        ``(path, facts)``, where ``path`` (a tuple of indices, one per fact) finds the same
        combination again through ``facts_at``. With ``vary`` (a set of fact names): only those
        facts take each of their values; every other takes its first value that completes a
        combination (for an optional fact or a person fact: absent)."""
        order = self._order(kind)
        k, _ = self.kinds[kind]
        shown = [n for n in list(k.facts) + list(self.person_flags)]
        anchors = [_anchor(spec) or k.decided_on for _, spec, _ in order]
        fixed = [vary is not None and name not in vary for name, _, _ in order]
        known: dict = {}  # (fact, its anchor's value) -> the fact's values
        acc: dict = {}
        possible, staged = self._checker(kind, region, day, acc)
        at: list = [0] * len(order)

        def rec(i: int):
            if i == len(order):  # every constraint was checked on the way (``staged``)
                facts = {n: acc[n] for n in shown if n in k.facts or acc[n] not in (None, False)}
                yield (tuple(at), facts) if paths else facts
                return
            name, spec, person = order[i]
            key = (name, acc.get(anchors[i]))
            values = known.get(key)
            if values is None:
                values = known[key] = self._values(kind, name, spec, person, region, day, acc)
            checked = staged[i]
            places = range(len(values))
            if vary is not None and name in vary and spec["type"] == "list" and len(values) > 1:
                places = self._list_indices(kind, name, spec, region, day, acc)
            for j in places:
                acc[name] = values[j]
                at[i] = j
                if not checked or possible(i):
                    made = False
                    for found in rec(i + 1):
                        made = True
                        yield found
                    if made and fixed[i]:
                        break
            acc.pop(name, None)

        return rec(0)

    def facts_at(self, kind: str, region, day: dt.date, path: tuple, known: dict | None = None) -> dict | None:
        """The combination ``iter_facts(kind, region, day, paths=True)`` yields with ``path``, made
        alone; None when it yields none there (an index past a fact's values, or a combination that
        breaks a constraint). ``known``: a dict kept between calls for the same kind, region and
        day (the facts' values, as ``iter_facts`` keeps them)."""
        order = self._order(kind)
        if len(path) != len(order):
            return None
        k, _ = self.kinds[kind]
        known = {} if known is None else known
        acc: dict = {}
        for (name, spec, person), j in zip(order, path):
            anchor = _anchor(spec) or k.decided_on
            key = (name, acc.get(anchor))
            values = known.get(key)
            if values is None:
                values = known[key] = self._values(kind, name, spec, person, region, day, acc)
            if j >= len(values):
                return None
            acc[name] = values[j]
        facts = {n: acc[n] for n in list(k.facts) + list(self.person_flags) if n in k.facts or acc[n] not in (None, False)}
        return facts if self._possible(kind, facts, region, day) else None

    def _staged_checks(self, kind: str, names: list) -> list:
        """For each position of ``names`` (the order facts are chosen in), the constraints of the
        kind whose facts are all chosen once it is: (the facts read, the test, its memo)."""
        found = self._checks.get(("staged", kind))
        if found is None:
            found = [[] for _ in names] or [[]]
            at = {n: i for i, n in enumerate(names)}
            for read, test, memo in self._constraint_checks(kind):
                last = max((at.get(n, len(names) - 1) for n in read), default=0)
                found[max(last, 0)].append((read, test, memo))
            self._checks[("staged", kind)] = found
        return found

    def facts(self, kind: str, region, day: dt.date) -> list[dict]:
        """The probes of ``kind`` at (region, day) (module docstring): ``probe_paths`` without the paths."""
        return [facts for _, facts in self.probe_paths(kind, region, day)]

    def probe_paths(self, kind: str, region, day: dt.date) -> list[tuple]:
        """(path, facts) for each probe of ``kind`` at (region, day): every combination of the
        kind's own required facts with the others absent (sampled beyond MAX_COMBINATIONS),
        then the rows that put each value of each fact with each value of each other
        (``covering_rows``) not among them. ``path`` as ``iter_facts`` gives it."""
        return self._probe_paths(kind, region, day)[0]

    def is_probe(self, kind: str, region, day: dt.date, path: tuple) -> bool:
        """Whether ``path`` (as ``iter_facts`` gives it) names one of the probes at (region, day)."""
        return path in self._probe_paths(kind, region, day)[1]

    def _probe_paths(self, kind: str, region, day: dt.date) -> tuple[list, frozenset]:
        key = (kind, region.code if self._regional(kind) else None, day)  # one for every region when it cannot matter
        found = self._probes.get(key) or self._put_probes.get(key)
        if found is not None:
            return found
        shape = self._region_shape(kind, region, day)
        if shape is not None:
            made = self._probes.get(shape)
            if made is not None:
                found = self._put(kind, made, region, day)
                if found is not None:
                    if (kind, made[0].code, day) in self.sampled:
                        self.sampled[key] = self.sampled[(kind, made[0].code, day)]
                    if len(self._put_probes) > 64:  # made again from the shape's when asked again
                        self._put_probes.clear()
                    self._put_probes[key] = found
                    return found
        found = self._made_paths(kind, region, day, key)
        if shape is not None:
            self._probes[shape] = (region, found)
        return found

    def _region_shape(self, kind: str, region, day: dt.date) -> tuple | None:
        """For a kind whose probes differ between regions only by the regions its region facts take
        (``_regional``): what fixes their places — the kind, the day and the number of probe regions
        a region fact it reads takes there (``_region_values``) — when nothing else can differ: no
        constraint of the kinds table reads ``region``, a region fact or a list with region
        fields, and no person fact is a region. The choices that make the probes (``iter_facts``,
        ``covering_rows``, ``_sample``) look at the places of values, at constraints and at which
        values are equal within one fact, never at a region itself: two regions of one shape get
        their probes at the same places (``_put``). Else None."""
        slots = self._region_slots(kind)
        if slots is None:
            return None
        reads = any(read for name, how in slots.items() for read in (how.values() if isinstance(how, dict) else (how,)))
        return ("shape", kind, day, len(self._region_values(kind, region, day)) if reads else 0)

    def _region_slots(self, kind: str) -> dict | None:
        """For ``_region_shape``: each region fact of ``kind`` (name -> whether an expression reads
        it) and each list fact with region fields (name -> {field: whether it is read}); None when
        the kind's probes cannot be moved between regions that way (see there)."""
        key = ("region slots", kind)
        if key in self._checks:
            return self._checks[key]
        k, vocab = self.kinds[kind]
        an, read = self.analysis(kind), self._read_names(kind)
        slots: dict = {}
        for name, spec in k.facts.items():
            if spec["type"] == "region":
                slots[name] = name in read
            elif spec["type"] == "list" and any(s["type"] == "region" for s in spec["items"].values()):
                slots[name] = {f: name in read and f"{name}.{f}" in an.read
                               for f, s in spec["items"].items() if s["type"] == "region"}
        names = {n.name for c in vocab.constraints_for(kind) for n in ast.walk(c.require) if isinstance(n, ast.Name)}
        if not self._regional(kind) or names & ({"region"} | set(slots)) or any(
                spec["type"] == "region" for spec in self.person_flags.values()):
            slots = None
        self._checks[key] = slots
        return slots

    def _put(self, kind: str, made: tuple, region, day: dt.date) -> tuple | None:
        """The probes ``_made_paths`` makes at ``region`` on ``day``, from those ``made`` = (a region
        of the same shape, its probes) (``_region_shape``): at the same places, each region fact
        read taking the probe region at the same place of ``_region_values`` there, one no
        expression reads taking ``region`` (``_one``). None if a value is not where it is expected."""
        first, (rows, paths) = made
        slots = self._region_slots(kind)
        theirs = self._region_values(kind, first, day)
        mine = self._region_values(kind, region, day)
        place = {r.code: i for i, r in enumerate(theirs)}

        def moved(v, read: bool):
            if v is None:
                return v
            if not read:
                return region if getattr(v, "code", None) == first.code else _MISMATCH
            i = place.get(getattr(v, "code", None))
            return _MISMATCH if i is None else mine[i]

        out = []
        for path, facts in rows:
            new = dict(facts)
            for name, how in slots.items():
                v = facts.get(name)
                if v is None:
                    continue
                if isinstance(how, dict):
                    if not isinstance(v, list):
                        continue
                    v = [{**item, **{f: moved(item.get(f), read) for f, read in how.items() if f in item}} for item in v]
                    if any(x is _MISMATCH for item in v for x in item.values()):
                        return None
                else:
                    v = moved(v, how)
                    if v is _MISMATCH:
                        return None
                new[name] = v
            out.append((path, new))
        return out, paths

    def _made_paths(self, kind: str, region, day: dt.date, key: tuple) -> tuple[list, frozenset]:
        out = list(self.iter_facts(kind, region, day, paths=True, vary=self._ordinary(kind)))
        if len(out) > MAX_COMBINATIONS:
            self.sampled[key] = len(out)
            keep = _sample([facts for _, facts in out], MAX_COMBINATIONS, indices=True)
            out = [out[i] for i in keep]
        seen = {path for path, _ in out}
        out += [(path, facts) for path, facts in self.covering_rows(kind, region, day) if path not in seen]
        if len(self._probes) > 4096:
            self._probes.clear()
        found = self._probes[key] = (out, frozenset(path for path, _ in out))
        return found

    def _regional(self, kind: str) -> bool:
        """Whether the probes of ``kind`` may differ between two regions on one day: a fact of the
        kind, of its items or of the person is a region (it takes the probe region or the probe
        regions), or a constraint of the kinds table reads ``region``. Otherwise they are made once
        for each day, whatever the number of probe regions."""
        key = ("regional", kind)
        found = self._checks.get(key)
        if found is None:
            k, vocab = self.kinds[kind]
            specs = list(k.facts.values()) + list(self.person_flags.values())
            specs += [s for spec in specs if spec["type"] == "list" for s in spec["items"].values()]
            found = self._checks[key] = any(spec["type"] == "region" for spec in specs) or any(
                "region" in c.names for c in vocab.constraints_for(kind))
        return found

    def _ordinary(self, kind: str) -> frozenset:
        """The facts that vary in the ordinary product: the kind's facts that a case must give."""
        k, _ = self.kinds[kind]
        return frozenset(n for n, spec in k.facts.items() if not spec.get("optional") and "default" not in spec)

    def covering_rows(self, kind: str, region, day: dt.date) -> list[tuple]:
        """(path, facts) rows in which each value of each fact meets each value of each other fact
        at least once (all pairs: a covering array of strength 2), wherever the kinds table's
        constraints allow the pair with the values chosen before it. A list fact counts each field
        of each item as a fact of its own. Built a row at a time: each fact in turn takes the
        allowed value that meets the most pairs not yet met (ties: turning with the row) until a
        few rows in a row meet none; then a row for each pair still not met, with those two
        values and each other fact at its first value (if the constraints forbid that row, as
        the first rows chose, a few ways)."""
        order = self._order(kind)
        k, _ = self.kinds[kind]
        shown = list(k.facts) + list(self.person_flags)
        anchors = [_anchor(spec) or k.decided_on for _, spec, _ in order]
        known: dict = {}
        acc: dict = {}
        possible, staged = self._checker(kind, region, day, acc)
        met: set = set()
        partners: dict = {}  # (slot, index) -> the (slot, index) met before it in a row: ((q, jq), (slot, index)) in met
        sizes: dict = {}  # slot -> the most values seen there
        rows: list = []
        seen: set = set()

        def options(i: int, name: str, spec: dict, person: bool) -> tuple:
            """The choices at the i-th fact: its values, or for a list fact the values of each field."""
            key = (name, acc.get(anchors[i]))
            found = known.get(key)
            if found is None:
                if spec["type"] == "list" and name in self._read_names(kind):
                    found = ("list", self._list_fields(kind, name, spec, region, day, acc), spec.get("length") or 1)
                else:
                    found = ("value", self._values(kind, name, spec, person, region, day, acc))
                known[key] = found
            return found

        def pick(slot, n: int, chosen: set, turn: int, forced: dict, allowed=None) -> int | None:
            """The value (index) at ``slot`` meeting the most pairs not met yet with ``chosen``
            (the forced one if ``slot`` is forced; with ``turn`` None, the first allowed)."""
            if n > sizes.get(slot, 0):
                sizes[slot] = n
            if slot in forced:
                j = forced[slot]
                return j if j < n and (allowed is None or allowed(j)) else None
            if turn is None:
                return next((j for j in range(n) if allowed is None or allowed(j)), None)
            best, best_gain = None, -1
            empty = ()
            for step in range(n):
                j = (step + turn) % n
                gain = ((slot, j) not in met) + len(chosen) - len(chosen.intersection(partners.get((slot, j), empty)))
                if gain > best_gain and (allowed is None or allowed(j)):
                    best, best_gain = j, gain
            return best

        def row(turn: int, forced: dict) -> bool:
            """Make one row; keep it if it meets a pair not met before."""
            chosen: list = []  # (slot, index) of the facts with more than one value
            chosen_set: set = set()
            path: list = []
            acc.clear()
            for i, (name, spec, person) in enumerate(order):
                found = options(i, name, spec, person)
                if found[0] == "list":
                    _, fields, length = found
                    width = 1
                    for _, values in fields:
                        width *= len(values)
                    items, index = [], 0
                    for item in range(length):
                        item_values, radix = {}, 0
                        for f, values in fields:
                            j = pick((i, item, f), len(values), chosen_set, turn, forced) if len(values) > 1 else 0
                            if j is None:
                                return False
                            if len(values) > 1:
                                chosen.append(((i, item, f), j))
                                chosen_set.add(((i, item, f), j))
                            item_values[f] = values[j]
                            radix = radix * len(values) + j
                        items.append(item_values)
                        index = index * width + radix
                    acc[name] = items
                    path.append(index + (1 if spec.get("optional") or "default" in spec else 0))  # absent comes first
                    if staged[i] and not possible(i):
                        return False
                    continue
                values = found[1]

                def allowed(j, i=i, name=name, values=values) -> bool:
                    acc[name] = values[j]
                    return not staged[i] or possible(i)

                if len(values) > 1:
                    j = pick((i,), len(values), chosen_set, turn, forced, allowed)
                else:
                    j = 0 if allowed(0) else None
                if j is None:
                    return False
                acc[name] = values[j]
                if len(values) > 1:
                    chosen.append(((i,), j))
                    chosen_set.add(((i,), j))
                path.append(j)
            new = ({c for c in chosen} | {(a, b) for x, a in enumerate(chosen) for b in chosen[x + 1:]}) - met
            if not new or tuple(path) in seen:
                return False
            met.update(new)
            for pair in new:
                if isinstance(pair[1], tuple):  # a pair of (slot, index), not one (slot, index)
                    partners.setdefault(pair[1], set()).add(pair[0])
            seen.add(tuple(path))
            rows.append((tuple(path), {n: acc[n] for n in shown if n in k.facts or acc[n] not in (None, False)}))
            return True

        idle = turn = 0
        while idle <= 2 and len(rows) < MAX_COMBINATIONS:
            idle = 0 if row(turn, {}) else idle + 1
            turn += 1
        def complete(forced: dict) -> None:
            nonlocal turn
            for attempt in (None, turn, turn + 1, turn + 2):  # each other fact at its first value, or as
                if row(attempt, forced):  # the rows chose (the constraints may forbid one way)
                    break
            turn += 1

        slots = sorted(sizes, key=lambda s_: (s_[0], s_[1:] and (s_[1], str(s_[2]))))
        for a in slots:  # a value no row could take yet, alone first: one that no row can take is dead
            for ja in range(sizes[a]):
                if (a, ja) not in met and len(rows) < MAX_COMBINATIONS:
                    complete({a: ja})
        for x, a in enumerate(slots):
            for b in slots[x + 1:]:
                for ja in range(sizes[a]):
                    if (a, ja) not in met:
                        continue
                    for jb in range(sizes[b]):
                        if (b, jb) in met and ((a, ja), (b, jb)) not in met and len(rows) < MAX_COMBINATIONS:
                            complete({a: ja, b: jb})
        return rows

    def cases(self, kind: str, regions=None, days=None):
        """(region, day, facts) for every probe of ``kind``: regions × days × facts."""
        for region in regions if regions is not None else self.regions:
            for day in days if days is not None else self.days(kind):
                if region.valid_on(day):
                    for facts in self.facts(kind, region, day):
                        yield region, day, facts

    def summary(self) -> dict:
        """How big the grid is: regions (with roles), days, and probes per kind."""
        return {"regions": [{**r.to_json(), "role": self.roles[r.code]} for r in self.regions],
                "years": self.years, "dates": len(self.dates),
                "kinds": {k: {"days": len(self.days(k))} for k in self.kinds}}


class ListProduct:
    """The values of a list fact: every list of ``length`` items whose fields take every
    combination of their values (``fields``: (field, values) in order), made one at a time when
    asked for (a list fact of two items of five fields has tens of thousands), in the order of
    ``itertools.product`` (the last field of the last item turning fastest); with
    ``absent_first``, None (the fact absent) before them."""

    __slots__ = ("fields", "length", "absent_first", "_width")

    def __init__(self, fields: list, length: int, absent_first: bool = False):
        self.fields, self.length, self.absent_first = fields, length, absent_first
        width = 1
        for _, values in fields:
            width *= len(values)
        self._width = width

    def __len__(self) -> int:
        return self._width ** self.length + self.absent_first

    def __getitem__(self, index: int):
        if index < 0 or index >= len(self):
            raise IndexError(index)
        if self.absent_first:
            if index == 0:
                return None
            index -= 1
        items = []
        for _ in range(self.length):
            index, option = divmod(index, self._width)
            item = {}
            for f, values in reversed(self.fields):
                option, j = divmod(option, len(values))
                item[f] = values[j]
            items.append(dict(reversed(item.items())))
        return items[::-1]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def _children(reg, parent, level: str, keep):
    """The regions of ``level`` directly under ``parent`` that ``keep`` accepts, in code order,
    found by the codes GB/T 2260 gives them (a province PP0000 has cities PPCC00, a city or a
    municipality PPCC00 has districts PPCCDD), each looked up in the registry."""
    code = parent.code
    if level == "province":
        candidates = (f"{pp:02d}0000" for pp in range(11, 100))
    elif level == "city":
        candidates = (f"{code[:2]}{cc:02d}00" for cc in range(1, 100))
    elif parent.level == "province":  # the districts of a municipality: PP01DD, PP02DD
        candidates = (f"{code[:2]}{cc:02d}{dd:02d}" for cc in range(1, 100) for dd in range(1, 100))
    else:
        candidates = (f"{code[:4]}{dd:02d}" for dd in range(1, 100))
    for c in candidates:
        for r in reg.records(c):
            if r.level == level and r.parent_code == code and keep(r):
                yield r
                break


def _anchor(spec: dict) -> str | None:
    for key in PLACEMENTS + ("year_of",):
        if key in spec:
            return spec[key]
    return None


def _numbers(bounds, t: str, rng) -> list:
    step = 1 if t == "int" else 0.5
    values = set()
    for b in bounds:
        if t == "int" and not float(b).is_integer():
            values |= {int(b // 1), int(b // 1) + 1}
            continue
        values |= {b - step, b, b + step}
    if rng:
        values = {v for v in values if rng[0] <= v <= rng[1]}
    if not values:
        values = set(rng) if rng else {0, 1}
    return sorted(int(v) if float(v).is_integer() and t == "int" else v for v in values)


def _sample(rows: list[dict], n: int, indices: bool = False) -> list:
    """``n`` evenly spaced rows, plus for each value of each fact the first row with it (with
    ``indices``: their places in ``rows``)."""
    keep = {i * len(rows) // n for i in range(n)}
    seen = set()
    for i, row in enumerate(rows):
        for name, v in row.items():
            key = (name, _memo_key(v))
            if key not in seen:
                seen.add(key)
                keep.add(i)
    return sorted(keep) if indices else [rows[i] for i in sorted(keep)]


def _in_force_dates(f) -> set[dt.date]:
    """Every date an InForce holds: from, until, the lower level's deadline, adoptions and
    deferrals (whatever the model records by region)."""
    out = {x for x in (f.start, f.until, f.lower_deadline) if isinstance(x, dt.date)}
    for name in ("adoptions", "deferrals"):
        for v in (getattr(f, name, None) or {}).values():
            out |= {x for x in (v if isinstance(v, (tuple, list)) else (v,)) if isinstance(x, dt.date)}
    return out


def _in_force_regions(f) -> set[str]:
    out = set()
    for name in ("adoptions", "deferrals"):
        out |= set(getattr(f, name, None) or {})
    return out


def grid_of(policy: PolicySet) -> Grid:
    """The probe grid of one policy set (made once, kept on the set)."""
    found = policy.__dict__.get("_grid")
    if found is None:
        found = policy.__dict__["_grid"] = Grid([policy])
    return found


def case_json(kind: str, region, facts: dict) -> dict:
    """A probe as a case file would give it (region codes, ISO dates)."""
    def j(v):
        if isinstance(v, list):
            return [{k: j(x) for k, x in i.items()} if isinstance(i, dict) else j(i) for i in v]
        return to_json(v)

    return {"kind": kind, "region": region.code, **{k: j(v) for k, v in facts.items()}}


def make_case(kind: str, region, facts: dict, day: dt.date):
    """The Case the evaluator answers for a probe."""
    return Case(kind, region, dict(facts), day)


def _memo_key(value):
    """A value as a key (remembering a constraint's answer, telling values apart when sampling):
    the value itself when hashable, with its type where values of two types compare equal (1 and
    True); a list or a mapping as a tuple of the keys of its items."""
    cls = value.__class__
    if cls in (bool, int, float, str) or value is None:
        return (cls, value)
    if cls is list or cls is tuple:
        return (list, tuple(_memo_key(v) for v in value))
    if cls is dict:
        return (dict, tuple((k, _memo_key(v)) for k, v in value.items()))
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)
