"""Calls run at once in worker threads, each result handled in the calling thread as it comes.

The one place a run starts threads (the contact lookups and the writes).  The loop runs with the
signal handler deferred (``Waits.deferring``): an exception a handler raises can land in any
bytecode, inside ``threading``'s own locks ("release unlocked lock") or between handing a call to
a worker and noting it, which would lose an answer HubSpot gave.  Instead the loop looks at
``waits.interrupted`` between steps and at least every :data:`POLL_S` while it waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from .errors import StopRun
from .waits import Waits, interrupted

T = TypeVar("T")
R = TypeVar("R")

#: How often the loop looks whether the run was interrupted while it waits for results.
POLL_S = 0.05


class _NotStarted(Exception):
    """A queued call that never ran because the run is stopping."""


def each(
    call: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    waits: Waits,
    on_result: Callable[[T, R], None],
    name: str = "worker",
) -> StopRun | None:
    """``call(item)`` for every item, at most ``workers`` at a time (items are drawn lazily);
    ``on_result(item, result)`` runs in this thread for each as soon as it is back.

    A ``StopRun`` from a call, or an interrupt, starts no new call: the calls in flight are waited
    for and their results handled, then the stop is returned (an interrupt as ``interrupted()``).
    """
    stopped: StopRun | None = None
    stop_flag = threading.Event()
    pending = iter(items)
    in_flight: dict[Future[R], T] = {}

    def guarded(item: T) -> R:
        if stop_flag.is_set():
            raise _NotStarted()
        return call(item)

    def take(future: Future[R]) -> None:
        nonlocal stopped
        item = in_flight.pop(future)
        try:
            result = future.result()
        except _NotStarted:
            return
        except StopRun as exc:
            stop_flag.set()
            stopped = stopped or exc
            return
        on_result(item, result)

    with waits.deferring(), ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name) as pool:
        while True:
            if waits.interrupted and not stop_flag.is_set():
                stop_flag.set()
                stopped = stopped or interrupted()
            while not stop_flag.is_set() and len(in_flight) < max(1, workers):
                try:
                    item = next(pending)
                except StopIteration:
                    break
                in_flight[pool.submit(guarded, item)] = item
            if not in_flight:
                break
            done, _ = wait(list(in_flight), timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                take(future)
    return stopped
