"""Files to act on, written beside the report: the rejected rows to correct and import again, and
the contacts to create in HubSpot.

A marketer fixes data in a spreadsheet and adds contacts through HubSpot's own import, so both
files are plain CSV in the layouts those tools take: the fix file keeps the rows' original columns
(it imports again as it is, once edited), the contacts file has HubSpot's Email, First Name and
Last Name.  Their names derive from the report's, so a report and its files stay together.
"""

from __future__ import annotations

import csv
import glob
import io
import os
import re
import shlex
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import ImporterError
from .loader import Sheet
from .mapper import MapOptions, source_lines
from .models import FileInfo, Outcome, Reason
from .titles import title_says

FIX_SUFFIX = ".fix-and-reimport.csv"
CREATE_SUFFIX = ".contacts-to-create.csv"
#: HubSpot's contact import maps these headers to its properties without asking.
CREATE_COLUMNS: tuple[str, ...] = ("Email", "First Name", "Last Name")
#: Added after the original columns of the fix file; no layout reads them, so it imports as it is.
FIX_COLUMNS: tuple[str, ...] = ("problem", "fix")

#: What to change in a line of the fix file, per reason whose fix lies in the file.
FILE_FIXES: Mapping[str, str] = {
    Reason.MISSING_EMAIL: "Add the person's email (or HubSpot contact ID)",
    Reason.INVALID_EMAIL: "Correct the email",
    Reason.INVALID_VID: "Correct the contact ID (the Record ID HubSpot shows) or clear it",
    Reason.LOST_PRECISION_ID: "Write the full contact ID (format the column as Text) or clear it",
    Reason.CONFLICTING_CONTACT_ID: (
        "Give the row the Record ID of the right HubSpot contact, or keep only its email or only its contact ID"
    ),
    Reason.BAD_TIME: "Write the date and time like 2024-11-05 15:58",
    Reason.MISSING_TIME: "Add the date and time",
}

#: A row's original line: the header of its table and its cells, as written in the file.
Original = tuple[tuple[str, ...], tuple[str, ...]]
#: Where a row came from: its file as the user named it and its spreadsheet row number.
Where = tuple[str, int]
#: Where a report's ``source_file`` was read from: the file, and the sheet when a workbook's
#: registrants and attendees sheets were both read (``webinar.xlsx [Registrants]``).
Source = tuple[Path, str | None]
_ATTENTION = pa.array([Outcome.REJECTED.value, Outcome.FAILED.value])
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_HARMLESS = re.compile(r"[-+]?[\d.,\s]*|-+")


@dataclass(frozen=True, slots=True)
class ActionFile:
    """One file to act on: where it goes, what it is for, and its lines (header first)."""

    kind: str  # "fix" or "create"
    path: Path
    lines: list[list[str]]
    rows: int
    command: str = ""


@dataclass(frozen=True, slots=True)
class Actions:
    """The files to act on for one report, and what the report says about them."""

    files: list[ActionFile] = field(default_factory=list)

    def paths(self) -> dict[str, str]:
        """kind -> path for the Summary (``fix``, ``fix_command``, ``create``); several fix files
        (inputs with different columns) are listed together."""
        out: dict[str, str] = {}
        fixes = [f for f in self.files if f.kind == "fix"]
        if fixes:
            out["fix"] = ", ".join(str(f.path) for f in fixes)
            out["fix_rows"] = str(sum(f.rows for f in fixes))
            out["fix_command"] = "; ".join(f.command for f in fixes)
        for f in self.files:
            if f.kind == "create":
                out["create"] = str(f.path)
                out["create_rows"] = str(f.rows)
        return out


def companion(report_path: str | Path, suffix: str) -> Path:
    """``reports/zoom.reconciliation.xlsx`` -> ``reports/zoom.fix-and-reimport.csv``."""
    p = Path(report_path)
    stem = p.stem.removesuffix(".reconciliation")
    return p.with_name(stem + suffix)


def sheet_of(name: str) -> tuple[str, str | None]:
    """``webinar.xlsx [Registrants]`` -> (``webinar.xlsx``, ``Registrants``); a plain name has no sheet."""
    if name.endswith("]") and " [" in name:
        file, _, sheet = name[:-1].rpartition(" [")
        return file, sheet
    return name, None


def originals(
    rows: pa.Table,
    sources: Mapping[str, Source],
    read: Callable[[Path, str | None], Sheet],
    opts: MapOptions,
    log: Callable[[str], None] = lambda _: None,
) -> dict[Where, Original]:
    """The original lines of the rows (a ``models.ROWS`` table) that need attention, read again
    from their files.

    Only files with such rows are read; a file that cannot be read any more (moved, changed) only
    costs the report its original values, never the run.
    """
    outcome = rows.column("outcome")
    attention = rows.filter(pc.or_(pc.is_null(outcome), pc.is_in(outcome, value_set=_ATTENTION)))
    wanted: dict[str, set[int]] = {}
    for name, number in zip(attention.column("file").to_pylist(), attention.column("row").to_pylist(), strict=True):
        wanted.setdefault(name, set()).add(number)
    out: dict[Where, Original] = {}
    for name, numbers in wanted.items():
        source = sources.get(name)
        if source is None:
            continue
        try:
            lines = source_lines(read(*source), opts, numbers)
        except (ImporterError, OSError) as exc:
            log(f"{name}: cannot read the original lines again ({exc}); the report shows the cleaned values")
            continue
        out.update(((name, number), line) for number, line in lines.items())
    return out


def _rejected(rows: pa.Table, reasons: Sequence[str]) -> list[dict[str, Any]]:
    """The rejected rows with one of these reasons, as mappings of their columns."""
    rejected = pc.equal(rows.column("outcome"), Outcome.REJECTED.value)
    chosen = pc.and_(
        rejected, pc.is_in(rows.column("reason"), value_set=pa.array([str(r) for r in reasons], pa.string()))
    )
    return (
        rows.filter(pc.fill_null(chosen, False))
        .select(["file", "row", "email", "message", "reason", "extra"])
        .to_pylist()
    )


def plan(
    report_path: str | Path,
    rows: pa.Table,
    found: Mapping[Where, Original],
    *,
    event_id: str,
    files: Sequence[FileInfo] = (),
    timezone: str | None = None,
    extra_args: Sequence[str] = (),
) -> Actions:
    """Which files to write and their lines.

    The fix file holds the rejected rows whose fix lies in the file (a contact missing in HubSpot
    is fixed there, so its row goes to the contacts file instead), one file per distinct header.
    A workbook's registrants and attendees sheets each get their own, named after the sheet (the
    name says the role, as the sheet's name did), so each imports again as it is.
    """
    out: list[ActionFile] = []
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[dict[str, Any], tuple[str, ...]]]] = {}
    for row in _rejected(rows, list(FILE_FIXES)):
        line = found.get((row["file"], row["row"]))
        if line is not None:
            header, cells = line
            groups.setdefault((row["file"], header), []).append((row, cells))
    orders = {f.file: f.date_order for f in files}
    said_by = {f.file: f.state_source for f in files}
    paths = _fix_paths(report_path, [source for source, _ in groups])
    for path, ((source, header), members) in zip(paths, groups.items(), strict=True):
        names = list(_trim(header))
        tail = [name if name not in names else f"{name} (importer)" for name in FIX_COLUMNS]
        lines = [names + tail]
        for row, cells in members:
            values = list(cells[: len(names)]) + [""] * (len(names) - len(cells))
            lines.append(values + [row["message"] or "", FILE_FIXES[row["reason"]]])
        args = ["importer", "run", str(path), "--event", event_id]
        if timezone:
            args += ["--timezone", timezone]
        order = orders.get(source)
        if order in ("day-first", "month-first"):
            args.append(f"--{order}")
        sheet = sheet_of(source)[1]
        role = title_says(sheet) if sheet and said_by.get(source) == f"sheet name {sheet}" else None
        if role:  # the sheet's name said every row's state: the command says it again
            args += ["--state", role]
        args += list(extra_args)
        out.append(ActionFile("fix", path, lines, len(members), shlex.join(args)))
    people: dict[str, list[str]] = {}
    for row in _rejected(rows, [Reason.CONTACT_NOT_FOUND.value]):
        if row["email"]:
            people.setdefault(row["email"], [row["email"], *_first_last(row["extra"] or ())])
    if people:
        path = companion(report_path, CREATE_SUFFIX)
        out.append(ActionFile("create", path, [list(CREATE_COLUMNS), *people.values()], len(people)))
    return Actions(out)


def _fix_paths(report_path: str | Path, sources: Sequence[str]) -> list[Path]:
    """One fix file per group: the report's companion when there is one group of a plain file;
    a sheet's gets the sheet's name; the others (and names that would meet) ``<stem>-<k>``."""
    wanted: list[str] = []
    for k, source in enumerate(sources, 1):
        file, sheet = sheet_of(source)
        if sheet:
            wanted.append(f".fix-and-reimport.{_safe(sheet)}.csv")
        elif len(sources) == 1:
            wanted.append(FIX_SUFFIX)
        else:
            wanted.append(f".fix-and-reimport.{Path(file).stem}-{k}.csv")
    seen = Counter(wanted)
    return [
        companion(report_path, suffix if seen[suffix] == 1 else f"{suffix.removesuffix('.csv')}-{k}.csv")
        for k, suffix in enumerate(wanted, 1)
    ]


def _safe(name: str) -> str:
    """A sheet name as part of a file name (no path separators or characters Windows refuses)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .") or "sheet"


def _trim(header: tuple[str, ...]) -> tuple[str, ...]:
    """The header without the empty cells after its last name."""
    end = len(header)
    while end and not header[end - 1].strip():
        end -= 1
    return header[:end]


def _first_last(extra: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """First and last name from the row's identifying columns; a single display name is split at
    its comma (``Müller, Ana``) or its first space."""
    values = dict(extra)
    first, last = values.get("first_name", "").strip(), values.get("last_name", "").strip()
    if first or last:
        return first, last
    name = values.get("name", "").strip()
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.partition(" ")
    return first, last.strip()


def write(actions: Actions, report_path: str | Path) -> list[Path]:
    """Write the files (atomically, UTF-8 with BOM so Excel shows accents) and remove this report's
    files of an earlier run that this run has none of, so no stale list is acted on."""
    written: list[Path] = []
    for f in actions.files:
        _write_csv(f.path, f.lines)
        written.append(f.path)
    fix = companion(report_path, FIX_SUFFIX)
    stale = [fix, companion(report_path, CREATE_SUFFIX)]
    others = fix.parent.glob(glob.escape(fix.name.removesuffix(".csv")) + ".*.csv")
    stale += sorted(p for p in others if p.name.count(FIX_SUFFIX.removesuffix(".csv")) == 1)
    for path in stale:
        if path not in written:
            path.unlink(missing_ok=True)
    return written


def _write_csv(path: Path, lines: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for line in lines:
        writer.writerow([_guard(cell) for cell in line])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(buf.getvalue())
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _guard(text: str) -> str:
    """OWASP CSV injection: text that a spreadsheet would run as a formula gets a leading ``'``.

    A sign before a plain number and a run of dashes (Zoom's ``--`` for "no time") stay as they are,
    so those lines import again exactly as they came.
    """
    if text.startswith(_FORMULA_STARTS) and not _HARMLESS.fullmatch(text):
        return "'" + text
    return text
