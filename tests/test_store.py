"""``model.store``: what ``pack`` writes ``unpack`` reads back, and ``digest`` tells apart
exactly the values that differ, however their parts are shared."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmgen.model import Pos, Record, evolve, frozen_map, shared_pos
from crmgen.model.store import digest, pack, unpack


@dataclasses.dataclass(frozen=True, slots=True)
class One:
    a: object


@dataclasses.dataclass(frozen=True, slots=True)
class Two:
    a: object
    b: object = None


@dataclasses.dataclass(frozen=True, slots=True)
class OtherTwo:
    a: object
    b: object = None


VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=5),
        st.decimals(allow_nan=False, places=2), st.dates(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(tuple),
        st.builds(One, inner),
        st.builds(Two, inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=3).map(frozen_map),
    ),
    max_leaves=6,
)  # fmt: skip


@given(VALUES, VALUES)
def test_digest_is_equal_exactly_for_equal_values(a: object, b: object) -> None:
    # repr tells apart what == does not (1 and True, Decimal 1.5 and 1.50, key order)
    assert (digest(a) == digest(b)) == (repr(a) == repr(b))
    assert digest(a) == digest(unpack(pack(a)))


@given(VALUES)
def test_what_pack_writes_unpack_reads(value: object) -> None:
    assert repr(unpack(pack(value))) == repr(value)


def test_every_field_and_the_class_count() -> None:
    assert digest(Two(1, 2)) != digest(Two(1, 3)) != digest(Two(2, 2))
    assert digest(Two(1, 2)) != digest(OtherTwo(1, 2))  # same fields, another class
    assert digest(One(1)) != digest(One((1,))) != digest(One(None))
    assert digest(Two(Decimal("1.5"))) != digest(Two(Decimal("1.50")))
    assert digest(One(dt.date(2026, 1, 1))) != digest(One(dt.date(2026, 1, 2)))


def test_shared_parts_hash_like_their_copies() -> None:
    pos = shared_pos(3, 1)
    shared = One((pos, pos, frozen_map({"a": pos})))
    copied = One((Pos(3, 1), Pos(3, 1), frozen_map({"a": Pos(3, 1)})))
    assert digest(shared) == digest(copied)


@dataclasses.dataclass(slots=True)
class Loop:
    """A mutable dataclass may hold itself: it keeps pickle's own way."""

    items: list[object]


def test_a_mutable_dataclass_that_holds_itself_packs() -> None:
    loop = Loop([])
    loop.items.append(loop)
    again = unpack(pack(loop))
    assert again.items[0] is again


def test_frozen_dataclasses_unpack_by_their_fields() -> None:
    value = [Two(One(frozen_map({"k": shared_pos(3, 4)})), (Two(1), Two(1))), OtherTwo(None)]
    again = unpack(pack(value))
    assert again == value
    assert type(again[1]) is OtherTwo
    assert again[0].a.a["k"] is shared_pos(3, 4)


PATHS = st.sampled_from(["title", "tags", "tags/0", "tags/1", "address/city", "ünï"])
PLACES = st.dictionaries(
    PATHS, st.builds(Pos, st.integers(1, 10**6), st.integers(1, 10**4)), max_size=6
).map(frozen_map)


@given(
    st.text(max_size=4), st.dictionaries(PATHS, VALUES, max_size=4).map(frozen_map),
    PLACES, PLACES | st.none(), st.text(max_size=8), st.integers(1, 99),
    VALUES.map(lambda v: frozen_map({"f": v})),
)  # fmt: skip
def test_a_record_packs_with_its_positions(
    slug: str,
    values: object,
    positions: object,
    value_positions: object,
    body: str,
    body_line: int,
    computed: object,
) -> None:
    """A record's positions are written as their keys and a flat tuple of numbers: the same
    record comes back, its keys and places shared, whether or not the value positions have
    the keys of the positions."""
    record = Record(
        "p", slug, f"data/p/{slug}.md", values, positions,
        positions if value_positions is None else value_positions,
        body, body_line, computed, source="k", inputs="i",
    )  # fmt: skip
    again = unpack(pack([record, record]))
    assert repr(again[0]) == repr(record)
    assert again[0] is again[1]
    assert all(pos is shared_pos(pos.line, pos.col) for pos in again[0].positions.values())
    assert digest(again[0]) == digest(record)
    moved = evolve(record, positions=frozen_map({**positions, "title": Pos(7, 7)}))  # type: ignore[dict-item]
    assert digest(moved) != digest(record) or positions.get("title") == Pos(7, 7)  # type: ignore[attr-defined]


def test_evolve_is_dataclasses_replace() -> None:
    record = Record("p", "s", "data/p/s.md", frozen_map({"a": 1}), frozen_map({}), body="x")
    changed = evolve(record, body="y", source="k")
    assert changed == dataclasses.replace(record, body="y", source="k")
    assert record.body == "x" and record.source == ""
    assert evolve(record) == record
    with pytest.raises(TypeError, match="no field 'bogus'"):
        evolve(record, bogus=1)
