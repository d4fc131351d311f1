"""Every wait of a run in one place: interruptible, capped, and never trusting a server's number.

A run hands one :class:`Waits` to everything that sleeps (the retry policy and the rate limiter,
through the HubSpot client).  SIGINT and SIGTERM call :meth:`Waits.interrupt`: every wait in
progress ends at once, in every thread, and no new one starts, so a run stops within moments
even when HubSpot asked it to wait for minutes.  What HubSpot asks for (``Retry-After``) is
parsed here so that no header, however strange, can overflow a clock or block a run for hours.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from .errors import StopRun
from .models import Reason

#: The longest wait a header can ask for, as far as parsing goes; anything longer is this long.
#: Far beyond any cap a user sets, and small enough for every clock and date computation.
LONGEST_WAIT_S = 366 * 86400.0


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks for (headers with lowercase names), or None.

    Delta-seconds may be written as any number ("3600", "1.5", "1e300"); an HTTP date counts from
    the answer's own ``Date`` header (the server's clock, not ours), and is ignored without one.
    Negative, NaN and unreadable values are None; huge ones are :data:`LONGEST_WAIT_S`.
    """
    text = str(headers.get("retry-after", "")).strip()
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _date_delta(text, str(headers.get("date", "")).strip())
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return None
    return min(seconds, LONGEST_WAIT_S)


def _date_delta(when: str, date: str) -> float | None:
    try:
        until, now = parsedate_to_datetime(when), parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if until.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (until - now).total_seconds())


def human(seconds: float) -> str:
    """A wait as a person reads it: "45 s", "12 min", "1.0 h", "3 days", "more than a year"."""
    if seconds >= LONGEST_WAIT_S:
        return "more than a year"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def resume_at(now: datetime, seconds: float) -> str:
    """When a run that must wait ``seconds`` from ``now`` can start again, to the next minute (UTC)."""
    moment = now.astimezone(UTC) + timedelta(seconds=min(seconds, LONGEST_WAIT_S) + 59)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class Waits:
    """The one way a run waits: ``sleep`` ends early, raising the interrupt's ``StopRun``, once
    :meth:`interrupt` was called (from a signal handler, in any thread).

    Without an injected ``sleep`` it really waits, on an event the interrupt sets; with one (tests)
    it calls it and checks for an interrupt before and after.
    """

    def __init__(self, sleep: Callable[[float], None] | None = None) -> None:
        self._sleep = sleep
        self._stop = threading.Event()
        self._deferring = 0

    def sleep(self, seconds: float) -> None:
        self._check()
        seconds = min(max(0.0, seconds), LONGEST_WAIT_S)
        if self._sleep is None:
            self._stop.wait(seconds)
        else:
            self._sleep(seconds)
        self._check()

    def interrupt(self) -> None:
        """End every wait now and refuse new ones (safe from a signal handler)."""
        self._stop.set()

    @property
    def interrupted(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """While inside, a signal only calls :meth:`interrupt`; the code inside checks
        :attr:`interrupted` where it may stop.  An exception raised by a signal handler can land
        in any bytecode, inside ``threading``'s locks or between handing a batch to a worker and
        noting it, and lose an answer HubSpot gave; sending runs inside this (re-entrant)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1

    @property
    def deferred(self) -> bool:
        """Whether a signal handler must not raise now (see :meth:`deferring`)."""
        return self._deferring > 0

    def _check(self) -> None:
        if self._stop.is_set():
            raise interrupted()


def interrupted() -> StopRun:
    """The stop an interrupt (Ctrl-C, SIGTERM) becomes: exit 3, and a re-run resumes."""
    return StopRun(
        "Interrupted: the batches in flight were finished and recorded.",
        reason=Reason.INTERRUPTED.value,
        hint="Run the same command again to send the rest.",
    )
