"""Faults a test queues on the sandbox to make it misbehave the way real networks and HubSpot do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Every fault kind the sandbox knows (see :class:`Fault`).
FAULT_KINDS = frozenset(
    {
        "status",
        "disconnect",
        "disconnect_mid",
        "slow",
        "bad_json",
        "no_results",
        "rate_limit",
        "rate_limit_retry_after",
        "daily",
        "unauthorized",
        "bad_batch",
        "drop_one",
        "partial_207",
    }
)

#: Kinds that replace the answer entirely: the request is never applied.
ABRUPT_KINDS = frozenset(
    {"status", "disconnect", "bad_json", "rate_limit", "rate_limit_retry_after", "daily", "unauthorized", "bad_batch"}
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued misbehaviour.

    It applies to the next ``times`` API requests whose path contains ``path_contains``, after
    letting ``after`` such requests through untouched.  Kinds:

    - ``status``: answer ``status`` with a HubSpot-style error body (HTML for 502/503); not applied.
    - ``disconnect``: close the socket without any answer; not applied.
    - ``disconnect_mid``: apply, send status line, headers and half the body, then close.
    - ``slow``: apply, then wait ``delay_s`` before answering normally.
    - ``bad_json``: 200 with a body that is not JSON; not applied.
    - ``no_results``: apply, answer 200 JSON without ``results``.
    - ``rate_limit``: 429 TEN_SECONDLY_ROLLING without any rate-limit header; not applied.
    - ``rate_limit_retry_after``: 429 with ``Retry-After: retry_after`` (1 when unset); not applied.
    - ``daily``: 429 DAILY; not applied.
    - ``unauthorized``: 401; not applied.
    - ``bad_batch``: 400 VALIDATION_ERROR that names no input; not applied.
    - ``drop_one``: apply, but silently leave the first contact out of the answer and of storage.
    - ``partial_207``: apply; an attendance answer with errors comes back 207 Multi-Status instead of
      the 200 the contract declares (what older sandboxes and some HubSpot endpoints send).
    """

    kind: str
    path_contains: str = ""
    times: int = 1
    after: int = 0
    status: int = 500
    delay_s: float = 0.0
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {self.kind!r}; use one of {', '.join(sorted(FAULT_KINDS))}.")
        if self.times < 1 or self.after < 0 or self.delay_s < 0:
            raise ValueError("A fault needs times >= 1, after >= 0 and delay_s >= 0.")
        if not 100 <= self.status <= 599:
            raise ValueError("A fault status must be an HTTP status between 100 and 599.")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from the control endpoint's JSON (same field names)."""
        known = {"kind", "path_contains", "times", "after", "status", "delay_s", "retry_after"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown fault fields: {', '.join(sorted(unknown))}.")
        if not isinstance(data.get("kind"), str):
            raise ValueError("A fault needs a 'kind'.")
        checks: dict[str, tuple[type, ...]] = {
            "path_contains": (str,),
            "times": (int,),
            "after": (int,),
            "status": (int,),
            "delay_s": (int, float),
            "retry_after": (int, float, type(None)),
        }
        for name, types in checks.items():
            if name in data and (not isinstance(data[name], types) or isinstance(data[name], bool)):
                raise ValueError(f"Fault field {name!r} has the wrong type.")
        return cls(**dict(data))


class _Pending:
    """A queued fault and how far along it is (mutated only under the sandbox lock)."""

    __slots__ = ("fault", "skipped", "used")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.skipped = 0
        self.used = 0


class FaultQueue:
    """Queued faults in order; not thread-safe by itself (the sandbox holds its lock)."""

    def __init__(self) -> None:
        self._items: list[_Pending] = []

    def add(self, fault: Fault) -> None:
        self._items.append(_Pending(fault))

    def take(self, path: str) -> Fault | None:
        """The fault to apply to this request, if any.

        Every matching fault still waiting counts the request as one it skipped; the first matching
        fault that is past its ``after`` applies (one fault per request).
        """
        chosen: Fault | None = None
        for item in self._items:
            if item.fault.path_contains not in path:
                continue
            if item.skipped < item.fault.after:
                item.skipped += 1
            elif chosen is None:
                chosen = item.fault
                item.used += 1
        self._items = [item for item in self._items if item.used < item.fault.times]
        return chosen

    def __len__(self) -> int:
        return len(self._items)
