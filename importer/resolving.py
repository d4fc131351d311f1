"""Every sendable row given its contact id: the file's own, the --contacts map, the lookup cache,
then HubSpot's batch read by email (each distinct email once, 100 a call, a few calls at once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import rows as rows_ops
from . import workers
from .config import Config
from .errors import BatchRejected, InputError, RetryableError
from .hubspot import HubSpot
from .journal import Journal
from .models import Outcome, Reason
from .reporter import plural
from .services import quiet

#: HubSpot's batch read takes at most this many emails a call.
LOOKUP_CAP = 100

#: the contact lookups answered so far: requests done and in all, emails done and in all
Lookups = Callable[[int, int, int, int], None]


@dataclass
class _Lookups:
    """What is known of each email a run must look up (see :func:`resolve`)."""

    found: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    unreachable: dict[str, RetryableError | BatchRejected] = field(default_factory=dict)


def _to_look_up(rows: pa.Table) -> pa.ChunkedArray:
    """Sendable rows that name their contact by email only."""
    named = pc.fill_null(pc.not_equal(rows.column("email"), ""), False)
    return pc.and_(pc.and_(pc.is_null(rows.column("vid")), named), rows_ops.open_rows(rows))


def resolve(
    rows: pa.Table,
    *,
    cfg: Config,
    client: HubSpot | None,
    journal: Journal | None,
    contacts: Any = None,
    log: Callable[[str], None] = quiet,
    progress: Lookups | None = None,
) -> pa.Table:
    """Give every sendable row a contact id: the file's own, the --contacts map, the cache, then
    HubSpot's batch read by email (each distinct email once, 100 a call).  Unknown emails are
    rejected, or left for email-create with --create-missing.  ``progress`` hears of each
    lookup request answered (12,000 emails take 120 of them)."""
    asks = _to_look_up(rows)
    wanted = sorted(pc.unique(rows.column("email").filter(asks)).to_pylist())
    if not wanted:
        return rows  # every sendable row has its contact id already
    known = _look_up(wanted, cfg=cfg, client=client, journal=journal, contacts=contacts, log=log, progress=progress)
    return _apply_lookups(rows, asks, known, create_missing=cfg.create_missing)


def _look_up(
    wanted: list[str],
    *,
    cfg: Config,
    client: HubSpot | None,
    journal: Journal | None,
    contacts: Any,
    log: Callable[[str], None],
    progress: Lookups | None,
) -> _Lookups:
    """The contact id of each email: the --contacts map, the cache, then HubSpot."""
    known = _Lookups()
    found = known.found
    if contacts is not None:
        known.conflicts = {e: tuple(ids) for e, ids in contacts.conflicts.items()}
        found.update({e: contacts.by_email[e] for e in wanted if e in contacts.by_email and e not in known.conflicts})
    # an email the contacts file gives two ids is settled by HubSpot's own answer, never guessed
    remaining = [e for e in wanted if e not in found]
    if remaining and journal is not None and not cfg.no_cache:
        cached = journal.cache_get(remaining, cfg.cache_ttl_days * 86400)
        found.update(cached)
        remaining = [e for e in remaining if e not in cached]
        if cached:
            log(f"{plural(len(cached), 'contact id')} taken from the lookup cache")
    if remaining:
        known.unreachable = _ask_hubspot(remaining, found, client, cfg, log, progress)
        if journal is not None:
            asked = set(remaining)
            journal.cache_put({e: v for e, v in found.items() if e in asked})
    return known


def _ask_hubspot(
    emails: list[str],
    found: dict[str, int],
    client: HubSpot | None,
    cfg: Config,
    log: Callable[[str], None],
    progress: Lookups | None,
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
    done = emails_done = 0
    if progress is not None:
        progress(0, len(chunks), 0, len(emails))  # the baseline the rate and ETA count from

    def answered(
        chunk: list[str], answer: tuple[dict[str, int], set[str], RetryableError | BatchRejected | None]
    ) -> None:
        nonlocal done, emails_done
        got, lost, error = answer
        found.update(got)
        if error is not None:
            unreachable.update({e: error for e in lost})
        done, emails_done = done + 1, emails_done + len(chunk)
        if progress is not None:
            progress(done, len(chunks), emails_done, len(emails))

    stopped = workers.each(
        lookup, chunks, workers=cfg.concurrency, waits=client.waits, on_result=answered, name="lookup"
    )
    if stopped is not None:
        raise stopped
    return unreachable


def _apply_lookups(rows: pa.Table, asks: pa.ChunkedArray, known: _Lookups, *, create_missing: bool) -> pa.Table:
    """The looked-up ids filled in; the rows whose email has none settled, in this order: the
    contacts file gives several ids, HubSpot could not be asked, HubSpot has no such contact."""
    email = rows.column("email")
    vids = rows_ops.lookup(email, known.found, pa.int64())
    rows = rows_ops.put(rows, "vid", pc.and_(asks, pc.is_valid(vids)), vids)
    left = pc.and_(asks, pc.is_null(vids))
    unreachable = known.unreachable
    conflicts = {
        e: (
            f"The contacts file gives several contact ids for {e} ({', '.join(str(i) for i in ids)}) and HubSpot "
            "has no contact with that email; keep the right one in the contacts file or add the Record ID to "
            "this row."
        )
        for e, ids in known.conflicts.items()
        if e not in unreachable
    }
    if conflicts:
        texts = rows_ops.lookup(email, conflicts, pa.string())
        conflicting = pc.and_(left, pc.is_valid(texts))
        rows = rows_ops.settle_rows(rows, conflicting, Outcome.REJECTED, Reason.CONFLICTING_CONTACT_ID.value, texts)
        left = pc.and_(left, pc.invert(conflicting))
    if unreachable:
        failed = pc.and_(left, pc.is_in(email, value_set=pa.array(list(unreachable), pa.string())))
        rows = rows_ops.settle_rows(
            rows,
            failed,
            Outcome.FAILED,
            rows_ops.lookup(email, {e: x.reason for e, x in unreachable.items()}, pa.string()),
            rows_ops.lookup(
                email,
                {
                    e: f"The contact could not be looked up ({x.message}); run importer retry on this report later."
                    for e, x in unreachable.items()
                },
                pa.string(),
            ),
            rows_ops.lookup(email, {e: x.correlation_id for e, x in unreachable.items()}, pa.string()),
        )
        left = pc.and_(left, pc.invert(failed))
    if not create_missing:
        text = pc.binary_join_element_wise(
            "No HubSpot contact has the email ",
            email,
            "; add the contact in HubSpot (or re-run with --create-missing), then run importer retry on this report.",
            "",
        )
        rows = rows_ops.settle_rows(rows, left, Outcome.REJECTED, Reason.CONTACT_NOT_FOUND.value, text)
    return rows
