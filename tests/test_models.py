"""The vocabulary: frozen dataclasses whose fast hand-written ``__init__`` must match their fields."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from importer.models import Participation, Row, RowRef, State

HAND_WRITTEN = [RowRef, Row, Participation]


@pytest.mark.parametrize("cls", HAND_WRITTEN, ids=lambda c: c.__name__)
def test_init_matches_the_declared_fields(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        declared = f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
        assert p.default == declared, f"{cls.__name__}.{f.name}: __init__ default {p.default!r} != field {declared!r}"


def test_rows_stay_frozen_and_replace_works() -> None:
    row = Row(RowRef("a.csv", 2), email="a@example.com", state=State.ATTEND, when_ms=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.email = "b@example.com"  # type: ignore[misc]
    changed = dataclasses.replace(row, vid=7)
    assert (changed.vid, changed.email, changed.ref) == (7, "a@example.com", RowRef("a.csv", 2))
    assert row == Row(RowRef("a.csv", 2), "a@example.com", None, State.ATTEND, 5)
    assert hash(RowRef("a.csv", 2)) == hash(RowRef("a.csv", 2)) and RowRef("a.csv", 2) < RowRef("a.csv", 3)
