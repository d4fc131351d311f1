"""Answers: HubSpot's answers held as columns say exactly what the answers said, once each."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer import answers as answers_module
from importer.answers import Answers, answers_of
from importer.answers import keys as line_keys
from importer.journal import Journal
from importer.models import Batch, BatchOutcome, Failure, State

keys = st.sampled_from(
    ["1", "2", "3", "a@example.com", "b@example.com", "0", "-0", "007", "-5", str(2**63 - 1), str(2**63)]
)
words = st.sampled_from(["http_400", "not_in_response", "rejected_by_hubspot"])
outcomes_st = st.builds(
    BatchOutcome,
    batch_id=st.text(max_size=6),
    status=st.integers(0, 599),
    recorded=st.dictionaries(keys, st.integers(1, 2**62), max_size=4),
    failed=st.dictionaries(keys, st.builds(Failure, words, st.sampled_from(["no", "gone", ""])), max_size=4),
    correlation_id=st.text(max_size=4),
    created=st.frozensets(keys, max_size=3),
    gone=st.frozensets(keys, max_size=3),
)


def said(outcomes: list[BatchOutcome]) -> list[tuple[Any, ...]]:
    """What the answers say, a line per contact: batch, key, vid confirmed, created, failure."""
    out: list[tuple[Any, ...]] = []
    for o in outcomes:
        out += [(o.batch_id, k, v, k in o.created, None) for k, v in o.recorded.items()]
        out += [(o.batch_id, k, None, False, (f.reason, f.message)) for k, f in o.failed.items() if k not in o.recorded]
    return out


def held(answers: Answers) -> list[tuple[Any, ...]]:
    """What ``answers`` hold, in the same shape."""
    ids, failures, lines = answers.ids(), answers.failures(), answers.lines()
    return [
        (ids[line["_b"]], key, line["confirmed"], line["created"],
         None if line["failure"] is None else failures[line["failure"]])
        for line, key in zip(lines.to_pylist(), line_keys(lines).to_pylist(), strict=True)
    ]  # fmt: skip


def as_vid(key: str) -> int | None:
    """The contact id a key names, as settle reads it: digits as ``str`` writes an int64, or a minus before them."""
    if re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", key) or (re.fullmatch(r"[1-9][0-9]{18}", key) and int(key) < 2**63):
        return int(key)
    return None


@settings(max_examples=80, deadline=None)
@given(outcomes=st.lists(outcomes_st, max_size=12, unique_by=lambda o: o.batch_id), block=st.integers(1, 5))
def test_answers_hold_what_the_answers_said_in_the_order_they_came(outcomes: list[BatchOutcome], block: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(answers_module, "_BLOCK", block)  # answers in columns and answers still waiting alike
        answers = Answers()
        for o in outcomes:
            answers.add(o)
            answers.add(o)  # handed again after an interrupt: kept once
    assert answers.ids() == [o.batch_id for o in outcomes] and len(answers) == len(outcomes)
    assert all(o.batch_id in answers for o in outcomes) and "not-a-batch" not in answers
    assert answers.correlation_ids() == [o.correlation_id for o in outcomes]
    assert sorted(answers.gone()) == sorted((o.batch_id, k) for o in outcomes for k in o.gone)
    assert held(answers) == said(outcomes)
    lines = answers.lines()
    assert lines.column("vid").to_pylist() == [as_vid(k) for k in line_keys(lines).to_pylist()]
    assert all(k is None or str(as_vid(k)) != k for k in lines.column("key").to_pylist()), "ids are kept as numbers"


def test_a_mapping_of_answers_is_keyed_by_its_own_batch_ids() -> None:
    answers = answers_of({"b1": BatchOutcome("x", 200, {"1": 1}, {}, "c")})
    assert answers.ids() == ["b1"] and held(answers) == [("b1", "1", 1, False, None)]
    assert answers_of(answers) is answers


def test_the_journal_gives_back_every_answer_in_columns(tmp_path: Any) -> None:
    outcomes = [
        BatchOutcome(f"b{i}", 200, {str(i): i}, {"x@example.com": Failure("http_400", "no")}, f"c{i}", gone=frozenset())
        for i in range(600)  # more than a block
    ]
    with Journal.open(tmp_path) as j:
        run_id = j.begin("key", {})
        for o in outcomes:
            j.record_outcome(run_id, o, Batch(o.batch_id, "1", State.ATTEND, False, ()))
        back = j.answers(run_id)
    assert sorted(held(back)) == sorted(said(outcomes)) and set(back) == {o.batch_id for o in outcomes}
    assert back.failures() == [("http_400", "no")], "a failure is stored once however many contacts it names"
