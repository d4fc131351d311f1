"""settle(): how batch answers become row outcomes (one verdict per sendable row)."""

from __future__ import annotations

import pytest

from importer.chunker import chunk, merge
from importer.errors import StopRun
from importer.execute import settle
from importer.models import Batch, BatchOutcome, Failure, Outcome, Reason, Row, RowRef, State


def _rows() -> list[Row]:
    return [
        Row(RowRef("a.csv", 2), email="one@example.com", vid=1, state=State.ATTEND, when_ms=10),
        Row(RowRef("a.csv", 3), email="two@example.com", vid=2, state=State.ATTEND, when_ms=20),
        Row(RowRef("a.csv", 4), email="one@example.com", vid=1, state=State.REGISTER, when_ms=5),
        Row(RowRef("b.csv", 2), email="bad", outcome=Outcome.REJECTED, reason="invalid_email", message="bad email"),
        Row(RowRef("b.csv", 3), email="three@example.com", vid=3, state=State.CANCEL, when_ms=30),
    ]


def _plan() -> tuple[list[Row], list[Batch]]:
    merged = merge(_rows(), "77")
    return list(merged.rows), chunk(merged.participations, 100)


def _by_ref(rows: list[Row]) -> dict[tuple[str, int], Row]:
    return {(r.ref.file, r.ref.row): r for r in rows}


def test_dry_run_plans_every_sendable_row_and_leaves_the_others() -> None:
    rows, batches = _plan()
    before = list(rows)
    out = _by_ref(settle(rows, batches, {}, dry_run=True, stopped=None))
    assert rows == before  # the caller's list is not touched
    assert out["a.csv", 2].outcome is Outcome.PLANNED and out["a.csv", 2].reason == Reason.DRY_RUN.value
    assert out["a.csv", 2].batch_id.startswith("attend-")
    assert out["b.csv", 3].message == "Would be recorded as cancel (dry run: nothing was sent)."
    assert out["a.csv", 4].outcome is Outcome.PLANNED  # the same contact's registration: a participation too
    assert out["a.csv", 4].batch_id.startswith("register-")
    assert out["b.csv", 2].outcome is Outcome.REJECTED and out["b.csv", 2].message == "bad email"


@pytest.mark.parametrize(
    ("answer", "outcome", "reason", "vid", "message"),
    [
        (BatchOutcome("x", 200, {"1": 1, "2": 2}, {}, "c-1"), Outcome.RECORDED, "", 1, "Recorded as attend."),
        (
            BatchOutcome("x", 200, {"2": 2}, {"1": Failure("http_400", "vid 1 is archived")}, "c-2"),
            Outcome.FAILED,
            "http_400",
            1,
            "vid 1 is archived",
        ),
        (
            BatchOutcome("x", 200, {"2": 2}, {}, "c-3"),
            Outcome.FAILED,
            Reason.NOT_IN_RESPONSE.value,
            1,
            "HubSpot's answer did not mention this contact.",
        ),
        (
            BatchOutcome("x", 200, {"1": 1, "2": 2}, {}, "c-4", created=frozenset({"1"})),
            Outcome.RECORDED,
            "",
            1,
            "Recorded as attend. A new contact was created for this email.",
        ),
    ],
)
def test_answers_become_outcomes(answer: BatchOutcome, outcome: Outcome, reason: str, vid: int, message: str) -> None:
    rows, batches = _plan()
    attend = next(b for b in batches if b.state is State.ATTEND)
    out = _by_ref(settle(rows, batches, {attend.id: answer}, dry_run=False, stopped=None))
    row = out["a.csv", 2]
    assert (row.outcome, row.reason, row.vid, row.message) == (outcome, reason, vid, message)
    assert row.correlation_id == answer.correlation_id and row.batch_id == attend.id
    assert row.created_contact == ("1" in answer.created)
    # the cancel batch got no answer: the run stopped before sending it
    cancel = out["b.csv", 3]
    assert cancel.outcome is Outcome.FAILED and cancel.reason == Reason.INTERRUPTED.value
    assert cancel.message.endswith("Run the same command again to continue.")


def test_a_stop_names_its_reason_on_every_unsent_row() -> None:
    rows, batches = _plan()
    stop = StopRun("HubSpot's daily limit is used up.", reason=Reason.DAILY_LIMIT.value)
    out = settle(rows, batches, {}, dry_run=False, stopped=stop)
    unsent = [r for r in out if r.outcome is Outcome.FAILED]
    assert len(unsent) == 4
    assert {r.reason for r in unsent} == {"daily_limit"}
    assert all("daily limit is used up" in r.message for r in unsent)


def test_a_sendable_row_that_no_batch_carries_is_reported_not_lost() -> None:
    rows, _ = _plan()
    out = _by_ref(settle(rows, [], {}, dry_run=False, stopped=None))
    assert out["a.csv", 2].outcome is Outcome.FAILED and out["a.csv", 2].batch_id == ""
    assert "before this row was sent" in out["a.csv", 2].message
