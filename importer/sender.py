"""Runs batches through the HubSpot client concurrently and hands each answer back at once.

The client owns retries and the rate limiter; the sender owns concurrency, the splitting of
batches HubSpot refuses without naming the culprit, and a clean stop (daily limit, token refused,
Ctrl-C): batches already in flight are waited for and their answers still recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from . import workers
from .errors import BatchRejected, StopRun
from .models import Batch, BatchOutcome, Failure
from .waits import Waits


class Recorder(Protocol):
    """What the sender needs of the client (``hubspot.HubSpot`` and test fakes)."""

    def record(self, batch: Batch) -> BatchOutcome: ...


class Interrupted(Exception):
    """Raised in the main thread by the SIGINT/SIGTERM handler the pipeline installs (except while
    sending, see :func:`send`)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    """What came back: the ids of the batches answered, in the order the answers came (each went
    to ``on_outcome``, which keeps it: the sender keeps no batch or answer once handled, as a
    million-row import sends ten thousand of them), and why sending stopped."""

    answered: tuple[str, ...]
    stopped: StopRun | None


def _all_failed(batch: Batch, reason: str, message: str, status: int = 0, correlation_id: str = "") -> BatchOutcome:
    failure = Failure(reason=reason, message=message)
    return BatchOutcome(
        batch_id=batch.id,
        status=status,
        recorded={},
        failed={p.key: failure for p in batch.items},
        correlation_id=correlation_id,
    )


def _combine(batch: Batch, parts: Sequence[BatchOutcome]) -> BatchOutcome:
    recorded: dict[str, int] = {}
    failed: dict[str, Failure] = {}
    created: set[str] = set()
    gone: set[str] = set()
    for part in parts:
        recorded.update(part.recorded)
        failed.update(part.failed)
        created.update(part.created)
        gone.update(part.gone)
    correlation = next((p.correlation_id for p in parts if p.failed and p.correlation_id), parts[0].correlation_id)
    return BatchOutcome(
        batch_id=batch.id,
        status=max(p.status for p in parts),
        recorded=recorded,
        failed=failed,
        correlation_id=correlation,
        created=frozenset(created),
        gone=frozenset(gone),
    )


def send_one(client: Recorder, batch: Batch) -> BatchOutcome:
    """Send one batch; a 400 that does not name the bad inputs is split in halves, recursively,
    so the good inputs still land and only the bad ones are reported."""
    try:
        return client.record(batch)
    except BatchRejected as exc:
        if exc.status == 400 and not exc.names_culprits and len(batch.items) > 1:
            mid = len(batch.items) // 2
            halves = (
                replace(batch, id=f"{batch.id}.a", items=batch.items[:mid]),
                replace(batch, id=f"{batch.id}.b", items=batch.items[mid:]),
            )
            return _combine(batch, [send_one(client, half) for half in halves])
        return _all_failed(batch, exc.reason, exc.message, exc.status, exc.correlation_id)


def send(
    client: Recorder,
    batches: Iterable[Batch],
    *,
    concurrency: int,
    on_outcome: Callable[[Batch, BatchOutcome], None],
    waits: Waits | None = None,
) -> SendResult:
    """Send batches with at most ``concurrency`` in flight.

    ``on_outcome`` runs in the calling thread for each answer as soon as it arrives (the journal
    commits it there).  On ``StopRun`` or an interrupt (``waits.interrupt``, which the run's
    SIGINT/SIGTERM handler calls) no new batch starts; the ones in flight are awaited and recorded,
    then the stop is returned (interrupts as ``StopRun(reason=interrupted)``); see ``workers.each``.
    """
    answered: list[str] = []

    def handle(batch: Batch, outcome: BatchOutcome) -> None:
        answered.append(batch.id)
        on_outcome(batch, outcome)

    stopped = workers.each(
        partial(send_one, client),
        batches,
        workers=concurrency,
        waits=waits or Waits(),
        on_result=handle,
        name="sender",
    )
    return SendResult(answered=tuple(answered), stopped=stopped)
