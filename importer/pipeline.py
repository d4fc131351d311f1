"""The application: ``run`` and ``retry``, composed of the stages
loader -> mapper -> resolve -> merge/chunk -> sender -> reporter.

Each entry point gathers what it plans from (the input files, or a report), then hands a
``execute.Job`` to the one execute path they share: they differ only in what they plan.  The
seams (HTTP transport, clock, sleep, wall time, log) come in as ``Services``, so tests can run
it without waiting and without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from . import actions
from . import rows as rows_ops
from .checking import VerifyResult, verify, verify_json
from .config import Config
from .errors import InputError
from .execute import Job, RunResult, configured, execute, list_events, summary_line
from .hubspot import HubSpot
from .inputs import display_name, expand_inputs, file_digest, read_file
from .inspecting import inspect
from .journal import Journal
from .mapper import undecided_error
from .models import EventInfo, FileInfo, Reason
from .planning import Plan, plan_retry, plan_run, reopen, retryable
from .readback import read_back
from .report_names import latest_name
from .reporter import check_report_path, choose_format, default_report_path, plural
from .services import Portal, Services


def _portal(cfg: Config, svc: Services) -> Portal:
    if not cfg.sandbox:
        return configured
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


def _report_path(cfg: Config, paths: Sequence[Path], cwd: Path) -> Path:
    """Where the report goes: --report, else beside the first input (or in --report-dir)."""
    report_path = Path(cfg.report) if cfg.report else default_report_path(paths[0], cwd)
    if cfg.report_dir and not cfg.report:
        report_path = Path(cfg.report_dir) / report_path.name
    if cfg.report_format and not cfg.report:
        report_path = report_path.with_suffix(".json" if cfg.report_format == "json" else f".{cfg.report_format}")
    return report_path


def _read_inputs(paths: Sequence[Path], cfg: Config, svc: Services) -> tuple[pa.Table, tuple[FileInfo, ...]]:
    """Every input read and mapped, and said: a file whose states it cannot tell stops the run."""
    mapped = [m for p in paths for m in read_file(p, cfg, svc.cwd)]
    files = tuple(m.info for m in mapped)
    for info in files:
        if info.undecided:
            raise undecided_error(info)
    for info in files:
        svc.log(f"{info.file}: {plural(info.data_rows, 'row')}, profile {info.profile}, state from {info.state_source}")
        for note in info.notes:
            svc.log(f"{info.file}: {note}")
    rows = pa.concat_tables([m.table for m in mapped]) if mapped else rows_ops.empty()
    del mapped  # the rows above are the only copy kept: large files are large
    return rows, files


def run(cfg: Config, svc: Services | None = None) -> RunResult:
    """One import, start to finish (or resumed): every input row ends up in the report."""
    svc = svc or Services()
    started = svc.now()
    if not cfg.event_id and not cfg.event_name:
        raise InputError(
            "No marketing event given.",
            hint="Pass --event OBJECT_ID (the number in the event's URL) or --event-name NAME.",
        )
    paths = expand_inputs(cfg.inputs, svc.cwd, empty_inbox=cfg.empty_inbox)
    rows, files = _read_inputs(paths, cfg, svc)
    contacts = None
    if cfg.contacts_file:
        from .contacts import load_contacts_map

        contacts = load_contacts_map(Path(cfg.contacts_file))
    report_path, size_note = choose_format(
        _report_path(cfg, paths, svc.cwd), rows.num_rows, explicit=bool(cfg.report or cfg.report_format)
    )
    check_report_path(report_path, [*paths, *([Path(cfg.contacts_file)] if cfg.contacts_file else [])])
    if size_note:
        svc.log(size_note)
    digests, options = [(p.name, file_digest(p)) for p in paths], _options_fingerprint(cfg)

    def key_for(event_id: str) -> str:
        """The journal's key: the same event, inputs and options are the same run (resumable)."""
        return Journal.run_key(event_id, digests, options)

    def planner(cfg: Config, rows: pa.Table, client: HubSpot, journal: Journal, event: EventInfo) -> Plan:
        key = key_for(cfg.event_id)
        return plan_run(
            cfg,
            rows,
            client,
            journal,
            event,
            key=key,
            contacts=contacts,
            log=svc.log,
            lookups=svc.lookups,
            expect=svc.expect,
        )

    job = Job(
        cfg=cfg,
        rows=rows,
        planner=planner,
        key=key_for(cfg.event_id),
        rekey=key_for,
        meta={"event_id": cfg.event_id, "files": [f.file for f in files]},
        files=files,
        report_path=report_path,
        started=started,
        label="dry-run" if cfg.dry_run else "not-started",
        timezone=cfg.timezone,
        sources=_sources(paths, files, cfg, svc.cwd),
        portal=_portal(cfg, svc),
        inputs=paths,
        notes_last=(size_note,) if size_note else (),
    )
    del rows  # the job holds them until they are planned
    return execute(job, svc)


def _sources(paths: Sequence[Path], files: Sequence[FileInfo], cfg: Config, cwd: Path) -> dict[str, actions.Source]:
    """Where each ``source_file`` of the report was read: the file, and its sheet when a workbook's
    registrants and attendees sheets were both read (named ``file [sheet]``)."""
    out: dict[str, actions.Source] = {}
    for path in paths:
        name = display_name(path, cwd)
        out[name] = (path, cfg.sheet)
        for info in files:
            if info.sheet and info.file == f"{name} [{info.sheet}]":
                out[info.file] = (path, info.sheet)
    return out


def _source_of(name: str, cwd: Path) -> actions.Source:
    """An input file as a report names it (relative to the folder the import ran in), and the
    sheet of a ``file [sheet]`` name."""
    file, sheet = actions.sheet_of(name)
    if sheet is not None and not (Path(cwd) / name).is_file():
        name = file
    else:
        sheet = None
    path = Path(name)
    return (path if path.is_absolute() else Path(cwd) / path), sheet


def retry(cfg: Config, report_path: Path, svc: Services | None = None) -> RunResult:
    """``importer retry REPORT``: look up and send again the rows whose fix lay outside the file
    (:func:`planning.retryable`), then write the updated report (beside the given one unless --report)."""
    svc = svc or Services()
    started = svc.now()
    report_path = report_path if report_path.is_absolute() else svc.cwd / report_path  # paths are said whole
    report = read_back(report_path, cfg.event_id)
    rows = report.rows
    reopened = reopen(rows)
    not_found = pc.sum(pc.and_(pc.equal(rows.column("reason"), Reason.CONTACT_NOT_FOUND.value), retryable(rows)))
    not_found = not_found.as_py() or 0
    # a retry sends what it reopened: a dry run or a verify in the config file is for ``run``
    cfg = replace(cfg, event_id=report.event_id, dry_run=False, verify=False)
    out_path = Path(cfg.report) if cfg.report else latest_name(report_path)
    check_report_path(out_path)
    profiles = {d.get("source_file", ""): d.get("profile", "") for d in report.lines}
    names = {str(name): n for name, n in rows_ops.counts(rows, "file").items()}
    sources = {name: _source_of(name, svc.cwd) for name in names}
    key = Journal.run_key(report.event_id, [(str(report_path), file_digest(report_path))], {"retry": True})
    job = Job(
        cfg=cfg,
        rows=reopened,
        planner=partial(plan_retry, not_found=not_found, log=svc.log, lookups=svc.lookups, expect=svc.expect),
        key=key,
        meta={"event_id": report.event_id, "retry_of": str(report_path)},
        files=tuple(
            FileInfo(file=name, profile=profiles.get(name) or "from report", data_rows=n) for name, n in names.items()
        ),
        report_path=out_path,
        started=started,
        label="retry",
        timezone=report.summary.get("timezone") or cfg.timezone,
        sources={k: v for k, v in sources.items() if v[0].is_file()},
        around=rows,
        retry_of=report_path,
        notes_first=(f"Retry of {report_path}: {plural(reopened.num_rows, 'row')} looked up and sent again.",),
    )
    del reopened
    return execute(job, svc)


__all__ = [
    "Portal",
    "RunResult",
    "Services",
    "VerifyResult",
    "expand_inputs",
    "inspect",
    "list_events",
    "read_file",
    "retry",
    "run",
    "summary_line",
    "verify",
    "verify_json",
]
