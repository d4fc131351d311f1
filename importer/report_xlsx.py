"""The workbook a marketer opens: Summary (headline, chart, fields), Rows (every row), Errors (what to fix).

The Rows and Errors sheets are written a row at a time (xlsxwriter's constant-memory mode writes
rows in order), reading each part's values column by column from the report's cells.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .report_cells import FLAG, INT, LOCAL_TIME, TEXT, UTC_TIME, VID, Layout, cells, layout, local_ms, parts, texts
from .report_model import ERROR_COLUMNS, Report, as_text, problem_rows, profiles_of, word_counts, zone_of
from .report_text import fix_for, person_name, summary_fields

#: Text starting with one of these could read as a formula: it gets Excel's quote prefix.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Excel numbers are doubles: larger whole numbers (a contact id above 2**53) are written as text,
#: or they would come back as another number.
_EXCEL_EXACT_INT = 2**53
_OUTCOME_COLOURS: Mapping[str, tuple[str, str]] = {  # (fill, font)
    "recorded": ("#C6EFCE", "#006100"),
    "rejected": ("#FFC7CE", "#9C0006"),
    "failed": ("#FFC7CE", "#9C0006"),
    "skipped": ("#E7E6E6", "#3A3838"),
    "merged": ("#E7E6E6", "#3A3838"),
    "planned": ("#DDEBF7", "#1F4E78"),
}
_UTC_FORMAT = 'yyyy-mm-dd hh:mm:ss"Z"'
_UTC_MS_FORMAT = 'yyyy-mm-dd hh:mm:ss.000"Z"'
_LOCAL_FORMAT = "yyyy-mm-dd hh:mm:ss"
_LOCAL_MS_FORMAT = "yyyy-mm-dd hh:mm:ss.000"
_NAIVE_EPOCH = datetime(1970, 1, 1)
_SUMMARY_VALUE_WIDTH = 70
#: Errors columns: (width, wrapped); the long texts wrap so each can be read whole.
_ERROR_WIDTHS: Mapping[str, tuple[int, bool]] = {
    "reason": (22, False),
    "count_in_group": (15, False),
    "source_file": (26, True),
    "source_row": (11, False),
    "email": (30, False),
    "vid": (12, False),
    "message": (50, True),
    "fix": (50, True),
    "correlation_id": (20, False),
    "name": (22, False),
    "original_values": (60, True),
}
#: Rows columns a marketer rarely needs: grouped and folded (the + above the sheet shows them).
_TECHNICAL = frozenset({"event_id", "time_source", "batch_id", "correlation_id", "profile"})
#: Widest a Rows column gets (others: 30); a longer message wraps in its cell.
_ROW_WIDTH_CAPS: Mapping[str, int] = {"source_file": 28, "email": 34, "message": 60, "reason": 24}
#: Rows whose text sets the Rows columns' widths.
_SAMPLE_ROWS = 2000
#: Points per line of wrapped text (the default font is 11 pt).
_LINE_HEIGHT = 15


def write_xlsx(report: Report, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        fmt = _Formats(wb)
        _summary(wb, fmt, report)
        _rows(wb, fmt, report)
        _errors(wb, fmt, report)
    finally:
        wb.close()


class _Formats:
    """The workbook's cell formats, created once."""

    def __init__(self, wb: Any) -> None:
        self.header = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "bottom": 1})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.section = wb.add_format({"bold": True, "font_color": "#1F4E78", "top": 1})
        self.key = wb.add_format({"font_color": "#A6A6A6"})
        self.lead = wb.add_format({"bold": True, "font_size": 12, "text_wrap": True, "valign": "top"})
        self.lead_label = wb.add_format({"bold": True, "font_size": 12, "valign": "top"})
        self.top = wb.add_format({"valign": "top"})
        self.good = wb.add_format({"bold": True, "bg_color": "#C6EFCE", "font_color": "#006100"})
        self.count = wb.add_format({"num_format": "#,##0", "align": "left", "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.wrap_quoted = wb.add_format({"text_wrap": True, "valign": "top", "quote_prefix": True})
        self.guard = wb.add_format({"quote_prefix": True})
        self.utc = wb.add_format({"num_format": _UTC_FORMAT})
        self.utc_ms = wb.add_format({"num_format": _UTC_MS_FORMAT})
        self.local = wb.add_format({"num_format": _LOCAL_FORMAT})
        self.local_ms = wb.add_format({"num_format": _LOCAL_MS_FORMAT})
        self.outcome = {
            name: wb.add_format({"bg_color": fill, "font_color": font})
            for name, (fill, font) in _OUTCOME_COLOURS.items()
        }

    def wrap_guarded(self, text: str) -> Any:
        """Wrapped text, with Excel's quote prefix when the text could read as a formula."""
        return self.wrap_quoted if text.startswith(_FORMULA_STARTS) else self.wrap


def _put_text(ws: Any, r: int, c: int, text: str, fmt: _Formats, cell_format: Any = None) -> None:
    """Write text as a string cell, never a formula; risky text also gets Excel's quote prefix."""
    if not text:
        return
    if cell_format is None and text.startswith(_FORMULA_STARTS):
        cell_format = fmt.guard
    ws.write_string(r, c, text, cell_format)


def _put_value(ws: Any, r: int, c: int, value: Any, fmt: _Formats, number_format: Any = None) -> None:
    if isinstance(value, bool):
        _put_text(ws, r, c, as_text(value), fmt)
    elif isinstance(value, int) and abs(value) <= _EXCEL_EXACT_INT:
        ws.write_number(r, c, value, number_format)
    elif value is not None:
        _put_text(ws, r, c, str(value), fmt)


def _summary(wb: Any, fmt: _Formats, report: Report) -> None:
    """Plain labels in A, values in B, the machine keys in the hidden column C (scripts read them);
    the headline first, and a bar chart on a log scale so 8 rejected rows show next to 3,992."""
    ws = wb.add_worksheet("Summary")
    _print_setup(ws)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, _SUMMARY_VALUE_WIDTH)
    ws.set_column(2, 2, 22, fmt.key, {"hidden": True})
    s = report.summary
    ws.write_string(0, 0, f"Import into {s.event.name or 'event ' + s.event.object_id}", fmt.title)
    ws.write_string(1, 0, "Reconciliation report", fmt.key)
    r = 2
    outcome_rows: list[tuple[int, str, int]] = []
    for key, label, value in summary_fields(report):
        if not key:
            ws.write_string(r, 0, label, fmt.section)
            ws.write_blank(r, 1, None, fmt.section)
        else:
            lead = key in ("headline", "next_step")
            if lead:  # the app fits other rows to their wrapped text; these get room for sure
                ws.set_row(r, 18 * len(textwrap.wrap(str(value), _SUMMARY_VALUE_WIDTH - 12)))
            _put_text(ws, r, 0, label, fmt, fmt.lead_label if lead else fmt.top)
            if isinstance(value, str):
                _put_text(ws, r, 1, value, fmt, fmt.lead if lead else fmt.wrap_guarded(value))
            else:
                _put_value(ws, r, 1, value, fmt, fmt.count)
            ws.write_string(r, 2, key, fmt.key)
            if key.startswith("outcome_") and isinstance(value, int) and value > 0:
                outcome_rows.append((r, key[8:], value))
        r += 1
    if outcome_rows:
        _chart(wb, ws, outcome_rows)


def _chart(wb: Any, ws: Any, outcome_rows: list[tuple[int, str, int]]) -> None:
    first, last = outcome_rows[0][0], outcome_rows[-1][0]
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "Rows",
            "categories": ["Summary", first, 0, last, 0],
            "values": ["Summary", first, 1, last, 1],
            "points": [{"fill": {"color": _OUTCOME_COLOURS.get(o, ("", "#7F7F7F"))[1]}} for _, o, _ in outcome_rows],
            "data_labels": {"value": True, "num_format": "#,##0"},
            "gap": 60,
        }
    )
    chart.set_title({"name": "Rows per outcome", "name_font": {"size": 12}})
    chart.set_legend({"none": True})
    # log scale: every count gets a bar of its own (the axis starts at 0.1, so a 1 gets a bar a
    # decade long); the labels carry the numbers, so the axis needs none
    chart.set_x_axis({"log_base": 10, "min": 0.1, "visible": False, "major_gridlines": {"visible": False}})
    chart.set_y_axis({"reverse": True})
    chart.set_size({"width": 520, "height": 60 + 42 * len(outcome_rows)})
    ws.insert_chart(2, 3, chart, {"x_offset": 10})


def _print_setup(ws: Any) -> None:
    """Printed or saved as PDF, a sheet is as wide as one landscape page."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_paper(9)  # A4


def _widths(report: Report, lay: Layout) -> list[int]:
    """Each Rows column as wide as its header or the longest text of the first rows, up to a cap."""
    sample = cells(report.rows.slice(0, _SAMPLE_ROWS), lay, report.summary.event, profiles_of(report.summary.files))
    out = []
    for name, column in zip(lay.names, texts(sample, lay, zone_of(report.summary.timezone)), strict=True):
        if name in ("interaction_time_utc", "interaction_time_local"):
            out.append(22)
            continue
        longest = pc.max(pc.utf8_length(pc.fill_null(column, ""))).as_py() or 0
        out.append(min(_ROW_WIDTH_CAPS.get(name, 30), max(len(name), longest) + 2))
    return out


def _rows(wb: Any, fmt: _Formats, report: Report) -> None:
    ws = wb.add_worksheet("Rows")
    _print_setup(ws)
    lay = layout(report.rows)
    widths = _widths(report, lay)
    for c, (name, width) in enumerate(zip(lay.names, widths, strict=True)):
        if name == "message":
            ws.set_column(c, c, width, fmt.wrap)
        elif name in _TECHNICAL:
            ws.set_column(c, c, width, None, {"level": 1, "hidden": True})
        else:
            ws.set_column(c, c, width)
        ws.write_string(0, c, name, fmt.header)
    # who the row is stays in sight while the names, at the end, are read
    ws.freeze_panes(1, lay.names.index("email") + 1)
    ws.autofilter(0, 0, max(1, report.rows.num_rows), len(lay.names) - 1)
    zone = zone_of(report.summary.timezone)
    puts = [_cell_writer(ws, fmt, name, kind) for name, kind in zip(lay.names, lay.kinds, strict=True)]
    i_message = lay.names.index("message")
    message_width = widths[i_message]
    r = 1
    for _, part in parts(report, lay):
        columns = []
        for kind, column in zip(lay.kinds, part.columns, strict=True):
            if kind == LOCAL_TIME:  # the wall-clock time in the run's zone, written as it reads there
                column = local_ms(column, zone)[0] if zone is not None else pa.nulls(len(column), pa.int64())
            columns.append(column.to_pylist())
        for values in zip(*columns, strict=True):
            message = values[i_message]
            if len(message) > message_width - 2:  # rows are written in order: the height goes first
                ws.set_row(r, _LINE_HEIGHT * _wrapped_lines(message, message_width))
            for c, (put, value) in enumerate(zip(puts, values, strict=True)):
                put(r, c, value)
            r += 1


def _cell_writer(ws: Any, fmt: _Formats, name: str, kind: str) -> Callable[[int, int, Any], None]:
    """How one Rows column's values become cells."""
    if kind in (UTC_TIME, LOCAL_TIME):
        plain, with_ms = (fmt.utc, fmt.utc_ms) if kind == UTC_TIME else (fmt.local, fmt.local_ms)

        def put_time(r: int, c: int, ms: int | None) -> None:
            if ms is not None:
                ws.write_datetime(r, c, _NAIVE_EPOCH + timedelta(milliseconds=ms), with_ms if ms % 1000 else plain)

        return put_time
    if kind in (INT, VID):

        def put_number(r: int, c: int, n: int | None) -> None:
            if n is not None:
                if abs(n) <= _EXCEL_EXACT_INT:
                    ws.write_number(r, c, n)
                else:
                    ws.write_string(r, c, str(n))

        return put_number
    if kind == FLAG:
        return lambda r, c, flag: ws.write_string(r, c, as_text(bool(flag)))
    assert kind == TEXT, kind
    if name == "outcome":
        return lambda r, c, text: _put_text(ws, r, c, text, fmt, fmt.outcome.get(text))
    if name == "message":
        return lambda r, c, text: _put_text(ws, r, c, text, fmt, fmt.wrap_guarded(text))
    return lambda r, c, text: _put_text(ws, r, c, text, fmt)


def _errors(wb: Any, fmt: _Formats, report: Report) -> None:
    """One line per row that needs attention, with the person's name, the fix and the line as the
    file wrote it; "No problems" when there is none."""
    ws = wb.add_worksheet("Errors")
    _print_setup(ws)
    problems = problem_rows(report)
    reasons = pc.fill_null(problems.column("reason"), "")
    order = pa.table({"reason": reasons, "at": pa.array(range(problems.num_rows), pa.int64())})
    problems = problems.take(pc.sort_indices(order, sort_keys=[("reason", "ascending"), ("at", "ascending")]))
    groups = word_counts(reasons)
    for c, name in enumerate(ERROR_COLUMNS):
        width, wrapped = _ERROR_WIDTHS[name]
        ws.set_column(c, c, width, fmt.wrap if wrapped else fmt.top)
        ws.write_string(0, c, name, fmt.header)
    ws.freeze_panes(1, 0)
    if not problems.num_rows:
        ws.write_string(1, 0, "No problems", fmt.good)
        ws.write_string(1, 2, "Every row was recorded, merged, skipped on purpose or planned.", fmt.top)
        return
    ws.autofilter(0, 0, problems.num_rows, len(ERROR_COLUMNS) - 1)
    report_path = report.summary.report_path or "<report>"
    for r, row in enumerate(problems.to_pylist(), 1):
        original = report.originals.get((row["file"], row["row"]))
        values: dict[str, Any] = {
            "reason": row["reason"] or "unsettled",
            "count_in_group": groups[row["reason"] or ""],
            "source_file": row["file"],
            "source_row": row["row"],
            "email": row["email"] or "",
            "name": person_name(row),
            "vid": row["vid"],
            "message": row["message"] or "",
            "fix": fix_for(row, report_path),
            "correlation_id": row["correlation_id"] or "",
            "original_values": _original_text(original) if original else "",
        }
        _error_line(ws, fmt, r, [values[name] for name in ERROR_COLUMNS])


def _original_text(original: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    """``First Name: Bo; Email: bad@@example.com``: the line's non-empty cells with their headers."""
    return "; ".join(f"{h or '(no header)'}: {v}" for h, v in zip(*original, strict=False) if v)


def _error_line(ws: Any, fmt: _Formats, r: int, values: list[Any]) -> None:
    lines = max(
        _wrapped_lines(v, _ERROR_WIDTHS[name][0])
        for name, v in zip(ERROR_COLUMNS, values, strict=True)
        if isinstance(v, str) and _ERROR_WIDTHS[name][1]
    )
    if lines > 1:
        ws.set_row(r, _LINE_HEIGHT * lines)
    for c, value in enumerate(values):
        if isinstance(value, str) and _ERROR_WIDTHS[ERROR_COLUMNS[c]][1]:
            _put_text(ws, r, c, value, fmt, fmt.wrap_guarded(value))
        else:
            _put_value(ws, r, c, value, fmt)


def _wrapped_lines(text: str, width: int) -> int:
    """How many lines a wrapped cell of this width shows the text in; the file says the height,
    since not every spreadsheet app fits rows to wrapped text when it opens a file."""
    if len(text) <= width - 2:
        return 1
    return len(textwrap.wrap(text, max(8, width - 2), break_long_words=True, break_on_hyphens=False)) or 1
