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

import pytest

from importer import sender
from importer.execute import interruptible
from importer.models import Batch, BatchOutcome, Participation, RowRef, State
from importer.services import Services

BATCHES = 6


class SignalAt:
    """Raises a real SIGTERM at the main thread's k-th function call while tracing is on."""

    def __init__(self, k: int) -> None:
        self.k, self.calls, self.fired = k, 0, False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if frame.f_code is SignalAt.__exit__.__code__:
            return  # the test's own way out, after the code under test
        if event == "call" and not self.fired:
            self.calls += 1
            if self.calls == self.k:
                self.fired = True
                signal.raise_signal(signal.SIGTERM)

    def __enter__(self) -> SignalAt:
        sys.settrace(self)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)


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
    batches = [batch(f"b{i}", [i * 10 + j for j in range(3)]) for i in range(BATCHES)]
    result: sender.SendResult | None = None
    with interruptible(Services()) as waits, SignalAt(k) as at:
        try:
            with waits.deferring():  # as the run does, so that the result itself is kept
                result = sender.send(
                    portal, batches, concurrency=2, on_outcome=lambda b, o: handled.add(b.id), waits=waits
                )
        except sender.Interrupted:
            result = None  # it escaped before anything could be sent: checked below
    return portal, handled, result, at.fired


#: A signal that lands after the deferred section, while the garbage collector runs a weakref
#: callback, raises there and Python prints "Exception ignored": exactly why sending defers it.
SWALLOWED = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@SWALLOWED
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
            assert set(result.answered) == portal.held, f"signal at call {k}: an answer HubSpot gave was lost"
            assert handled == portal.held, f"signal at call {k}: an answer was not handled (journaled)"
            if result.stopped is None:  # the signal came after the last answer: nothing was left to stop
                assert len(portal.held) == BATCHES, f"signal at call {k}: not stopped, yet batches were left"
            else:
                assert result.stopped.reason == "interrupted", f"signal at call {k}"
        k += 1
    assert checked > 50, "the loop was interrupted at many points"


class Contacts:
    """HubSpot's batch read as the lookups see it: every email is a contact."""

    def __init__(self, waits: Any) -> None:
        self.waits = waits

    def read_contacts(self, emails: list[str]) -> tuple[dict[str, int], set[str]]:
        time.sleep(0.001)
        return {e: i for i, e in enumerate(emails)}, set()


@SWALLOWED
def test_a_sigterm_at_any_call_of_the_lookups_stops_them_as_an_interrupt() -> None:
    """The lookups are reads, so an interrupt may end them anywhere, but only as an interrupt (exit 3,
    resumable), never as an error from inside ``threading`` ("internal error")."""
    from importer.config import Config
    from importer.errors import StopRun
    from importer.resolving import _ask_hubspot

    emails = [f"p{i}@example.com" for i in range(600)]
    k, endings = 1, set[str]()
    while True:
        found: dict[str, int] = {}
        with interruptible(Services()) as waits, SignalAt(k) as at:
            try:
                client = Contacts(waits)
                _ask_hubspot(emails, found, client, Config(concurrency=2), lambda line: None, None)  # type: ignore[arg-type]
                endings.add("finished")
            except sender.Interrupted:
                endings.add("interrupted")
            except StopRun as exc:
                assert exc.reason == "interrupted", f"signal at call {k}: {exc}"
                endings.add("interrupted")
        if not at.fired:
            break
        k += 1
    assert endings == {"finished", "interrupted"} and k > 50
