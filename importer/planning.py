"""What a run plans: times filled, contacts resolved, one participation per contact and state,
what the ledger already holds left out, the rest cut into batches; a resumed run's plan read back
from the journal; and which rows of a report ``retry`` takes again.

``run`` and ``retry`` differ only here: both hand their :class:`Plan` to ``execute``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import chunker
from .bulk import no_gc
from .config import Config
from .errors import BatchRejected, InputError, RetryableError
from .hubspot import HubSpot
from .journal import Journal
from .models import (
    Batch,
    BatchOutcome,
    EventInfo,
    Outcome,
    Participation,
    Reason,
    Row,
    RowRef,
    State,
    is_open,
    part_keys,
    rows_to_table,
    settle_part,
    settle_row,
    table_to_rows,
)
from .reporter import plural
from .services import quiet

LOOKUP_CAP = 100


@dataclass
class Plan:
    """What a run sends: its rows, their batches, the answers it holds already (a resumed run),
    the run it resumes, and what to say before the first request."""

    rows: list[Row]
    #: a new plan's as :class:`chunker.Batches` (built one at a time), a resumed one's as the journal gives them
    batches: Sequence[Batch]
    outcomes: dict[str, BatchOutcome] = field(default_factory=dict)
    #: the interrupted run this one resumes; empty: a new run, begun just before sending
    run_id: str = ""
    #: logged once the run has begun, before the first request
    says: tuple[str, ...] = ()


#: how a run or a retry plans: given the config, the rows, the client, the journal and the event
Planner = Callable[[Config, list[Row], HubSpot, Journal, EventInfo], Plan]
#: the contact lookups answered so far: requests done and in all, emails done and in all
Lookups = Callable[[int, int, int, int], None]
#: before the lookups, the requests that follow them (the writes), HubSpot's limit and concurrency
Expect = Callable[[int, tuple[int, float], int], None]


def sending_line(batches: Sequence[Batch]) -> str:
    return f"sending {plural(participations(batches), 'participation')} in {plural(len(batches), 'request')}"


def participations(batches: Sequence[Batch]) -> int:
    """How many participations the batches carry (a plan's without building its batches)."""
    if isinstance(batches, chunker.Batches):
        return batches.participations
    return sum(len(b.items) for b in batches)


def pending(batches: Sequence[Batch], outcomes: dict[str, BatchOutcome]) -> Sequence[Batch]:
    """The batches still to send: a new plan's lazily, a resumed one's as the journal gave them."""
    if isinstance(batches, chunker.Batches):
        return batches.without(outcomes)
    return [b for b in batches if b.id not in outcomes]


def plan_run(
    cfg: Config,
    rows: list[Row],
    client: HubSpot,
    journal: Journal,
    event: EventInfo,
    *,
    key: str,
    contacts: Any,
    log: Callable[[str], None],
    lookups: Lookups | None = None,
    expect: Expect | None = None,
) -> Plan:
    """``run``'s plan: the unfinished run with the same inputs and options resumed, else a new plan."""
    previous = None if cfg.dry_run else journal.find_unfinished(key)
    if not previous:
        rows, planned = plan(rows, cfg, event, client, journal, contacts, log, lookups=lookups, expect=expect)
        return Plan(rows, planned, says=(sending_line(planned),))
    del rows  # the journal holds the plan: the rows read again are not needed
    kept, batches, outcomes = resume_plan(journal, previous, cfg)
    resuming = f"resuming run {previous}: {len(outcomes):,} of {plural(len(batches), 'request')} already answered"
    return Plan(kept, batches, outcomes, previous, (resuming, sending_line(pending(batches, outcomes))))


def plan_retry(
    cfg: Config,
    rows: list[Row],
    client: HubSpot,
    journal: Journal,
    event: EventInfo,
    *,
    not_found: int,
    log: Callable[[str], None],
    lookups: Lookups | None = None,
    expect: Expect | None = None,
) -> Plan:
    """``retry``'s plan: the report's reopened rows (:func:`reopen`) planned like a new run's."""
    taken = len(rows)
    rows, batches = plan(rows, cfg, event, client, journal, None, log, lookups=lookups, expect=expect)
    return Plan(rows, batches, says=(retry_line(taken, not_found, rows, batches),))


_NO_TIME = (
    "The file gives no time for this row and the event has no start date in HubSpot; "
    "add the time to the file or a start date to the event."
)


def fill_times(rows: Sequence[Row], event: EventInfo) -> list[Row]:
    """Participations whose file gives no time for their state take the event's start."""
    if None not in map(attrgetter("when_ms"), rows) and not any(map(attrgetter("also"), rows)):
        return list(rows)
    out: list[Row] = []
    for row in rows:
        if row.outcome is None and row.when_ms is None:
            if event.start_ms is None:
                row = replace(row, outcome=Outcome.REJECTED, reason=Reason.MISSING_TIME.value, message=_NO_TIME)
            else:
                row = replace(row, when_ms=event.start_ms, time_source="event_start")
        also = row.also
        if also is not None and also.outcome is None and also.when_ms is None:
            if event.start_ms is None:
                also = replace(also, outcome=Outcome.REJECTED, reason=Reason.MISSING_TIME.value, message=_NO_TIME)
            else:
                also = replace(also, when_ms=event.start_ms, time_source="event_start")
            row = replace(row, also=also)
        out.append(row)
    return out


def _reject(row: Row, reason: Reason, message: str) -> Row:
    return settle_row(row, Outcome.REJECTED, reason.value, message)


def resolve(
    rows: Sequence[Row],
    *,
    cfg: Config,
    client: HubSpot | None,
    journal: Journal | None,
    contacts: Any = None,
    log: Callable[[str], None] = quiet,
    progress: Lookups | None = None,
) -> list[Row]:
    """Give every sendable row a contact id: the file's own, the --contacts map, the cache, then
    HubSpot's batch read by email (each distinct email once, 100 a call).  Unknown emails are
    rejected, or left for email-create with --create-missing.  ``progress`` hears of each
    lookup request answered (12,000 emails take 120 of them)."""
    wanted = sorted({r.email or "" for r in rows if _unresolved(r)})
    if not wanted:
        return list(rows)  # every sendable row has its contact id already
    found, conflicts = _from_contacts(wanted, contacts)
    remaining = [e for e in wanted if e not in found]
    if remaining and journal is not None and not cfg.no_cache:
        cached = journal.cache_get(remaining, cfg.cache_ttl_days * 86400)
        found.update(cached)
        remaining = [e for e in remaining if e not in cached]
        if cached:
            log(f"{plural(len(cached), 'contact id')} taken from the lookup cache")
    unreachable: dict[str, RetryableError | BatchRejected] = {}
    if remaining:
        unreachable = _look_up(remaining, found, client, cfg, log, progress)
        if journal is not None:
            asked = set(remaining)
            journal.cache_put({e: v for e, v in found.items() if e in asked})
    lookup = _Lookup(found, conflicts, unreachable, cfg.create_missing)
    return [lookup.settle(row) if _unresolved(row) else row for row in rows]


def _from_contacts(wanted: list[str], contacts: Any) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    """The ids the --contacts map gives, and the emails it gives several ids: those are settled
    by HubSpot's own answer, never guessed."""
    if contacts is None:
        return {}, {}
    conflicts = {e: tuple(ids) for e, ids in contacts.conflicts.items()}
    found = {e: contacts.by_email[e] for e in wanted if e in contacts.by_email and e not in conflicts}
    return found, conflicts


def _unresolved(row: Row) -> bool:
    """A sendable row whose contact id must come from its email."""
    return row.vid is None and bool(row.email) and is_open(row)


def _look_up(
    emails: list[str],
    found: dict[str, int],
    client: HubSpot | None,
    cfg: Config,
    log: Callable[[str], None],
    progress: Lookups | None = None,
) -> dict[str, RetryableError | BatchRejected]:
    """HubSpot's batch read of ``emails`` (100 a call, ``cfg.concurrency`` at once): the ids go
    into ``found``; returns the emails whose call failed, with its error."""
    if client is None:
        raise InputError("Contacts must be looked up by email but no HubSpot connection is configured.")
    chunks = [emails[i : i + LOOKUP_CAP] for i in range(0, len(emails), LOOKUP_CAP)]
    log(f"looking up {plural(len(emails), 'email')} in HubSpot ({plural(len(chunks), 'request')})")

    def lookup(emails: list[str]) -> tuple[dict[str, int], set[str], RetryableError | BatchRejected | None]:
        try:
            got, lost = client.read_contacts(emails)
            return got, lost, None
        except (RetryableError, BatchRejected) as exc:  # a 400 or a redirect fails these rows, the run goes on
            return {}, set(emails), exc

    unreachable: dict[str, RetryableError | BatchRejected] = {}
    if progress is not None:
        progress(0, len(chunks), 0, len(emails))  # the baseline the rate and ETA count from
    with ThreadPoolExecutor(max_workers=max(1, cfg.concurrency), thread_name_prefix="lookup") as pool:
        for done, (got, lost, error) in enumerate(pool.map(lookup, chunks), 1):
            found.update(got)
            if error is not None:
                unreachable.update({e: error for e in lost})
            if progress is not None:
                progress(done, len(chunks), min(done * LOOKUP_CAP, len(emails)), len(emails))
    return unreachable


@dataclass(frozen=True)
class _Lookup:
    """What the lookups found: each email's contact id, or why it has none."""

    found: dict[str, int]
    #: emails the contacts file gives several ids
    conflicts: dict[str, tuple[int, ...]]
    #: emails whose lookup failed (HubSpot unreachable, or it refused the call)
    unreachable: dict[str, RetryableError | BatchRejected]
    create_missing: bool

    def settle(self, row: Row) -> Row:
        """The row with its contact id, failed or rejected without one, or (--create-missing) as it is."""
        email = row.email or ""
        if email in self.found:
            return replace(row, vid=self.found[email])
        error = self.unreachable.get(email)
        if error is not None:
            return settle_row(
                row,
                Outcome.FAILED,
                error.reason,
                f"The contact could not be looked up ({error.message}); run importer retry on this report later.",
                error.correlation_id,
            )
        if email in self.conflicts:
            ids = ", ".join(str(i) for i in self.conflicts[email])
            return _reject(
                row,
                Reason.CONFLICTING_CONTACT_ID,
                f"The contacts file gives several contact ids for {email} ({ids}) and HubSpot has no "
                "contact with that email; keep the right one in the contacts file or add the Record ID to "
                "this row.",
            )
        if self.create_missing:
            return row
        return _reject(
            row,
            Reason.CONTACT_NOT_FOUND,
            f"No HubSpot contact has the email {email}; add the contact in HubSpot "
            "(or re-run with --create-missing), then run importer retry on this report.",
        )


def skip_recorded(
    rows: Sequence[Row], participations: Sequence[Participation], done: set[tuple[str, State]]
) -> tuple[list[Row], list[Participation]]:
    """Participations the ledger already holds (same event, state, vid and time: ``done`` has
    their ``(key, state)``) are not sent again."""
    if not done:
        return list(rows), list(participations)
    skipped: dict[RowRef, list[State]] = {}
    kept: list[Participation] = []
    for p in participations:
        if (p.key, p.state) in done:
            skipped.setdefault(p.rows[0], []).append(p.state)
        else:
            kept.append(p)
    out = list(rows)
    text = (
        "An earlier run already recorded this contact with the same state and time; "
        "nothing to do (use --force to send it again)."
    )
    for i, r in enumerate(out):
        for state in skipped.get(r.ref, ()):
            if (r.outcome if r.state is state else r.also.outcome if r.also is not None else None) is None:
                r = settle_part(r, state, Outcome.SKIPPED, Reason.ALREADY_RECORDED.value, text)
        out[i] = r
    return out, kept


def plan(
    rows: Sequence[Row],
    cfg: Config,
    event: EventInfo,
    client: HubSpot,
    journal: Journal,
    contacts: Any,
    log: Callable[[str], None],
    *,
    lookups: Lookups | None = None,
    expect: Expect | None = None,
) -> tuple[list[Row], chunker.Batches]:
    """A new run's plan: times filled, contacts resolved, one participation per contact, what the
    ledger already holds left out, the rest cut into batches."""
    rows = fill_times(rows, event)
    if expect is not None:  # the writes that follow the lookups, at most one per open participation
        open_parts = sum((r.outcome is None) + (r.also is not None and r.also.outcome is None) for r in rows)
        expect(-(-open_parts // cfg.effective_batch_size), client.limiter.limit, cfg.concurrency)
    rows = resolve(rows, cfg=cfg, client=client, journal=journal, contacts=contacts, log=log, progress=lookups)
    with no_gc():
        table, parts = chunker.merge(rows_to_table(rows), cfg.event_id)
        kept = table_to_rows(table)
        del table
        done = set() if cfg.force else _recorded(journal, cfg.event_id, parts)
        if done:
            kept, _ = skip_recorded(kept, chunker.participations(parts), done)
            kept = say_when_recorded(kept, journal, cfg.event_id)
            parts = chunker.drop_done(parts, done)
        return kept, chunker.batches(chunker.chunk(parts, cfg.effective_batch_size))


def resume_plan(
    journal: Journal, run_id: str, cfg: Config
) -> tuple[list[Row], chunker.Batches, dict[str, BatchOutcome]]:
    """An interrupted run's plan and answers; planned rows get their outcome again from the answers."""
    stored, parts = journal.load_plan(run_id)
    rows = table_to_rows(stored)
    del stored
    planned: dict[RowRef, list[State]] = {}
    for file, row, state in zip(*(parts.column(n).to_pylist() for n in ("file", "row", "state")), strict=True):
        planned.setdefault(RowRef(file, row), []).append(State(state))
    rows = [_unsettle(r, planned[r.ref]) if r.ref in planned else r for r in rows]
    outcomes = journal.outcomes(run_id)
    if not cfg.force:
        rows, parts = _drop_recorded_elsewhere(rows, parts, outcomes, journal, cfg.event_id)
    return rows, chunker.batches(parts), outcomes


def _drop_recorded_elsewhere(
    rows: list[Row], parts: pa.Table, outcomes: dict[str, BatchOutcome], journal: Journal, event_id: str
) -> tuple[list[Row], pa.Table]:
    """A resumed run does not re-send what the ledger says was recorded since it stopped
    (by ``importer retry``, another file or another run)."""
    answered = pc.is_in(parts.column("batch_id"), value_set=pa.array(list(outcomes), pa.string()))
    again = pc.and_(journal.already_recorded(event_id, parts), pc.invert(answered))
    if not pc.any(again).as_py():
        return rows, parts
    found = parts.filter(again)
    rows, _ = skip_recorded(rows, chunker.participations(found), _keys(found))
    return say_when_recorded(rows, journal, event_id), parts.filter(pc.invert(again))


def _recorded(journal: Journal, event_id: str, parts: pa.Table) -> set[tuple[str, State]]:
    """``(key, state)`` of the plan's participations the ledger holds."""
    return _keys(parts.filter(journal.already_recorded(event_id, parts)))


def _keys(parts: pa.Table) -> set[tuple[str, State]]:
    states = map(State, parts.column("state").to_pylist())
    return set(zip(part_keys(parts).to_pylist(), states, strict=True))


def _already(outcome: Outcome | None, reason: str) -> bool:
    return outcome is Outcome.SKIPPED and reason == Reason.ALREADY_RECORDED.value


def say_when_recorded(rows: list[Row], journal: Journal, event_id: str) -> list[Row]:
    """Participations found already recorded tell when and by which run, from the ledger."""
    found = [
        i
        for i, r in enumerate(rows)
        if r.vid is not None
        and (_already(r.outcome, r.reason) or (r.also is not None and _already(r.also.outcome, r.also.reason)))
    ]
    if not found:
        return rows
    known = journal.recorded_when(event_id, [vid for i in found if (vid := rows[i].vid) is not None])
    by_contact = {(vid, state): origin for (vid, state, _), origin in sorted(known.items())}

    def said(vid: int, state: State | None, when_ms: int | None) -> str | None:
        name = state.value if state is not None else ""
        origin = known.get((vid, name, when_ms or 0)) or by_contact.get((vid, name))
        if origin is None:
            return None
        run_id, at, _ = origin
        when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        by = f"run {run_id}" if run_id else "an earlier run"
        return (
            f"Already in HubSpot: recorded as {name} on {when} by {by}; nothing to do (use --force to send it again)."
        )

    for i in found:
        row = rows[i]
        vid = row.vid or 0
        if _already(row.outcome, row.reason) and (text := said(vid, row.state, row.when_ms)) is not None:
            row = replace(row, message=text)
        a = row.also
        if a is not None and _already(a.outcome, a.reason) and (text := said(vid, a.state, a.when_ms)) is not None:
            row = replace(row, also=replace(a, message=text))
        rows[i] = row
    return rows


_ANSWERED = (Outcome.RECORDED, Outcome.FAILED)


def _unsettle(row: Row, states: Sequence[State]) -> Row:
    """The planned participations (``states``) of a resumed run's row get their outcome again from
    the batch answers."""
    also = row.also
    if also is not None and also.state in states and also.outcome in _ANSWERED:
        row = replace(row, also=replace(also, outcome=None, reason="", message="", correlation_id=""))
    if row.state in states and row.outcome in _ANSWERED:
        row = replace(row, outcome=None, reason="", message="", correlation_id="", created_contact=False)
    return row


#: Rejections whose fix lies outside the file (in HubSpot), so ``retry`` takes them again.
RETRY_REJECTED = frozenset({Reason.CONTACT_NOT_FOUND.value})


def _retryable_part(outcome: Outcome | None, reason: str) -> bool:
    return outcome is Outcome.FAILED or (outcome is Outcome.REJECTED and reason in RETRY_REJECTED)


def retryable(row: Row) -> bool:
    """Rows ``importer retry`` sends again: every row with a failed participation (HubSpot refused
    or was unreachable, the token or a scope was wrong, the run stopped) and rows rejected for a
    reason fixed in HubSpot (a contact that did not exist yet).  Rows whose data is wrong need the
    file fixed."""
    also = row.also
    return _retryable_part(row.outcome, row.reason) or (also is not None and _retryable_part(also.outcome, also.reason))


def reopen(row: Row) -> Row | None:
    """The row with its retryable participations open again (to be sent again), or None when it
    has none that can be sent: none to retry, or no time, state or contact to send."""
    if row.vid is None and not row.email:
        return None
    opened = False
    also = row.also
    if also is not None and _retryable_part(also.outcome, also.reason) and also.when_ms is not None:
        also = replace(also, outcome=None, reason="", message="", correlation_id="", batch_id="")
        row, opened = replace(row, also=also), True
    if _retryable_part(row.outcome, row.reason) and row.state is not None and row.when_ms is not None:
        row, opened = replace(row, outcome=None, reason="", message="", correlation_id="", batch_id=""), True
    return row if opened else None


def retry_line(taken: int, not_found: int, rows: Sequence[Row], batches: Sequence[Batch]) -> str:
    contacts = sum(len(b.items) for b in batches)
    why = f" ({not_found} of them not found in HubSpot before)" if not_found else ""
    still = Counter(r.reason for r in rows if r.outcome is not None and r.outcome is not Outcome.MERGED)
    left = "".join(f"; {n:,} {_still(reason)}" for reason, n in sorted(still.items()))
    return (
        f"retrying {plural(taken, 'row')}{why}: sending {plural(contacts, 'contact')} "
        f"in {plural(len(batches), 'request')}{left}"
    )


def _still(reason: str) -> str:
    return "already in HubSpot" if reason == Reason.ALREADY_RECORDED.value else f"still {reason}"
