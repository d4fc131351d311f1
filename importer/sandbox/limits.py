"""The portal's request limits: a sliding window of requests per token (the burst limit) and a
daily count, the 429s they answer and the ``X-HubSpot-RateLimit-*`` headers every answer carries.
The model calls it under its lock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .wire import Answer, daily_error, error_answer, ten_secondly_error


@dataclass(slots=True)
class _Window:
    """Sliding-window usage of one token."""

    stamps: deque[float]


class Limits:
    """The burst window per token and the daily count, as one portal's."""

    def __init__(
        self,
        *,
        rate_limit_max: int,
        rate_limit_interval_ms: int,
        daily_limit: int,
        daily_headers: bool,
        retry_after: bool,
        external_load: int,
        clock: Callable[[], float],
    ) -> None:
        self._clock = clock
        self._max = rate_limit_max
        self._interval_s = rate_limit_interval_ms / 1000.0
        self._interval_ms = rate_limit_interval_ms
        self._daily_limit = daily_limit
        self._daily_used = 0
        self._daily_headers = daily_headers
        self._retry_after = retry_after
        self._external_load = external_load
        self._windows: dict[str, _Window] = {}

    def _window(self, token: str) -> deque[float]:
        window = self._windows.setdefault(token, _Window(deque())).stamps
        horizon = self._clock() - self._interval_s
        while window and window[0] <= horizon:
            window.popleft()
        return window

    def admit(self, token: str, correlation_id: str) -> Answer | None:
        """Count the request against the limits, or answer 429 (refused requests are not counted)."""
        if self._daily_used >= self._daily_limit:
            error = daily_error()
            return error_answer(error, correlation_id, self.headers(token))
        window = self._window(token)
        if len(window) + self._external_load >= self._max:
            headers = self.headers(token)
            if self._retry_after:
                wait = window[0] + self._interval_s - self._clock() if window else self._interval_s
                headers += (("Retry-After", str(max(1, math.ceil(wait)))),)
            return error_answer(ten_secondly_error(), correlation_id, headers)
        window.append(self._clock())
        self._daily_used += 1
        return None

    def headers(self, token: str | None) -> tuple[tuple[str, str], ...]:
        """The X-HubSpot-RateLimit-* headers for a known token (None: no usage of its own); the daily
        pair only when ``daily_headers`` (HubSpot leaves it out for OAuth tokens, so a client must
        manage without)."""
        used = len(self._window(token)) if token is not None else 0
        burst = (
            ("X-HubSpot-RateLimit-Max", str(self._max)),
            ("X-HubSpot-RateLimit-Remaining", str(max(0, self._max - self._external_load - used))),
            ("X-HubSpot-RateLimit-Interval-Milliseconds", str(self._interval_ms)),
        )
        if not self._daily_headers:
            return burst
        return (
            *burst,
            ("X-HubSpot-RateLimit-Daily", str(self._daily_limit)),
            ("X-HubSpot-RateLimit-Daily-Remaining", str(max(0, self._daily_limit - self._daily_used))),
        )
