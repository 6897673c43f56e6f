"""Stage (analysis): the probes aimed at one pair of clauses — whether their conditions can hold
together on some case at one region and day (what ``applies`` needs to show that one clause
displaces another), searched over the values that matter to those two conditions alone.

The probes of a pair (``PairProbes``) at (kind, region, day) are a product: each fact the two
conditions read — through the definitions they name, and the kinds table's constraints on
those facts — takes each of its values in the probe grid (``Grid``: the values the kind's
expressions compare with and their neighbours, the placed dates, the probe regions; for a list
fact, each read field of each item), except that an enumerated fact the two conditions only
compare with string literals takes the values they name and one value they do not (any other
is the same to them); every other fact takes its first value (an optional or defaulted fact:
absent). A combination that breaks a constraint is no probe. The pair "holds together" at
(region, day) when on some probe both conditions hold and no condition of the clauses in force
raises (the reference evaluator's reading of the case, as ``applies`` gives it).

The product is not walked whole. The two conditions and the constraints are split into their
top-level conjuncts, and the facts varied into groups that no conjunct straddles (a date placed
against another fact goes with it): a conjunct reads the facts of one group only, so the pair
can hold on the product exactly when each group has values on which its own conjuncts hold, and
the groups are searched one at a time — the sum of their sizes, not the product. A combination
found so is then read by the reference evaluator as a whole case (both conditions, every clause
in force) before it is called a witness; only if that fails is the product of the groups'
solutions walked.

A probe is named by its ``path`` (one index for each fact, in ``Grid._order``); the same path
names a probe of the pair at any region and day where its indices are in range, so a witness
of another day can be tried first (``PairProbes.at``) and the answer is the same whether or not
it is: it is a probe of this day's product."""

from __future__ import annotations

import datetime as dt

from policy_dsl.analysis import grid as grid_mod
from policy_dsl.engine.evaluate import RANGE_ERRORS
from policy_dsl.language.errors import InputError
from policy_dsl.language.expr import ast
from policy_dsl.language.model import Case

_VOID = (InputError,) + RANGE_ERRORS  # a case the clauses cannot be read on: it shows nothing
_EQUALITY = ("==", "!=", "in", "not in")


class PairPlan:
    """What does not depend on the day: for the pair's two conditions and the kinds table's
    constraints on the facts they read, their top-level conjuncts (``Conjunct``: each with the
    facts of those it reads; read when first asked for: a witness known needs none), the facts
    read (``paths``: a list fact with the paths of its fields read; ``read``: the facts), and for
    each enumerated fact (path) that these conjuncts only compare with string literals, the
    strings they name (``named``). ``summary`` is what a later process can be given back (kept
    with the witnesses, under the policy set's key: the same files and interpreter)."""

    __slots__ = ("g", "kind", "a", "b", "read", "paths", "named", "views", "_view_key", "_conjuncts")

    def __init__(self, g: grid_mod.Grid, kind: str, a, b, summary=None):
        self.g, self.kind, self.a, self.b = g, kind, a, b
        self._conjuncts = None
        if summary is None:
            k, _ = g.kinds[kind]
            known = set(k.facts) | set(g.person_flags)
            own = [r for c in (a, b) for r in _clause_conjuncts(g, kind, c)]
            paths = frozenset(p for r in own for p in r.paths if p.partition(".")[0] in known)
            self.paths, self.read = paths, frozenset(p.partition(".")[0] for p in paths)
            named: dict = {}
            spoilt: set = set()
            for r in self._roots(own):
                for path, strings in r.mentions.items():
                    named[path] = named.get(path, frozenset()) | strings
                spoilt |= r.spoilt
            self.named = {p: v for p, v in named.items() if p not in spoilt}
        else:
            paths, named = summary
            self.paths, self.read = frozenset(paths), frozenset(p.partition(".")[0] for p in paths)
            self.named = {p: frozenset(v) for p, v in named.items()}
        self.views = None  # fact -> how the pair sees its values (``view``), made when first asked
        self._view_key = None

    @property
    def summary(self) -> tuple:
        return tuple(sorted(self.paths)), {p: tuple(sorted(v)) for p, v in sorted(self.named.items())}

    def _roots(self, own: list) -> list:
        _, vocab = self.g.kinds[self.kind]
        roots = list(own)
        for con in vocab.constraints_for(self.kind):  # a constraint on facts the conditions read binds them
            if self.read & set(con.names):
                roots += _node_conjuncts(self.g, self.kind, con.require)
        return roots

    @property
    def conjuncts(self) -> list:
        """(Conjunct, the facts it reads that the pair varies) for each conjunct of the two
        conditions and of the constraints on the facts they read."""
        if self._conjuncts is None:
            own = [r for c in (self.a, self.b) for r in _clause_conjuncts(self.g, self.kind, c)]
            self._conjuncts = [(r, frozenset(p.partition(".")[0] for p in r.paths) & self.read)
                               for r in self._roots(own)]
        return self._conjuncts

    @property
    def view_key(self) -> tuple:
        """How the pair sees every fact, as one value: two plans with the same see each fact alike
        (``view``: a fact not named here it does not read)."""
        if self._view_key is None:
            self.view("")
            self._view_key = tuple(sorted(self.views.items()))
        return self._view_key

    def view(self, name: str):
        """How the pair sees the values of fact ``name``: None when it does not read it (its
        first value only); else, for each path of it read (the fact, or fields of its items),
        the strings that reduce an enumerated one (``named``), or None for all its values. Two
        plans with the same view of a fact give it the same values."""
        views = self.views
        if views is None:  # every fact's at once: a new day asks each plan for each fact of the kind
            by_fact: dict = {}
            for p in sorted(self.paths):
                by_fact.setdefault(p.partition(".")[0], []).append((p, self.named.get(p)))
            views = self.views = {name: tuple(v) for name, v in by_fact.items()}
        return views.get(name)


class Conjunct:
    """A top-level conjunct of a condition or a constraint: the fact paths it reads (through the
    definitions it names), whether it names a definition, for each enumerated fact path it
    compares with string literals the strings it names, the paths of enumerated facts it reads
    in any other way, and its function (compiled when first asked for)."""

    __slots__ = ("node", "paths", "plain", "mentions", "spoilt", "_fn")

    def __init__(self, node, walker, enums: set):
        self.node = node
        self.paths = frozenset(walker.reads(node))
        self.plain = not any(isinstance(n, ast.Name) and n.name in walker.scope for n in ast.walk(node))
        self.mentions, self.spoilt = _named_strings(node, walker, enums)
        self._fn = None

    @property
    def fn(self):
        if self._fn is None:
            from policy_dsl.language.expr.compile import compile_expr

            self._fn = compile_expr(self.node)
        return self._fn


def _conjuncts(node) -> list:
    if isinstance(node, ast.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _reader(g: grid_mod.Grid, kind: str) -> tuple:
    """(the walker of the kind's expressions, its enumerated fact paths, the conjuncts read so far
    by node) — one for each grid and kind."""
    readers = g.__dict__.setdefault("_pair_readers", {})
    found = readers.get(kind)
    if found is None:
        k, _ = g.kinds[kind]
        lists = {n for n, s in k.facts.items() if s["type"] == "list"}
        scope = {}
        for p in g.policies:
            scope.update({d.name: d.expr.node for d in p.definitions.values() if kind in d.kinds})
        enums = set()
        for name, spec in list(k.facts.items()) + list(g.person_flags.items()):
            if spec["type"] == "enum":
                enums.add(name)
            elif spec["type"] == "list":
                enums |= {f"{name}.{f}" for f, s in spec["items"].items() if s["type"] == "enum"}
        found = readers[kind] = (grid_mod._Walker(scope, lists), enums, {})
    return found


def _node_conjuncts(g: grid_mod.Grid, kind: str, node) -> list:
    """The conjuncts of an expression of ``kind`` (each read once for each grid)."""
    walker, enums, known = _reader(g, kind)
    found = known.get(id(node))
    if found is None or found[0] is not node:
        found = known[id(node)] = (node, [Conjunct(n, walker, enums) for n in _conjuncts(node)])
    return found[1]


def _clause_conjuncts(g: grid_mod.Grid, kind: str, clause) -> list:
    when = clause.effective().when
    return [] if when is None else _node_conjuncts(g, kind, when.node)


def _named_strings(node, walker, enums: set) -> tuple:
    """(for each enumerated fact path the expression compares (== != in, not in) with string
    literals, the strings it names; the enumerated fact paths it reads in any other way)."""
    lists, scope = walker.lists, walker.scope
    named: dict = {}
    compared: set = set()
    seen = list(walker.nodes(node))
    for n in seen:
        if isinstance(n, ast.Binary) and n.op in _EQUALITY:
            for side, other in ((n.left, n.right), (n.right, n.left)):
                path = _direct(side, lists, scope)
                strings = _strings(other)
                if path in enums and strings is not None:
                    named[path] = named.get(path, frozenset()) | strings
                    compared.add(id(side))
    spoilt = frozenset(path for n in seen if (path := _direct(n, lists, scope)) in enums and id(n) not in compared)
    return named, spoilt


def _direct(node, lists: set, scope: dict) -> str | None:
    """The fact path a node reads as a whole: a fact's name, or a field of an item of a list fact."""
    if isinstance(node, ast.Name) and node.name not in scope and node.name not in lists:
        return node.name
    if isinstance(node, ast.Field):
        base = node.obj.obj if isinstance(node.obj, ast.Index) else node.obj
        if isinstance(base, ast.Name) and base.name in lists:
            return f"{base.name}.{node.name}"
    return None


def _strings(node) -> frozenset | None:
    if isinstance(node, ast.Literal) and node.kind == "string":
        return frozenset((node.value,))
    if isinstance(node, ast.ListExpr) and all(isinstance(i, ast.Literal) and i.kind == "string" for i in node.items):
        return frozenset(i.value for i in node.items)
    return None


def plan_of(g: grid_mod.Grid, kind: str, a, b, summary=None) -> PairPlan:
    """The plan of a pair (made once for each grid, kind and pair; from ``summary``, a plan's
    ``summary`` of the same set, when given)."""
    plans = g.__dict__.setdefault("_pair_plans", {})
    key = (kind, a, b) if id(a) < id(b) else (kind, b, a)
    found = plans.get(key)
    if found is None:
        found = plans[key] = PairPlan(g, kind, *key[1:], summary=summary)
    return found


class PairProbes:
    """The probes of pairs of clauses of ``kind`` at (region, day) (module docstring), for one
    question: ``evaluator`` reads the cases, ``clauses`` are those in force (a probe on which one
    of them cannot be read shows nothing)."""

    def __init__(self, g: grid_mod.Grid, evaluator, kind: str, region, day: dt.date, clauses):
        self.g, self.ev, self.kind, self.region, self.day = g, evaluator, kind, region, day
        self.clauses = list(clauses)
        self.order = g._order(kind)
        k, _ = g.kinds[kind]
        self.k = k
        self.shown = list(k.facts) + list(g.person_flags)
        self.anchors = [grid_mod._anchor(spec) or k.decided_on for _, spec, _ in self.order]
        self.at_of = {name: i for i, (name, _, _) in enumerate(self.order)}
        self._anchored = [i for i, (name, _, _) in enumerate(self.order)  # facts placed against another fact
                        if self.anchors[i] not in (name, k.decided_on)]  # (the decision fact has one value: the day)
        self._values: dict = {}  # (fact, its anchor's value, the plan's view of it) -> values
        self._read: dict = {}  # a probe's facts (their memo key) -> its environment, and the clauses read on it
        self._possible: dict = {}  # a probe's facts (their memo key) -> whether they keep the constraints
        self._fixed: dict = {}  # id of a plan, or its views of the facts -> the facts' values (``_lists``)

    # -- the values of each fact for one pair
    def values(self, plan: PairPlan, i: int, acc: dict) -> list:
        name, spec, person = self.order[i]
        read = name in plan.read
        key = (name, grid_mod._memo_key(acc.get(self.anchors[i])), plan.view(name))
        found = self._values.get(key)
        if found is None:
            g, kind, region, day = self.g, self.kind, self.region, self.day
            if spec["type"] == "list" and read and name in g._read_names(kind):
                fields = []
                for f, values in g._list_fields(kind, name, spec, region, day, acc):
                    path = f"{name}.{f}"
                    fields.append((f, _reduced(values, plan.named.get(path)) if path in plan.paths else values[:1]))
                optional = bool(spec.get("optional")) or "default" in spec
                found = grid_mod.ListProduct(fields, spec.get("length") or 1, absent_first=optional)
            else:
                values = g._values(kind, name, spec, person, region, day, acc)
                if not read:
                    found = [values[0]]
                elif spec["type"] == "enum":
                    found = _reduced(list(values), plan.named.get(name))
                else:
                    found = values
            if len(self._values) > 100_000:
                self._values.clear()
            self._values[key] = found
        return found

    def at(self, plan: PairPlan, path: tuple) -> dict | None:
        """The probe of the pair at ``path``, or None when ``path`` names none here (an index out
        of range, a fact the pair does not read not at its first value, a broken constraint)."""
        if len(path) != len(self.order):
            return None
        lists = self._lists(plan)
        acc: dict = {}
        for i, j in enumerate(path):
            if j and self.order[i][0] not in plan.read:
                return None
            values = lists[i] if lists is not None else self.values(plan, i, acc)
            if j >= len(values):
                return None
            acc[self.order[i][0]] = values[j]
        facts = self._facts(acc)
        key = grid_mod._memo_key(facts)
        ok = self._possible.get(key)
        if ok is None:
            ok = self._possible[key] = self.g._possible(self.kind, facts, self.region, self.day)
        return facts if ok else None

    def _lists(self, plan: PairPlan) -> list | None:
        """The values of each fact for the pair, when none is placed against a fact the pair
        varies (then they are the same for every path); else None."""
        found = self._fixed.get(id(plan), False)
        if found is False:
            found = None
            if not any(self.anchors[i] in plan.read for i in self._anchored):
                views = plan.view_key
                found = self._fixed.get(views)  # another pair that sees every fact alike
                if found is None:
                    acc: dict = {}
                    found = []
                    for i, (name, _, _) in enumerate(self.order):
                        values = self.values(plan, i, acc)
                        found.append(values)
                        acc[name] = values[0]
                    self._fixed[views] = found
            self._fixed[id(plan)] = found
        return found

    def _facts(self, acc: dict) -> dict:
        k = self.k.facts
        return {n: acc[n] for n in self.shown if n in k or acc[n] not in (None, False)}

    # -- reading a probe
    def _env(self, facts: dict):
        try:
            return self.ev.environment(Case(self.kind, self.region, dict(facts), self.day))
        except _VOID:
            return None

    def shows(self, a, b, facts: dict) -> bool:
        """Whether both conditions hold on the probe and every clause in force can be read on it
        (what a probe gives is kept for the question: several pairs may share one)."""
        key = grid_mod._memo_key(facts)
        found = self._read.get(key)
        if found is None:
            env = self._env(facts)
            found = self._read[key] = (env, {}) if env is not None else None
        if found is None:
            return False
        env, held = found
        ev = self.ev
        try:
            for c in (a, b):
                if c not in held:
                    held[c] = ev.holds(c, env)
                if not held[c]:
                    return False
            if "all" not in held:
                for c in self.clauses:
                    if c not in held:
                        held[c] = ev.holds(c, env)
                held["all"] = True
        except _VOID:
            self._read[key] = None
            return False
        return True

    # -- the search
    def witness(self, plan: PairPlan, a, b, tried=()) -> tuple | None:
        """The path of a probe of the pair on which both conditions hold (``shows``), the paths of
        ``tried`` first; None when there is none."""
        for path in tried:
            facts = self.at(plan, path)
            if facts is not None and self.shows(a, b, facts):
                return tuple(path)
        n = len(self.order)
        slots = [i for i in range(n) if self.order[i][0] in plan.read]
        groups = self._groups(plan, slots)
        fixed = [r for r, names in plan.conjuncts if not names]  # the same on every probe
        if fixed and self._fails(fixed, self._completed(plan, -1, {})):
            return None
        found = []  # for each group, the solutions found so far (paths' indices at its places), and its walk
        for places in groups:
            conj = [(r, names) for r, names in plan.conjuncts if names and self.at_of[next(iter(names))] in places]
            walk = self._walk(plan, places, conj)
            first = next(walk, None)
            if first is None:
                return None
            found.append(([first], walk, places))
        path = self._combine(found, [0] * len(found))
        if path is not None and self._check(plan, a, b, path):
            return path
        return self._every(plan, a, b, found)

    def _groups(self, plan: PairPlan, slots: list) -> list:
        """The places of the facts varied, grouped so that no conjunct reads two groups (a fact
        placed against another, anchor and anchored, in one group)."""
        parent = {i: i for i in slots}

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for _, names in plan.conjuncts:
            places = [self.at_of[x] for x in names if x in self.at_of and self.at_of[x] in parent]
            for p in places[1:]:
                parent[root(p)] = root(places[0])
        for i in slots:
            anchor = self.at_of.get(self.anchors[i])
            if anchor is not None and anchor in parent:
                parent[root(i)] = root(anchor)
        out: dict = {}
        for i in slots:
            out.setdefault(root(i), []).append(i)
        return list(out.values())

    def _walk(self, plan: PairPlan, places: list, conj: list):
        """The indices at ``places`` (each fact there through its values, every other at its
        first) on which every conjunct of ``conj`` ((its function, the facts it reads)) holds, in
        the order of the product. A conjunct is read as soon as the facts it reads are chosen
        (the facts not chosen yet at their first values: it does not read them), so a prefix on
        which one fails is not completed."""
        n = len(self.order)
        at = [0] * n
        mine = set(places)
        ready: dict = {}  # place -> the conjuncts whose last fact read is there
        for r, names in conj:
            ready.setdefault(max(self.at_of[x] for x in names if x in self.at_of), []).append(r)
        acc: dict = {}

        def rec(i: int):
            if i == n:
                yield tuple(at[p] for p in places)
                return
            values = self.values(plan, i, acc)
            name = self.order[i][0]
            tests = ready.get(i) if i in mine else None
            for j in range(len(values) if i in mine else 1):
                at[i] = j
                acc[name] = values[j]
                if tests and self._fails(tests, self._completed(plan, i, acc)):
                    continue
                yield from rec(i + 1)
            at[i] = 0

        return rec(0)

    def _completed(self, plan: PairPlan, i: int, acc: dict) -> dict:
        """The facts of ``acc`` chosen up to place ``i``, every later one at its first value."""
        acc = dict(acc)
        for x in range(i + 1, len(self.order)):
            acc[self.order[x][0]] = self.values(plan, x, acc)[0]
        return self._facts(acc)

    def _fails(self, conj: list, facts: dict) -> bool:
        """Whether a conjunct of ``conj`` (``Conjunct``) is false (or cannot be read) on ``facts``. One that names no definition is read without them; for the others,
        not when the definitions cannot be computed (the facts not chosen yet may be why: the
        whole case is read before it is called a witness)."""
        case = Case(self.kind, self.region, dict(facts), self.day)
        try:
            plain = [r.fn for r in conj if r.plain]
            if plain:
                env = self.ev.environment(case, definitions=False)
                if not all(fn(env) for fn in plain):
                    return True
            rest = [r.fn for r in conj if not r.plain]
            if rest:
                env = self._env(facts)
                return env is not None and not all(fn(env) for fn in rest)
        except _VOID:
            return True
        return False

    def _combine(self, found: list, choice: list) -> tuple | None:
        path = [0] * len(self.order)
        for (solutions, _, places), x in zip(found, choice):
            for p, j in zip(places, solutions[x]):
                path[p] = j
        return tuple(path)

    def _check(self, plan: PairPlan, a, b, path: tuple) -> bool:
        facts = self.at(plan, path)
        return facts is not None and self.shows(a, b, facts)

    def _every(self, plan: PairPlan, a, b, found: list) -> tuple | None:
        """The first combination of the groups' solutions that is a witness (each group's walk
        finished first: a combination that breaks nothing the groups see can still be one a clause
        in force cannot be read on)."""
        import itertools

        for solutions, walk, _ in found:
            solutions.extend(walk)
        for choice in itertools.product(*(range(len(s)) for s, _, _ in found)):
            path = self._combine(found, list(choice))
            if self._check(plan, a, b, path):
                return path
        return None


def _reduced(values: list, named) -> list:
    """An enumerated fact's values as the pair's conditions see them: those they name and the
    first they do not (null, for an optional fact, kept); all of them when ``named`` is None."""
    if named is None:
        return list(values)
    out, other = [], False
    for v in values:
        if v is None or v in named:
            out.append(v)
        elif not other:
            out.append(v)
            other = True
    return out
