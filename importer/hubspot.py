"""The HTTP side: one thread-safe HubSpot client, every request through the shared
:class:`~importer.ratelimit.RateLimiter` and the one retry policy (``hubspot_retry``), every answer
through :func:`~importer.hubspot_answers.classify` (the table of how each answer is handled).

Transient trouble (429, 5xx, unreadable 2xx, network, timeouts) is retried; what a re-run cannot fix
either stops the run (token, scope, unknown event, daily limit) or rejects one request.
The access token lives only in the ``Authorization`` header and is scrubbed from every message.
Paths come from ``hubspot_paths``; the answer bodies are read by ``hubspot_bodies``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import tenacity

from . import __version__, waits
from .config import API_BATCH_CAP, KEY_PLACES, Config, check_base_url
from .errors import BatchRejected, InputError, RetryableError, StopRun
from .hubspot_answers import OK, PARTIAL, RETRY, STOP, Verdict, classify, scope_message, sentence
from .hubspot_bodies import Answer, as_dict, as_int, batch_outcome, event_info, parse_body, participation
from .hubspot_paths import ApiPaths
from .hubspot_retry import Transient, penalty, retrying
from .models import Batch, BatchOutcome, EventInfo, Failure, Reason, RunStats, http_reason
from .ratelimit import RateLimiter, Ticket
from .transport import build as build_transport
from .transport import deadline
from .waits import Waits

SCOPE_EVENTS_READ = "crm.objects.marketing_events.read"
SCOPE_EVENTS_WRITE = "crm.objects.marketing_events.write"
SCOPE_CONTACTS_READ = "crm.objects.contacts.read"

NO_TOKEN_MESSAGE = (
    "No HubSpot token: set HUBSPOT_ACCESS_TOKEN (a service key, or a legacy private app token) "
    "or token_file in the config."
)
EVENT_ID_HINT = (
    "The event id is the number in the event's URL in HubSpot (Marketing > Events, open the event); "
    "`importer events` lists the portal's events with their ids."
)

_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")
_BREAKDOWN_STATES = {"register": "REGISTERED", "attend": "ATTENDED", "cancel": "CANCELLED"}


@dataclass(frozen=True, slots=True)
class _Call:
    """What the client needs to know about an endpoint to word errors and logs."""

    label: str
    scope: str
    expect_results: bool = True
    event_id: str | None = None


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
        daily = as_int(headers.get("x-hubspot-ratelimit-daily"))
        left = as_int(headers.get("x-hubspot-ratelimit-daily-remaining"))
        with self._lock:
            if daily is not None:
                self._daily = daily
            if left is not None:
                self._daily_left = left

    def _stop_or_reject(self, call: _Call, verdict: Verdict) -> Exception:
        message = self._scrub(verdict.message)
        correlation = verdict.correlation_id
        if verdict.kind == STOP and verdict.reason == Reason.MISSING_SCOPE:
            message = scope_message(verdict.scopes or (call.scope,))
        elif verdict.kind == STOP and verdict.reason == Reason.EVENT_NOT_FOUND:
            if call.event_id is None:
                return BatchRejected(
                    f"HubSpot answered HTTP 404 on {call.label}: {sentence(message)}",
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

    def _attempt(self, call: _Call, method: str, path: str, payload: Any, params: Any) -> Answer:
        self._check_daily()
        self._check_halted()
        ticket = self._limiter.acquire()
        began = self._clock()
        try:
            self._check_halted()
            self._bump("requests")
            with deadline(self._cfg.request_timeout_s):
                response = self._http.request(method, path, json=payload, params=params)
            body = parse_body(response)
            verdict = classify(response.status_code, response.headers, body, expect_results=call.expect_results)
            halt = self._too_long(call, verdict)
            if halt is not None:
                with self._lock:
                    self._halted = self._halted or halt
            elif verdict.reason == Reason.HTTP_429:
                self._limiter.penalize(penalty(verdict, response.headers), ticket)
            self._observe(response.headers, ticket)
        finally:
            self._limiter.release(self._clock() - began, ticket)
        if response.status_code == 429:
            self._bump("http_429")
        if halt is not None:
            raise halt
        if verdict.kind in (OK, PARTIAL) and isinstance(body, dict):
            return Answer(response.status_code, body, verdict)
        if verdict.kind == RETRY:
            raise Transient(verdict, self._scrub(verdict.message))
        raise self._stop_or_reject(call, verdict)

    def _on_retry(self, call: _Call, state: tenacity.RetryCallState) -> None:
        self._bump("retries")
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, Transient) and exc.reason == Reason.BAD_RESPONSE:
            what = f"Unreadable answer (HTTP {exc.status}) on {call.label}"
        elif isinstance(exc, Transient):
            what = f"HTTP {exc.status} on {call.label}" + (f" ({exc.policy})" if exc.policy else "")
        elif isinstance(exc, httpx.TimeoutException):
            what = f"Timeout ({type(exc).__name__}) on {call.label}"
        else:
            what = f"Network error ({type(exc).__name__}) on {call.label}"
        next_attempt = state.attempt_number + 1
        self._say(
            f"{what}; waiting {state.upcoming_sleep:.1f} s (attempt {next_attempt} of {self._cfg.retry_attempts})"
        )

    def _send(self, call: _Call, method: str, path: str, *, payload: Any = None, params: Any = None) -> Answer:
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
                self._scrub(f"{sentence(exc.message)} Gave up after {tries} attempt(s)."),
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

    def _read(self, call: _Call, path: str, params: Any = None) -> Answer:
        """A read that stops the run when HubSpot stays unreachable (a re-run resumes)."""
        try:
            return self._send(call, "GET", path, params=params)
        except RetryableError as exc:
            raise StopRun(
                f"{sentence(exc.message)} Check the network or HubSpot's status page, then run again.",
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
            raise InputError(f"Event id {event_id}: {sentence(exc.message)}", hint=EVENT_ID_HINT) from None
        return event_info(answer.body, event_id)

    def list_events(self) -> Iterator[EventInfo]:
        """Every marketing event of the portal, page by page (100 a page, HubSpot's most)."""
        call = _Call("marketing events", SCOPE_EVENTS_READ)
        for item in self._pages(call, self._paths.events, {"limit": API_BATCH_CAP}, "marketing events"):
            if isinstance(item, dict) and item.get("objectId") is not None:
                yield event_info(item, str(item["objectId"]))

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
            props = as_dict(item.get("properties"))
            email = str(props.get("email") or "").strip().lower()
            vid = as_int(item.get("id"))
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
        return batch_outcome(batch, answer)

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
            row = participation(item)
            if row is not None:
                yield row

    def counters(self, event_id: str) -> dict[str, int]:
        """HubSpot's participation counters for the event (attended, registered, cancelled, noShows)."""
        call = _Call("participations/counters", SCOPE_EVENTS_READ, expect_results=False, event_id=event_id)
        answer = self._read(call, self._paths.counters(str(event_id)))
        out: dict[str, int] = {}
        for key, value in answer.body.items():
            number = as_int(value)
            if number is not None:
                out[str(key)] = number
        return out
