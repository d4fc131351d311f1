"""Composes the stages: loader -> mapper -> resolve -> merge/chunk -> sender -> reporter.

The pipeline takes its seams (HTTP transport, clock, sleep, wall time, log) as arguments, so tests
can run it without waiting and without a network.  It owns the order of things and the promise that
every input row ends up in the report; each stage owns its own rules.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from . import actions, chunker, sender
from .bulk import no_gc
from .checking import VerifyResult, check_recorded, recorded_from_rows, verify, verify_json
from .config import Config
from .errors import BatchRejected, Declined, InputError, RetryableError, StopRun
from .hubspot import HubSpot
from .inputs import display_name, expand_inputs, file_digest, map_options, read_file
from .inspecting import inspect
from .journal import Journal
from .loader import load
from .mapper import undecided_error
from .models import (
    Also,
    Batch,
    BatchOutcome,
    EventInfo,
    FileInfo,
    Outcome,
    Participation,
    Reason,
    Row,
    RowRef,
    RunStats,
    State,
    is_open,
    settle_part,
    settle_row,
    worst_first,
)
from .preview import build_preview
from .readback import row_from_report
from .report_names import keep_report, latest_name, stamp_of, stamped_name
from .reporter import (
    Report,
    RunSummary,
    build_report,
    check_report_path,
    choose_format,
    default_report_path,
    exit_code_for,
    plural,
    read_report,
)
from .services import Portal, Services, connect, quiet
from .waits import Waits, interrupted

LOOKUP_CAP = 100


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the exit code comes from the report (or from the stop)."""

    exit_code: int
    report: Report
    report_path: Path | None
    run_id: str
    stopped: StopRun | None = None
    #: this run's own, run-stamped copy of the report (``report_path`` names the latest)
    report_copy: Path | None = None
    resumed: bool = False
    sandbox_participations: tuple[dict[str, Any], ...] = ()
    sandbox_dump: Path | None = None
    verification: VerifyResult | None = None


# ---------------------------------------------------------------------------------------------
# inputs


# ---------------------------------------------------------------------------------------------
# planning


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
) -> list[Row]:
    """Give every sendable row a contact id: the file's own, the --contacts map, the cache, then
    HubSpot's batch read by email (each distinct email once, 100 a call).  Unknown emails are
    rejected, or left for email-create with --create-missing."""
    wanted = sorted({r.email for r in rows if r.vid is None and r.email and is_open(r)})
    if not wanted:
        return list(rows)  # every sendable row has its contact id already
    found: dict[str, int] = {}
    conflicts: dict[str, tuple[int, ...]] = {}
    if contacts is not None:
        conflicts = {e: tuple(ids) for e, ids in contacts.conflicts.items()}
        found.update({e: contacts.by_email[e] for e in wanted if e in contacts.by_email and e not in conflicts})
    # an email the contacts file gives two ids is settled by HubSpot's own answer, never guessed
    remaining = [e for e in wanted if e not in found]
    if remaining and journal is not None and not cfg.no_cache:
        cached = journal.cache_get(remaining, cfg.cache_ttl_days * 86400)
        found.update(cached)
        remaining = [e for e in remaining if e not in cached]
        if cached:
            log(f"{plural(len(cached), 'contact id')} taken from the lookup cache")
    missing: set[str] = set()
    unreachable: dict[str, RetryableError | BatchRejected] = {}
    if remaining:
        if client is None:
            raise InputError("Contacts must be looked up by email but no HubSpot connection is configured.")
        chunks = [remaining[i : i + LOOKUP_CAP] for i in range(0, len(remaining), LOOKUP_CAP)]
        log(f"looking up {plural(len(remaining), 'email')} in HubSpot ({plural(len(chunks), 'request')})")

        def lookup(emails: list[str]) -> tuple[dict[str, int], set[str], RetryableError | BatchRejected | None]:
            try:
                got, lost = client.read_contacts(emails)
                return got, lost, None
            except (RetryableError, BatchRejected) as exc:  # a 400 or a redirect fails these rows, the run goes on
                return {}, set(emails), exc

        with ThreadPoolExecutor(max_workers=max(1, cfg.concurrency), thread_name_prefix="lookup") as pool:
            for got, lost, error in pool.map(lookup, chunks):
                found.update(got)
                if error is None:
                    missing.update(lost)
                else:
                    unreachable.update({e: error for e in lost})
        if journal is not None:
            asked = set(remaining)
            journal.cache_put({e: v for e, v in found.items() if e in asked})
    out: list[Row] = []
    for row in rows:
        if row.vid is None and row.email and is_open(row):
            if row.email in found:
                row = replace(row, vid=found[row.email])
            elif row.email in conflicts and row.email not in unreachable:
                ids = ", ".join(str(i) for i in conflicts[row.email])
                row = _reject(
                    row,
                    Reason.CONFLICTING_CONTACT_ID,
                    f"The contacts file gives several contact ids for {row.email} ({ids}) and HubSpot has no "
                    "contact with that email; keep the right one in the contacts file or add the Record ID to "
                    "this row.",
                )
            elif row.email in unreachable:
                error = unreachable[row.email]
                row = settle_row(
                    row,
                    Outcome.FAILED,
                    error.reason,
                    f"The contact could not be looked up ({error.message}); run importer retry on this report later.",
                    error.correlation_id,
                )
            elif not cfg.create_missing:
                row = _reject(
                    row,
                    Reason.CONTACT_NOT_FOUND,
                    f"No HubSpot contact has the email {row.email}; add the contact in HubSpot "
                    "(or re-run with --create-missing), then run importer retry on this report.",
                )
        out.append(row)
    return out


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


#: A sendable row's fate: outcome, reason, message, confirmed vid, correlation id, created, batch id.
_Verdict = tuple[Outcome, str, str, int | None, str, bool, str]


def settle(
    rows: Sequence[Row],
    batches: Sequence[Batch],
    outcomes: dict[str, BatchOutcome],
    *,
    dry_run: bool,
    stopped: StopRun | None,
) -> list[Row]:
    """Turn batch answers into row outcomes; every sendable row gets one (and its batch id).

    This touches every row of a large file once, so each row is rebuilt once, directly, and the
    messages name the state only (the time has its own column)."""
    return _apply(list(rows), _Verdicts.of(batches, outcomes, dry_run=dry_run, stopped=stopped))


@dataclass(frozen=True)
class _Verdicts:
    """What :func:`settle` tells each sendable row, drawn from the batches first so that a large
    plan's participations can be let go before the rows are rebuilt."""

    #: per state (attend, register, cancel), keyed by file, then row number: an int key hashes
    #: in C, a RowRef's hash is Python code
    attend: dict[str, dict[int, _Verdict]]
    register: dict[str, dict[int, _Verdict]]
    cancel: dict[str, dict[int, _Verdict]]
    #: for a sendable row that no batch carries
    unsent: _Verdict

    @classmethod
    def of(
        cls, batches: Sequence[Batch], outcomes: dict[str, BatchOutcome], *, dry_run: bool, stopped: StopRun | None
    ) -> _Verdicts:
        planned_text = {s: f"Would be recorded as {s.value} (dry run: nothing was sent)." for s in State}
        recorded_text = {s: f"Recorded as {s.value}." for s in State}
        per_state: dict[State, dict[str, dict[int, _Verdict]]] = {s: {} for s in State}
        not_sent = (
            stopped.reason if stopped else Reason.INTERRUPTED.value,
            f"Not sent: {stopped.message if stopped else 'the run stopped before this batch was sent.'} "
            "Run the same command again to continue.",
        )
        for batch in batches:
            answer = outcomes.get(batch.id)
            # Contacts of a batch without a per-contact answer share a verdict tuple per state (memory).
            shared: dict[State, _Verdict] | None = None
            if dry_run:
                shared = {
                    s: (Outcome.PLANNED, Reason.DRY_RUN.value, planned_text[s], None, "", False, batch.id)
                    for s in State
                }
            elif answer is None:
                shared = dict.fromkeys(State, (Outcome.FAILED, *not_sent, None, "", False, batch.id))
            recorded: dict[State, _Verdict] = {}
            verdicts = per_state[batch.state]
            for p in batch.items:
                ref = p.rows[0]
                if shared is not None or answer is None:
                    assert shared is not None
                    verdict = shared[p.state]
                elif p.key in answer.recorded:
                    created = p.key in answer.created
                    confirmed = answer.recorded[p.key]
                    if confirmed == p.vid and not created:
                        # the usual answer: one verdict tuple per batch and state (None keeps the row's vid)
                        same = recorded.get(p.state)
                        if same is None:
                            text = recorded_text[p.state]
                            same = (Outcome.RECORDED, "", text, None, answer.correlation_id, False, batch.id)
                            recorded[p.state] = same
                        verdict = same
                    else:
                        text = recorded_text[p.state] + (
                            " A new contact was created for this email." if created else ""
                        )
                        verdict = (Outcome.RECORDED, "", text, confirmed, answer.correlation_id, created, batch.id)
                else:
                    failure = answer.failed.get(p.key)
                    why = failure.reason if failure else Reason.NOT_IN_RESPONSE.value
                    text = failure.message if failure else "HubSpot's answer did not mention this contact."
                    verdict = (Outcome.FAILED, why, text, None, answer.correlation_id, False, batch.id)
                by_row = verdicts.get(ref.file)
                if by_row is None:
                    by_row = verdicts[ref.file] = {}
                by_row[ref.row] = verdict
        unsent_text = not_sent[1].replace("this batch", "this row")
        unsent = (Outcome.FAILED, not_sent[0], unsent_text, None, "", False, "")
        return cls(per_state[State.ATTEND], per_state[State.REGISTER], per_state[State.CANCEL], unsent)

    def get(self, ref: RowRef, state: State | None) -> _Verdict:
        table = self.attend if state is State.ATTEND else self.register if state is State.REGISTER else self.cancel
        found = table.get(ref.file)
        return self.unsent if found is None else found.get(ref.row, self.unsent)


def _apply(rows: list[Row], verdicts: _Verdicts) -> list[Row]:
    """Every sendable row rebuilt once with its verdicts, in place in ``rows`` (which it returns):
    each old row is let go as its successor is made, so a large run never holds both.  A row
    with two participations shows the one that most needs the user first."""
    get = verdicts.get
    for i, row in enumerate(rows):
        also = row.also
        if also is not None and also.outcome is None:
            a_outcome, a_reason, a_message, a_vid, a_correlation, a_created, a_batch = get(row.ref, also.state)
            also = Also(
                also.state,
                also.when_ms,
                also.time_source,
                a_outcome,
                a_reason,
                a_message,
                also.merged_into,
                a_batch,
                a_correlation,
            )
            if row.outcome is not None:
                vid = a_vid if a_vid is not None else row.vid
                rows[i] = worst_first(
                    replace(row, vid=vid, created_contact=row.created_contact or a_created, also=also)
                )
                continue
        elif row.outcome is not None:
            continue
        else:
            a_vid, a_created = None, False
        ref = row.ref
        outcome, reason, message, vid, correlation, created, batch_id = get(ref, row.state)
        if vid is None:
            vid = a_vid if a_vid is not None else row.vid
        new = Row(
            ref,
            row.email,
            vid,
            row.state,
            row.when_ms,
            row.time_source,
            outcome,
            reason,
            message,
            row.merged_into,
            batch_id,
            correlation,
            created or a_created,
            row.extra,
            also,
        )
        rows[i] = new if also is None else worst_first(new)
    return rows


# ---------------------------------------------------------------------------------------------
# the run


@contextmanager
def interruptible(svc: Services) -> Iterator[Waits]:
    """The run's waits, and SIGINT and SIGTERM handled so the run can stop cleanly: the signal ends
    every wait in every thread and raises ``sender.Interrupted`` in the main thread; answers in
    flight are still recorded, exit code 3."""
    waits = Waits(svc.sleep)
    if threading.current_thread() is not threading.main_thread():
        yield waits
        return

    def handler(signum: int, frame: object) -> None:
        waits.interrupt()
        raise sender.Interrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield waits
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def _configured(cfg: Config, rows: Sequence[Row]) -> Iterator[tuple[Config, Any]]:
    """The portal the configuration names: nothing to start, nothing to show afterwards."""
    del rows  # the run rebuilds its rows: this frame must not keep the first ones alive
    yield cfg, None


def _portal(cfg: Config, svc: Services) -> Portal:
    if not cfg.sandbox:
        return _configured
    if svc.portal is None:
        raise InputError(
            "A sandbox run needs a sandbox to send to.",
            hint="Run it through the `importer run --sandbox` command, or pass Services(portal=...).",
        )
    return svc.portal


def _options_fingerprint(cfg: Config) -> dict[str, object]:
    return {
        "state": cfg.state,
        "timezone": cfg.timezone,
        "columns": dict(sorted(cfg.columns.items())),
        "day_first": cfg.day_first,
        "create_missing": cfg.create_missing,
        "batch_size": cfg.effective_batch_size,
        "sandbox": cfg.sandbox,
        "contacts": file_digest(Path(cfg.contacts_file)) if cfg.contacts_file else None,
    }


def run(cfg: Config, svc: Services | None = None) -> RunResult:
    """One import, start to finish (or resumed): every input row ends up in the report."""
    svc = svc or Services()
    started = svc.now()
    if not cfg.event_id:
        raise InputError("No marketing event given.", hint="Pass --event OBJECT_ID (the number in the event's URL).")
    paths = expand_inputs(cfg.inputs, svc.cwd, empty_inbox=cfg.empty_inbox)
    mapped = [m for p in paths for m in read_file(p, cfg, svc.cwd)]
    files = tuple(m.info for m in mapped)
    for info in files:
        if info.undecided:
            raise undecided_error(info)
    for info in files:
        svc.log(f"{info.file}: {plural(info.data_rows, 'row')}, profile {info.profile}, state from {info.state_source}")
        for note in info.notes:
            svc.log(f"{info.file}: {note}")
    contacts = None
    if cfg.contacts_file:
        from .contacts import load_contacts_map

        contacts = load_contacts_map(Path(cfg.contacts_file))
    report_path = Path(cfg.report) if cfg.report else default_report_path(paths[0], svc.cwd)
    if cfg.report_dir and not cfg.report:
        report_path = Path(cfg.report_dir) / report_path.name
    if cfg.report_format and not cfg.report:
        report_path = report_path.with_suffix(".json" if cfg.report_format == "json" else f".{cfg.report_format}")
    rows: list[Row] = [r for m in mapped for r in m.rows]
    del mapped  # the rows above are the only copy kept: large files are large
    report_path, size_note = choose_format(report_path, len(rows), explicit=bool(cfg.report or cfg.report_format))
    check_report_path(report_path, [*paths, *([Path(cfg.contacts_file)] if cfg.contacts_file else [])])
    if size_note:
        svc.log(size_note)
    stopped: StopRun | None = None
    resumed = False
    run_id = ""
    event = EventInfo(object_id=cfg.event_id)
    stats = RunStats()
    sandbox_rows: tuple[dict[str, Any], ...] = ()
    sandbox_dump: Path | None = None
    verification: VerifyResult | None = None
    counters_before: dict[str, int] | None = None
    batches: list[Batch] = []
    outcomes: dict[str, BatchOutcome] = {}
    home = Path(cfg.state_dir)
    with interruptible(svc) as waits, _portal(cfg, svc)(cfg, rows) as (cfg, box):
        if box is not None:
            svc.log(f"sandbox: created marketing event {cfg.event_id} at {cfg.base_url} for this run only")
        with Journal.open(cfg.state_dir, clock=time.time) as journal:
            key = Journal.run_key(cfg.event_id, [(p.name, file_digest(p)) for p in paths], _options_fingerprint(cfg))
            with connect(cfg, svc, waits) as client:
                try:
                    event = client.get_event(cfg.event_id)
                    if cfg.verify and not cfg.dry_run:
                        counters_before = client.counters(cfg.event_id)
                    previous = None if cfg.dry_run else journal.find_unfinished(key)
                    if previous:
                        run_id, resumed = previous, True
                        rows, batches, outcomes = resume_plan(journal, run_id, cfg)
                        todo_now = [b for b in batches if b.id not in outcomes]
                        _ask(svc, cfg, event, files, rows, todo_now, client)
                        del todo_now
                        svc.log(
                            f"resuming run {run_id}: {len(outcomes):,} of "
                            f"{plural(len(batches), 'request')} already answered"
                        )
                    else:
                        rows, batches = plan(rows, cfg, event, client, journal, contacts, svc.log)
                        if not cfg.dry_run:
                            _ask(svc, cfg, event, files, rows, batches, client)
                            meta = {"event_id": cfg.event_id, "files": [f.file for f in files]}
                            run_id = journal.begin(key, meta, plan=(rows, batches))
                    if not cfg.dry_run:
                        todo = [b for b in batches if b.id not in outcomes]
                        on_outcome = _recorder(journal, run_id, batches, outcomes, svc.progress)
                        svc.log(
                            f"sending {plural(sum(len(b.items) for b in todo), 'participation')} "
                            f"in {plural(len(todo), 'request')}"
                        )
                        result = sender.send(client, todo, concurrency=cfg.concurrency, on_outcome=on_outcome)
                        del todo
                        outcomes.update(result.outcomes)
                        stopped = result.stopped
                except StopRun as exc:
                    stopped = exc
                except sender.Interrupted:
                    stopped = interrupted()
                with no_gc():
                    verdicts = _Verdicts.of(batches, outcomes, dry_run=cfg.dry_run, stopped=stopped)
                    # the verdicts hold every answer: a participation per contact need not live on
                    batches, outcomes = [], {}
                    rows = _apply(rows, verdicts)
                    del verdicts
                if cfg.verify and not cfg.dry_run and not stopped:
                    verification = check_recorded(client, cfg.event_id, recorded_from_rows(rows), counters_before)
                stats = client.stats
            if run_id:
                try:
                    journal.update_rows(run_id, rows)
                except StopRun as exc:  # a full disk: the report below still says what is known
                    stopped = stopped or exc
            exit_code = 3 if stopped else exit_code_for(rows)
            if verification is not None and verification.exit_code and exit_code == 0:
                exit_code = 1
            summary = RunSummary(
                run_id=run_id or f"{'dry-run' if cfg.dry_run else 'not-started'}-{stamp_of(started)}",
                event=event,
                files=files,
                started_at=started,
                finished_at=svc.now(),
                timezone=cfg.timezone,
                dry_run=cfg.dry_run,
                stats=stats,
                exit_code=exit_code,
                report_path=str(report_path),
                notes=(*_notes(stopped, resumed), *([size_note] if size_note else [])),
            )
            rows = _in_input_order(rows, files)
            found, action_files = _act_on(
                rows, {display_name(p, svc.cwd): p for p in paths}, cfg, report_path, files, cfg.timezone, svc
            )
            with no_gc():
                report = build_report(rows, summary, originals=found, action_files=action_files)
                kept = stamped_name(report_path, summary.run_id)
                svc.log(f"writing the report ({plural(len(rows), 'row')})")
                written = keep_report(report, report_path, kept, cfg.report_format)
            if run_id and not stopped:
                journal.finish(run_id, exit_code, str(kept))
        if box is not None:
            sandbox_rows = tuple(box.participations(cfg.event_id))
            sandbox_dump = home / "sandbox-hubspot-state.json"
            home.mkdir(parents=True, exist_ok=True)
            sandbox_dump.write_text(json.dumps(box.state(), indent=1, sort_keys=True, default=str), encoding="utf-8")
    if not stopped and cfg.done_dir and not cfg.dry_run:
        _move_done(_settled_files(paths, rows, svc), Path(cfg.done_dir))
    return RunResult(
        exit_code=exit_code,
        report=report,
        report_path=written,
        report_copy=kept,
        run_id=summary.run_id,
        stopped=stopped,
        resumed=resumed,
        sandbox_participations=sandbox_rows,
        sandbox_dump=sandbox_dump,
        verification=verification,
    )


def _ask(
    svc: Services,
    cfg: Config,
    event: EventInfo,
    files: Sequence[FileInfo],
    rows: Sequence[Row],
    batches: Sequence[Batch],
    client: HubSpot,
) -> None:
    """On a terminal, show what is about to be sent and ask; participations cannot be deleted."""
    if svc.confirm is None or cfg.dry_run or not batches:
        return
    preview = build_preview(event, files, rows, batches, client.limiter.limit, cfg.concurrency)
    if not svc.confirm(preview, event):
        raise Declined(
            "Nothing was sent.",
            hint="Run the same command again to be asked again, or add --yes to send without the question.",
        )


def plan(
    rows: Sequence[Row],
    cfg: Config,
    event: EventInfo,
    client: HubSpot,
    journal: Journal,
    contacts: Any,
    log: Callable[[str], None],
) -> tuple[list[Row], list[Batch]]:
    """A new run's plan: times filled, contacts resolved, one participation per contact, what the
    ledger already holds left out, the rest cut into batches."""
    rows = fill_times(rows, event)
    rows = resolve(rows, cfg=cfg, client=client, journal=journal, contacts=contacts, log=log)
    with no_gc():
        merged = chunker.merge(rows, cfg.event_id)
        done = set() if cfg.force else journal.already_recorded(cfg.event_id, merged.participations)
        kept, parts = skip_recorded(merged.rows, merged.participations, done)
        if done:
            kept = say_when_recorded(kept, journal, cfg.event_id)
        return kept, chunker.chunk(parts, cfg.effective_batch_size)


def resume_plan(journal: Journal, run_id: str, cfg: Config) -> tuple[list[Row], list[Batch], dict[str, BatchOutcome]]:
    """An interrupted run's plan and answers; planned rows get their outcome again from the answers."""
    rows, batches = journal.load_plan(run_id)
    planned: dict[RowRef, list[State]] = {}
    for b in batches:
        for p in b.items:
            planned.setdefault(p.rows[0], []).append(b.state)
    rows = [_unsettle(r, planned[r.ref]) if r.ref in planned else r for r in rows]
    outcomes = journal.outcomes(run_id)
    if not cfg.force:
        rows, batches = _drop_recorded_elsewhere(rows, batches, outcomes, journal, cfg.event_id)
    return rows, batches, outcomes


def _recorder(
    journal: Journal,
    run_id: str,
    batches: Sequence[Batch],
    outcomes: dict[str, BatchOutcome],
    progress: Callable[[int, int, int, int], None] | None,
) -> Callable[[Batch, BatchOutcome], None]:
    """The sender's callback: commit each answer to the journal at once, then report progress."""
    total, contacts = len(batches), sum(len(b.items) for b in batches)
    done = [len(outcomes), sum(len(b.items) for b in batches if b.id in outcomes)]

    def on_outcome(batch: Batch, outcome: BatchOutcome) -> None:
        journal.record_outcome(run_id, outcome, batch)
        done[0] += 1
        done[1] += len(batch.items)
        if progress is not None:
            progress(done[0], total, done[1], contacts)

    if progress is not None:
        progress(done[0], total, done[1], contacts)  # the baseline the rate and ETA count from
    return on_outcome


def _drop_recorded_elsewhere(
    rows: list[Row], batches: list[Batch], outcomes: dict[str, BatchOutcome], journal: Journal, event_id: str
) -> tuple[list[Row], list[Batch]]:
    """A resumed run does not re-send what the ledger says was recorded since it stopped
    (by ``importer retry``, another file or another run)."""
    todo = [p for b in batches if b.id not in outcomes for p in b.items]
    done = journal.already_recorded(event_id, todo)
    if not done:
        return rows, batches
    keep: list[Batch] = []
    for b in batches:
        if b.id in outcomes:
            keep.append(b)
            continue
        items = tuple(p for p in b.items if (p.key, p.state) not in done)
        if items:
            keep.append(replace(b, items=items))
    rows, _ = skip_recorded(rows, todo, done)
    return say_when_recorded(rows, journal, event_id), keep


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


def _notes(stopped: StopRun | None, resumed: bool) -> tuple[str, ...]:
    notes: list[str] = []
    if resumed:
        notes.append("Resumed an interrupted run: batches answered before were not sent again.")
    if stopped:
        notes.append(f"Stopped early: {stopped}")
    return tuple(notes)


def _in_input_order(rows: Sequence[Row], files: Sequence[FileInfo]) -> list[Row]:
    """Rows by file (in the order given) then row number.  Two stable sorts on C-level keys: the
    rows are nearly always in this order already, which a sort checks in one pass."""
    by_row = sorted(rows, key=attrgetter("ref.row"))
    if len(files) < 2:
        return by_row
    order = {f.file: i for i, f in enumerate(files)}
    return sorted(by_row, key=lambda r: order.get(r.ref.file, len(order)))


def _settled_files(paths: Sequence[Path], rows: Sequence[Row], svc: Services) -> list[Path]:
    """The inputs every row of which is settled for good (recorded, merged, skipped, or rejected
    for its data).  A file with a failed row, or a row merged into a failed one, stays in the
    inbox so that the next run sends what is missing."""
    failed = [r for r in rows if r.outcome is Outcome.FAILED or r.outcome is None]
    if not failed:
        return list(paths)
    refs = {r.ref for r in failed}
    open_files = Counter(r.ref.file for r in failed)
    open_files.update(r.ref.file for r in rows if r.merged_into is not None and r.merged_into in refs)
    kept: list[Path] = []
    for path in paths:
        name = display_name(path, svc.cwd)
        if name in open_files:
            svc.log(
                f"{name} stays where it is: {open_files[name]} of its rows are not settled; the next run sends them"
            )
        else:
            kept.append(path)
    return kept


def _move_done(paths: Sequence[Path], done_dir: Path) -> None:
    """Scheduled runs: move processed exports out of the inbox so the next run does not see them."""
    done_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = done_dir / path.name
        if target.exists():
            target = done_dir / f"{path.stem}.{int(time.time())}{path.suffix}"
        shutil.move(str(path), target)


def summary_line(result: RunResult, exit_code: int | None = None) -> str:
    """The one machine-readable line of --json."""
    return json.dumps(
        {
            "run_id": result.run_id,
            "exit_code": result.exit_code if exit_code is None else exit_code,
            "report": str(result.report_path) if result.report_path else None,
            "report_copy": str(result.report_copy) if result.report_copy else None,
            "counts": dict(result.report.counts),
            "by_reason": dict(result.report.by_reason),
            "resumed": result.resumed,
            "stopped": result.stopped.reason if result.stopped else None,
            "verified": None if result.verification is None else result.verification.exit_code == 0,
            "files": [{"file": f.file, "profile": f.profile, "rows": f.data_rows} for f in result.report.summary.files],
        },
        sort_keys=True,
    )


# ---------------------------------------------------------------------------------------------
# inspect, verify, retry


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


def _reopen(row: Row) -> Row | None:
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


def _retry_line(taken: int, not_found: int, rows: Sequence[Row], batches: Sequence[Batch]) -> str:
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


def _act_on(
    rows: Sequence[Row],
    sources: dict[str, Path],
    cfg: Config,
    report_path: Path,
    files: Sequence[FileInfo],
    timezone: str | None,
    svc: Services,
) -> tuple[dict[RowRef, actions.Original], dict[str, str]]:
    """Read the original lines of the rows that need attention and write the files to act on
    beside the report; returns the lines and the files for the report to name."""
    found = actions.originals(
        rows,
        sources,
        lambda p: load(p, sheet=cfg.sheet, max_bytes=int(cfg.max_file_mb * 2**20)),
        map_options(cfg),
        svc.log,
    )
    todo = actions.plan(
        report_path,
        rows,
        found,
        event_id=cfg.event_id,
        files=files,
        timezone=timezone,
        extra_args=["--sandbox"] if cfg.sandbox else [],
    )
    try:
        actions.write(todo, report_path)
    except OSError as exc:
        svc.log(f"cannot write the files to act on beside {report_path}: {exc.strerror or exc}")
        return found, {}
    return found, todo.paths()


def _source_path(name: str, cwd: Path) -> Path:
    """An input file as a report names it (relative to the folder the import ran in)."""
    path = Path(name)
    return path if path.is_absolute() else Path(cwd) / path


def retry(cfg: Config, report_path: Path, svc: Services | None = None) -> RunResult:
    """``importer retry REPORT``: look up and send again the rows whose fix lay outside the file
    (:func:`retryable`), then write the updated report (beside the given one unless --report)."""
    svc = svc or Services()
    started = svc.now()
    summary_in, table = read_report(report_path)
    event_id = cfg.event_id or summary_in.get("event_id", "")
    if not event_id:
        raise InputError(f"{report_path} does not name its event.", hint="Pass --event OBJECT_ID.")
    rows = [row_from_report(d) for d in table]
    retry_rows = [again for r in rows if (again := _reopen(r)) is not None]
    not_found = sum(1 for r in rows if r.reason == Reason.CONTACT_NOT_FOUND.value and retryable(r))
    cfg = replace(cfg, event_id=event_id)
    out_path = Path(cfg.report) if cfg.report else latest_name(report_path)
    check_report_path(out_path)
    stopped: StopRun | None = None
    outcomes: dict[str, BatchOutcome] = {}
    batches: list[Batch] = []
    run_id = ""
    stats = RunStats()
    with interruptible(svc) as waits, Journal.open(cfg.state_dir, clock=time.time) as journal:
        with connect(cfg, svc, waits) as client:
            try:
                event = client.get_event(event_id)
                retry_rows_in = retry_rows
                retry_rows, batches = plan(retry_rows, cfg, event, client, journal, None, svc.log)
                key = Journal.run_key(event_id, [(str(report_path), file_digest(report_path))], {"retry": True})
                meta = {"event_id": event_id, "retry_of": str(report_path)}
                run_id = journal.begin(key, meta, plan=(retry_rows, batches))
                svc.log(_retry_line(len(retry_rows_in), not_found, retry_rows, batches))
                result = sender.send(
                    client,
                    batches,
                    concurrency=cfg.concurrency,
                    on_outcome=_recorder(journal, run_id, batches, {}, svc.progress),
                )
                outcomes, stopped = result.outcomes, result.stopped
            except StopRun as exc:
                event, stopped = EventInfo(object_id=event_id), exc
            except sender.Interrupted:
                event, stopped = EventInfo(object_id=event_id), interrupted()
            stats = client.stats
        retried = {r.ref: r for r in settle(retry_rows, batches, outcomes, dry_run=False, stopped=stopped)}
        final = [retried.get(r.ref, r) for r in rows]
        exit_code = 3 if stopped else exit_code_for(final)
        profiles = {d.get("source_file", ""): d.get("profile", "") for d in table}
        files = tuple(
            FileInfo(file=name, profile=profiles.get(name) or "from report")
            for name in dict.fromkeys(r.ref.file for r in rows)
        )
        summary = RunSummary(
            run_id=run_id or f"retry-{stamp_of(started)}",
            event=event,
            files=files,
            started_at=started,
            finished_at=svc.now(),
            timezone=summary_in.get("timezone") or cfg.timezone,
            dry_run=False,
            stats=stats,
            exit_code=exit_code,
            report_path=str(out_path),
            notes=(
                f"Retry of {report_path}: {plural(len(retry_rows), 'row')} looked up and sent again.",
                *_notes(stopped, False),
            ),
        )
        sources = {name: _source_path(name, svc.cwd) for name in dict.fromkeys(r.ref.file for r in final)}
        found, action_files = _act_on(
            final, {k: v for k, v in sources.items() if v.is_file()}, cfg, out_path, files, summary.timezone, svc
        )
        report = build_report(final, summary, originals=found, action_files=action_files)
        kept = stamped_name(out_path, summary.run_id)
        written = keep_report(report, out_path, kept, cfg.report_format)
        if run_id and not stopped:
            journal.finish(run_id, exit_code, str(kept))
    return RunResult(
        exit_code=exit_code,
        report=report,
        report_path=written,
        report_copy=kept,
        run_id=summary.run_id,
        stopped=stopped,
    )


__all__ = [
    "Portal",
    "RunResult",
    "Services",
    "State",
    "VerifyResult",
    "expand_inputs",
    "fill_times",
    "inspect",
    "read_file",
    "resolve",
    "retry",
    "run",
    "settle",
    "summary_line",
    "verify",
    "verify_json",
]
