"""Client-side limiter so a run stays under HubSpot's rolling burst limit instead of bouncing off it.

HubSpot counts requests per portal in a sliding window (e.g. 100 per 10 s).  The limiter counts a
request when it *starts*; HubSpot counts it on arrival, a little later.  A start k that follows the
start j = k-M by the interval plus x arrives after j has left HubSpot's window as long as k's way
there is no more than x shorter than j's.  j's way there is at most its whole duration, so x = j's
own duration is always safe; and since every way there is at least that of the fastest request,
x only has to be j's duration minus the fastest of the run: the *spread* of the latency, not the
latency itself, and for each start its own (a slow answer holds back only the start that follows
it one window later, not the whole window).  So each start stays in our window for the interval
plus its own duration minus the fastest, plus a quarter of the recent spread (longest minus fastest)
for what durations do not show, such as scheduling at either end (at least ``margin_s``, at most a
quarter of the interval); one still in flight counts with the longest recent spread.  Until a few
durations are known, and for two intervals after a 429 of the rolling window, each start's whole
duration counts instead: safe whatever the latency.

Other integrations of the portal share the budget.  Each answer's ``X-HubSpot-RateLimit-Remaining``
therefore becomes a budget: from that moment we start at most Remaining requests, minus the ones
still in flight (HubSpot may not have counted them yet), plus one for each of our starts that leaves
the window.  The budget lapses after one interval, when every request it counted has left the window.
What Remaining says of others is measured against our starts HubSpot may have counted when it
answered: those in our window when the answered request started.
With ``probe_first`` the very first request goes alone, so even the opening burst knows the budget.
One limiter is shared by every thread of a run (lookups and writes alike).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

MAX_HEADER = "x-hubspot-ratelimit-max"
REMAINING_HEADER = "x-hubspot-ratelimit-remaining"
INTERVAL_HEADER = "x-hubspot-ratelimit-interval-milliseconds"
PROBE_POLL_S = 0.02
#: Durations needed before their spread, rather than each whole duration, sets the margin.
SPREAD_SAMPLES = 5


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    """A non-negative integer header (looked up case-insensitively), or None when absent or garbled."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None


#: Added to the rate-limit bound for the answers of the last window (a request takes 0.2-0.5 s).
_LAST_ANSWER_S = 0.5


def estimate_seconds(requests: int, limit: tuple[int, float], concurrency: int = 4) -> float:
    """How long ``requests`` take at HubSpot's rolling limit of ``limit = (max, window_s)``: the k-th
    request can start no sooner than ``(k - 1) // max`` windows after the first."""
    if requests <= 0:
        return 0.0
    most, window = max(1, limit[0]), limit[1]
    waves = -(-min(requests, most) // max(1, concurrency))
    return (requests - 1) // most * window + waves * _LAST_ANSWER_S


class Ticket:
    """One start :meth:`RateLimiter.acquire` let go: when, and (once over) how long it took."""

    __slots__ = ("duration", "refused", "released", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.duration: float | None = None
        self.released = False
        self.refused = False


class RateLimiter:
    """Sliding window of request start times, resized and tightened by what HubSpot reports.

    Callers pair every :meth:`acquire` with one :meth:`release` once the request is over, and feed
    every answer's headers to :meth:`update` before releasing; passing the ticket :meth:`acquire`
    returned tells which request it was (without it, the oldest one in flight is meant).
    """

    def __init__(
        self,
        max_requests: int,
        interval_s: float,
        *,
        reserve_pct: float = 0.0,
        margin_s: float = 0.0,
        probe_first: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or interval_s <= 0:
            raise ValueError("max_requests must be at least 1 and interval_s positive")
        if not 0 <= reserve_pct < 100:
            raise ValueError("reserve_pct must be in [0, 100)")
        self._server_max = int(max_requests)
        self._interval = float(interval_s)
        self._reserve_pct = float(reserve_pct)
        self._margin = max(0.0, float(margin_s))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: deque[Ticket] = deque()
        # When the starts that left our window left it (what Remaining may still have counted).
        self._gone: deque[float] = deque()
        self._penalty_until = -math.inf
        self._in_flight = 0
        self._started_total = 0
        self._expired_total = 0
        # The budget from the last Remaining header: its size, when it lapses, and the totals then.
        self._budget: int | None = None
        self._budget_until = -math.inf
        self._budget_started = 0
        self._budget_expired = 0
        self._budget_skip = 0
        # Estimates of other integrations' requests in HubSpot's window: (when, how many).
        self._foreign: deque[tuple[float, int]] = deque()
        self._last_refused = -math.inf
        # Recent request durations (when finished, seconds): how late HubSpot may have seen a start.
        self._durations: deque[tuple[float, float]] = deque()
        # The fastest request of the run, and how many durations are known: the spread is a
        # duration minus the fastest ever (a fast answer that was seen may come again).
        self._fastest = math.inf
        self._samples = 0
        # With probe_first, one request goes alone until the first answer tells us about the portal.
        self._probe = probe_first
        self._answered = False

    @property
    def limit(self) -> tuple[int, float]:
        """The effective (max starts, interval seconds) this limiter enforces."""
        with self._lock:
            return self._own_max(), self._interval

    def _own_max(self) -> int:
        return max(1, math.floor(self._server_max * (1 - self._reserve_pct / 100)))

    def _cap(self, now: float) -> int:
        """Our share of the window: the reserve kept, and what other integrations were seen using.

        The highest sighting of the last two intervals counts (a sighting undercounts while our own
        requests are still on their way, and a pause after a 429 lasts one interval); with no recent
        sighting the latest one still holds.
        """
        while len(self._foreign) > 1 and self._foreign[0][0] <= now - 2 * self._interval:
            self._foreign.popleft()
        foreign = max((seen for _, seen in self._foreign), default=0)
        return max(1, min(self._own_max(), self._server_max - foreign))

    def _cautious(self, now: float) -> bool:
        """Too few durations known, or a 429 of the rolling window lately: whole durations count."""
        return self._samples < SPREAD_SAMPLES or self._last_refused > now - 2 * self._interval

    def _in_flight_margin(self, now: float) -> float:
        """The margin of a start whose duration is not known yet: the longest recent one's."""
        horizon = now - 2 * self._interval
        while self._durations and self._durations[0][0] <= horizon:
            self._durations.popleft()
        longest = max((d for _, d in self._durations), default=0.0)
        return longest if self._cautious(now) else max(0.0, longest - self._fastest)

    def _lasts(self, now: float) -> list[float]:
        """Each start in our window plus its margin, in start order: it leaves our window one
        interval after that (see the module's docstring)."""
        cautious = self._cautious(now)
        flying = self._in_flight_margin(now)
        # Each way there varies a little more than the durations show (scheduling on both ends):
        # a quarter of the spread on top of each start's own.
        fastest = 0.0 if cautious else self._fastest - flying / 4
        top = self._interval / 4
        out = []
        for ticket in self._starts:
            extra = flying if ticket.duration is None else max(0.0, ticket.duration - fastest)
            out.append(ticket.start + max(self._margin, min(extra, top)))
        return out

    def _forget(self, now: float) -> list[float]:
        """Drop the starts that left our window; when the others leave it, soonest first."""
        lasts = self._lasts(now)
        horizon = now - self._interval
        if any(last <= horizon for last in lasts):
            kept: deque[Ticket] = deque()
            for ticket, last in zip(self._starts, lasts, strict=True):
                if last > horizon:
                    kept.append(ticket)
                    continue
                if not ticket.refused:
                    self._gone.append(last + self._interval)
                self._expired_total += 1
            self._starts = kept
            lasts = [last for last in lasts if last > horizon]
        while self._gone and self._gone[0] <= horizon:
            self._gone.popleft()
        return sorted(last + self._interval for last in lasts)

    def _uncredited(self) -> int:
        """Starts still in our window that HubSpot may already have dropped when it sent Remaining."""
        return max(0, self._budget_skip - (self._expired_total - self._budget_expired))

    def _budget_left(self, now: float) -> int | None:
        if self._budget is None or now >= self._budget_until:
            return None
        started = self._started_total - self._budget_started
        freed = max(0, self._expired_total - self._budget_expired - self._budget_skip)
        return self._budget - started + freed

    def _wait_needed(self, now: float) -> float:
        """Seconds until a start is allowed (0 when allowed now).  Caller holds the lock."""
        if now < self._penalty_until:
            return self._penalty_until - now
        if self._probe and not self._answered and self._in_flight > 0:
            return PROBE_POLL_S
        ends = self._forget(now)
        held = len(ends)
        own = self._cap(now)
        waits: list[float] = []
        if held >= own:
            waits.append(ends[held - own] - now)
        left = self._budget_left(now)
        if left is not None and left <= 0:
            index = self._uncredited() - left
            until = self._budget_until - now
            if index < held:
                until = min(until, ends[index] - now)
            if self._in_flight > 0:
                # an answer on its way brings a newer budget: look again then, not only when this lapses
                until = min(until, PROBE_POLL_S)
            waits.append(until)
        return max(max(waits), 1e-6) if waits else 0.0

    def acquire(self) -> Ticket:
        """Block until a request may start, count it as started (and in flight) and return its ticket."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    ticket = Ticket(now)
                    self._starts.append(ticket)
                    self._started_total += 1
                    self._in_flight += 1
                    return ticket
            self._sleep(wait)

    def _which(self, ticket: Ticket | None, *, refusing: bool = False) -> Ticket | None:
        """The request meant: the ticket given, else the oldest one still in flight (and not refused)."""
        if ticket is not None:
            return ticket
        return next((t for t in self._starts if not t.released and not (refusing and t.refused)), None)

    def release(self, duration_s: float | None = None, ticket: Ticket | None = None) -> None:
        """A request that :meth:`acquire` let start is over (answered or failed) after ``duration_s``."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._answered = True
            mine = self._which(ticket)
            if mine is not None:
                mine.released = True
                mine.duration = float(duration_s) if duration_s is not None and duration_s > 0 else 0.0
            if duration_s is not None and duration_s > 0:
                self._durations.append((self._clock(), float(duration_s)))
                self._fastest = min(self._fastest, float(duration_s))
                self._samples += 1

    def update(self, headers: Mapping[str, str], ticket: Ticket | None = None) -> None:
        """Adapt to HubSpot's rate-limit headers from an answer (before :meth:`release` of its request)."""
        server_max = _header_int(headers, MAX_HEADER)
        interval_ms = _header_int(headers, INTERVAL_HEADER)
        remaining = _header_int(headers, REMAINING_HEADER)
        with self._lock:
            now = self._clock()
            if server_max is not None and server_max > 0:
                self._server_max = server_max
            if interval_ms is not None and interval_ms > 0:
                self._interval = interval_ms / 1000
            if remaining is None:
                return
            self._forget(now)
            # HubSpot answered after this request arrived: it may have counted every start that
            # was in our window when the request started, and any start since.
            since = ticket.start if ticket is not None else now
            counted = sum(1 for end in self._gone if end > since)
            ours = counted + sum(1 for t in self._starts if not t.refused)
            self._foreign.append((now, max(0, self._server_max - remaining - ours)))
            others_in_flight = max(0, self._in_flight - 1)
            self._budget = remaining - others_in_flight
            self._budget_until = now + self._interval
            self._budget_started = self._started_total
            self._budget_expired = self._expired_total
            # Older starts may have left HubSpot's window already; their leaving ours frees nothing.
            horizon = now - self._interval
            self._budget_skip = sum(1 for t in self._starts if t.start <= horizon)

    def penalize(self, wait_s: float, ticket: Ticket | None = None) -> None:
        """After a 429 (of ``ticket``'s request): nobody starts a request before ``now + wait_s``."""
        with self._lock:
            now = self._clock()
            refused = self._which(ticket, refusing=True)
            if refused is not None:
                refused.refused = True
            self._last_refused = now
            self._penalty_until = max(self._penalty_until, now + max(0.0, wait_s))
