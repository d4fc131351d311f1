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
from contextlib import contextmanager
from dataclasses import dataclass, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from . import actions, sender
from .bulk import no_gc
from .checking import VerifyResult, check_recorded, recorded_from_rows, verify, verify_json
from .config import Config
from .errors import Declined, InputError, StopRun
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
    Reason,
    Row,
    RowRef,
    RunStats,
    State,
    worst_first,
)
from .planning import fill_times, plan, reopen, resolve, resume_plan, retry_line, retryable
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
from .services import Portal, Services, connect
from .waits import Waits, interrupted


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
    (:func:`planning.retryable`), then write the updated report (beside the given one unless --report)."""
    svc = svc or Services()
    started = svc.now()
    summary_in, table = read_report(report_path)
    event_id = cfg.event_id or summary_in.get("event_id", "")
    if not event_id:
        raise InputError(f"{report_path} does not name its event.", hint="Pass --event OBJECT_ID.")
    rows = [row_from_report(d) for d in table]
    retry_rows = [again for r in rows if (again := reopen(r)) is not None]
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
                svc.log(retry_line(len(retry_rows_in), not_found, retry_rows, batches))
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
