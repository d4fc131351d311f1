"""THE retry policy of every request (tenacity), and what a retryable answer carries into it:
HubSpot's own wait first, else exponential backoff with full jitter, within a time budget.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable

import httpx
import tenacity

from .config import Config
from .errors import RetryableError
from .hubspot_answers import Verdict

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


def retrying(
    cfg: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[tenacity.RetryCallState], None] | None = None,
    jitter: Callable[[float], float] | None = None,
) -> tenacity.Retrying:
    """THE retry policy: at most ``cfg.retry_attempts`` attempts and ``cfg.retry_max_seconds`` in all.

    Waits what HubSpot asked for (``RetryableError.wait_s``) or else exponential backoff with full
    jitter (``jitter(cap)`` draws in [0, cap]).  A wait that would overrun the time budget stops now.
    """
    attempts = max(1, cfg.retry_attempts)
    draw = jitter or (lambda cap: random.uniform(0.0, cap))
    started: weakref.WeakKeyDictionary[tenacity.RetryCallState, float] = weakref.WeakKeyDictionary()
    guard = threading.Lock()

    def before(state: tenacity.RetryCallState) -> None:
        with guard:
            started.setdefault(state, clock())

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RetryableError) and exc.wait_s is not None:
            return max(0.0, exc.wait_s)
        cap = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(state.attempt_number - 1, 16))
        return max(0.0, min(cap, draw(cap)))

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= attempts:
            return True
        with guard:
            start = started.get(state, clock())
        return clock() - start + state.upcoming_sleep > cfg.retry_max_seconds

    return tenacity.Retrying(
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception_type((RetryableError, httpx.TransportError)),
        before=before,
        before_sleep=on_retry,
        sleep=sleep,
        reraise=True,
    )


def penalty(verdict: Verdict, headers: httpx.Headers) -> float:
    """How long nobody may start after a 429: what HubSpot asked for (Retry-After); without it, a
    429 that says what is left of the window (``X-HubSpot-RateLimit-Remaining``) holds nobody back,
    since the limiter's window and budget already wait for room; a bare 429 waits ``wait_s``."""
    if "retry-after" in headers or "x-hubspot-ratelimit-remaining" not in headers:
        return verdict.wait_s or 0.0
    return 0.0


class Transient(RetryableError):
    """A retryable HTTP answer, remembering the 429 policy for the retry log line."""

    def __init__(self, verdict: Verdict, message: str) -> None:
        super().__init__(
            message,
            reason=verdict.reason,
            status=verdict.status,
            wait_s=verdict.wait_s,
            correlation_id=verdict.correlation_id,
        )
        self.policy = verdict.policy
