"""Client-side limiter so a run stays under HubSpot's rolling burst limit instead of bouncing off it.

HubSpot counts requests per portal in a sliding window (e.g. 100 per 10 s).  The limiter counts a
request when it *starts*; HubSpot counts it on arrival, a little later.  A start k that follows the
start k-M by the interval plus x arrives after k-M has left HubSpot's window as long as k's way
there is no more than x shorter than k-M's: the margin x only has to cover the *spread* of the
latency (fast versus slow requests), not the latency itself.  So each start stays in our window for
the interval plus the spread of request durations (the longest of the last two intervals minus the
fastest of the run; at least ``margin_s``, at most a quarter of the interval).  Until a few
durations are known, and for two intervals after a 429 of the rolling window, the longest duration
counts instead: it is never less than the delay to arrival, so it is safe whatever the latency.

Other integrations of the portal share the budget.  Each answer's ``X-HubSpot-RateLimit-Remaining``
therefore becomes a budget: from that moment we start at most Remaining requests, minus the ones
still in flight (HubSpot may not have counted them yet), plus one for each of our starts that leaves
the window.  The budget lapses after one interval, when every request it counted has left the window.
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
#: Durations needed before their spread, rather than the longest, sets the margin.
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


class RateLimiter:
    """Sliding window of request start times, resized and tightened by what HubSpot reports.

    Callers pair every :meth:`acquire` with one :meth:`release` once the request is over, and feed
    every answer's headers to :meth:`update` before releasing.
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
        self._starts: deque[float] = deque()
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
        # When our requests were refused with 429 (HubSpot does not count those).
        self._refused: deque[float] = deque()
        self._last_refused = -math.inf
        # Recent request durations (when finished, seconds): how late HubSpot may have seen a start.
        self._durations: deque[tuple[float, float]] = deque()
        # The fastest request of the run, and how many durations are known: the spread is the
        # longest recent duration minus the fastest ever (a fast answer that was seen may come again).
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

    def _window(self) -> float:
        """How long a start counts: the interval plus the margin (see the module's docstring)."""
        now = self._clock()
        horizon = now - 2 * self._interval
        while self._durations and self._durations[0][0] <= horizon:
            self._durations.popleft()
        longest = max((d for _, d in self._durations), default=0.0)
        refused = self._last_refused > horizon
        extra = longest if self._samples < SPREAD_SAMPLES or refused else max(0.0, longest - self._fastest)
        return self._interval + max(self._margin, min(extra, self._interval / 4))

    def _forget(self, now: float) -> None:
        horizon = now - self._window()
        while self._starts and self._starts[0] <= horizon:
            self._starts.popleft()
            self._expired_total += 1

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
        self._forget(now)
        held = len(self._starts)
        own = self._cap(now)
        waits: list[float] = []
        if held >= own:
            waits.append(self._starts[held - own] + self._window() - now)
        left = self._budget_left(now)
        if left is not None and left <= 0:
            index = self._uncredited() - left
            until = self._budget_until - now
            if index < held:
                until = min(until, self._starts[index] + self._window() - now)
            waits.append(until)
        return max(max(waits), 1e-6) if waits else 0.0

    def acquire(self) -> None:
        """Block until a request may start, and count it as started (and in flight)."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._starts.append(now)
                    self._started_total += 1
                    self._in_flight += 1
                    return
            self._sleep(wait)

    def release(self, duration_s: float | None = None) -> None:
        """A request that :meth:`acquire` let start is over (answered or failed) after ``duration_s``."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._answered = True
            if duration_s is not None and duration_s > 0:
                self._durations.append((self._clock(), float(duration_s)))
                self._fastest = min(self._fastest, float(duration_s))
                self._samples += 1

    def update(self, headers: Mapping[str, str]) -> None:
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
            while self._refused and self._refused[0] <= now - self._window():
                self._refused.popleft()
            ours = len(self._starts) - len(self._refused)
            self._foreign.append((now, max(0, self._server_max - remaining - ours)))
            others_in_flight = max(0, self._in_flight - 1)
            self._budget = remaining - others_in_flight
            self._budget_until = now + self._interval
            self._budget_started = self._started_total
            self._budget_expired = self._expired_total
            # Older starts may have left HubSpot's window already; their leaving ours frees nothing.
            horizon = now - self._interval
            self._budget_skip = sum(1 for start in self._starts if start <= horizon)

    def penalize(self, wait_s: float) -> None:
        """After a 429: nobody starts a request before ``now + wait_s``."""
        with self._lock:
            self._refused.append(self._clock())
            self._last_refused = self._clock()
            self._penalty_until = max(self._penalty_until, self._clock() + max(0.0, wait_s))
