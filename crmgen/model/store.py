"""The cache a stage may consult: bytes by (space, key), injected by the build.

A stage never opens the cache itself: ``build`` passes a ``Store`` (``crmgen.cache.Cache``,
SQLite in the data repo's ``.crmgen-cache/``) or ``NO_STORE``. A key must name every input of
what is stored (content hashes, versions), so a stale entry can only be a miss, never a wrong
answer; a store may also forget anything at any time.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import io
import operator
import pickle
import sys
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType
from typing import Any, Protocol

from crmgen.model import Pos, Record, shared_pos


class Store(Protocol):
    """Bytes by (space, key); ``space`` names what is stored ("svg", "records", ...)."""

    def get(self, space: str, key: str) -> bytes | None: ...

    def get_many(self, space: str, keys: Iterable[str]) -> Mapping[str, bytes]: ...

    def put(self, space: str, key: str, value: bytes) -> None: ...

    def keys(self, space: str) -> AbstractSet[str]:
        """Every key ``space`` has now (a lookup of many keys made elsewhere, in a worker)."""
        ...


class _NoStore:
    """Remembers nothing: every lookup is a miss."""

    def get(self, space: str, key: str) -> bytes | None:
        return None

    def get_many(self, space: str, keys: Iterable[str]) -> Mapping[str, bytes]:
        return {}

    def put(self, space: str, key: str, value: bytes) -> None:
        return None

    def keys(self, space: str) -> AbstractSet[str]:
        return frozenset()


NO_STORE: Store = _NoStore()


def _mapping(items: dict[Any, Any]) -> Mapping[Any, Any]:
    # keys are field names and paths, the same in every record: one string each in memory
    try:
        return MappingProxyType(dict(zip(map(sys.intern, items), items.values(), strict=True)))
    except TypeError:  # a key that is not exactly a str
        return MappingProxyType(
            {sys.intern(k) if type(k) is str else k: v for k, v in items.items()}
        )


def _record(
    head: tuple[str, str, str],
    values: Mapping[str, Any],
    names: tuple[str, ...],
    flat: tuple[int, ...],
    value_names: tuple[str, ...],
    value_flat: tuple[int, ...],
    rest: tuple[Any, ...],
) -> Record:
    """A record from ``_reduce_record``'s parts: its positions rebuilt from their keys (one
    string each in memory) and their lines and columns, one after another."""
    keys = tuple(map(sys.intern, names))
    value_keys = keys if value_names is names else tuple(map(sys.intern, value_names))
    positions = dict(zip(keys, map(shared_pos, flat[0::2], flat[1::2]), strict=True))
    places = zip(value_keys, map(shared_pos, value_flat[0::2], value_flat[1::2]), strict=True)
    return Record(
        *head, values, MappingProxyType(positions), MappingProxyType(dict(places)), *rest
    )


def _lines_and_columns(positions: Mapping[str, Pos]) -> tuple[int, ...]:
    return tuple([n for pos in positions.values() for n in (pos.line, pos.col)])


def _reduce_record(record: Record) -> tuple[Any, ...]:
    """A record with its positions as their keys and a flat tuple of lines and columns (a
    record has two dozen of them: a ``Pos`` each took a third of the time to pack it)."""
    names = tuple(record.positions)
    value_names = tuple(record.value_positions)
    return _record, (
        (record.project, record.slug, record.path),
        record.values,
        names,
        _lines_and_columns(record.positions),
        names if value_names == names else value_names,  # written once when the same
        _lines_and_columns(record.value_positions),
        _RECORD_REST(record),
    )


_RECORD_FIELDS = [f.name for f in dataclasses.fields(Record)]
if _RECORD_FIELDS[:6] != ["project", "slug", "path", "values", "positions", "value_positions"]:
    raise AssertionError("_record takes a record's first six fields in this order")
#: A record's fields after its value positions, in order (body, body_line, computed, ...).
_RECORD_REST = operator.attrgetter(*_RECORD_FIELDS[6:])

# read-only mappings (``frozen_map``) are written as the dict they show; positions are shared
_DISPATCH: dict[type, Callable[[Any], Any]] = {
    **copyreg.dispatch_table,
    MappingProxyType: lambda m: (_mapping, (dict(m),)),
    Pos: lambda p: (shared_pos, (p.line, p.col)),
    Record: _reduce_record,
}


def pack(value: Any) -> bytes:
    """A pipeline value (records, diagnostics, views) as bytes for a store; see ``unpack``."""
    out = io.BytesIO()
    pickler = _FieldsPickler(out, protocol=5)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return out.getvalue()


class _FieldsPickler(pickle.Pickler):
    """Pickles a frozen dataclass as its class and a tuple of its fields, read by one
    ``operator.attrgetter`` made per class, and unpickled by calling the class with them: the
    dataclasses' own ``__getstate__`` and ``__setstate__`` walk ``fields()`` in Python for
    every object (a third of the time of a page key, 40% of unpacking a record)."""

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        getter = _GETTERS.get(cls, _UNKNOWN)
        if getter is _UNKNOWN:
            getter = _GETTERS[cls] = _getter(cls)
        if getter is None:
            reduce: Any = _DISPATCH.get(cls)
            return reduce(obj) if reduce is not None else NotImplemented
        return cls, getter(obj)


_UNKNOWN = object()
_GETTERS: dict[type, Any] = {}


def _getter(cls: type) -> Any:
    """A function giving the tuple of a frozen dataclass's fields, or None for another class
    (a mutable one may hold itself, which a call with its fields could not make again)."""
    if cls in _DISPATCH or not dataclasses.is_dataclass(cls):
        return None
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        return None
    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) == 1:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return operator.attrgetter(*names) if names else (lambda obj: ())


def digest(value: Any) -> str:
    """A hash of a value for a cache or page key: equal values give equal hashes however
    their parts are shared (``pack`` writes a part met twice as a reference to the first, so
    a record whose positions are shared objects and its copy would pack differently).

    A set must not be part of the value: pickle writes it in its hash order, which changes
    from process to process (``test_incremental`` makes keys in two processes with
    different hash seeds)."""
    out = io.BytesIO()
    pickler = _FieldsPickler(out, protocol=5)
    pickler.dispatch_table = _DISPATCH
    pickler.fast = True  # no memo: every part written out in full, wherever it is shared
    pickler.dump(value)
    return hashlib.sha256(out.getvalue()).hexdigest()


def unpack(data: bytes) -> Any:
    """The value ``pack`` wrote. Only for bytes this program wrote: a store checks that each
    entry is its own (``crmgen.cache`` signs them) before it hands one out."""
    return pickle.loads(data)
