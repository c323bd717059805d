"""The project's one record style: ``@record`` and ``@record(frozen=True)``.

A record is a slotted class with the ``__init__``, ``__repr__`` and ``__eq__`` of
``@dataclass(slots=True)``; a frozen one is hashable and refuses assignment, a mutable one
is unhashable. `field` gives a field a ``default``, a ``default_factory`` (a new object for
each record) or ``repr=False`` (a password stays out of reprs); `replace` copies a record
with some fields changed. Records pickle and copy as dataclasses do (Sphinx pickles them in
its environment). No inheritance between records, no ordering, no ``ClassVar``.
"""
# Buys 104M of the dot command's 846M instructions: no dataclasses import, classes 4x cheaper

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import dataclass_transform  # the checker's only: 3.10 has no typing's
else:
    def dataclass_transform(**_options):
        return lambda function: function

RecordT = TypeVar("RecordT")
#: a field without a default; in ``__init__``, an argument not given (its factory makes it)
_MISSING: Any = object()


class FrozenRecordError(AttributeError):
    """A field of a frozen record was assigned or deleted."""


class Field:
    """What `field` says of a field."""

    __slots__ = ("default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None,
                 repr: bool) -> None:  # noqa: A002 - the name dataclasses gives it
        self.default = default
        self.default_factory = default_factory
        self.repr = repr


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
          repr: bool = True) -> Any:  # noqa: A002 - the name dataclasses gives it
    """A field's default (or the factory that makes one for each record), and whether the
    record's repr shows it."""
    if default is not _MISSING and default_factory is not None:
        raise ValueError("a field has a default or a default_factory, not both")
    return Field(default, default_factory, repr)


@overload
def record(cls: type[RecordT], /) -> type[RecordT]: ...
@overload
def record(*, frozen: bool = False) -> Callable[[type[RecordT]], type[RecordT]]: ...
@dataclass_transform(field_specifiers=(field,))
def record(cls: type[RecordT] | None = None, /, *, frozen: bool = False,
           ) -> type[RecordT] | Callable[[type[RecordT]], type[RecordT]]:
    """Make *cls* a record (see the module's words)."""
    if cls is None:
        return lambda cls: _record(cls, frozen)
    return _record(cls, frozen)


def field_names(obj: object) -> tuple[str, ...]:
    """The names of a record's fields, in order."""
    names: tuple[str, ...] = obj.__slots__  # type: ignore[attr-defined]  # what _record sets
    return names


def replace(obj: RecordT, /, **changes: Any) -> RecordT:
    """A copy of the record *obj* with *changes* (field name -> value), through its
    ``__init__`` (so ``__post_init__`` runs again, as with dataclasses.replace)."""
    for name in field_names(obj):
        if name not in changes:
            changes[name] = getattr(obj, name)
    return obj.__class__(**changes)


def _record(cls: type[RecordT], frozen: bool) -> type[RecordT]:
    if cls.__bases__ != (object,):
        raise TypeError(f"record {cls.__qualname__}: records do not inherit")
    namespace = dict(cls.__dict__)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    names = tuple(cls.__annotations__)
    if not names or any(_is_class_var(annotation)
                        or name in ("self", "_MISSING", "_setattr")
                        for name, annotation in cls.__annotations__.items()):
        raise TypeError(f"record {cls.__qualname__}: fields, none a ClassVar or named "
                        "self, _MISSING or _setattr")
    # __init__ is written out and exec'd, as dataclasses does: as fast to call as a
    # hand-written one (4.2K instructions for six fields). The other methods are closures
    # or shared: one exec of them all made a class cost 1.6M instructions instead of 0.7M
    # (frozen 2.1M instead of 1.0M), for methods the dot command calls 20 times.
    globals_: dict[str, Any] = {"_MISSING": _MISSING, "_setattr": object.__setattr__}
    parameters = ["self"]
    body = []
    shown = []
    for name in names:
        spec = namespace.pop(name, _MISSING)
        if not isinstance(spec, Field):
            spec = Field(spec, None, True)
        if spec.repr:
            shown.append(name)
        value = name
        if spec.default_factory is not None:
            globals_["_factory_" + name] = spec.default_factory
            parameters.append(f"{name}=_MISSING")
            value = f"_factory_{name}() if {name} is _MISSING else {name}"
        elif spec.default is not _MISSING:
            if spec.default.__class__.__hash__ is None:
                raise ValueError(f"record {cls.__qualname__}: the default of {name} is "
                                 "mutable, shared by every record: give a default_factory")
            globals_["_default_" + name] = spec.default
            parameters.append(f"{name}=_default_{name}")
        elif "=" in parameters[-1]:
            raise TypeError(f"record {cls.__qualname__}: {name} has no default but comes "
                            "after a field that has one")
        else:
            parameters.append(name)
        body.append(f"_setattr(self, {name!r}, {value})" if frozen
                    else f"self.{name} = {value}")
    if "__post_init__" in namespace:
        body.append("self.__post_init__()")
    exec(f"def __init__({', '.join(parameters)}):\n    " + "\n    ".join(body),
         globals_)
    init = globals_["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # what a TypeError of a call names
    init.__module__ = cls.__module__
    namespace["__init__"] = init
    namespace["__qualname__"] = cls.__qualname__
    namespace["__slots__"] = names
    namespace["__repr__"] = _repr_of(tuple(shown))
    namespace["__eq__"] = _eq_of(values := attrgetter(*names))
    if frozen:
        namespace["__hash__"] = lambda self: hash(values(self))
        namespace["__setattr__"] = _refuse_assignment
        namespace["__delattr__"] = _refuse_deletion
        namespace["__getstate__"] = _frozen_state
        namespace["__setstate__"] = _set_frozen_state
    else:
        namespace["__hash__"] = None
    made: type[RecordT] = type(cls.__name__, cls.__bases__, namespace)
    return made


def _is_class_var(annotation: object) -> bool:
    """Whether an annotation (a string: every module's are) is ``ClassVar[...]``, however
    typing is named (``t.ClassVar``)."""
    return str(annotation).split("[", 1)[0].rsplit(".", 1)[-1].strip() == "ClassVar"


def _repr_of(shown: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({values})"
    return __repr__


def _eq_of(values: attrgetter[Any]) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented
    return __eq__


def _refuse_assignment(self: Any, name: str, value: object) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen record")


def _refuse_deletion(self: Any, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r} of a frozen record")


# a frozen record refuses the setattr that unpickling and copying do: its state is its
# fields' values, in order (as a frozen dataclass's)
def _frozen_state(self: Any) -> list[Any]:
    return [getattr(self, name) for name in self.__slots__]


def _set_frozen_state(self: Any, state: list[Any]) -> None:
    for name, value in zip(self.__slots__, state, strict=True):
        object.__setattr__(self, name, value)
