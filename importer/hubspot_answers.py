"""How each HubSpot answer is handled: :func:`classify` reads one answer (status, headers, body)
through a table of rules, the first that applies wins, and says ok, partial, retry, reject or stop,
with the reason word and a message that says what to do.  Pure: no HTTP, tested as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import waits
from .config import KEY_PLACES, SERVICE_KEYS_PAGE
from .models import Reason, http_reason

OK, PARTIAL, RETRY, REJECT, STOP = "ok", "partial", "retry", "reject", "stop"

DEFAULT_RATE_WINDOW_S = 10.0
_NAMING_KEYS = ("ids", "vids", "emails", "id", "vid", "email")


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one HTTP answer is handled: ``kind`` is ok|partial|retry|reject|stop.

    ``wait_s`` is the wait HubSpot asked for (Retry-After or the rate window), ``scopes`` the scopes
    a 403 names, ``named`` the inputs that ``errors[].context`` names, ``policy`` a 429's policyName.
    """

    kind: str
    reason: str = ""
    wait_s: float | None = None
    message: str = ""
    correlation_id: str = ""
    scopes: tuple[str, ...] = ()
    status: int = 0
    policy: str = ""
    named: tuple[str, ...] = ()


def sentence(text: str) -> str:
    """End a message with a full stop so another sentence can follow it."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(headers[name].strip())
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def errors_in(body: object) -> list[dict[str, Any]]:
    items = body.get("errors") if isinstance(body, dict) else None
    return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []


def context_names(error: Mapping[str, Any]) -> list[str]:
    """The inputs one ``errors[]`` entry names (ids, vids or emails in its context)."""
    context = error.get("context")
    if not isinstance(context, dict):
        return []
    names: list[str] = []
    for key in _NAMING_KEYS:
        value = context.get(key)
        values = value if isinstance(value, list) else [value] if value is not None else []
        names.extend(str(v).strip() for v in values if str(v).strip())
    return names


def _scopes(body: object) -> tuple[str, ...]:
    found: list[str] = []
    for error in errors_in(body):
        context = error.get("context")
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes"):
                value = context.get(key)
                if isinstance(value, list):
                    found.extend(str(v) for v in value if str(v) not in found)
    return tuple(found)


def _hubspot_message(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return " ".join(body["message"].split())
    return ""


def _daily_numbers(h: Mapping[str, str]) -> str:
    daily = _number(h, "x-hubspot-ratelimit-daily")
    left = _number(h, "x-hubspot-ratelimit-daily-remaining")
    if daily is None and left is None:
        return ""
    parts = [
        f"daily limit {int(daily)}" if daily is not None else "",
        f"{int(left)} remaining" if left is not None else "",
    ]
    return f" ({', '.join(p for p in parts if p)})"


@dataclass(frozen=True, slots=True)
class _Reply:
    """One HTTP answer as the rules of :func:`classify` read it."""

    status: int
    #: the headers, their names in lower case
    headers: Mapping[str, str]
    #: the parsed JSON, or the raw text when the answer is not JSON
    body: object
    expect_results: bool

    @property
    def said(self) -> str:
        return _hubspot_message(self.body)

    @property
    def retry_after(self) -> float | None:
        return waits.retry_after(self.headers)

    @property
    def readable(self) -> bool:
        """A 2xx body the caller can use: JSON, with a ``results`` list where one is expected."""
        body = self.body
        return isinstance(body, dict) and (not self.expect_results or isinstance(body.get("results"), list))

    @property
    def policy(self) -> str:
        return str(self.body.get("policyName") or "") if isinstance(self.body, dict) else ""

    @property
    def named(self) -> tuple[str, ...]:
        return tuple(n for e in errors_in(self.body) for n in context_names(e))

    @property
    def detail(self) -> str:
        said = self.said
        return f": {sentence(said)}" if said else "."


def _unreadable(a: _Reply) -> tuple[str, dict[str, Any]]:
    what = "without results" if isinstance(a.body, dict) else "that is not JSON"
    return f"HubSpot answered HTTP {a.status} with a body {what}.", {"wait_s": a.retry_after}


def _partial(a: _Reply) -> tuple[str, dict[str, Any]]:
    return a.said or "HubSpot rejected some inputs.", {"named": a.named}


def _daily(a: _Reply) -> tuple[str, dict[str, Any]]:
    return (
        f"HubSpot's daily API limit for this portal is used up{_daily_numbers(a.headers)}; it resets at midnight "
        "(the portal's time zone): run the same command again after that to resume.",
        {"policy": a.policy},
    )


def _rate_limited(a: _Reply) -> tuple[str, dict[str, Any]]:
    """A 429 waits what HubSpot asked for, else its rate window, else the policy's usual window."""
    policy = a.policy
    window_ms = _number(a.headers, "x-hubspot-ratelimit-interval-milliseconds")
    fallback = 1.0 if policy.upper() == "SECONDLY" else DEFAULT_RATE_WINDOW_S
    retry_after = a.retry_after
    wait = retry_after if retry_after is not None else window_ms / 1000 if window_ms else fallback
    return f"HubSpot's rate limit was reached ({policy or 'rate limit'}).", {"wait_s": wait, "policy": policy}


def _token_refused(a: _Reply) -> tuple[str, dict[str, Any]]:
    return (
        "HubSpot refused the access token (it is expired, revoked or belongs to another portal); "
        f"create a service key in HubSpot ({SERVICE_KEYS_PAGE}), set HUBSPOT_ACCESS_TOKEN to it and run again.",
        {},
    )


def _missing_scope(a: _Reply) -> tuple[str, dict[str, Any]]:
    scopes = _scopes(a.body)
    return scope_message(scopes), {"scopes": scopes}


def _not_found(a: _Reply) -> tuple[str, dict[str, Any]]:
    return a.said or "HubSpot found no such object.", {}


def _temporary(a: _Reply) -> tuple[str, dict[str, Any]]:
    return f"HubSpot answered HTTP {a.status} (a temporary problem on its side){a.detail}", {"wait_s": a.retry_after}


def _refused(a: _Reply) -> tuple[str, dict[str, Any]]:
    return f"HubSpot refused the request (HTTP {a.status}){a.detail}", {"named": a.named}


def _ok(a: _Reply) -> tuple[str, dict[str, Any]]:
    return "", {}


def _is_2xx(a: _Reply) -> bool:
    return 200 <= a.status < 300


#: (applies to, kind, reason, the message and the verdict's other fields)
_Rule = tuple[Callable[[_Reply], bool], str, str | None, Callable[[_Reply], tuple[str, dict[str, Any]]]]

#: How each answer is handled: the first rule that applies wins.  A reason of None is the status's
#: own (``http_400``, ``http_409``, ...).
_RULES: tuple[_Rule, ...] = (
    (lambda a: _is_2xx(a) and not a.readable, RETRY, Reason.BAD_RESPONSE, _unreadable),
    (lambda a: _is_2xx(a) and bool(errors_in(a.body)), PARTIAL, Reason.REJECTED_BY_HUBSPOT, _partial),
    (_is_2xx, OK, "", _ok),
    (lambda a: a.status == 429 and a.policy.upper() == "DAILY", STOP, Reason.DAILY_LIMIT, _daily),
    (lambda a: a.status == 429, RETRY, Reason.HTTP_429, _rate_limited),
    (lambda a: a.status == 401, STOP, Reason.TOKEN_REJECTED, _token_refused),
    (lambda a: a.status == 403, STOP, Reason.MISSING_SCOPE, _missing_scope),
    (lambda a: a.status == 404, STOP, Reason.EVENT_NOT_FOUND, _not_found),
    (lambda a: a.status == 408, RETRY, Reason.TIMEOUT, _temporary),
    (lambda a: a.status >= 500, RETRY, Reason.HTTP_5XX, _temporary),
    (lambda a: True, REJECT, None, _refused),
)


def classify(status: int, headers: Mapping[str, str], body: object, *, expect_results: bool = True) -> Verdict:
    """How an answer is handled (pure): the first of the rules in ``_RULES`` that applies.

    ``body`` is the parsed JSON, or the raw text when the answer is not JSON.  ``expect_results``
    is False for plain reads (event, counters) whose 2xx body has no ``results`` list.
    404 comes back as a stop with ``event_not_found``; the caller decides what it means per endpoint.
    """
    h = _lower(headers)
    correlation = h.get("x-hubspot-correlation-id", "")
    if not correlation and isinstance(body, dict) and isinstance(body.get("correlationId"), str):
        correlation = body["correlationId"]
    answer = _Reply(status, h, body, expect_results)
    kind, reason, say = next((kind, reason, say) for applies, kind, reason, say in _RULES if applies(answer))
    message, extra = say(answer)
    return Verdict(
        kind,
        http_reason(status) if reason is None else reason,
        message=message,
        correlation_id=correlation,
        status=status,
        **extra,
    )


def scope_message(scopes: Sequence[str]) -> str:
    if scopes:
        names = ", ".join(scopes)
        return (
            f"The HubSpot service key or private app lacks the scope {names}; add it in HubSpot "
            f"({KEY_PLACES}), then run again."
        )
    return (
        "The HubSpot service key or private app lacks a scope this call needs; check its scopes in HubSpot "
        f"({KEY_PLACES}), then run again."
    )
