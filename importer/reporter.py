"""The reconciliation report: every input row with its outcome, as .xlsx, .csv or JSON lines.

``build_report`` (in ``report_model``) turns the settled rows table and the run summary into a
``Report`` (pure data); ``write_report`` writes it atomically in one of three formats, and
``importer retry`` / ``verify`` read any of them back with ``read_report``, so column names are a
contract.  The writers live in ``report_cells`` (CSV, JSON) and ``report_xlsx``; the words in
``report_text`` and ``report_terminal``.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .config import REPORT_FORMATS
from .errors import DISK_FULL_ERRNOS, ImporterError, InputError, ReportWriteError, disk_full
from .report_cells import write_csv, write_json
from .report_model import (
    ALSO_COLUMNS,
    CORE_COLUMNS,
    ERROR_COLUMNS,
    EXIT_MEANINGS,
    MORE_COLUMNS,
    REPORT_COLUMNS,
    ROW_COLUMNS,
    SHEETS,
    WORKBOOK_ROW_LIMIT,
    Report,
    RunSummary,
    as_text,
    build_report,
    exit_code_for,
    iso_local,
    iso_utc,
    plural,
    problem_rows,
    zone_of,
)
from .report_terminal import NOT_SENT_REASONS, render_terminal
from .report_text import (
    OUTCOME_LABELS,
    REASON_LABELS,
    STATE_LABELS,
    fix_for,
    headline,
    next_step,
    person_name,
    reason_label,
    summary_fields,
)
from .report_xlsx import write_xlsx

_EXCEL_MAX_ROWS = 1_048_576
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_report_path(first_input: str | Path, cwd: Path) -> Path:
    """``attendees.csv`` -> ``<cwd>/attendees.reconciliation.xlsx``."""
    return Path(cwd) / f"{Path(first_input).stem}.reconciliation.xlsx"


def choose_format(path: Path, rows: int, explicit: bool) -> tuple[Path, str | None]:
    """The report path to write, and a note for the summary when it differs from ``path``.

    Only a default path changes: a workbook the user asked for with --report is always written.
    """
    if explicit or rows <= WORKBOOK_ROW_LIMIT or path.suffix.lower() != ".xlsx":
        return path, None
    note = (
        f"The report has {rows:,} rows: written as CSV, which Excel opens, because a workbook that large "
        f"takes minutes to write; pass --report {path.stem}.xlsx to force a workbook."
    )
    return path.with_suffix(".csv"), note


# --------------------------------------------------------------------------- writing

#: Temp files of a report being written are named ``.<report name>.importer-<random>.tmp``: a
#: writer that was killed leaves one behind, which the next write into the folder removes.
TMP_MARK = ".importer-"
TMP_SUFFIX = ".tmp"
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def check_report_path(target: str | Path, inputs: Sequence[str | Path] = ()) -> None:
    """Refuse, before anything is read from HubSpot, a report path whose writing would destroy
    something or never finish: one of the run's inputs (the export would be overwritten), a
    symbolic link (the report would replace the link, not what it names), a device, a FIFO, a
    socket or a folder; and a folder the report cannot be written in.  One place for every check on
    where the report goes."""
    path = Path(target)
    try:
        info = path.lstat()
    except FileNotFoundError:
        _check_writable(path)
        return
    except OSError as exc:
        raise InputError(f"Cannot use {path} as the report: {exc.strerror}.", hint=_OTHER_REPORT) from None
    if stat.S_ISLNK(info.st_mode):
        raise InputError(f"The report path {path} is a symbolic link.", hint=_OTHER_REPORT)
    kind = _KINDS.get(stat.S_IFMT(info.st_mode))
    if kind is not None:
        raise InputError(f"The report path {path} is {kind}, not a regular file.", hint=_OTHER_REPORT)
    for source in inputs:
        try:
            same = os.path.samefile(path, source)
        except OSError:
            continue
        if same:
            raise InputError(
                f"The report path {path} is the input file {source}: writing the report would overwrite it.",
                hint=_OTHER_REPORT,
            )
    _check_writable(path)


_OTHER_REPORT = "Choose another report path with --report."


def _check_writable(path: Path) -> None:
    """Try the report's folder (or the nearest one that exists: the writer creates the rest) with a
    real file, so a read-only or full folder is found before the first request, not after sending."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=f".{TMP_MARK}probe-"):
            pass
    except OSError as exc:
        raise InputError(
            f"Cannot write the report in {folder} ({exc.strerror or exc}): nothing was sent.",
            hint="Give a writable place with --report PATH, and with --state-dir DIR for the journal "
            "(by default .importer in the current folder).",
        ) from None


def _remove_stale_temps(directory: Path) -> None:
    """Temp files a killed writer left in ``directory``; one still being written is locked."""
    for tmp in directory.glob(f".*{TMP_MARK}*{TMP_SUFFIX}"):
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if not _lock_nowait(fd):
                continue  # another process is writing it right now
            tmp.unlink(missing_ok=True)
        finally:
            os.close(fd)


def _lock_nowait(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # no flock here: only a temp file a day old is surely abandoned
        import time

        return os.fstat(fd).st_mtime < time.time() - 86400
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    """Make ``path`` (a file, or a folder's entries after a rename) durable before going on."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # some systems cannot open a folder; the rename is then as durable as they allow
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def write_report(report: Report, path: str | Path, fmt: str | None = None) -> Path:
    """Write the report as xlsx, csv or json (from the extension when ``fmt`` is None), atomically."""
    target = Path(path)
    fmt = fmt or _format_from_suffix(target)
    if fmt not in REPORT_FORMATS:
        raise InputError(f"Report format {fmt!r} is not one of {', '.join(REPORT_FORMATS)}.")
    if fmt == "xlsx" and len(report.rows) >= _EXCEL_MAX_ROWS:
        raise ReportWriteError(
            f"{len(report.rows)} rows do not fit in an Excel sheet.", hint="Use --report-format csv or json."
        )
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(directory)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}{TMP_MARK}", suffix=TMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise _write_error(exc, target, f"Cannot write the report in {directory}: {exc.strerror}.") from None
    tmp = Path(tmp_name)
    try:
        _hold(fd)  # so that another run's clean-up leaves this temp file alone while it is written
        _share_like_a_new_file(tmp)
        writer = {"xlsx": write_xlsx, "csv": write_csv, "json": write_json}[fmt]
        writer(report, tmp)
        _fsync_path(tmp)
        os.replace(tmp, target)
        _fsync_path(directory, directory=True)
    except OSError as exc:
        raise _write_error(exc, target, f"Cannot write the report {target}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)
        tmp.unlink(missing_ok=True)
    return target


def _hold(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _write_error(exc: OSError, target: Path, message: str) -> ImporterError:
    if exc.errno in DISK_FULL_ERRNOS:
        return disk_full(f"the report {target}", exc.strerror or str(exc))
    return ReportWriteError(message, hint="Close it if it is open in Excel, or choose another path with --report.")


def _share_like_a_new_file(tmp: Path) -> None:
    """mkstemp makes owner-only files; give the report the permissions a plain ``open`` would."""
    mask = os.umask(0o022)
    os.umask(mask)
    tmp.chmod(0o666 & ~mask)


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    if suffix in (".json", ".jsonl"):
        return "json"
    raise InputError(
        f"Cannot tell the report format from {path.name!r}.", hint="Use a name ending in .xlsx, .csv or .json."
    )


# --------------------------------------------------------------------------- reading


def read_report(path: str | Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Read a report back as text: ``(summary fields, rows as dicts of the Rows columns)``.

    Times come back as ISO ``Z`` text and ``vid`` as digits (or ``''``) whatever the format, so
    ``importer retry`` and ``verify`` need not care which one the user kept.
    """
    p = Path(path)
    try:
        fmt = _format_from_suffix(p)
        if fmt == "xlsx":
            return _read_xlsx(p)
        if fmt == "csv":
            return _read_csv(p)
        return _read_json(p)
    except FileNotFoundError:
        raise InputError(f"Report {p} does not exist.", hint="Give the path the import printed at the end.") from None
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, KeyError, ValueError) as exc:
        raise InputError(f"Report {p} cannot be read as an importer report ({exc}).") from None


def _read_csv(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        _check_columns(path, reader.fieldnames or [])
        rows = [{k: _csv_unguard(v or "") for k, v in rec.items() if k is not None} for rec in reader]
    summary = {"event_id": rows[0]["event_id"] if rows else ""}
    return summary, rows


def _csv_unguard(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _read_json(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    summary: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            record = json.loads(line)
            kind = record.pop("type", None)
            if kind == "summary":
                summary = {k: as_text(v) for k, v in record.items()}
            elif kind == "row":
                rows.append({k: as_text(v) for k, v in record.items()})
    if rows:
        _check_columns(path, list(rows[0]))
    return summary, rows


def _check_columns(path: Path, names: Sequence[str]) -> None:
    missing = [c for c in CORE_COLUMNS if c not in names]
    if missing:
        raise InputError(f"Report {path} lacks the columns {', '.join(missing)}; is it an importer report?")


def _read_xlsx(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        if "Rows" not in wb.sheetnames:
            raise InputError(f"Report {path} has no Rows sheet; is it an importer report?")
        summary: dict[str, str] = {}
        if "Summary" in wb.sheetnames:
            for rec in wb["Summary"].iter_rows(min_row=3, max_col=3, values_only=True):
                if len(rec) >= 3 and isinstance(rec[2], str) and rec[2]:
                    summary[_unescape_ooxml(rec[2])] = _xlsx_text(rec[1])
        zone = zone_of(summary.get("timezone"))
        it = wb["Rows"].iter_rows(values_only=True)
        header = [_xlsx_text(h) for h in next(it, ())]
        _check_columns(path, header)
        rows: list[dict[str, str]] = []
        for rec in it:
            item = {name: _xlsx_text(value) for name, value in zip(header, rec, strict=False) if name}
            for name in header[len(rec) :]:
                if name:
                    item[name] = ""
            utc = rec[header.index("interaction_time_utc")] if len(rec) > header.index("interaction_time_utc") else None
            if isinstance(utc, datetime):
                ms = _datetime_ms(utc)
                item["interaction_time_utc"] = iso_utc(ms)
                if "interaction_time_local" in item:
                    item["interaction_time_local"] = iso_local(ms, zone)
            rows.append(item)
    finally:
        wb.close()
    summary.setdefault("event_id", rows[0].get("event_id", "") if rows else "")
    return summary, rows


def _datetime_ms(naive_utc: datetime) -> int:
    """Excel keeps times as fractions of a day; round back to the millisecond we wrote."""
    delta = naive_utc.replace(tzinfo=UTC) - _EPOCH
    return round(delta / timedelta(milliseconds=1))


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return iso_utc(_datetime_ms(value))
    if isinstance(value, str):
        return _unescape_ooxml(value)
    return str(value)


def _unescape_ooxml(text: str) -> str:
    """Undo the ``_xHHHH_`` escapes xlsxwriter writes for control characters (openpyxl keeps them)."""
    from openpyxl.utils.escape import unescape

    return unescape(text) if "_x" in text else text


__all__ = [
    "ALSO_COLUMNS",
    "CORE_COLUMNS",
    "ERROR_COLUMNS",
    "EXIT_MEANINGS",
    "MORE_COLUMNS",
    "NOT_SENT_REASONS",
    "OUTCOME_LABELS",
    "REASON_LABELS",
    "REPORT_COLUMNS",
    "ROW_COLUMNS",
    "SHEETS",
    "STATE_LABELS",
    "TMP_MARK",
    "TMP_SUFFIX",
    "WORKBOOK_ROW_LIMIT",
    "Report",
    "RunSummary",
    "build_report",
    "check_report_path",
    "choose_format",
    "default_report_path",
    "exit_code_for",
    "fix_for",
    "headline",
    "iso_utc",
    "next_step",
    "person_name",
    "plural",
    "problem_rows",
    "read_report",
    "reason_label",
    "render_terminal",
    "summary_fields",
    "write_report",
]
