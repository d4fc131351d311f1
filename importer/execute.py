"""Executing a plan, the one path ``run`` and ``retry`` share: the journal entry begun, the
batches sent (each answer journaled as it comes), the answers settled onto the rows, the report
written and kept, and the inputs moved to the done folder.

The two commands differ only in what they plan (``planning``) and in the :class:`Job` they hand
in.  Every ending (a stop, an interrupt, a full disk) still settles every row and writes a true
report; a run that stopped stays resumable."""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import actions, chunker, events, sender
from . import rows as rows_ops
from .answers import Answers
from .checking import VerifyResult, check_recorded, recorded_from_rows
from .config import Config
from .errors import Declined, StopRun
from .hubspot import HubSpot
from .inputs import display_name, map_options
from .journal import Journal
from .loader import load
from .models import (
    PARTS,
    Batch,
    BatchOutcome,
    EventInfo,
    FileInfo,
    Outcome,
    RunStats,
)
from .planning import Plan, Planner, look_up_again, sending_line
from .preview import build_preview
from .report_names import keep_report, stamp_of, stamped_name
from .reporter import Report, RunSummary, build_report, exit_code_for, plural
from .services import Portal, Services, connect
from .settle import apply as apply_fates
from .settle import fates as settle_fates
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
    #: ``importer retry``: the report it retried, and the counts of the rows it looked up and sent again
    retry_of: Path | None = None
    retried: Report | None = None


@contextmanager
def configured(cfg: Config, rows: pa.Table) -> Iterator[tuple[Config, Any]]:
    """The portal the configuration names: nothing to start, nothing to show afterwards."""
    del rows  # the run rebuilds its rows: this frame must not keep the first ones alive
    yield cfg, None


@dataclass
class Job:
    """What ``run`` or ``retry`` hands the execute path: its planner and how to name and keep
    what it did."""

    cfg: Config
    #: the rows before planning (a rows table); the execute path takes them (and empties this) so
    #: that a large input is not held twice
    rows: pa.Table
    planner: Planner
    #: the journal's key (same inputs and options: the same run, resumable) and its metadata
    key: str
    meta: dict[str, object]
    files: tuple[FileInfo, ...]
    report_path: Path
    started: datetime
    #: how the run is named when it never began in the journal (``dry-run``, ``retry``, ...)
    label: str
    timezone: str | None
    #: the input files by their report name, to read the original lines of rows that need attention
    sources: dict[str, actions.Source]
    portal: Portal = configured
    #: with --event-name, the key once HubSpot's list has said which event the name is
    rekey: Callable[[str], str] | None = None
    #: a retry's: the report's rows, which the settled rows replace (by file and row number), and
    #: the report they came from
    around: pa.Table | None = None
    retry_of: Path | None = None
    #: a run's inputs, moved to ``done_dir`` once all their rows are settled
    inputs: Sequence[Path] = ()
    #: the report's notes before and after the run's own (resumed, stopped early)
    notes_first: tuple[str, ...] = ()
    notes_last: tuple[str, ...] = ()


@dataclass
class _Sent:
    """What sending a plan left: the settled rows (which the report takes) and how it went."""

    #: the run's config, its event id found by name (--event-name) when it was not given
    cfg: Config
    rows: pa.Table
    run_id: str
    resumed: bool
    event: EventInfo
    stopped: StopRun | None
    stats: RunStats
    verification: VerifyResult | None


def execute(job: Job, svc: Services) -> RunResult:
    """Plan, send, settle and report one run: every row of the plan ends up in the report."""
    with interruptible(svc) as waits, job.portal(job.cfg, job.rows) as (cfg, box):
        if box is not None:
            named = cfg.event_id or repr(cfg.event_name)
            svc.log(f"sandbox: created marketing event {named} at {cfg.base_url} for this run only")
        with Journal.open(cfg.state_dir, clock=time.time, log=svc.log) as journal:
            sent = _send(job, cfg, svc, waits, journal)
            cfg = sent.cfg
            result, settled_inputs = _report(job, cfg, sent, journal, svc)
        if box is not None:
            home = Path(job.cfg.state_dir)
            dump = home / "sandbox-hubspot-state.json"
            shown = tuple(box.participations(cfg.event_id))
            home.mkdir(parents=True, exist_ok=True)
            dump.write_text(json.dumps(box.state(), indent=1, sort_keys=True, default=str), encoding="utf-8")
            result = replace(result, sandbox_participations=shown, sandbox_dump=dump)
    if job.inputs and not result.stopped and job.cfg.done_dir and not job.cfg.dry_run:
        _move_done(settled_inputs, Path(job.cfg.done_dir))
    return result


def _send(job: Job, cfg: Config, svc: Services, waits: Waits, journal: Journal) -> _Sent:
    """The plan made and sent, and its answers settled onto the rows; a stop or an interrupt
    ends the sending, never the settling."""
    stopped: StopRun | None = None
    verification: VerifyResult | None = None
    counters_before: dict[str, int] | None = None
    event = EventInfo(object_id=cfg.event_id)
    plan, resumed = Plan(job.rows, PARTS.empty_table()), False  # the rows as they are, should planning stop
    job.rows = rows_ops.empty()
    with connect(cfg, svc, waits) as client:
        try:
            if not cfg.event_id:
                cfg = replace(cfg, event_id=_event_named(client, cfg.event_name, svc).object_id)
                job.meta["event_id"] = cfg.event_id
                if job.rekey is not None:
                    job.key = job.rekey(cfg.event_id)
            event = client.get_event(cfg.event_id)
            if cfg.verify and not cfg.dry_run:
                counters_before = client.counters(cfg.event_id)
            plan = job.planner(cfg, plan.rows, client, journal, event)
            resumed = bool(plan.run_id)
            if not cfg.dry_run:
                stopped = _send_plan(job, cfg, plan, client, journal, event, waits, svc)
        except StopRun as exc:
            stopped = exc
        except sender.Interrupted:
            stopped = interrupted()
        fates = settle_fates(plan.rows, plan.parts, plan.outcomes, dry_run=cfg.dry_run, stopped=stopped)
        plan.parts, plan.outcomes = PARTS.empty_table(), Answers()  # let go before the rows' columns are written
        rows = apply_fates(plan.rows, fates)
        plan.rows = rows_ops.empty()  # the settled rows only
        del fates
        if cfg.verify and not cfg.dry_run and not stopped:
            verification = check_recorded(client, cfg.event_id, recorded_from_rows(rows), counters_before)
        return _Sent(cfg, rows, plan.run_id, resumed, event, stopped, client.stats, verification)


def _event_named(client: HubSpot, name: str, svc: Services) -> EventInfo:
    """The event ``--event-name`` names, from HubSpot's list of the portal's events."""
    svc.log(f"looking up the marketing event named {name!r} in HubSpot")
    found = events.pick(client.list_events(), name, svc.choose)
    svc.log(f"event {name!r} is {events.describe(found)}")
    return found


def list_events(cfg: Config, name: str = "", svc: Services | None = None) -> list[EventInfo]:
    """The portal's marketing events (``importer events``), those ``--event-name`` would choose
    from when a name is given, in HubSpot's order."""
    svc = svc or Services()
    with interruptible(svc) as waits, connect(cfg, svc, waits) as client:
        found = list(client.list_events())
    if not name:
        return found
    exact, partial = events.matching(found, name)
    return exact or partial


def _send_plan(
    job: Job, cfg: Config, plan: Plan, client: HubSpot, journal: Journal, event: EventInfo, waits: Waits, svc: Services
) -> StopRun | None:
    """Ask, begin the run in the journal (a resumed one has begun), send what has no answer yet."""
    everything = chunker.batches(plan.parts)
    todo = everything.without(plan.outcomes)
    _ask(svc, cfg, event, job.files, plan.rows, todo, client)
    if not plan.run_id:
        plan.run_id = journal.begin(job.key, job.meta, plan=(plan.rows, plan.parts))
    for line in plan.says:
        svc.log(line)
    if svc.expect is not None:
        svc.expect(0, client.limiter.limit, cfg.concurrency)  # nothing follows the writes
    on_outcome = _recorder(journal, plan, everything, todo, svc.progress)
    del everything
    with waits.deferring():
        result = sender.send(client, todo, concurrency=cfg.concurrency, on_outcome=on_outcome, waits=waits)
    if result.stopped or waits.interrupted:
        return result.stopped or interrupted()
    return _send_again(cfg, plan, client, journal, waits, svc)


def _send_again(
    cfg: Config, plan: Plan, client: HubSpot, journal: Journal, waits: Waits, svc: Services
) -> StopRun | None:
    """Contacts whose cached id HubSpot no longer has, looked up again and sent in this run; the
    plan is journaled first, then the cache corrected, so a run stopped in between resumes them."""
    again = look_up_again(plan, cfg, client, journal, svc.log)
    if again is None:
        return None
    plan.rows, plan.parts = again.rows, again.parts
    journal.update_plan(plan.run_id, plan.rows, plan.parts)
    journal.cache_forget(again.forget)
    journal.cache_put(again.found)
    if not again.new.num_rows:
        return None
    svc.log(sending_line(again.new))
    todo = chunker.batches(again.new)
    on_outcome = _recorder(journal, plan, chunker.batches(plan.parts), todo, svc.progress)
    with waits.deferring():
        result = sender.send(client, todo, concurrency=cfg.concurrency, on_outcome=on_outcome, waits=waits)
    return result.stopped or (interrupted() if waits.interrupted else None)


def _report(job: Job, cfg: Config, sent: _Sent, journal: Journal, svc: Services) -> tuple[RunResult, list[Path]]:
    """The settled rows journaled, then the report built, written and kept; and the inputs that
    may move to the done folder."""
    rows, stopped = sent.rows, sent.stopped
    sent.rows = rows_ops.empty()  # the report's rows below are the only copy kept
    if sent.run_id:
        try:
            journal.update_rows(sent.run_id, rows)
        except StopRun as exc:  # a full disk: the report below still says what is known
            stopped = stopped or exc
    retried = rows if job.around is not None else None
    if job.around is not None:
        rows = rows_ops.replace_rows(job.around, rows)
    rows = rows_ops.in_order(rows, [f.file for f in job.files])
    exit_code = 3 if stopped else exit_code_for(rows)
    if sent.verification is not None and sent.verification.exit_code and exit_code == 0:
        exit_code = 1
    summary = RunSummary(
        run_id=sent.run_id or f"{job.label}-{stamp_of(job.started)}",
        event=sent.event,
        files=job.files,
        started_at=job.started,
        finished_at=svc.now(),
        timezone=job.timezone,
        dry_run=cfg.dry_run,
        stats=sent.stats,
        exit_code=exit_code,
        report_path=str(job.report_path),
        notes=(*job.notes_first, *_notes(stopped, sent.resumed), *job.notes_last),
    )
    settled_inputs = _settled_files(job.inputs, rows, svc)
    found, action_files = _act_on(rows, job.sources, cfg, job.report_path, job.files, job.timezone, svc)
    report = build_report(rows, summary, originals=found, action_files=action_files)
    kept = stamped_name(job.report_path, summary.run_id)
    svc.log(f"writing the report ({plural(rows.num_rows, 'row')})")
    written = keep_report(report, job.report_path, kept, cfg.report_format)
    if sent.run_id and not stopped:
        journal.finish(sent.run_id, exit_code, str(kept))
        try:
            journal.prune(cfg.keep_plans, cfg.keep_plans_days)
        except StopRun:  # a full disk: this run is finished and journaled, only older plans stay a while
            svc.log("the plans of earlier runs stay in the state folder this time: the disk is full; free some space")
    return RunResult(
        exit_code=exit_code,
        report=report,
        report_path=written,
        report_copy=kept,
        run_id=summary.run_id,
        stopped=stopped,
        resumed=sent.resumed,
        verification=sent.verification,
        retry_of=job.retry_of,
        retried=None if retried is None else build_report(retried, summary),
    ), settled_inputs


# ---------------------------------------------------------------------------------------------
# the run


@contextmanager
def interruptible(svc: Services) -> Iterator[Waits]:
    """The run's waits, and SIGINT and SIGTERM handled so the run can stop cleanly: the signal ends
    every wait in every thread and raises ``sender.Interrupted`` in the main thread, except while
    sending (``Waits.deferring``), which stops at its next step; answers in flight are still
    recorded, exit code 3."""
    waits = Waits(svc.sleep)
    if threading.current_thread() is not threading.main_thread():
        yield waits
        return

    def handler(signum: int, frame: object) -> None:
        waits.interrupt()
        if not waits.deferred:
            raise sender.Interrupted(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield waits
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _ask(
    svc: Services,
    cfg: Config,
    event: EventInfo,
    files: Sequence[FileInfo],
    rows: pa.Table,
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
    plan: Plan,
    everything: chunker.Batches,
    todo: chunker.Batches,
    progress: Callable[[int, int, int, int], None] | None,
) -> Callable[[Batch, BatchOutcome], None]:
    """The sender's callback: commit each answer to the journal at once, keep it with the plan's
    answers (in columns), then report progress."""
    total, contacts = len(everything), everything.participations
    done = [total - len(todo), contacts - todo.participations]
    run_id, answers = plan.run_id, plan.outcomes

    def on_outcome(batch: Batch, outcome: BatchOutcome) -> None:
        journal.record_outcome(run_id, outcome, batch)
        answers.add(outcome)
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


def _settled_files(paths: Sequence[Path], rows: pa.Table, svc: Services) -> list[Path]:
    """The inputs every row of which is settled for good (recorded, merged, skipped, or rejected
    for its data).  A file with a failed row, or a row merged into a failed one, stays in the
    inbox so that the next run sends what is missing."""
    if not paths:
        return []
    outcome = rows.column("outcome")
    failed = pc.fill_null(pc.equal(outcome, Outcome.FAILED.value), True)
    if not pc.any(failed).as_py():
        return list(paths)
    failed_rows = rows_ops.row_keys(rows.filter(failed)).combine_chunks()
    on_failed = pc.fill_null(pc.is_in(rows_ops.merged_keys(rows), value_set=failed_rows), False)
    open_files = rows_ops.counts(rows.filter(pc.or_(failed, on_failed)), "file")
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
            "retry_of": str(result.retry_of) if result.retry_of else None,
            "retried": None
            if result.retried is None
            else {
                "rows": result.retried.rows.num_rows,
                "counts": dict(result.retried.counts),
                "by_reason": dict(result.retried.by_reason),
            },
        },
        sort_keys=True,
    )


# ---------------------------------------------------------------------------------------------
# inspect, verify, retry


def _act_on(
    rows: pa.Table,
    sources: dict[str, actions.Source],
    cfg: Config,
    report_path: Path,
    files: Sequence[FileInfo],
    timezone: str | None,
    svc: Services,
) -> tuple[dict[actions.Where, actions.Original], dict[str, str]]:
    """Read the original lines of the rows that need attention and write the files to act on
    beside the report; returns the lines and the files for the report to name."""
    found = actions.originals(
        rows,
        sources,
        lambda p, sheet: load(p, sheet=sheet, max_bytes=int(cfg.max_file_mb * 2**20)),
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
