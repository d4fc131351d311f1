"""What a run plans: times filled, contacts resolved, one participation per contact and state,
what the ledger already holds left out, the rest cut into batches; a resumed run's plan read back
from the journal; and which rows of a report ``retry`` takes again.

``run`` and ``retry`` differ only here: both hand their :class:`Plan` to ``execute``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import chunker
from . import rows as rows_ops
from .answers import Answers
from .config import Config
from .hubspot import HubSpot
from .journal import Journal
from .models import CODED_TEXT, EventInfo, Outcome, Reason
from .reporter import plural
from .resolving import Lookups, resolve


@dataclass
class Plan:
    """What a run sends: its rows, its plan (a participation per line, with its batch), the
    answers it holds already (a resumed run), the run it resumes, and what to say before the
    first request."""

    rows: pa.Table
    parts: pa.Table
    outcomes: Answers = field(default_factory=Answers)
    #: the interrupted run this one resumes; empty: a new run, begun just before sending
    run_id: str = ""
    #: logged once the run has begun, before the first request
    says: tuple[str, ...] = ()


#: how a run or a retry plans: given the config, the rows, the client, the journal and the event
Planner = Callable[[Config, pa.Table, HubSpot, Journal, EventInfo], Plan]
#: before the lookups, the requests that follow them (the writes), HubSpot's limit and concurrency
Expect = Callable[[int, tuple[int, float], int], None]


def sending_line(parts: pa.Table) -> str:
    batches = rows_ops.count_distinct(parts.column("batch_id"))
    return f"sending {plural(parts.num_rows, 'participation')} in {plural(batches, 'request')}"


def plan_run(
    cfg: Config,
    rows: pa.Table,
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
        rows, parts = plan(rows, cfg, event, client, journal, contacts, log, lookups=lookups, expect=expect)
        return Plan(rows, parts, says=(sending_line(parts),))
    del rows  # the journal holds the plan: the rows read again are not needed
    kept, parts, outcomes = resume_plan(journal, previous, cfg)
    answered = pc.is_in(parts.column("batch_id"), value_set=pa.array(list(outcomes), pa.string()))
    total = rows_ops.count_distinct(parts.column("batch_id"))
    resuming = f"resuming run {previous}: {len(outcomes):,} of {plural(total, 'request')} already answered"
    return Plan(kept, parts, outcomes, previous, (resuming, sending_line(parts.filter(pc.invert(answered)))))


def plan_retry(
    cfg: Config,
    rows: pa.Table,
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
    taken = rows.num_rows
    rows, parts = plan(rows, cfg, event, client, journal, None, log, lookups=lookups, expect=expect)
    return Plan(rows, parts, says=(retry_line(taken, not_found, rows, parts),))


_NO_TIME = (
    "The file gives no time for this row and the event has no start date in HubSpot; "
    "add the time to the file or a start date to the event."
)


def fill_times(rows: pa.Table, event: EventInfo) -> pa.Table:
    """Participations whose file gives no time for their state take the event's start."""
    for prefix in rows_ops.PREFIXES:
        missing = pc.and_(rows_ops.open_part(rows, prefix), pc.is_null(rows.column(f"{prefix}when_ms")))
        if not pc.any(missing).as_py():
            continue
        if event.start_ms is None:
            rows = rows_ops.settle_where(rows, missing, prefix, Outcome.REJECTED, Reason.MISSING_TIME.value, _NO_TIME)
        else:
            rows = rows_ops.put(rows, f"{prefix}when_ms", missing, event.start_ms)
            rows = rows_ops.put(rows, f"{prefix}time_source", missing, "event_start")
    return rows


_ALREADY_TEXT = (
    "An earlier run already recorded this contact with the same state and time; "
    "nothing to do (use --force to send it again)."
)


def skip_recorded(rows: pa.Table, parts: pa.Table, journal: Journal, event_id: str) -> tuple[pa.Table, pa.Table]:
    """Participations the ledger already holds (same event, state, vid and time) are not sent
    again: they leave the plan, and their rows say when and by which run they were recorded."""
    done = journal.already_recorded(event_id, parts)
    if not pc.any(done).as_py():
        return rows, parts
    names = rows_ops.part_names(parts).filter(done)
    rows = rows_ops.settle_named(rows, names, Outcome.SKIPPED, Reason.ALREADY_RECORDED.value, _ALREADY_TEXT)
    return say_when_recorded(rows, journal, event_id), parts.filter(pc.invert(done))


def plan(
    rows: pa.Table,
    cfg: Config,
    event: EventInfo,
    client: HubSpot,
    journal: Journal,
    contacts: Any,
    log: Callable[[str], None],
    *,
    lookups: Lookups | None = None,
    expect: Expect | None = None,
) -> tuple[pa.Table, pa.Table]:
    """A new run's plan: times filled, contacts resolved, one participation per contact, what the
    ledger already holds left out, the rest cut into batches (the plan table, with batch ids)."""
    rows = fill_times(rows, event)
    if expect is not None:  # the writes that follow the lookups, at most one per open participation
        open_parts = sum(pc.sum(rows_ops.open_part(rows, prefix)).as_py() or 0 for prefix in rows_ops.PREFIXES)
        expect(-(-open_parts // cfg.effective_batch_size), client.limiter.limit, cfg.concurrency)
    rows = resolve(rows, cfg=cfg, client=client, journal=journal, contacts=contacts, log=log, progress=lookups)
    rows, parts = chunker.merge(rows, cfg.event_id)
    if not cfg.force:
        rows, parts = skip_recorded(rows, parts, journal, cfg.event_id)
    return rows, chunker.chunk(parts, cfg.effective_batch_size)


#: Fates that hang on the contact id, not on the row: open again when the id was wrong.
_BY_CONTACT = pa.array(
    [Reason.DUPLICATE_CONTACT.value, Reason.ALREADY_RECORDED.value, Reason.STILL_REGISTERED.value], pa.string()
)
#: How the id of a batch planned by :func:`look_up_again` ends.
AGAIN = "-again"
#: The lookup cache's answers count however old they are when telling where an id came from.
_ANY_AGE_S = 100 * 365 * 86400.0


@dataclass(frozen=True)
class LookedUpAgain:
    """Contacts looked up again in a running run: the plan's rows and lines with them changed,
    the new lines to send, and the lookup cache's corrections (emails to forget, answers to keep)."""

    rows: pa.Table
    parts: pa.Table
    new: pa.Table
    forget: frozenset[str]
    found: dict[str, int]


def _stale_vids(plan: Plan) -> set[int]:
    """Contact ids HubSpot answered that no contact has (``BatchOutcome.gone``)."""
    gone = [f"{batch_id}{rows_ops.SEP}{key}" for batch_id, key in plan.outcomes.gone()]
    if not gone:
        return set()
    named = pc.binary_join_element_wise(
        rows_ops.text(plan.parts.column("batch_id")), pc.cast(plan.parts.column("vid"), pa.string()), rows_ops.SEP
    )
    hit = pc.fill_null(pc.is_in(named, value_set=pa.array(gone, pa.string())), False)
    return {v for v in pc.unique(plan.parts.column("vid").filter(hit)).to_pylist() if v is not None}


def _from_the_cache(rows: pa.Table, stale: set[int], journal: Journal) -> pa.Table:
    """The rows whose stale id came from a lookup (the cache maps their email to it): an id the
    file itself gives is a fact of the file and stays."""
    named = pc.fill_null(pc.not_equal(rows.column("email"), ""), False)
    rows = rows.filter(pc.and_(pc.is_in(rows.column("vid"), value_set=pa.array(sorted(stale), pa.int64())), named))
    emails, vids = rows.column("email").to_pylist(), rows.column("vid").to_pylist()
    cached = journal.cache_get(set(emails), _ANY_AGE_S)
    return rows.filter(pa.array([cached.get(e) == v for e, v in zip(emails, vids, strict=True)], pa.bool_()))


def _open_again(rows: pa.Table) -> pa.Table:
    """The rows without their contact id, and the participations whose fate hung on that id open again."""
    rows = rows_ops.put(rows, "vid", pc.is_valid(rows.column("vid")), None)
    for prefix in rows_ops.PREFIXES:
        by_contact = pc.fill_null(pc.is_in(rows.column(f"{prefix}reason"), value_set=_BY_CONTACT), False)
        rows = rows_ops.put(rows, f"{prefix}outcome", by_contact, None)
        rows = _clear(rows, prefix, by_contact, ("reason", "message"))
        rows = rows_ops.put(rows, f"{prefix}merged_file", by_contact, None)
        rows = rows_ops.put(rows, f"{prefix}merged_row", by_contact, None)
    return rows


def look_up_again(
    plan: Plan, cfg: Config, client: HubSpot, journal: Journal, log: Callable[[str], None]
) -> LookedUpAgain | None:
    """Rows whose contact id came from a lookup (the cache, days old, or this run's) that HubSpot
    answered no contact has (deleted and created again, or merged): looked up again by email,
    cache bypassed, and planned anew in batches of their own (ids ending ``-again``) that replace
    their lines in the plan.  None when there are none."""
    stale = _stale_vids(plan)
    if not stale:
        return None
    chosen = _from_the_cache(plan.rows, stale, journal)
    if not chosen.num_rows:
        return None
    emails = frozenset(chosen.column("email").to_pylist())
    log(
        f"HubSpot has no contact with {plural(len(stale), 'id')} the lookup cache gave (deleted or merged): "
        f"looking up {plural(len(emails), 'email')} again"
    )
    old_names = pa.concat_arrays(
        [rows_ops.part_names(chosen, prefix).combine_chunks().drop_null() for prefix in rows_ops.PREFIXES]
    )
    # no cache either way: its answer is what failed, and the journal takes this plan first
    chosen = resolve(_open_again(chosen), cfg=replace(cfg, no_cache=True), client=client, journal=None, log=log)
    vids = chosen.column("vid").to_pylist()
    found = {e: v for e, v in zip(chosen.column("email").to_pylist(), vids, strict=True) if v is not None}
    chosen, new = chunker.merge(chosen, cfg.event_id)
    if not cfg.force:
        chosen, new = skip_recorded(chosen, new, journal, cfg.event_id)
    kept = plan.parts.filter(pc.invert(pc.is_in(rows_ops.part_names(plan.parts), value_set=old_names)))
    chosen, new = _carried_already(chosen, new, kept)
    new = _renamed(chunker.chunk(new, cfg.effective_batch_size), set(plan.parts.column("batch_id").to_pylist()))
    rows = rows_ops.replace_rows(plan.rows, chosen)
    return LookedUpAgain(rows, pa.concat_tables([kept, new]), new, emails, found)


def _carried_already(rows: pa.Table, new: pa.Table, plan: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A contact found again whose participation another line of the plan carries already (the
    file also gives the new id) is not sent twice: its rows are merged into that line's row."""

    def contact(t: pa.Table) -> pa.ChunkedArray:
        return pc.binary_join_element_wise(
            pc.cast(t.column("vid"), pa.string()), rows_ops.text(t.column("state")), rows_ops.SEP
        )

    holders = {
        k: (f, r)
        for k, f, r in zip(
            contact(plan).to_pylist(), plan.column("file").to_pylist(), plan.column("row").to_pylist(), strict=True
        )
        if k is not None
    }
    if not holders:
        return rows, new
    mine = contact(new).to_pylist()
    carried = [k in holders for k in mine]
    for line, key in zip(
        new.filter(pa.array(carried, pa.bool_())).to_pylist(), [k for k in mine if k in holders], strict=True
    ):
        file, row = holders[key]
        text = f"Same contact as {file} row {row}, which carries its {line['state']} participation; nothing to do."
        for prefix in rows_ops.PREFIXES:
            where = pc.equal(
                rows_ops.part_names(rows, prefix), rows_ops.SEP.join((line["file"], str(line["row"]), line["state"]))
            )
            rows = rows_ops.settle_where(rows, where, prefix, Outcome.MERGED, Reason.DUPLICATE_CONTACT.value, text)
            rows = rows_ops.put(rows, f"{prefix}merged_file", pc.fill_null(where, False), file)
            rows = rows_ops.put(rows, f"{prefix}merged_row", pc.fill_null(where, False), row)
    return rows, new.filter(pc.invert(pa.array(carried, pa.bool_())))


def _renamed(parts: pa.Table, taken: set[str]) -> pa.Table:
    """The new batches' ids, each ending ``-again`` and unlike any id the plan holds."""
    names: dict[str, str] = {}
    for old in dict.fromkeys(parts.column("batch_id").to_pylist()):
        name = f"{old}{AGAIN}"
        while name in taken:
            name += AGAIN
        taken.add(name)
        names[old] = name
    ids = rows_ops.lookup(parts.column("batch_id"), names, CODED_TEXT)
    return parts.set_column(parts.schema.get_field_index("batch_id"), "batch_id", ids)


def resume_plan(journal: Journal, run_id: str, cfg: Config) -> tuple[pa.Table, pa.Table, Answers]:
    """An interrupted run's plan and answers; planned rows get their outcome again from the
    answers, and what the ledger says was recorded since it stopped (by ``importer retry``,
    another file or another run) is not sent again."""
    rows, parts = journal.load_plan(run_id)
    rows = _unsettle(rows, parts)
    outcomes = journal.answers(run_id)
    if cfg.force:
        return rows, parts, outcomes
    answered = pc.is_in(parts.column("batch_id"), value_set=pa.array(list(outcomes), pa.string()))
    todo = parts.filter(pc.invert(answered))
    rows, still = skip_recorded(rows, todo, journal, cfg.event_id)
    return rows, pa.concat_tables([parts.filter(answered), still]), outcomes


def _already(rows: pa.Table, prefix: str) -> pa.ChunkedArray:
    """Participations of ``prefix`` found already recorded (false where the row has none)."""
    found = pc.and_(
        pc.equal(rows.column(f"{prefix}outcome"), Outcome.SKIPPED.value),
        pc.equal(rows.column(f"{prefix}reason"), Reason.ALREADY_RECORDED.value),
    )
    return pc.fill_null(found, False)


def say_when_recorded(rows: pa.Table, journal: Journal, event_id: str) -> pa.Table:
    """Participations found already recorded tell when and by which run, from the ledger (the
    same time, else the contact's earliest one in that state)."""
    found = pc.and_(pc.is_valid(rows.column("vid")), pc.or_(_already(rows, ""), _already(rows, "also_")))
    vids = pc.unique(rows.column("vid").filter(found)).to_pylist()
    if not vids:
        return rows
    known = journal.recorded_when(event_id, vids)
    exact: dict[str, str] = {}
    by_contact: dict[str, str] = {}
    for (vid, state, when_ms), (run_id, at, _) in sorted(known.items()):
        when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        by = f"run {run_id}" if run_id else "an earlier run"
        text = (
            f"Already in HubSpot: recorded as {state} on {when} by {by}; nothing to do (use --force to send it again)."
        )
        exact[f"{vid}:{state}:{when_ms}"] = text
        by_contact.setdefault(f"{vid}:{state}", text)
    vid_text = pc.cast(rows.column("vid"), pa.string())
    for prefix in rows_ops.PREFIXES:
        contact = pc.binary_join_element_wise(vid_text, rows_ops.text(rows.column(f"{prefix}state")), ":")
        when = pc.cast(pc.fill_null(rows.column(f"{prefix}when_ms"), 0), pa.string())
        text = pc.coalesce(
            rows_ops.lookup(pc.binary_join_element_wise(contact, when, ":"), exact, pa.string()),
            rows_ops.lookup(contact, by_contact, pa.string()),
        )
        where = pc.and_(pc.and_(found, _already(rows, prefix)), pc.is_valid(text))
        rows = rows_ops.put(rows, f"{prefix}message", where, text)
    return rows


_ANSWERED = pa.array([Outcome.RECORDED.value, Outcome.FAILED.value])

#: The mapper's own word on a participation's time (an hour the autumn repeats: which reading was
#: sent), which the outcome's text is put before; it belongs to the time, not to the outcome.
_TIME_WORDS = r"(?P<said>Time '.*' \(.*\) happened twice in .* before importing it\.)$"


def _own_words(message: pa.ChunkedArray) -> pa.ChunkedArray:
    """What of each message the mapper said about the time ('' where nothing): what a reopened
    participation keeps, so a resumed run or a retry reports the row as the first run would."""
    said = pc.extract_regex(pc.fill_null(message, ""), _TIME_WORDS)
    return pc.fill_null(pc.struct_field(said, "said"), "")


def _clear(rows: pa.Table, prefix: str, where: pa.ChunkedArray, names: tuple[str, ...]) -> pa.Table:
    """The outcome texts of the participations ``where`` emptied (the message keeps the mapper's word)."""
    for name in names:
        value = _own_words(rows.column(f"{prefix}message")) if name == "message" else ""
        rows = rows_ops.put(rows, f"{prefix}{name}", where, value)
    return rows


def _unsettle(rows: pa.Table, parts: pa.Table) -> pa.Table:
    """The planned participations of a resumed run's rows get their outcome again from the batch
    answers (the journal holds the rows as the run last saved them)."""
    planned = rows_ops.part_names(parts).combine_chunks()
    for prefix in rows_ops.PREFIXES:
        again = pc.and_(
            pc.is_in(rows_ops.part_names(rows, prefix), value_set=planned),
            pc.is_in(rows.column(f"{prefix}outcome"), value_set=_ANSWERED),
        )
        again = pc.fill_null(again, False)
        rows = rows_ops.put(rows, f"{prefix}outcome", again, None)
        rows = _clear(rows, prefix, again, ("reason", "message", "correlation_id"))
        if not prefix:
            rows = rows_ops.put(rows, "created_contact", again, False)
    return rows


#: Rejections whose fix lies outside the file (in HubSpot), so ``retry`` takes them again.
RETRY_REJECTED = frozenset({Reason.CONTACT_NOT_FOUND.value})


def _retryable_part(rows: pa.Table, prefix: str) -> pa.ChunkedArray:
    outcome = rows.column(f"{prefix}outcome")
    rejected_here = pc.and_(
        pc.equal(outcome, Outcome.REJECTED.value),
        pc.is_in(rows.column(f"{prefix}reason"), value_set=pa.array(sorted(RETRY_REJECTED))),
    )
    return pc.fill_null(pc.or_(pc.equal(outcome, Outcome.FAILED.value), rejected_here), False)


def retryable(rows: pa.Table) -> pa.ChunkedArray:
    """Rows ``importer retry`` sends again: every row with a failed participation (HubSpot refused
    or was unreachable, the token or a scope was wrong, the run stopped) and rows rejected for a
    reason fixed in HubSpot (a contact that did not exist yet).  Rows whose data is wrong need the
    file fixed."""
    return pc.or_(_retryable_part(rows, ""), _retryable_part(rows, "also_"))


def reopen(rows: pa.Table) -> pa.Table:
    """The rows that have a retryable participation that can be sent (a state, a time and a
    contact), with those participations open again; the other rows are left out."""
    contact = pc.or_(pc.is_valid(rows.column("vid")), pc.fill_null(pc.not_equal(rows.column("email"), ""), False))
    opened = []
    for prefix in rows_ops.PREFIXES:
        sendable = pc.and_(pc.is_valid(rows.column(f"{prefix}state")), pc.is_valid(rows.column(f"{prefix}when_ms")))
        again = pc.and_(pc.and_(_retryable_part(rows, prefix), sendable), contact)
        rows = rows_ops.put(rows, f"{prefix}outcome", again, None)
        rows = _clear(rows, prefix, again, ("reason", "message", "correlation_id", "batch_id"))
        opened.append(again)
    return rows.filter(pc.or_(*opened))


def retry_line(taken: int, not_found: int, rows: pa.Table, parts: pa.Table) -> str:
    batches = rows_ops.count_distinct(parts.column("batch_id"))
    why = f" ({not_found} of them not found in HubSpot before)" if not_found else ""
    settled = pc.and_(pc.is_valid(rows.column("outcome")), pc.not_equal(rows.column("outcome"), Outcome.MERGED.value))
    still = rows_ops.counts(rows.filter(settled), "reason")
    left = "".join(f"; {n:,} {_still(str(reason))}" for reason, n in sorted(still.items()))
    return (
        f"retrying {plural(taken, 'row')}{why}: sending {plural(parts.num_rows, 'contact')} "
        f"in {plural(batches, 'request')}{left}"
    )


def _still(reason: str) -> str:
    return "already in HubSpot" if reason == Reason.ALREADY_RECORDED.value else f"still {reason}"
