"""Client-side limiter so a run stays under HubSpot's rolling burst limit instead of bouncing off it.

HubSpot counts requests per portal in a sliding window (e.g. 100 per 10 s).  The limiter counts a
request when it *starts*: the server sees it a little later (on arrival), so any window the server
looks at holds at most the requests we started in a window of the same length, shifted by latency.
A small ``margin_s`` keeps each start in our window a little longer to absorb uneven latency.
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
    """Sliding window of request start times, resized and tightened by what HubSpot reports."""

    def __init__(
        self,
        max_requests: int,
        interval_s: float,
        *,
        reserve_pct: float = 0.0,
        margin_s: float = 0.0,
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
        # Requests of other integrations HubSpot counted in the window, and until when that view holds.
        self._foreign = 0
        self._foreign_until = -math.inf

    @property
    def limit(self) -> tuple[int, float]:
        """The effective (max starts, interval seconds) this limiter enforces."""
        with self._lock:
            return self._own_max(), self._interval

    def _own_max(self) -> int:
        return max(1, math.floor(self._server_max * (1 - self._reserve_pct / 100)))

    def _window(self) -> float:
        return self._interval + self._margin

    def _cap(self, now: float) -> int:
        """How many of our starts the current window may hold (may be 0 when others use the budget)."""
        cap = self._own_max()
        if now < self._foreign_until:
            cap = min(cap, self._server_max - self._foreign)
        return max(0, cap)

    def _forget(self, now: float) -> None:
        horizon = now - self._window()
        while self._starts and self._starts[0] <= horizon:
            self._starts.popleft()

    def _wait_needed(self, now: float) -> float:
        """Seconds until a start is allowed (0 when allowed now).  Caller holds the lock."""
        if now < self._penalty_until:
            return self._penalty_until - now
        self._forget(now)
        held = len(self._starts)
        cap = self._cap(now)
        if held < cap:
            return 0.0
        # Either enough of our own starts leave the window, or the view of others' usage expires.
        candidates = []
        if cap > 0:
            candidates.append(self._starts[held - cap] + self._window() - now)
        if now < self._foreign_until:
            own = self._own_max()
            after_expiry = self._foreign_until - now
            if held >= own:
                after_expiry = max(after_expiry, self._starts[held - own] + self._window() - now)
            candidates.append(after_expiry)
        return max(min(candidates), 1e-6)

    def acquire(self) -> None:
        """Block until a request may start, and count it as started."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._starts.append(now)
                    return
            self._sleep(wait)

    def update(self, headers: Mapping[str, str]) -> None:
        """Adapt to HubSpot's rate-limit headers from any response."""
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
            used_by_server = self._server_max - remaining
            foreign = max(0, used_by_server - len(self._starts))
            self._foreign = foreign
            self._foreign_until = now + self._interval if foreign else -math.inf

    def penalize(self, wait_s: float) -> None:
        """After a 429: nobody starts a request before ``now + wait_s``."""
        with self._lock:
            self._penalty_until = max(self._penalty_until, self._clock() + max(0.0, wait_s))
