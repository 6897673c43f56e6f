"""``dataclass`` and ``field`` for the classes of the modules every command imports.

The standard ``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``…) and
works out each class at import: together some 10 ms at every start of the command line, more
than all of the interpreter's own work for one answer. This module makes the same methods for the
subset of the decorator this package uses — fields with a default or a default factory;
``repr``, ``compare`` and ``kw_only`` on a field; ``eq`` and ``frozen`` on the class;
``__post_init__``; inheritance — and nothing else: it refuses other options rather than ignore
them. The classes are plain classes (``dataclasses.fields()`` does not know them); their
``__init__``, ``__repr__`` (which, like the standard one, says ``...`` for an object already being
shown), ``__eq__`` and ``__hash__`` behave as the standard ones (tests/test_records.py)."""

from __future__ import annotations

from _thread import get_ident

__all__ = ["FrozenInstanceError", "dataclass", "field"]


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
_FACTORY = _Missing()  # the default of a parameter whose field has a default factory


class Field:
    __slots__ = ("name", "default", "default_factory", "repr", "compare", "kw_only")

    def __init__(self, default=MISSING, default_factory=MISSING, repr=True, compare=True, kw_only=False):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = None
        self.default, self.default_factory = default, default_factory
        self.repr, self.compare, self.kw_only = repr, compare, kw_only


def field(*, default=MISSING, default_factory=MISSING, repr: bool = True, compare: bool = True,
          kw_only: bool = False) -> Field:
    return Field(default, default_factory, repr, compare, kw_only)


def dataclass(cls=None, /, *, eq: bool = True, frozen: bool = False):
    def wrap(c):
        return _process(c, eq, frozen)

    return wrap if cls is None else wrap(cls)


def _process(cls, eq: bool, frozen: bool):
    fields: dict = {}
    for base in reversed(cls.__mro__[1:]):
        fields.update(base.__dict__.get("__record_fields__", {}))
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.replace("typing.", "").startswith("ClassVar"):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        if isinstance(value, Field):  # as the standard one: the class attribute is the default, if any
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        fields[name] = f
    cls.__record_fields__ = fields
    own = cls.__dict__
    if "__init__" not in own:
        cls.__init__ = _init(cls, fields, frozen)
    if "__repr__" not in own:
        cls.__repr__ = _repr(fields)
    if eq and "__eq__" not in own:
        names = [f.name for f in fields.values() if f.compare]
        cls.__eq__ = _eq(names)
        if frozen:
            cls.__hash__ = _hash(names)
        elif "__hash__" not in own:
            cls.__hash__ = None
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen(cls, fields)
    if "__match_args__" not in own:
        cls.__match_args__ = tuple(f.name for f in fields.values() if not f.kw_only)
    return cls


def _init(cls, fields: dict, frozen: bool):
    """``cls.__init__``, compiled when first called (``_compiled_init``, which then takes its place):
    most records of a start are made by unpickling the policy cache, without ``__init__``, and
    compiling one for each of the forty-odd classes costs some 2 ms at every start."""

    def __init__(self, *args, **kwargs):
        real = _compiled_init(cls, fields, frozen)
        if cls.__dict__.get("__init__") is __init__:
            cls.__init__ = real
        real(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compiled_init(cls, fields: dict, frozen: bool):
    glob = {"_FACTORY": _FACTORY, "_setattr": object.__setattr__}
    positional, keyword, body = [], [], []
    for f in fields.values():
        if f.default_factory is not MISSING:
            glob[f"_factory_{f.name}"] = f.default_factory
            param = f"{f.name}=_FACTORY"
            value = f"_factory_{f.name}() if {f.name} is _FACTORY else {f.name}"
        elif f.default is not MISSING:
            glob[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
            value = f.name
        else:
            param, value = f.name, f.name
        (keyword if f.kw_only else positional).append(param)
        body.append(f"_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    params = ["self"] + positional + (["*"] + keyword if keyword else [])
    src = f"def __init__({', '.join(params)}):\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(src, glob)  # noqa: S102 - our own text, made of field names
    fn = glob["__init__"]
    fn.__qualname__ = f"{cls.__qualname__}.__init__"
    return fn


_SHOWING: set = set()


def _repr(fields: dict):
    names = [f.name for f in fields.values() if f.repr]

    def __repr__(self):
        key = (id(self), get_ident())
        if key in _SHOWING:
            return "..."
        _SHOWING.add(key)
        try:
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        finally:
            _SHOWING.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    return __repr__


def _eq(names: list[str]):
    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented

    return __eq__


def _hash(names: list[str]):
    def __hash__(self):
        return hash(tuple(getattr(self, n) for n in names))

    return __hash__


def _frozen(cls, fields: dict):
    """As the standard ones: on the class itself nothing may be assigned; on a subclass, no field."""

    def __setattr__(self, name, value):
        if type(self) is cls or name in fields:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self, name):
        if type(self) is cls or name in fields:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__
