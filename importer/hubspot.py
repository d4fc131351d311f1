"""The HTTP side: one thread-safe HubSpot client, the table of how each answer is handled, one retry policy.

Every answer goes through :func:`classify` (pure, tested as a table), every request through the
shared :class:`~importer.ratelimit.RateLimiter` and the one retry builder :func:`retrying`.
Transient trouble (429, 5xx, unreadable 2xx, network, timeouts) is retried; what a re-run cannot fix
either stops the run (token, scope, unknown event, daily limit) or rejects one request.
The access token lives only in the ``Authorization`` header and is scrubbed from every message.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import tenacity

from . import __version__, waits
from .config import API_BATCH_CAP, API_VERSIONS, KEY_PLACES, SERVICE_KEYS_PAGE, Config, check_base_url
from .errors import BatchRejected, InputError, RetryableError, StopRun
from .models import Batch, BatchOutcome, EventInfo, Failure, Reason, RunStats, http_reason
from .ratelimit import RateLimiter, Ticket
from .transport import build as build_transport
from .transport import deadline
from .waits import Waits

SCOPE_EVENTS_READ = "crm.objects.marketing_events.read"
SCOPE_EVENTS_WRITE = "crm.objects.marketing_events.write"
SCOPE_CONTACTS_READ = "crm.objects.contacts.read"

OK, PARTIAL, RETRY, REJECT, STOP = "ok", "partial", "retry", "reject", "stop"

DEFAULT_RATE_WINDOW_S = 10.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
NO_TOKEN_MESSAGE = (
    "No HubSpot token: set HUBSPOT_ACCESS_TOKEN (a service key, or a legacy private app token) "
    "or token_file in the config."
)
EVENT_ID_HINT = (
    "The event id is the number in the event's URL in HubSpot (Marketing > Events, open the event); "
    "`importer events` lists the portal's events with their ids."
)

_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")
_NAMING_KEYS = ("ids", "vids", "emails", "id", "vid", "email")
_BREAKDOWN_STATES = {"register": "REGISTERED", "attend": "ATTENDED", "cancel": "CANCELLED"}


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


def _sentence(text: str) -> str:
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


def _errors(body: object) -> list[dict[str, Any]]:
    items = body.get("errors") if isinstance(body, dict) else None
    return [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []


def _context_names(error: Mapping[str, Any]) -> list[str]:
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
    for error in _errors(body):
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
        return tuple(n for e in _errors(self.body) for n in _context_names(e))

    @property
    def detail(self) -> str:
        said = self.said
        return f": {_sentence(said)}" if said else "."


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
    return _scope_message(scopes), {"scopes": scopes}


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
    (lambda a: _is_2xx(a) and bool(_errors(a.body)), PARTIAL, Reason.REJECTED_BY_HUBSPOT, _partial),
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


def _scope_message(scopes: Sequence[str]) -> str:
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


def _penalty(verdict: Verdict, headers: httpx.Headers) -> float:
    """How long nobody may start after a 429: what HubSpot asked for (Retry-After); without it, a
    429 that says what is left of the window (``X-HubSpot-RateLimit-Remaining``) holds nobody back,
    since the limiter's window and budget already wait for room; a bare 429 waits ``wait_s``."""
    if "retry-after" in headers or "x-hubspot-ratelimit-remaining" not in headers:
        return verdict.wait_s or 0.0
    return 0.0


class _Transient(RetryableError):
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


@dataclass(frozen=True, slots=True)
class _Call:
    """What the client needs to know about an endpoint to word errors and logs."""

    label: str
    scope: str
    expect_results: bool = True
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: dict[str, Any]
    verdict: Verdict


def _parse_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_ms(value: object) -> int | None:
    """Epoch milliseconds from HubSpot's ISO timestamps (or from a number of ms)."""
    number = _as_int(value)
    if number is not None:
        return number
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _segment(value: object) -> str:
    return quote(str(value).strip(), safe="")


@dataclass(frozen=True, slots=True)
class ApiPaths:
    """Every path the importer calls, for one API version: the only place paths are built.

    ``v3`` is HubSpot's legacy numbered scheme (``/marketing/v3/marketing-events``,
    ``/crm/v3/objects/contacts``); the date-based versions put the date after the API's name
    (``/marketing/marketing-events/2026-03``, ``/crm/objects/2026-03/contacts``).
    """

    version: str

    def __post_init__(self) -> None:
        if self.version not in API_VERSIONS:
            raise ValueError(f"unknown HubSpot API version {self.version!r}")

    @property
    def vid_max(self) -> int:
        """The largest contact id the version's marketing-events contract declares (2026-09: int32)."""
        return 2**31 - 1 if self.version == "2026-09" else 2**63 - 1

    @property
    def _events(self) -> str:
        if self.version == "v3":
            return "/marketing/v3/marketing-events"
        return f"/marketing/marketing-events/{self.version}"

    @property
    def contacts_batch_read(self) -> str:
        if self.version == "v3":
            return "/crm/v3/objects/contacts/batch/read"
        return f"/crm/objects/{self.version}/contacts/batch/read"

    @property
    def events(self) -> str:
        """The portal's marketing events, a page at a time (``limit`` up to 100, ``after``)."""
        return self._events

    def event(self, event_id: str) -> str:
        return f"{self._events}/{_segment(event_id)}"

    def attendance(self, event_id: str, state: str, *, by_email: bool) -> str:
        verb = "email-create" if by_email else "create"
        return f"{self._events}/{_segment(event_id)}/attendance/{_segment(state)}/{verb}"

    def counters(self, event_id: str) -> str:
        return f"{self._events}/participations/{_segment(event_id)}"

    def breakdown(self, event_id: str) -> str:
        return f"{self._events}/participations/{_segment(event_id)}/breakdown"


class HubSpot:
    """One synchronous HubSpot client shared by every thread of a run."""

    def __init__(
        self,
        cfg: Config,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        waits: Waits | None = None,
        log: Callable[[str], None] | None = None,
        limiter: RateLimiter | None = None,
        jitter: Callable[[float], float] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        base_url = check_base_url(cfg.base_url)
        token = (cfg.token or "").strip()
        if not token:
            raise InputError(NO_TOKEN_MESSAGE)
        if not _TOKEN_SHAPE.fullmatch(token):
            raise InputError(
                "The HubSpot token contains spaces, line breaks or non-ASCII characters; "
                f"copy it again from HubSpot ({KEY_PLACES})."
            )
        self._cfg = cfg
        self._token = token
        self._paths = ApiPaths(cfg.api_version)
        self._clock = clock
        #: the run's waits (every sleep goes through them, and an interrupt ends them); the
        #: lookups run their calls under them too
        self.waits = waits if waits is not None else Waits(sleep)
        self._sleep = self.waits.sleep
        self._log = log
        self._jitter = jitter
        self._now = now
        # Set once HubSpot asked for a wait longer than max_wait_s: no request starts after it.
        self._halted: StopRun | None = None
        interval_s = cfg.rate_limit_interval_ms / 1000
        self._limiter = limiter or RateLimiter(
            cfg.rate_limit_max,
            interval_s,
            reserve_pct=cfg.rate_limit_reserve_pct,
            probe_first=True,
            clock=clock,
            sleep=self._sleep,
        )
        self._lock = threading.Lock()
        self._counts = {"requests": 0, "http_429": 0, "retries": 0, "lookups": 0, "writes": 0}
        self._daily: int | None = None
        self._daily_left: int | None = None
        self._warned_vid = False
        pool = max(1, cfg.concurrency) + 2
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(
                connect=cfg.connect_timeout_s,
                read=cfg.read_timeout_s,
                write=cfg.read_timeout_s,
                pool=cfg.read_timeout_s,
            ),
            follow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"importer/{__version__}"},
            # Never the environment's proxies: the transport takes the one proxy the config allows.
            trust_env=False,
            transport=transport or build_transport(base_url, proxy=cfg.proxy, connections=pool),
        )

    def __repr__(self) -> str:
        return f"HubSpot(base_url={self._cfg.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSpot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> RunStats:
        """A snapshot of the counters (requests counts every attempt; lookups/writes count calls)."""
        with self._lock:
            return RunStats(**self._counts)

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    def _bump(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]")

    def _say(self, line: str) -> None:
        if self._log is not None:
            self._log(self._scrub(line))

    # -- one request, retried -------------------------------------------------------------------

    def _check_daily(self) -> None:
        with self._lock:
            daily, left = self._daily, self._daily_left
        if left is not None and left <= self._cfg.daily_reserve:
            limit = f" of {daily}" if daily is not None else ""
            raise StopRun(
                f"Stopped before HubSpot's daily API limit: {left}{limit} daily requests remain and daily_reserve "
                f"is {self._cfg.daily_reserve}; the limit resets at midnight (the portal's time zone), "
                "run the same command again after that to resume.",
                reason=Reason.DAILY_LIMIT,
            )

    def _observe(self, headers: httpx.Headers, ticket: Ticket) -> None:
        self._limiter.update(headers, ticket)
        daily = _as_int(headers.get("x-hubspot-ratelimit-daily"))
        left = _as_int(headers.get("x-hubspot-ratelimit-daily-remaining"))
        with self._lock:
            if daily is not None:
                self._daily = daily
            if left is not None:
                self._daily_left = left

    def _stop_or_reject(self, call: _Call, verdict: Verdict) -> Exception:
        message = self._scrub(verdict.message)
        correlation = verdict.correlation_id
        if verdict.kind == STOP and verdict.reason == Reason.MISSING_SCOPE:
            message = _scope_message(verdict.scopes or (call.scope,))
        elif verdict.kind == STOP and verdict.reason == Reason.EVENT_NOT_FOUND:
            if call.event_id is None:
                return BatchRejected(
                    f"HubSpot answered HTTP 404 on {call.label}: {_sentence(message)}",
                    reason=http_reason(404),
                    status=404,
                    correlation_id=correlation,
                )
            message = self._scrub(
                f"HubSpot has no marketing event {call.event_id} in this token's portal; check the event id. "
                + EVENT_ID_HINT
            )
        if verdict.kind == STOP:
            return StopRun(message, reason=verdict.reason, correlation_id=correlation)
        return BatchRejected(
            message,
            reason=verdict.reason,
            status=verdict.status,
            correlation_id=correlation,
            names_culprits=bool(verdict.named),
        )

    def _check_halted(self) -> None:
        with self._lock:
            halted = self._halted
        if halted is not None:
            raise halted

    def _too_long(self, call: _Call, verdict: Verdict) -> StopRun | None:
        """The stop for a wait HubSpot asked for that is longer than ``max_wait_s``, or None.

        Waiting would block every request of the run (and a scheduled job's next start) for as long;
        stopping keeps what was done, and the message says when the same command can resume."""
        wait = verdict.wait_s
        if verdict.kind != RETRY or wait is None or wait <= self._cfg.max_wait_s:
            return None
        what = f"HTTP {verdict.status} on {call.label}" + (f", {verdict.policy}" if verdict.policy else "")
        return StopRun(
            f"HubSpot asked to wait {waits.human(wait)} before the next request ({what}), longer than "
            f"max_wait_s ({waits.human(self._cfg.max_wait_s)}): run the same command again after "
            f"{waits.resume_at(self._now(), wait)} to resume.",
            reason=verdict.reason,
            correlation_id=verdict.correlation_id,
        )

    def _attempt(self, call: _Call, method: str, path: str, payload: Any, params: Any) -> _Answer:
        self._check_daily()
        self._check_halted()
        ticket = self._limiter.acquire()
        began = self._clock()
        try:
            self._check_halted()
            self._bump("requests")
            with deadline(self._cfg.request_timeout_s):
                response = self._http.request(method, path, json=payload, params=params)
            body = _parse_body(response)
            verdict = classify(response.status_code, response.headers, body, expect_results=call.expect_results)
            halt = self._too_long(call, verdict)
            if halt is not None:
                with self._lock:
                    self._halted = self._halted or halt
            elif verdict.reason == Reason.HTTP_429:
                self._limiter.penalize(_penalty(verdict, response.headers), ticket)
            self._observe(response.headers, ticket)
        finally:
            self._limiter.release(self._clock() - began, ticket)
        if response.status_code == 429:
            self._bump("http_429")
        if halt is not None:
            raise halt
        if verdict.kind in (OK, PARTIAL) and isinstance(body, dict):
            return _Answer(response.status_code, body, verdict)
        if verdict.kind == RETRY:
            raise _Transient(verdict, self._scrub(verdict.message))
        raise self._stop_or_reject(call, verdict)

    def _on_retry(self, call: _Call, state: tenacity.RetryCallState) -> None:
        self._bump("retries")
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Transient) and exc.reason == Reason.BAD_RESPONSE:
            what = f"Unreadable answer (HTTP {exc.status}) on {call.label}"
        elif isinstance(exc, _Transient):
            what = f"HTTP {exc.status} on {call.label}" + (f" ({exc.policy})" if exc.policy else "")
        elif isinstance(exc, httpx.TimeoutException):
            what = f"Timeout ({type(exc).__name__}) on {call.label}"
        else:
            what = f"Network error ({type(exc).__name__}) on {call.label}"
        next_attempt = state.attempt_number + 1
        self._say(
            f"{what}; waiting {state.upcoming_sleep:.1f} s (attempt {next_attempt} of {self._cfg.retry_attempts})"
        )

    def _send(self, call: _Call, method: str, path: str, *, payload: Any = None, params: Any = None) -> _Answer:
        """Run one request under the retry policy; when it gives up, raise one ``RetryableError``."""
        policy = retrying(
            self._cfg,
            sleep=self._sleep,
            clock=self._clock,
            on_retry=lambda state: self._on_retry(call, state),
            jitter=self._jitter,
        )
        try:
            return policy(self._attempt, call, method, path, payload, params)
        except RetryableError as exc:
            tries = policy.statistics.get("attempt_number", 1)
            raise RetryableError(
                self._scrub(f"{_sentence(exc.message)} Gave up after {tries} attempt(s)."),
                reason=exc.reason,
                status=exc.status,
                correlation_id=exc.correlation_id,
            ) from None
        except httpx.TransportError as exc:
            tries = policy.statistics.get("attempt_number", 1)
            timed_out = isinstance(exc, httpx.TimeoutException)
            what = "did not answer in time" if timed_out else "could not be reached"
            detail = str(exc).strip()
            raise RetryableError(
                self._scrub(
                    f"HubSpot {what} ({type(exc).__name__}{': ' + detail if detail else ''}); "
                    f"gave up after {tries} attempt(s)."
                ),
                reason=Reason.TIMEOUT if timed_out else Reason.NETWORK_ERROR,
            ) from None

    def _read(self, call: _Call, path: str, params: Any = None) -> _Answer:
        """A read that stops the run when HubSpot stays unreachable (a re-run resumes)."""
        try:
            return self._send(call, "GET", path, params=params)
        except RetryableError as exc:
            raise StopRun(
                f"{_sentence(exc.message)} Check the network or HubSpot's status page, then run again.",
                reason=exc.reason,
                correlation_id=exc.correlation_id,
            ) from None

    # -- endpoints ------------------------------------------------------------------------------

    def get_event(self, event_id: str) -> EventInfo:
        """The marketing event; a wrong id is an input error (nothing was sent yet)."""
        event_id = str(event_id).strip()
        if not event_id:
            raise InputError("No marketing event id given.", hint=EVENT_ID_HINT)
        call = _Call("event", SCOPE_EVENTS_READ, expect_results=False, event_id=event_id)
        try:
            answer = self._read(call, self._paths.event(event_id))
        except StopRun as exc:
            if exc.reason != Reason.EVENT_NOT_FOUND:
                raise
            raise InputError(
                f"HubSpot has no marketing event {event_id}: the event id is wrong or belongs to another portal.",
                hint=EVENT_ID_HINT,
            ) from None
        except BatchRejected as exc:
            raise InputError(f"Event id {event_id}: {_sentence(exc.message)}", hint=EVENT_ID_HINT) from None
        return _event_info(answer.body, event_id)

    def list_events(self) -> Iterator[EventInfo]:
        """Every marketing event of the portal, page by page (100 a page, HubSpot's most)."""
        call = _Call("marketing events", SCOPE_EVENTS_READ)
        for item in self._pages(call, self._paths.events, {"limit": API_BATCH_CAP}, "marketing events"):
            if isinstance(item, dict) and item.get("objectId") is not None:
                yield _event_info(item, str(item["objectId"]))

    def _pages(self, call: _Call, path: str, params: dict[str, Any], what: str) -> Iterator[Any]:
        """The results of every page of a listing, following HubSpot's ``paging.next.after``;
        a cursor seen twice stops the run instead of looping."""
        seen: set[str] = set()
        while True:
            answer = self._read(call, path, params=dict(params))
            yield from answer.body["results"]
            paging = answer.body.get("paging")
            nxt = paging.get("next") if isinstance(paging, dict) else None
            cursor = str(nxt.get("after") or "") if isinstance(nxt, dict) else ""
            if not cursor:
                return
            if cursor in seen:
                raise StopRun(
                    f"HubSpot's list of {what} repeats itself (same page cursor twice); run again later.",
                    reason=Reason.BAD_RESPONSE,
                    correlation_id=answer.verdict.correlation_id,
                )
            seen.add(cursor)
            params["after"] = cursor

    def read_contacts(self, emails: Sequence[str]) -> tuple[dict[str, int], set[str]]:
        """Look up at most 100 emails: (found lowercased email -> vid, emails not found as given).

        Raises ``RetryableError`` when HubSpot stays unreachable; the caller decides the rows' fate.
        """
        if len(emails) > API_BATCH_CAP:
            raise ValueError(f"read_contacts takes at most {API_BATCH_CAP} emails, got {len(emails)}")
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        if not wanted:
            return {}, {e for e in emails if not (e and e.strip())}
        self._bump("lookups")
        answer = self._send(
            _Call("contacts/batch/read", SCOPE_CONTACTS_READ),
            "POST",
            self._paths.contacts_batch_read,
            payload={
                "idProperty": "email",
                "inputs": [{"id": e} for e in wanted],
                "properties": ["email"],
                "propertiesWithHistory": [],
            },
        )
        found: dict[str, int] = {}
        asked = set(wanted)
        for item in answer.body["results"]:
            if not isinstance(item, dict):
                continue
            props = _dict(item.get("properties"))
            email = str(props.get("email") or "").strip().lower()
            vid = _as_int(item.get("id"))
            if email in asked and vid is not None:
                found[email] = vid
        missing = {e for e in emails if (e or "").strip().lower() not in found}
        return found, missing

    def record(self, batch: Batch) -> BatchOutcome:
        """Send one batch; every participation key ends up in ``recorded`` or ``failed``.

        Raises ``StopRun`` (token, scope, unknown event, daily limit) and ``BatchRejected``
        (permanent 4xx); transient trouble that outlasts the retries fails every key instead.
        """
        if len(batch.items) > API_BATCH_CAP:
            raise ValueError(f"batch {batch.id} has {len(batch.items)} inputs; HubSpot takes at most {API_BATCH_CAP}")
        if not batch.items:
            return BatchOutcome(batch.id, 0, {}, {})
        if batch.by_email:
            if any(not p.email for p in batch.items):
                raise ValueError(f"batch {batch.id} is sent by email but has a participation without email")
            inputs: list[dict[str, Any]] = [
                {"email": p.email, "interactionDateTime": p.when_ms, "properties": {}, "contactProperties": {}}
                for p in batch.items
            ]
        else:
            if any(p.vid is None for p in batch.items):
                raise ValueError(f"batch {batch.id} is sent by vid but has a participation without vid")
            inputs = [{"vid": p.vid, "interactionDateTime": p.when_ms, "properties": {}} for p in batch.items]
            self._warn_past_contract(batch)
        state = str(batch.state)
        call = _Call(
            f"attendance/{state}" + ("/email-create" if batch.by_email else ""),
            SCOPE_EVENTS_WRITE,
            event_id=batch.event_id,
        )
        path = self._paths.attendance(batch.event_id, state, by_email=batch.by_email)
        self._bump("writes")
        try:
            answer = self._send(call, "POST", path, payload={"inputs": inputs})
        except RetryableError as exc:
            failure = Failure(exc.reason, exc.message)
            return BatchOutcome(
                batch.id,
                exc.status,
                {},
                {p.key: failure for p in batch.items},
                correlation_id=exc.correlation_id,
            )
        return _outcome(batch, answer)

    def _warn_past_contract(self, batch: Batch) -> None:
        """Say once when a contact id exceeds what the version's contract declares (README "API version")."""
        limit = self._paths.vid_max
        if self._warned_vid or all((p.vid or 0) <= limit for p in batch.items):
            return
        with self._lock:
            if self._warned_vid:
                return
            self._warned_vid = True
        self._say(
            f"warning: api_version {self._paths.version} declares contact ids as 32-bit numbers and this import "
            f"sends larger ones; if HubSpot refuses them, run again with --api-version 2026-03"
        )

    def participations(self, event_id: str, state: str | None = None) -> Iterator[dict[str, Any]]:
        """Every participation HubSpot holds for the event, page by page.

        Yields ``{"vid": int, "email": str (lowercased), "state": "ATTENDED"..., "occurred_at": int | None}``;
        ``state`` filters (REGISTERED|ATTENDED|CANCELLED|NO_SHOW, or register|attend|cancel).
        """
        call = _Call("participations", SCOPE_EVENTS_READ, event_id=event_id)
        path = self._paths.breakdown(str(event_id))
        params: dict[str, Any] = {"limit": API_BATCH_CAP}
        if state:
            params["state"] = _BREAKDOWN_STATES.get(str(state).lower(), str(state).upper())
        for item in self._pages(call, path, params, "participations"):
            row = _participation(item)
            if row is not None:
                yield row

    def counters(self, event_id: str) -> dict[str, int]:
        """HubSpot's participation counters for the event (attended, registered, cancelled, noShows)."""
        call = _Call("participations/counters", SCOPE_EVENTS_READ, expect_results=False, event_id=event_id)
        answer = self._read(call, self._paths.counters(str(event_id)))
        out: dict[str, int] = {}
        for key, value in answer.body.items():
            number = _as_int(value)
            if number is not None:
                out[str(key)] = number
        return out


def _event_info(body: dict[str, Any], event_id: str) -> EventInfo:
    return EventInfo(
        object_id=str(body.get("objectId") or event_id),
        name=str(body.get("eventName") or ""),
        start_ms=_as_ms(body.get("startDateTime")),
        end_ms=_as_ms(body.get("endDateTime")),
    )


def _participation(item: object) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    contact = _dict(_dict(item.get("associations")).get("contact"))
    props = _dict(item.get("properties"))
    vid = _as_int(contact.get("contactId"))
    if vid is None:
        return None
    return {
        "vid": vid,
        "email": str(contact.get("email") or "").strip().lower(),
        "state": str(props.get("attendanceState") or ""),
        "occurred_at": _as_ms(props.get("occurredAt")),
    }


def _confirmed(results: Sequence[object], by_name: Mapping[str, str], *, by_email: bool) -> dict[str, int]:
    """The participation keys the answer's ``results`` confirm, with the contact id HubSpot gave."""
    recorded: dict[str, int] = {}
    for item in results:
        if not isinstance(item, dict):
            continue
        vid = _as_int(item.get("vid"))
        name = str(item.get("email") or "") if by_email else str(vid)
        key = by_name.get(name.strip().lower())
        if key is not None and vid is not None:
            recorded[key] = vid
    return recorded


def _refusals(
    body: object, by_name: Mapping[str, str], recorded: Mapping[str, int]
) -> tuple[dict[str, Failure], list[str], frozenset[str]]:
    """The keys the answer's ``errors`` name (unless recorded), the messages that name none, and
    the keys an ``OBJECT_NOT_FOUND`` names (no contact has them)."""
    failed: dict[str, Failure] = {}
    unattributed: list[str] = []
    gone: set[str] = set()
    for error in _errors(body):
        message = " ".join(str(error.get("message") or "HubSpot rejected this contact.").split())
        keys = [by_name[n.lower()] for n in _context_names(error) if n.lower() in by_name]
        if not keys:
            unattributed.append(message)
        for key in keys:
            if key not in recorded and key not in failed:
                failed[key] = Failure(Reason.REJECTED_BY_HUBSPOT, message)
                if error.get("category") == "OBJECT_NOT_FOUND":
                    gone.add(key)
    return failed, unattributed, frozenset(gone)


def _outcome(batch: Batch, answer: _Answer) -> BatchOutcome:
    """Reduce a 2xx attendance answer to recorded/failed per participation key."""
    by_name = {((p.email or "") if batch.by_email else str(p.vid)).strip().lower(): p.key for p in batch.items}
    recorded = _confirmed(answer.body["results"], by_name, by_email=batch.by_email)
    failed, unattributed, gone = _refusals(answer.body, by_name, recorded)
    said = f" HubSpot also reported: {' / '.join(unattributed)}" if unattributed else ""
    missing = Failure(
        Reason.NOT_IN_RESPONSE,
        f"HubSpot's answer did not confirm this contact; run the same command again to retry it.{said}",
    )
    for p in batch.items:
        if p.key not in recorded and p.key not in failed:
            failed[p.key] = missing
    # Only emails that no contact had go through email-create, so each one recorded was created.
    created = frozenset(recorded) if batch.by_email else frozenset()
    return BatchOutcome(
        batch.id,
        answer.status,
        recorded,
        failed,
        correlation_id=answer.verdict.correlation_id,
        created=created,
        gone=gone if not batch.by_email else frozenset(),
    )
