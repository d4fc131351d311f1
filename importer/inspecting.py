"""The text of ``inspect``: how a file will be read, and a preview of its rows as the run will
merge them.  Nothing is sent and no token is needed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from operator import attrgetter
from pathlib import Path

from . import chunker
from .config import Config
from .inputs import read_file
from .mapper import MappedFile
from .models import FileInfo, Outcome, Row, RowRef, State, rows_to_table, table_to_rows
from .reporter import iso_utc


def inspect(path: Path, cfg: Config, *, rows: int = 10, cwd: Path | None = None) -> str:
    """A preview of how a file will be read: nothing is sent and no token is needed."""
    here = cwd or Path.cwd()
    return "\n\n".join(_inspect_sheet(m, cfg, rows) for m in read_file(path, cfg, here))


def _inspect_sheet(mapped: MappedFile, cfg: Config, rows: int) -> str:
    info = mapped.info
    lines = [
        f"file:        {info.file}",
        f"profile:     {info.profile}",
        f"format:      encoding {info.encoding or '-'}, delimiter {_show_delim(info.delimiter)}, "
        f"sheet {info.sheet or '-'}",
        f"header row:  {info.header_row if info.header_row is not None else '-'}",
        f"date order:  {info.date_order or 'not needed'}",
        f"time zone:   {info.timezone or cfg.timezone or 'none given (times must carry an offset)'}",
        f"data rows:   {info.data_rows}",
        f"state:       {_state_line(info)}",
        "columns:",
    ]
    lines += [f"  {name:<18} <- {header}" for name, header in info.columns.items()] or ["  (none recognised)"]
    for note in info.notes:
        lines.append(f"note: {note}")
    preview = _merge_preview(table_to_rows(mapped.table))
    counts: dict[str, int] = {}
    for row in preview:
        key = row.outcome.value if row.outcome else "to send" if row.state else "state unknown"
        counts[key] = counts.get(key, 0) + 1
    lines.append("rows so far: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    lines.append("")
    lines.append(f"{'row':>6}  {'email':<34} {'vid':>10}  {'state':<8} {'time (UTC)':<24} outcome")
    for row in preview[: max(0, rows)]:
        lines.append(
            f"{row.ref.row:>6}  {(row.email or '')[:34]:<34} {row.vid if row.vid is not None else '':>10}  "
            + _preview_part(row.state, row.when_ms, row.outcome, row.reason, row.merged_into)
        )
        if row.also is not None:  # the row's second participation, on a line of its own
            a = row.also
            lines.append(
                f"{'':>6}  {'+ also':<34} {'':>10}  "
                + _preview_part(a.state, a.when_ms, a.outcome, a.reason, a.merged_into)
            )
    return "\n".join(lines)


def _preview_part(
    state: State | None, when_ms: int | None, outcome: Outcome | None, reason: str, merged_into: RowRef | None
) -> str:
    """One participation of a preview line: state, time (UTC) and what will happen to it."""
    when = iso_utc(when_ms) if when_ms is not None else ("event start" if outcome is None else "")
    status = outcome.value + (f" ({reason})" if reason else "") if outcome else "to send"
    if outcome is None and state is None:
        when, status = "", "state unknown: pass --state"
    if merged_into is not None:
        status += f" into row {merged_into.row}"
    return f"{state.value if state else '':<8} {when:<24} {status}"


def _state_line(info: FileInfo) -> str:
    """Where the states come from, or what is missing, for inspect."""
    if not info.undecided:
        return info.state_source or "-"
    missing = "none found" if info.undecided == info.data_rows else f"none found for {info.undecided} rows"
    decided = f" (the others: {info.state_source})" if info.state_source else ""
    return f"{missing}, pass --state register or --state attend{decided}"


def _merge_preview(rows: Sequence[Row]) -> list[Row]:
    """Rejoins and repeats the file already shows (same email or contact id) merged as the run will
    merge them, so the preview's counts match the report; rows without a time (event start) sort
    after the timed ones."""
    later = 2**62
    undecided = [r for r in rows if r.outcome is None and r.state is None]
    timed = [
        replace(r, when_ms=later) if r.outcome is None and r.when_ms is None else r
        for r in rows
        if r.outcome is not None or r.state is not None
    ]
    merged = table_to_rows(chunker.merge(rows_to_table(timed), "preview")[0]) if timed else []
    shown = [replace(m, when_ms=None) if m.when_ms == later else m for m in merged]
    return sorted([*shown, *undecided], key=attrgetter("ref.row")) if undecided else shown


def _show_delim(delimiter: str | None) -> str:
    return {None: "-", "\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))
