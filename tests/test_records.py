"""slimlang.records.record behaves as dataclass(frozen=True, slots=True) where slimlang relies on it."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from slimlang.records import compared_fields, fields, hidden, is_record, record, replace


@record
class Point:
    """A point."""

    x: int
    y: int = 0
    tag: str = hidden("t")


@dataclasses.dataclass(frozen=True, slots=True)
class DPoint:
    x: int
    y: int = 0
    tag: str = dataclasses.field(default="t", compare=False, repr=False)


@pytest.mark.parametrize("make", [Point, DPoint])
def test_same_behaviour_as_a_frozen_slotted_dataclass(make):
    p = make(1, y=2, tag="a")
    assert (p.x, p.y, p.tag) == (1, 2, "a") and make(3).y == 0 and make(3).tag == "t"
    assert p == make(1, 2, "b") and p != make(1, 3) and hash(p) == hash(make(1, 2, "zz"))
    assert p.__eq__(object()) is NotImplemented
    assert repr(p).endswith("Point(x=1, y=2)")
    assert p.__match_args__ == ("x", "y", "tag")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.y
    with pytest.raises(AttributeError):
        object.__setattr__(p, "other", 1)  # slots: no __dict__
    with pytest.raises(TypeError):
        make()
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.tag == "a" and copy.deepcopy(p) == p and copy.copy(p).tag == "a"


def test_helpers():
    p = Point(1, 2, "a")
    assert fields(p) == ("x", "y", "tag") and compared_fields(p) == ("x", "y")
    assert replace(p, y=5) == Point(1, 5) and replace(p, y=5).tag == "a"
    assert is_record(p) and not is_record(Point) and not is_record(DPoint(1))
    assert Point.__doc__ == "A point." and Point.__init__.__qualname__ == "Point.__init__"
    with pytest.raises(TypeError):
        replace(p, z=1)


def test_field_order_is_checked_at_definition():
    with pytest.raises(TypeError, match="without a default"):
        @record
        class Bad:
            a: int = 0
            b: int
