"""The text of ``inspect``: how a file will be read, and a preview of its rows as the run will
merge them.  Nothing is sent and no token is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import chunker
from . import rows as rows_ops
from .config import Config
from .inputs import read_file
from .mapper import MappedFile
from .models import FileInfo
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
    preview = _merge_preview(mapped.table)
    fate = pc.coalesce(
        preview.column("outcome"),
        pc.if_else(pc.is_valid(preview.column("state")), "to send", "state unknown"),
    )
    counts = rows_ops.counts(pa.table({"fate": fate}), "fate")
    lines.append("rows so far: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=str)))
    lines.append("")
    lines.append(f"{'row':>6}  {'email':<34} {'vid':>10}  {'state':<8} {'time (UTC)':<24} outcome")
    for row in preview.slice(0, max(0, rows)).to_pylist():  # the edge: a few lines as objects
        vid = row["vid"] if row["vid"] is not None else ""
        lines.append(f"{row['row']:>6}  {(row['email'] or '')[:34]:<34} {vid:>10}  " + _preview_part(row, ""))
        lines += _said(row, "")
        if row["also_state"] is not None:  # the row's second participation, on a line of its own
            lines.append(f"{'':>6}  {'+ also':<34} {'':>10}  " + _preview_part(row, "also_"))
            lines += _said(row, "also_")
    return "\n".join(lines)


def _preview_part(row: dict[str, Any], prefix: str) -> str:
    """One participation of a preview line: state, time (UTC) and what will happen to it."""
    state, when_ms, outcome, reason = (row[f"{prefix}{n}"] for n in ("state", "when_ms", "outcome", "reason"))
    when = iso_utc(when_ms) if when_ms is not None else ("event start" if outcome is None else "")
    status = outcome + (f" ({reason})" if reason else "") if outcome else "to send"
    if outcome is None and state is None:
        when, status = "", "state unknown: pass --state"
    if row[f"{prefix}merged_row"] is not None:
        status += f" into row {row[f'{prefix}merged_row']}"
    return f"{state or '':<8} {when:<24} {status}"


def _said(row: dict[str, Any], prefix: str) -> list[str]:
    """What the mapper says about a participation it will send (a time the autumn repeats: which
    reading), under its line: the run's report says the same in the row's message."""
    message = row[f"{prefix}message"]
    if row[f"{prefix}outcome"] is not None or not message:
        return []
    return [f"{'':>8}note: {message}"]


def _state_line(info: FileInfo) -> str:
    """Where the states come from, or what is missing, for inspect."""
    if not info.undecided:
        return info.state_source or "-"
    missing = "none found" if info.undecided == info.data_rows else f"none found for {info.undecided} rows"
    decided = f" (the others: {info.state_source})" if info.state_source else ""
    return f"{missing}, pass --state register or --state attend{decided}"


def _merge_preview(rows: pa.Table) -> pa.Table:
    """Rejoins and repeats the file already shows (same email or contact id) merged as the run will
    merge them, so the preview's counts match the report; rows without a time (event start) sort
    after the timed ones."""
    later = 2**62
    undecided = pc.and_(rows_ops.open_part(rows, ""), pc.is_null(rows.column("state")))
    timed = rows.filter(pc.invert(undecided))
    timed = rows_ops.put(timed, "when_ms", pc.and_(rows_ops.open_part(timed, ""), pc.is_null(timed["when_ms"])), later)
    if timed.num_rows:
        timed = chunker.merge(timed, "preview")[0]
    shown = rows_ops.put(timed, "when_ms", pc.equal(timed.column("when_ms"), later), None)
    if not pc.any(undecided).as_py():
        return shown
    both = pa.concat_tables([shown, rows.filter(undecided)])
    return both.take(pc.sort_indices(both, sort_keys=[("row", "ascending")]))


def _show_delim(delimiter: str | None) -> str:
    return {None: "-", "\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))
