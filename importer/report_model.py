"""The report as data: the rows table with its counts, and the words and columns every writer shares.

``build_report`` takes the settled rows (one :data:`models.ROWS` table) and the run summary and
counts them with column operations; the writers (``report_cells``, ``report_xlsx``) and the texts
(``report_text``) only read a ``Report``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import pyarrow as pa
import pyarrow.compute as pc

from .actions import Original
from .errors import InputError
from .models import EventInfo, FileInfo, Outcome, RunStats
from .rows import text as plain_text
from .zones import parse_zone

#: The first nine columns of the Rows sheet, in this order (users' scripts depend on them).
CORE_COLUMNS: tuple[str, ...] = (
    "source_file",
    "source_row",
    "email",
    "vid",
    "state",
    "interaction_time_utc",
    "outcome",
    "reason",
    "message",
)
#: Columns that follow the core ones; the row's ``extra`` columns come after these.
MORE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "interaction_time_local",
    "time_source",
    "merged_into",
    "batch_id",
    "correlation_id",
    "created_contact",
    "profile",
)
ROW_COLUMNS: tuple[str, ...] = CORE_COLUMNS + MORE_COLUMNS
#: A row's second participation (an attendee's registration, say), when some row of the report
#: proves two; they follow ``MORE_COLUMNS``.  The first participation, in the core columns, is the
#: one that most needs the user, so ``outcome`` is ``recorded`` only when both are.
ALSO_COLUMNS: tuple[str, ...] = (
    "also_state",
    "also_time_utc",
    "also_outcome",
    "also_reason",
    "also_message",
    "also_time_source",
    "also_merged_into",
)
#: Every column the importer itself writes (the rest are source columns).
REPORT_COLUMNS: tuple[str, ...] = ROW_COLUMNS + ALSO_COLUMNS
#: Errors columns.  Scripts read them by position, so a new column goes after the established ones.
ERROR_COLUMNS: tuple[str, ...] = (
    "reason",
    "count_in_group",
    "source_file",
    "source_row",
    "email",
    "vid",
    "message",
    "fix",
    "correlation_id",
    "name",
    "original_values",
)
SHEETS: tuple[str, ...] = ("Summary", "Rows", "Errors")

#: What each exit code tells the user (shown in the Summary and the terminal).
EXIT_MEANINGS: Mapping[int, str] = {
    0: "Every row was recorded, merged, skipped or planned.",
    1: "Some rows were rejected or failed: the report says what to do for each.",
    2: "Nothing was sent: fix the input, configuration or command.",
    3: "The run stopped early: run the same command again to resume.",
}

#: Above this many rows a default .xlsx report becomes .csv: xlsxwriter needs minutes for a
#: million-row workbook, while the CSV takes seconds and Excel opens it just as well.
WORKBOOK_ROW_LIMIT = 200_000

_OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
_PROBLEMS = pa.array([Outcome.REJECTED.value, Outcome.FAILED.value])
_SENT = pa.array([Outcome.RECORDED.value, Outcome.PLANNED.value])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: A row's original line as its file wrote it, keyed by (file, row).
Originals = Mapping[tuple[str, int], Original]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the Summary sheet says about the run besides the row counts."""

    run_id: str
    event: EventInfo
    files: tuple[FileInfo, ...]
    started_at: datetime
    finished_at: datetime
    timezone: str | None
    dry_run: bool
    stats: RunStats
    exit_code: int
    report_path: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """The report as data; the renderers only format it."""

    summary: RunSummary
    #: the settled rows, a :data:`models.ROWS` table in the order the report lists them
    rows: pa.Table
    counts: Mapping[str, int]
    by_state: Mapping[str, int]
    by_reason: Mapping[str, int]
    #: the original line (header, cells) of rows that need attention, as read from their files
    originals: Originals = field(default_factory=dict)
    #: the files to act on beside the report (``fix``, ``fix_rows``, ``fix_command``, ``create``,
    #: ``create_rows``; see ``actions.Actions.paths``)
    action_files: Mapping[str, str] = field(default_factory=dict)


def build_report(
    rows: pa.Table,
    summary: RunSummary,
    *,
    originals: Originals | None = None,
    action_files: Mapping[str, str] | None = None,
) -> Report:
    """Count the rows per outcome (all six words, zeros included), per reason, and per state the
    participations recorded (or planned, in a dry run), both of a row that proves two: a rejected
    row's state was never sent."""
    outcomes = word_counts(rows.column("outcome"))
    counts = {o: outcomes.get(o, 0) for o in _OUTCOMES}
    if outcomes.get(""):
        counts["unsettled"] = outcomes[""]
    states: Counter[str] = Counter()
    for prefix in ("", "also_"):
        sent = pc.is_in(rows.column(f"{prefix}outcome"), value_set=_SENT)
        states.update(word_counts(rows.column(f"{prefix}state").filter(sent)))
    reasons = word_counts(rows.column("reason"))
    reasons.pop("", None)
    return Report(
        summary=summary,
        rows=rows,
        counts=counts,
        by_state=dict(sorted(states.items())),
        by_reason=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        originals=originals or {},
        action_files=action_files or {},
    )


def word_counts(words: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """How often each word occurs, in the order of first occurrence (null counts as ``""``)."""
    out: dict[str, int] = {}
    for item in pc.value_counts(pc.fill_null(plain_text(words), "")).to_pylist():
        out[item["values"]] = out.get(item["values"], 0) + item["counts"]
    return out


def needs_user(rows: pa.Table) -> pa.ChunkedArray:
    """Which rows need the user: rejected, failed or never settled."""
    outcome = rows.column("outcome")
    return pc.or_(pc.is_null(outcome), pc.is_in(outcome, value_set=_PROBLEMS))


def problem_rows(report: Report) -> pa.Table:
    """The rows that need the user: rejected, failed or never settled."""
    return report.rows.filter(needs_user(report.rows))


def exit_code_for(rows: pa.Table) -> int:
    """0 when every row is recorded/merged/skipped/planned, else 1 (the report decides the exit code)."""
    return 1 if rows.num_rows and pc.any(needs_user(rows)).as_py() else 0


def iso_utc(ms: int | None) -> str:
    """Epoch milliseconds as ISO 8601 UTC text with ``Z`` (milliseconds only when non-zero)."""
    if ms is None:
        return ""
    dt = _EPOCH + timedelta(milliseconds=ms)
    frac = ms % 1000
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac:03d}Z" if frac else f"{text}Z"


def iso_local(ms: int | None, zone: tzinfo | None) -> str:
    """Epoch milliseconds as ISO 8601 text in ``zone`` with its offset ('' without a zone)."""
    if ms is None or zone is None:
        return ""
    dt = (_EPOCH + timedelta(milliseconds=ms)).astimezone(zone)
    return dt.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")


def zone_of(name: str | None) -> tzinfo | None:
    """The run's time zone, or None when it has none (or one that cannot be read any more)."""
    if not name:
        return None
    try:
        return parse_zone(name)
    except InputError:
        return None


def plural(n: int, noun: str, many: str = "") -> str:
    """``1 request``, ``2 requests``, ``1,200 contacts``: counts as a person writes them."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"


def profiles_of(files: Sequence[FileInfo]) -> dict[str, str]:
    """Each source file's layout profile, so a CSV report (which has no Summary) names it too."""
    return {f.file: f.profile for f in files}


def as_text(value: object) -> str:
    """A cell's value as a person reads it: '' for nothing, yes/no for a flag."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
