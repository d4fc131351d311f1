"""The sender: concurrency, splitting of culprit-less 400s, clean stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from importer.errors import BatchRejected, StopRun
from importer.models import Batch, BatchOutcome, Participation, Reason, RowRef, State
from importer.sender import send, send_one


def batch(bid: str, vids: list[int]) -> Batch:
    items = tuple(Participation("ev", State.ATTEND, v, None, 1, (RowRef("f", v),)) for v in vids)
    return Batch(bid, "ev", State.ATTEND, False, items)


class FakeClient:
    def __init__(self, poison: set[int] = frozenset(), stop_on: str | None = None) -> None:
        self.poison = poison
        self.stop_on = stop_on
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def record(self, b: Batch) -> BatchOutcome:
        with self.lock:
            self.calls.append(b.id)
        if self.stop_on == b.id:
            raise StopRun("daily limit", reason=Reason.DAILY_LIMIT.value)
        if any(p.vid in self.poison for p in b.items):
            raise BatchRejected("bad input", reason="http_400", status=400)
        return BatchOutcome(b.id, 200, {p.key: p.vid or 0 for p in b.items}, {})


def test_split_isolates_the_bad_input() -> None:
    client = FakeClient(poison={5})
    out = send_one(client, batch("b1", list(range(1, 9))))
    assert out.batch_id == "b1"
    assert set(out.failed) == {"5"}
    assert set(out.recorded) == {str(v) for v in range(1, 9) if v != 5}
    assert out.failed["5"].reason == "http_400"
    assert len(client.calls) <= 1 + 2 * 3


def test_a_400_that_names_culprits_is_not_split() -> None:
    class Naming(FakeClient):
        def record(self, b: Batch) -> BatchOutcome:
            self.calls.append(b.id)
            raise BatchRejected("named", reason="http_400", status=400, names_culprits=True)

    client = Naming()
    out = send_one(client, batch("b1", [1, 2, 3]))
    assert client.calls == ["b1"] and set(out.failed) == {"1", "2", "3"}


def test_send_records_every_answer_and_stops_cleanly() -> None:
    batches = [batch(f"b{i}", [i * 10 + k for k in range(3)]) for i in range(10)]
    client = FakeClient(stop_on="b4")
    seen: list[str] = []
    result = send(client, batches, concurrency=1, on_outcome=lambda b, o: seen.append(b.id))
    assert isinstance(result.stopped, StopRun) and result.stopped.reason == "daily_limit"
    assert seen == ["b0", "b1", "b2", "b3"]
    assert set(result.answered) == set(seen)
    assert "b5" not in client.calls


def test_send_concurrently_answers_all() -> None:
    batches = [batch(f"b{i}", [i]) for i in range(50)]
    client = FakeClient()
    seen: list[str] = []
    result = send(client, batches, concurrency=4, on_outcome=lambda b, o: seen.append(b.id))
    assert result.stopped is None
    assert sorted(seen) == sorted(b.id for b in batches)
    assert len(client.calls) == 50


def test_a_signal_while_an_answer_is_journaled_lets_it_finish_and_stops_the_sending() -> None:
    """SIGINT while the main thread journals an answer: the journaling finishes (the handler does
    not raise inside it), every answer HubSpot gave is handled, and no new batch starts."""
    import signal

    from importer.execute import interruptible
    from importer.services import Services

    client = FakeClient()
    handled: list[str] = []

    def on_outcome(b: Batch, outcome: BatchOutcome) -> None:
        if not handled:
            signal.raise_signal(signal.SIGINT)  # lands before the journal commit finished
        handled.append(b.id)

    batches = [batch(f"b{i}", [i]) for i in range(1, 7)]
    with interruptible(Services()) as waits:
        result = send(client, batches, concurrency=2, on_outcome=on_outcome, waits=waits)
    assert result.stopped is not None and result.stopped.reason == Reason.INTERRUPTED.value
    assert set(result.answered) == set(client.calls), "every batch sent has its answer"
    assert set(handled) == set(result.answered), "every answer was handled after the interrupt"
    assert len(client.calls) < len(batches), "no new batch started after the interrupt"


class _Carried(str):
    """An email that says when nothing holds it any more."""


def test_a_handled_batch_is_let_go_at_once() -> None:
    """A million-row import sends ten thousand batches: the sender must not keep them (nor their
    answers) once handled, or they all stay in memory until the end."""
    import weakref

    alive: list[weakref.ref[_Carried]] = []

    def batches() -> Iterator[Batch]:
        for i in range(30):
            email = _Carried(f"p{i}@example.com")
            alive.append(weakref.ref(email))
            yield Batch(f"b{i}", "ev", State.ATTEND, True, (Participation("ev", State.ATTEND, None, email, 1, ()),))

    held: list[int] = []
    result = send(
        FakeClient(), batches(), concurrency=3, on_outcome=lambda b, o: held.append(sum(r() is not None for r in alive))
    )
    assert result.stopped is None and len(result.answered) == 30
    assert max(held) <= 3 + 3, "only the batches in flight and the few being handed over are held, not all 30"
