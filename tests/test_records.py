"""policy_dsl.language.records makes the same classes as dataclasses for what the package uses."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from policy_dsl.language import records


def _pair(decorate, field):
    @decorate
    class Plain:
        a: int
        b: str = "x"
        c: list = field(default_factory=list)

    @decorate(eq=False)
    class Identity:
        a: int
        others: list = field(default_factory=list)

    @decorate(frozen=True)
    class Frozen:
        file: str | None = None
        line: int | None = None

    @decorate(eq=False)
    class Node:
        span: tuple = field(default_factory=tuple, kw_only=True, compare=False, repr=False)

    @decorate(eq=False)
    class Leaf(Node):
        value: object
        kind: str

    @decorate
    class Post:
        items: list
        hidden: object = field(default=None, repr=False, compare=False)

        def __post_init__(self):
            self.count = len(self.items)

    return Plain, Identity, Frozen, Node, Leaf, Post


REAL = _pair(dataclasses.dataclass, dataclasses.field)
OURS = _pair(records.dataclass, records.field)


def test_same_behaviour():
    (P1, I1, F1, _, L1, S1), (P2, I2, F2, _, L2, S2) = REAL, OURS
    for P in (P1, P2):
        assert P(1) == P(1, "x", []) and P(1) != P(2) and P(1).c is not P(1).c
        assert repr(P(1, "y", [2])).endswith("Plain(a=1, b='y', c=[2])")
        assert P.__hash__ is None
        assert P.b == "x" and not hasattr(P, "c")
    for I in (I1, I2):
        x = I(1)
        assert x != I(1) and x == x and hash(x) == object.__hash__(x)
        x.others.append(x)  # a cycle: shown as ...
        assert repr(x).endswith("Identity(a=1, others=[...])")
    for F in (F1, F2):
        w = F("f", 3)
        assert w == F("f", 3) and hash(w) == hash(F("f", 3)) and {w: 1}[F("f", 3)] == 1
        with pytest.raises(AttributeError):
            w.line = 4
        with pytest.raises(AttributeError):
            w.other = 4
    for L in (L1, L2):
        leaf = L(1, "n", span=(1, 2))
        assert (leaf.value, leaf.kind, leaf.span) == (1, "n", (1, 2)) and L(1, "n").span == ()
        assert repr(leaf).endswith("Leaf(value=1, kind='n')")
        with pytest.raises(TypeError):
            L(1, "n", (1, 2))  # span is keyword-only
    for S in (S1, S2):
        s = S([1, 2], hidden=5)
        assert s.count == 2 and s == S([1, 2]) and repr(s).endswith("Post(items=[1, 2])")


def test_records_of_the_package_pickle():
    from policy_dsl.language.errors import Diagnostic, Where

    d = Diagnostic("E-X", "m", Where("f", 1, 2))
    assert pickle.loads(pickle.dumps(d)) == d and pickle.loads(pickle.dumps(d.where)) == Where("f", 1, 2)


def test_unsupported_options_are_refused():
    with pytest.raises(TypeError):
        records.dataclass(order=True)
    with pytest.raises(TypeError):
        records.field(init=False)


def test_init_is_compiled_when_first_called_and_then_takes_its_place():
    @records.dataclass
    class Base:
        a: int
        b: list = records.field(default_factory=list)

    class Child(Base):  # not a record itself: its __init__ calls the record's
        def __init__(self, a):
            super().__init__(a, [a])

    stub = Base.__init__
    assert Child(3).b == [3]  # the first call, through a subclass
    assert Base.__init__ is not stub and Base.__init__.__qualname__.endswith("Base.__init__")
    assert Base(1) == Base(1, []) and Base(1).b is not Base(1).b
    with pytest.raises(TypeError):
        Base()
