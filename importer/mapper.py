"""Mapper: turn the loader's raw grid into the rows table (:data:`models.ROWS`), a line per data row.

It finds the header row(s) (``mapper_layout``), maps columns by header aliases, lets the platform
profile decide each row's state (or skip it, ``mapper_states``), reads emails, contact ids
(``mapper_values``) and times (``mapper_times``), settles the rows it cannot send
(``mapper_verdicts``), places each participation's time in UTC (``mapper_when``) and builds the
table (``mapper_rows``).  Everything is column-wise on *distinct* values (pyarrow/pandas), so
a million-row file maps in seconds; a bad row is a settled line with a reason and a message, never
an exception.  Only problems with the whole file (no header, no data, times without a zone, mixed
date orders) raise ``InputError``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo

import numpy as np
import pandas as pd
import pyarrow as pa

from . import mapper_days
from .config import check_choice, check_meeting_date
from .errors import InputError
from .mapper_layout import AliasIndex, Block, Layout, column, line, locate, unused_time_columns
from .mapper_rows import extras, rows_table
from .mapper_states import attended, per_block, positive_durations, state_source, titles
from .mapper_times import (
    EMPTY,
    Order,
    Times,
    date_order,
    header_zone,
    reject_gaps,
    resolve_times,
    scan_times,
    with_header_zone,
)
from .mapper_values import factorize, rows_list, shown
from .mapper_verdicts import Verdicts, read_ids, settle_ids, settle_skips, settle_times
from .mapper_when import choose_times, send_times
from .models import FileInfo, State
from .profiles import Profile, by_name, detect
from .profiles.base import Decision, Facts, SheetLike
from .profiles.headers import DAY_FIRST_LANGS, FIELDS, TIME_FIELDS, norm_header
from .zones import parse_zone


@dataclass(frozen=True)
class MapOptions:
    """How to read the files: forced state, time zone, header overrides, date order.

    ``now_ms`` fixes "now" for the future-time check (tests); ``None`` means the clock.
    """

    state: str = "auto"
    timezone: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    day_first: bool | None = None
    keep_raw: bool = False
    profile: str | None = None
    now_ms: int | None = None
    meeting_date: str | None = None


@dataclass(frozen=True)
class MappedFile:
    """One file's rows (a :data:`models.ROWS` table, a line per data row in file order) and what
    was learned about it."""

    info: FileInfo
    table: pa.Table


def _profile(sheet: SheetLike, opts: MapOptions) -> Profile:
    return by_name(opts.profile) if opts.profile else detect(sheet)


def source_lines(
    sheet: SheetLike, opts: MapOptions, rows: Collection[int]
) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The header and the cells, as written, of the data lines at these spreadsheet row numbers.

    The report shows a problem row's original values and writes the lines to fix and import again;
    each line comes with the header of its own table (a Zoom report has one per section).
    """
    profile = _profile(sheet, opts)
    blocks, _ = locate(sheet, AliasIndex(profile, opts.columns), profile)
    numbers = np.asarray(sheet.row_numbers)
    wanted = np.fromiter(rows, dtype=np.int64)
    out: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for b in blocks:
        for pos in b.positions[np.isin(numbers[b.positions], wanted)].tolist():
            out[int(numbers[pos])] = (b.headers, tuple(line(sheet.frame, pos)))
    return out


def undecided_error(info: FileInfo) -> InputError:
    """Stop before sending: the file does not say who attended and who only registered."""
    where = info.file + (f" (sheet {info.sheet})" if info.sheet else "")
    listed = rows_list(list(info.undecided_rows)) + (
        f" and {info.undecided - len(info.undecided_rows)} more" if info.undecided > len(info.undecided_rows) else ""
    )
    every = "its rows" if info.undecided == info.data_rows else f"{info.undecided} of its rows (rows {listed})"
    return InputError(
        f"{where} does not say whether the people in {every} attended or only registered: no Attended or "
        "status column, join or check-in time, or duration decides it, and no sheet name, title or file name "
        "says registrants or attendees. Nothing was sent.",
        hint="Say which with --state register or --state attend (it applies to every row the rules do not skip), "
        "or import the attendee report that has join times.",
    )


def _check_options(opts: MapOptions) -> tzinfo | None:
    """The options config checks (the same checks, for options built without a config), and the zone."""
    check_choice("state", opts.state)
    if opts.meeting_date is not None:
        check_meeting_date(opts.meeting_date)
    unknown = sorted(set(opts.columns) - set(FIELDS))
    if unknown:
        raise InputError(
            f"[columns] names unknown fields: {', '.join(unknown)}.", hint=f"Known fields: {', '.join(FIELDS)}."
        )
    return parse_zone(opts.timezone) if opts.timezone else None


_TIME_OF_DAY = r"\d{1,2}:\d{2}(?::\d{2})?(?:[\s\u202f]*[AaPp]\.?\s?[Mm]\.?)?"


def _dated(
    text: dict[str, pd.Series], sheet: SheetLike, blocks: list[Block], profile: Profile, opts: MapOptions
) -> list[str]:
    """Times of day without a date (Google Meet) get the meeting's date: ``--meeting-date``, else
    the one date the file writes outside the table.  None or several: stop and ask, never guess.
    A meeting past midnight puts later times on the next day, as its rows prove (``mapper_days``)."""
    bare = {t: text[t].str.strip().str.fullmatch(_TIME_OF_DAY) for t in TIME_FIELDS if t in text}
    bare = {t: mask for t, mask in bare.items() if mask.any()}
    if not bare:
        return []
    t0, mask0 = next(iter(bare.items()))
    example = shown(str(text[t0][mask0].iloc[0]))
    assert profile.meeting_dates is not None
    main = max(blocks, key=lambda b: len(b.positions))
    found = profile.meeting_dates(sheet, main.header_pos)
    start: float | None = None
    if opts.meeting_date:
        given = mapper_days.START.fullmatch(opts.meeting_date)
        assert given is not None  # checked with the options
        day, where = given.group(1), "--meeting-date"
        if given.group(2) is not None:
            start = int(given.group(2)) * 3600 + int(given.group(3)) * 60
    else:
        days = list(dict.fromkeys(d for d, _ in found))
        hint = "Pass the meeting's date with --meeting-date, e.g. --meeting-date 2024-11-21 (nothing was sent)."
        if not days:
            raise InputError(
                f"{sheet.file}: the {profile.platform} report gives times without a date (e.g. {example}) and no "
                "line above the table nor the file name says the meeting's date.",
                hint=hint,
            )
        if len(days) > 1:
            said = ", ".join(f"{shown(d)} in {w}" for d, w in found[:4])
            raise InputError(
                f"{sheet.file}: the {profile.platform} report gives times without a date (e.g. {example}) and names "
                f"several dates outside the table ({said}): which one the meeting was on is not known.",
                hint=hint,
            )
        day, where = found[0]
    numbers = np.asarray(sheet.row_numbers)[np.concatenate([b.positions for b in blocks])]
    leave = mapper_days.leave_cells(sheet.frame, blocks, profile.leave_headers)
    src = mapper_days.Dateless(sheet.file, profile.platform, day, where, start)
    return mapper_days.date_times(text, bare, leave, numbers, src)


# --- the steps -----------------------------------------------------------------------------------


def _field_headers(blocks: list[Block], main: Block, opts: MapOptions, notes: list[str]) -> dict[str, str]:
    """Each field's header (the largest table's first), noting [columns] names the file lacks."""
    columns: dict[str, str] = {name: main.headers[col] for name, col in main.columns.items()}
    for b in blocks:
        for name, col in b.columns.items():
            columns.setdefault(name, b.headers[col])
    for name, wanted in opts.columns.items():
        if name not in columns or norm_header(columns[name]) != norm_header(wanted):
            notes.append(f"[columns] {name} = {wanted!r} is not a header of this file; used the usual headers instead")
    return columns


def _read_layout(sheet: SheetLike, opts: MapOptions, profile: Profile) -> Layout:
    """Step 1: the tables, each field's header and cells (a header's zone written into its times)."""
    blocks, found = locate(sheet, AliasIndex(profile, opts.columns), profile)
    notes = [*sheet.notes, *found]
    if sum(len(b.positions) for b in blocks) == 0:
        raise InputError(f"{sheet.file} has a header row but no data rows: check that the right report was exported.")
    main = max(blocks, key=lambda b: len(b.positions))
    columns = _field_headers(blocks, main, opts, notes)
    text = {name: got for name in FIELDS if (got := column(sheet.frame, blocks, name)) is not None}
    if profile.meeting_dates is not None:
        notes.extend(_dated(text, sheet, blocks, profile, opts))
    for t in TIME_FIELDS:
        zone_text = header_zone(columns[t])[1] if t in text else None
        if zone_text is not None:
            text[t] = with_header_zone(text[t], zone_text)
            notes.append(f"{columns[t]}: times without their own zone read as {zone_text}, as the header says")
    notes.extend(unused_time_columns(sheet.frame, main))
    positions = np.concatenate([b.positions for b in blocks])
    numbers = np.asarray(sheet.row_numbers)
    if len(positions) and positions[-1] - positions[0] == len(positions) - 1:  # one run of lines: a view
        numbers = numbers[int(positions[0]) : int(positions[-1]) + 1]
    else:
        numbers = numbers[positions]
    return Layout(
        blocks=blocks,
        main=main,
        notes=notes,
        columns=columns,
        text=text,
        row_numbers=numbers,
        section=per_block([(b.label, len(b.positions)) for b in blocks]),
        langs=set().union(*(b.langs for b in blocks)),
    )


def _read_times(sheet: SheetLike, layout: Layout, opts: MapOptions, zone: tzinfo | None, platform: str) -> Times:
    """Step 2: the time columns' distinct texts read, the date order decided, gaps rejected."""
    fields = [t for t in TIME_FIELDS if t in layout.text]
    if not fields:
        return Times(None, {}, Order(None))
    n = layout.n
    codes, uniq = factorize(pd.concat([layout.text[t] for t in fields], ignore_index=True))
    scan = scan_times(uniq)
    order = date_order(scan, opts.day_first, sheet.file, bool(layout.langs & DAY_FIRST_LANGS), platform)
    if order.note:
        layout.notes.append(order.note)
    resolve_times(scan, bool(order.day_first))
    if zone is not None:
        reject_gaps(scan, zone, str(opts.timezone))
    return Times(scan, {t: codes[i * n : (i + 1) * n] for i, t in enumerate(fields)}, order)


def _decide(sheet: SheetLike, layout: Layout, times: Times, opts: MapOptions, profile: Profile) -> tuple[Decision, str]:
    """Step 3: the profile's rules give each row its state (or skip it); --state overrides.  Also
    where the states come from, in words."""
    scan = times.scan
    has_time = {t: scan.kind[c] != EMPTY for t, c in times.codes.items()} if scan is not None else {}
    title, title_from = titles(sheet, layout.blocks)
    text = layout.text
    facts = Facts(
        n=layout.n,
        section=layout.section,
        text=text,
        attended=attended(text.get("attended"), layout.n, layout.notes),
        has_time=has_time,
        duration=positive_durations(text["duration"]) if "duration" in text else None,
        title=title,
    )
    decision = profile.rules(facts)
    words = state_source(decision, opts.state, layout.columns, title_from, profile)
    if opts.state != "auto":
        state = decision.state.copy()
        state[decision.reason == ""] = State(opts.state)
        decision = Decision(state, decision.reason, decision.message, decision.source)
    return decision, words


def map_sheet(sheet: SheetLike, opts: MapOptions) -> MappedFile:
    """Map one loaded sheet to its rows table (see the module docstring): the layout, the times,
    each row's state, contact and verdict, then the table from the columns."""
    zone = _check_options(opts)
    profile = _profile(sheet, opts)
    if profile.refuse:
        raise InputError(f"{sheet.file}: {profile.refuse}", hint=profile.refuse_hint)
    layout = _read_layout(sheet, opts, profile)
    times = _read_times(sheet, layout, opts, zone, profile.platform)
    decision, words = _decide(sheet, layout, times, opts, profile)
    chosen = choose_times(decision.state, times, opts.state != "auto", layout.n)
    ids = read_ids(layout)
    verdicts = Verdicts(layout.n)
    settle_skips(verdicts, decision, layout, ids)
    settle_ids(verdicts, layout, ids)
    undecided = np.flatnonzero(verdicts.open & (decision.state == None))  # noqa: E711 - element-wise comparison
    state = pa.array(decision.state, type=pa.string())
    del decision  # its reasons and messages are the verdicts' now: a million rows' objects let go
    if times.scan is not None:
        settle_times(verdicts, layout, times.scan, chosen)
    when = send_times(sheet.file, layout, times, chosen, verdicts.open, zone, opts.timezone, opts.now_ms)
    date_order = times.order.words
    del chosen, times  # the times are placed: the codes per row are not needed for the columns
    for i, said in when.said.items():  # the row is sent at the first reading: its message says so
        verdicts.say(i, said)
    info = FileInfo(
        file=sheet.file,
        profile=profile.name,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        sheet=sheet.sheet_name,
        header_row=int(sheet.row_numbers[layout.main.header_pos]),
        date_order=date_order,
        timezone=opts.timezone,
        columns=layout.columns,
        notes=tuple(layout.notes),
        data_rows=layout.n,
        state_source=words,
        undecided=len(undecided),
        undecided_rows=tuple(layout.row_numbers[undecided[:10]].tolist()),
    )
    email = ids.emails.for_report() if ids.emails is not None else pa.nulls(layout.n, pa.string())
    table = rows_table(
        sheet.file,
        layout.row_numbers,
        email=email,
        vid=ids.vids.vid,
        state=state,
        when_ms=when.ms,
        verdicts=verdicts.columns(),
        extra=extras(layout.text, sheet.frame, layout.blocks, keep_raw=opts.keep_raw),
        also=when.also,
    )
    return MappedFile(info, table)
