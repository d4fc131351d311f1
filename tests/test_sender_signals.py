"""A real SIGTERM landing at every point of the send loop loses no answer.

The signal handler the run installs (``execute.interruptible``) may run between any two bytecodes
of the main thread: while it submits a batch to the pool, while it journals an answer, while it
waits.  Whatever HubSpot was sent must come back as an answer that was handled (journaled), or the
report calls rows "interrupted" that HubSpot holds and the next run sends them twice.  The signal is
raised from a trace function at the k-th function call of the main thread, for every k.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from importer import sender
from importer.execute import interruptible
from importer.models import Batch, BatchOutcome, Participation, RowRef, State
from importer.services import Services

BATCHES = 6


def batch(bid: str, vids: list[int]) -> Batch:
    items = tuple(Participation("ev", State.ATTEND, v, None, 1, (RowRef("f", v),)) for v in vids)
    return Batch(bid, "ev", State.ATTEND, False, items)


class Portal:
    """HubSpot as the sender sees it: every batch it is sent, it holds (and answers a moment later)."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.lock = threading.Lock()

    def record(self, b: Batch) -> BatchOutcome:
        with self.lock:
            self.held.add(b.id)
        time.sleep(0.001)
        return BatchOutcome(b.id, 200, {p.key: p.vid or 0 for p in b.items}, {})


def send_with_a_signal_at_call(k: int) -> tuple[Portal, set[str], sender.SendResult | None, bool]:
    """One send of a few batches with SIGTERM raised at the main thread's k-th function call."""
    portal, handled = Portal(), set[str]()
    calls, fired = 0, False

    def tracer(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls, fired
        if event == "call" and not fired:
            calls += 1
            if calls == k:
                fired = True
                signal.raise_signal(signal.SIGTERM)

    batches = [batch(f"b{i}", [i * 10 + j for j in range(3)]) for i in range(BATCHES)]
    result: sender.SendResult | None = None
    with interruptible(Services()) as waits:
        sys.settrace(tracer)
        try:
            result = sender.send(portal, batches, concurrency=2, on_outcome=lambda b, o: handled.add(b.id), waits=waits)
        except sender.Interrupted:
            result = None  # it escaped before anything could be sent: checked below
        finally:
            sys.settrace(None)
    return portal, handled, result, fired


def test_a_sigterm_at_any_call_of_the_send_loop_loses_no_answer() -> None:
    k, checked = 1, 0
    while True:
        portal, handled, result, fired = send_with_a_signal_at_call(k)
        if not fired:
            break  # the send ended before its k-th call: every point was tried
        checked += 1
        if result is None:
            assert not portal.held, f"signal at call {k}: batches were sent but the send raised"
        else:
            assert set(result.outcomes) == portal.held, f"signal at call {k}: an answer HubSpot gave was lost"
            assert handled == portal.held, f"signal at call {k}: an answer was not handled (journaled)"
            if result.stopped is None:  # the signal came after the last answer: nothing was left to stop
                assert len(portal.held) == BATCHES, f"signal at call {k}: not stopped, yet batches were left"
            else:
                assert result.stopped.reason == "interrupted", f"signal at call {k}"
        k += 1
    assert checked > 50, "the loop was interrupted at many points"
