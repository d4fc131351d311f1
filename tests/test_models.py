"""The vocabulary: the edge objects are ordinary frozen dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from importer.models import Participation, RowRef, State

FAST = [RowRef, Participation]

EXAMPLES: dict[type, dict[str, Any]] = {
    RowRef: {"file": "a.csv", "row": 2},
    Participation: {
        "event_id": "1",
        "state": State.REGISTER,
        "vid": None,
        "email": "a@example.com",
        "when_ms": 5,
        "rows": (RowRef("a.csv", 2),),
    },
}


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_the_signature_is_the_declared_fields(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        declared = f.default if f.default is not dataclasses.MISSING else inspect.Parameter.empty
        assert p.default == declared, f"{cls.__name__}.{f.name}: default {p.default!r} != field {declared!r}"


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_instances_are_ordinary_frozen_dataclasses(cls: type) -> None:
    values = EXAMPLES[cls]
    made = cls(**values)
    assert type(made) is cls and dataclasses.is_dataclass(made)
    assert made == cls(*values.values()) and hash(made) == hash(cls(*values.values()))
    for f in dataclasses.fields(cls):
        assert getattr(made, f.name) == values.get(f.name, f.default)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, dataclasses.fields(cls)[0].name, None)
    assert copy.copy(made) == made and copy.deepcopy(made) == made
    assert pickle.loads(pickle.dumps(made)) == made
    first = dataclasses.fields(cls)[0].name
    changed = dataclasses.replace(made, **{first: values[first]})
    assert changed == made and changed is not made


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_wrong_arguments_are_refused_as_usual(cls: type) -> None:
    with pytest.raises(TypeError):
        cls()
    with pytest.raises(TypeError):
        cls(**EXAMPLES[cls], unknown=1)


def test_row_refs_order_hash_and_show_as_values() -> None:
    assert hash(RowRef("a.csv", 2)) == hash(RowRef("a.csv", 2)) and RowRef("a.csv", 2) < RowRef("a.csv", 3)
    assert repr(RowRef("a.csv", 2)) == "RowRef(file='a.csv', row=2)"
