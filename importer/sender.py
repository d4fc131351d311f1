"""Runs batches through the HubSpot client concurrently and hands each answer back at once.

The client owns retries and the rate limiter; the sender owns concurrency, the splitting of
batches HubSpot refuses without naming the culprit, and a clean stop (daily limit, token refused,
Ctrl-C): batches already in flight are waited for and their answers still recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Protocol

from .errors import BatchRejected, StopRun
from .models import Batch, BatchOutcome, Failure
from .waits import Waits, interrupted


class Recorder(Protocol):
    """What the sender needs of the client (``hubspot.HubSpot`` and test fakes)."""

    def record(self, batch: Batch) -> BatchOutcome: ...


class Interrupted(Exception):
    """Raised in the main thread by the SIGINT/SIGTERM handler the pipeline installs (except while
    sending, see :func:`send`)."""


#: How often the send loop looks whether the run was interrupted while it waits for answers.
POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class SendResult:
    """What came back: an outcome for every batch that was answered, and why sending stopped."""

    outcomes: dict[str, BatchOutcome]
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
    then the stop is returned (interrupts as ``StopRun(reason=interrupted)``).  The loop runs with
    the signal handler deferred (see ``Waits.deferring``) and looks at the interrupt every
    :data:`POLL_S`, so no exception can land between handing a batch to a worker and noting it.
    """
    waits = waits or Waits()
    outcomes: dict[str, BatchOutcome] = {}
    stopped: StopRun | None = None
    stop_flag = threading.Event()
    pending = iter(batches)
    in_flight: dict[Future[BatchOutcome], Batch] = {}

    def guarded(batch: Batch) -> BatchOutcome:
        if stop_flag.is_set():
            raise _NotStarted()
        return send_one(client, batch)

    def take(future: Future[BatchOutcome]) -> None:
        nonlocal stopped
        batch = in_flight.pop(future)
        try:
            outcome = future.result()
        except _NotStarted:
            return
        except StopRun as exc:
            stop_flag.set()
            stopped = stopped or exc
            return
        outcomes[batch.id] = outcome
        on_outcome(batch, outcome)

    with waits.deferring(), ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sender") as pool:
        while True:
            if waits.interrupted and not stop_flag.is_set():
                stop_flag.set()
                stopped = stopped or interrupted()
            while not stop_flag.is_set() and len(in_flight) < concurrency:
                batch = next(pending, None)
                if batch is None:
                    break
                in_flight[pool.submit(guarded, batch)] = batch
            if not in_flight:
                break
            done, _ = wait(list(in_flight), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                take(future)
    return SendResult(outcomes=outcomes, stopped=stopped)


class _NotStarted(Exception):
    """A queued batch that was never sent because the run is stopping."""
