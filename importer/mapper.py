"""Mapper: turn the loader's raw grid into the rows table (:data:`models.ROWS`), a line per data row.

It finds the header row(s) (``mapper_layout``), maps columns by header aliases, lets the platform
profile decide each row's state (or skip it), and reads emails, contact ids (``mapper_values``)
and times (``mapper_times``).  Everything is column-wise on *distinct* values (pyarrow/pandas), so
a million-row file maps in seconds; a bad row is a settled line with a reason and a message, never
an exception.  Only problems with the whole file (no header, no data, times without a zone, mixed
date orders) raise ``InputError``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import InputError
from .mapper_layout import AliasIndex, Block, column, line, locate, unused_time_columns
from .mapper_rows import also_columns, extras, rows_table
from .mapper_states import attended, display_names, positive_durations, state_source, titles
from .mapper_times import (
    AWARE,
    BAD,
    EMPTY,
    NAIVE,
    Order,
    TimeScan,
    date_order,
    header_zone,
    localize,
    reject_gaps,
    resolve_times,
    scan_times,
    with_header_zone,
)
from .mapper_values import (
    ContactIds,
    Emails,
    factorize,
    lost_ids,
    read_contact_ids,
    read_emails,
    rows_list,
    shown,
    why_email,
)
from .models import FileInfo, Outcome, Reason, State
from .profiles import Profile, by_name, detect
from .profiles.base import DAY_FIRST_LANGS, FIELDS, TIME_FIELDS, Decision, Facts, SheetLike, norm_header
from .zones import parse_zone

STATES = ("auto", "register", "attend", "cancel")
WORKBOOK_KINDS = frozenset({"xlsx", "xls", "xlsb", "ods"})
MS_2000 = 946_684_800_000
DAY_MS = 86_400_000


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
    if opts.state not in STATES:
        raise InputError(f"--state {opts.state!r} is not one of {', '.join(STATES)}.")
    if opts.meeting_date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", opts.meeting_date):
        raise InputError(f"--meeting-date {opts.meeting_date!r} is not a date written as YYYY-MM-DD.")
    unknown = sorted(set(opts.columns) - set(FIELDS))
    if unknown:
        raise InputError(
            f"[columns] names unknown fields: {', '.join(unknown)}.", hint=f"Known fields: {', '.join(FIELDS)}."
        )
    return parse_zone(opts.timezone) if opts.timezone else None


_TIME_OF_DAY = r"\d{1,2}:\d{2}(?::\d{2})?(?:[\s\u202f]*[AaPp]\.?\s?[Mm]\.?)?"


def _dated(
    text: dict[str, pd.Series], sheet: SheetLike, header_pos: int, profile: Profile, opts: MapOptions
) -> list[str]:
    """Times of day without a date (Google Meet) get the meeting's date: ``--meeting-date``, else
    the one date the file writes outside the table.  None or several: stop and ask, never guess."""
    bare = {t: text[t].str.strip().str.fullmatch(_TIME_OF_DAY) for t in TIME_FIELDS if t in text}
    bare = {t: mask for t, mask in bare.items() if mask.any()}
    if not bare:
        return []
    t0, mask0 = next(iter(bare.items()))
    example = shown(str(text[t0][mask0].iloc[0]))
    assert profile.meeting_dates is not None
    found = profile.meeting_dates(sheet, header_pos)
    if opts.meeting_date:
        day, where = opts.meeting_date, "--meeting-date"
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
    for t, mask in bare.items():
        text[t] = text[t].where(~mask, day + " " + text[t].str.strip())
    return [f"times without a date read on {day} (from {where})"]


# --- the steps -----------------------------------------------------------------------------------


@dataclass
class _Layout:
    """The sheet's tables read: the fields' headers and cells, per row its number and section."""

    blocks: list[Block]
    main: Block  # the largest table: its headers name the fields
    notes: list[str]
    columns: dict[str, str]  # field -> header
    text: dict[str, pd.Series]  # field -> cells, one per row
    row_numbers: np.ndarray
    section: np.ndarray
    langs: set[str]

    @property
    def n(self) -> int:
        return len(self.row_numbers)


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


def _read_layout(sheet: SheetLike, opts: MapOptions, profile: Profile) -> _Layout:
    """Step 1: the tables, each field's header and cells (a header's zone written into its times)."""
    blocks, found = locate(sheet, AliasIndex(profile, opts.columns), profile)
    notes = [*sheet.notes, *found]
    if sum(len(b.positions) for b in blocks) == 0:
        raise InputError(f"{sheet.file} has a header row but no data rows: check that the right report was exported.")
    main = max(blocks, key=lambda b: len(b.positions))
    columns = _field_headers(blocks, main, opts, notes)
    text = {name: got for name in FIELDS if (got := column(sheet.frame, blocks, name)) is not None}
    if profile.meeting_dates is not None:
        notes.extend(_dated(text, sheet, main.header_pos, profile, opts))
    for t in TIME_FIELDS:
        zone_text = header_zone(columns[t])[1] if t in text else None
        if zone_text is not None:
            text[t] = with_header_zone(text[t], zone_text)
            notes.append(f"{columns[t]}: times without their own zone read as {zone_text}, as the header says")
    notes.extend(unused_time_columns(sheet.frame, main))
    positions = np.concatenate([b.positions for b in blocks])
    return _Layout(
        blocks=blocks,
        main=main,
        notes=notes,
        columns=columns,
        text=text,
        row_numbers=np.asarray(sheet.row_numbers)[positions],
        section=np.concatenate([np.full(len(b.positions), b.label, dtype=object) for b in blocks]),
        langs=set().union(*(b.langs for b in blocks)),
    )


@dataclass(frozen=True)
class _Times:
    """Every time column's texts read once per distinct value: per field, each row's code."""

    scan: TimeScan | None
    codes: Mapping[str, np.ndarray]
    order: Order


def _read_times(sheet: SheetLike, layout: _Layout, opts: MapOptions, zone: tzinfo | None, platform: str) -> _Times:
    """Step 2: the time columns' distinct texts read, the date order decided, gaps rejected."""
    fields = [t for t in TIME_FIELDS if t in layout.text]
    if not fields:
        return _Times(None, {}, Order(None))
    n = layout.n
    codes, uniq = factorize(pd.concat([layout.text[t] for t in fields], ignore_index=True))
    scan = scan_times(uniq)
    order = date_order(scan, opts.day_first, sheet.file, bool(layout.langs & DAY_FIRST_LANGS), platform)
    if order.note:
        layout.notes.append(order.note)
    resolve_times(scan, bool(order.day_first))
    if zone is not None:
        reject_gaps(scan, zone, str(opts.timezone))
    return _Times(scan, {t: codes[i * n : (i + 1) * n] for i, t in enumerate(fields)}, order)


def _decide(
    sheet: SheetLike, layout: _Layout, times: _Times, opts: MapOptions, profile: Profile
) -> tuple[Decision, str]:
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


@dataclass(frozen=True)
class _Chosen:
    """Per row, the distinct time its state uses (-1: none) and from which field, and the
    registration time an attendee or cancellation also proves (-1: none), with their kinds."""

    code: np.ndarray
    field: np.ndarray
    kind: np.ndarray
    reg: np.ndarray
    reg_kind: np.ndarray


#: The time column each state's participation takes its time from.
_STATE_TIME = ((State.ATTEND, "join_time"), (State.REGISTER, "registration_time"), (State.CANCEL, "cancel_time"))


def _choose_times(state: np.ndarray, times: _Times, opts: MapOptions, n: int) -> _Chosen:
    """Step 4: which time each row uses: its state's column (a cancellation never takes the order
    date: with no cancellation time it is the event's start).  An attendee or a cancellation with a
    registration time also proves a registration at that time (HubSpot keeps one participation per
    state); a forced --state means one participation per row."""
    chosen = np.full(n, -1, dtype=np.int64)
    chosen_field = np.full(n, "", dtype=object)
    for st, t in _STATE_TIME:
        if t in times.codes:
            mask = state == st
            chosen[mask] = times.codes[t][mask]
            chosen_field[mask] = t
    reg = np.full(n, -1, dtype=np.int64)
    if "registration_time" in times.codes and opts.state == "auto":
        second = (state == State.ATTEND) | (state == State.CANCEL)
        reg[second] = times.codes["registration_time"][second]
    if times.scan is None:
        none = np.zeros(n, dtype=np.int8)
        return _Chosen(chosen, chosen_field, none, reg, none)
    return _Chosen(chosen, chosen_field, times.scan.kinds(chosen), reg, times.scan.kinds(reg))


@dataclass(frozen=True)
class _Ids:
    """The row's contact: its email column and contact id column read (either may be absent)."""

    emails: Emails | None
    vids: ContactIds

    def who(self, layout: _Layout, i: int) -> str:
        """Row ``i``'s person for a message: the address, else the email text, else the name."""
        e = self.emails
        if e is not None and e.valid[e.codes[i]]:
            return str(e.clean[e.codes[i]])
        if e is not None and not e.blank[e.codes[i]]:
            return shown(e.raw[int(e.codes[i])].as_py(), 50)
        return _name_of(layout.text, i) or "no email"


def _read_ids(layout: _Layout) -> _Ids:
    """Step 5: emails and contact ids read."""
    text, n = layout.text, layout.n
    emails = read_emails(text["email"]) if "email" in text else None
    if "vid" in text:
        vids = read_contact_ids(text["vid"])
    else:
        vids = ContactIds(pa.nulls(n, pa.int64()), np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    return _Ids(emails, vids)


def _name_of(text: Mapping[str, pd.Series], i: int) -> str:
    """Row ``i``'s display name (first + last, else the name column) for a message."""
    first = str(text["first_name"].iloc[i]) if "first_name" in text else ""
    last = str(text["last_name"].iloc[i]) if "last_name" in text else ""
    full = f"{first} {last}".strip()
    if not full and "name" in text:
        full = str(display_names(text["name"].iloc[i : i + 1]).iloc[0])
    return full


class _Verdicts:
    """Each row's outcome, reason and message while the rules settle them; the first rule to
    settle a row wins."""

    def __init__(self, n: int) -> None:
        self.outcome = np.full(n, None, dtype=object)
        self.reason = np.full(n, "", dtype=object)
        self.message = np.full(n, "", dtype=object)

    @property
    def open(self) -> np.ndarray:
        return self.outcome == None  # noqa: E711 - element-wise comparison

    def settle(self, mask: np.ndarray, result: Outcome, code: Reason | str, build: Callable[[int], str]) -> None:
        """Settle the still open rows of ``mask``, each with its own message."""
        for i in np.flatnonzero(mask & self.open):
            self.outcome[i], self.reason[i] = result, str(code)
            self.message[i] = build(int(i))


def _settle_skips(v: _Verdicts, decision: Decision, layout: _Layout, ids: _Ids) -> None:
    """Rows a profile rule skips (hosts, panelists, declined...), with the rule's message."""
    status = layout.text.get("state_text")
    v.settle(
        decision.reason != "",
        Outcome.SKIPPED,
        "",
        lambda i: str(decision.message[i]).format(
            row=layout.row_numbers[i], who=ids.who(layout, i), status=status.iloc[i] if status is not None else ""
        ),
    )
    skipped = v.outcome == Outcome.SKIPPED
    v.reason[skipped] = decision.reason[skipped]


def _settle_ids(v: _Verdicts, layout: _Layout, ids: _Ids) -> None:
    """Rows whose contact id or email cannot be used, or that have neither."""
    rows, raw_vid, vids, emails = layout.row_numbers, layout.text.get("vid"), ids.vids, ids.emails
    raw = (lambda i: str(raw_vid.iloc[i])) if raw_vid is not None else (lambda i: "")
    if raw_vid is not None:
        v.settle(
            vids.bad & lost_ids(raw_vid),
            Outcome.REJECTED,
            Reason.LOST_PRECISION_ID,
            lambda i: (
                f"Contact ID {shown(raw(i))} in row {rows[i]} was shortened by Excel to "
                "scientific notation, so its last digits are lost and it cannot be trusted; format the column as "
                "Text (or Number with no decimals) in the original export and save it again, or clear the cell "
                "to match by email."
            ),
        )
    v.settle(
        vids.bad,
        Outcome.REJECTED,
        Reason.INVALID_VID,
        lambda i: (
            f"Contact ID {shown(raw(i))} in row {rows[i]} "
            "is not a valid HubSpot record ID (a positive whole number); correct it or clear the cell."
        ),
    )
    if emails is not None:
        v.settle(
            emails.invalid,
            Outcome.REJECTED,
            Reason.INVALID_EMAIL,
            lambda i: (
                f"Email {shown(emails.raw[int(emails.codes[i])].as_py())} in row {rows[i]} is not a valid "
                f"address ({why_email(str(emails.clean[int(emails.codes[i])]))}); correct it in the file."
            ),
        )
    no_email = emails.empty | emails.invalid if emails is not None else np.ones(layout.n, dtype=bool)
    v.settle(
        no_email & vids.none,
        Outcome.REJECTED,
        Reason.MISSING_EMAIL,
        lambda i: (
            f"Row {rows[i]}{f' ({nm})' if (nm := _name_of(layout.text, i)) else ''} has no email address or "
            "contact ID; add one in the file to record this person."
        ),
    )


def _settle_times(v: _Verdicts, layout: _Layout, scan: TimeScan, chosen: _Chosen) -> None:
    """Rows whose time cannot be read."""
    rows, code = layout.row_numbers, chosen.code
    v.settle(
        chosen.kind == BAD,
        Outcome.REJECTED,
        Reason.BAD_TIME,
        lambda i: (
            f"Time {shown(scan.texts[int(code[i])].as_py())} in row {rows[i]} "
            f"({layout.columns.get(str(chosen.field[i]), chosen.field[i])}) "
            f"{scan.why.get(int(code[i]), 'could not be read as a date and time')}; "
            "correct it or clear the cell to use the event's start."
        ),
    )


def _require_zone(sheet: SheetLike, scan: TimeScan, chosen: _Chosen, sendable: np.ndarray) -> None:
    """Stop before sending: a sendable row's time has no zone and none was given."""
    naive_rows = sendable & (chosen.kind == NAIVE)
    naive_reg = sendable & (chosen.reg_kind == NAIVE)
    if not (naive_rows.any() or naive_reg.any()):
        return
    first = int(chosen.code[np.flatnonzero(naive_rows)[0]]) if naive_rows.any() else int(chosen.reg[naive_reg][0])
    raise InputError(
        f"{sheet.file} has times without a time zone (e.g. {shown(scan.texts[first].as_py())}); "
        "pass --timezone, e.g. --timezone America/New_York",
        hint="or set timezone in the config.",
    )


def _fold_note(scan: TimeScan, code: int, zone: tzinfo, name: str) -> str:
    """What a row read at the first of an hour the autumn repeats says (``{column}`` left to fill):
    which reading was taken and how to write the other one."""
    wall = datetime(1970, 1, 1) + timedelta(milliseconds=int(scan.ms[code]))
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)

    def offset(d: datetime) -> str:
        minutes = int(d.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
        return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    text = shown(scan.texts[code].as_py()).replace("{", "{{").replace("}", "}}")
    return (
        f"Time {text} ({{column}}) happened twice in {name}, the clocks going back that night: read as the "
        f"first, {first:%H:%M} {first.tzname()} (UTC{offset(first)}). If the second, {second:%H:%M} "
        f"{second.tzname()} (UTC{offset(second)}), was meant, write the time with that offset in the file "
        f"({wall:%Y-%m-%d %H:%M}{offset(second)}) before importing it."
    )


def _utc_ms(
    scan: TimeScan,
    chosen: _Chosen,
    sendable: np.ndarray,
    zone: tzinfo | None,
    opts: MapOptions,
    notes: list[str],
    folded: dict[int, str],
) -> np.ndarray:
    """UTC epoch ms of every distinct time; wall-clock times placed in ``zone``, noting the
    repeated autumn hour's times that rows use (``folded``: code -> the row message's words)."""
    utc_ms = scan.ms.copy()
    naive = np.flatnonzero(scan.kind == NAIVE)
    if zone is None or not len(naive):
        return utc_ms
    local, special = localize(scan.ms[naive], zone)
    utc_ms[naive] = local
    used_codes = np.concatenate(
        [chosen.code[sendable & (chosen.kind == NAIVE)], chosen.reg[sendable & (chosen.reg_kind == NAIVE)]]
    )
    used = np.isin(naive, used_codes) & special
    if used.any():
        ex = ", ".join(shown(scan.texts[int(i)].as_py()) for i in naive[used][:3])
        notes.append(
            f"{int(used.sum())} times fall in the hour {opts.timezone} repeats when the clocks go back "
            f"(e.g. {ex}): each was read as the first of the two (summer time)"
        )
        folded.update({int(c): _fold_note(scan, int(c), zone, str(opts.timezone)) for c in naive[used]})
    return utc_ms


def _odd_times(odd_mask: np.ndarray, rows: np.ndarray, zoned: bool) -> list[str]:
    """A note on times before 2000 or more than a day ahead: probably a wrong date or zone."""
    odd = np.flatnonzero(odd_mask)
    if not len(odd):
        return []
    return [
        f"{len(odd)} rows have times before 2000 or more than a day in the future "
        f"(rows {rows_list(rows[odd].tolist())}); check the dates" + (" and --timezone" if zoned else "")
    ]


@dataclass(frozen=True)
class _When:
    """Per row, the UTC epoch ms its participation is sent at (null: the file gives none), and
    the registration it also proves (the ``also_`` columns)."""

    ms: pa.Array
    also: dict[str, pa.Array]
    #: row index -> its own participation's message (a time the autumn repeats: which reading)
    said: dict[int, str]


def _registration_message(layout: _Layout, scan: TimeScan, chosen: _Chosen, i: int) -> str:
    code = int(chosen.reg[i])
    return (
        f"Registration time {shown(scan.texts[code].as_py())} in row {layout.row_numbers[i]} "
        f"({layout.columns.get('registration_time', 'registration_time')}) "
        f"{scan.why.get(code, 'could not be read as a date and time')}; correct it or clear the cell "
        "(the attendance or cancellation is sent without it)."
    )


def _send_times(
    sheet: SheetLike,
    layout: _Layout,
    times: _Times,
    chosen: _Chosen,
    sendable: np.ndarray,
    zone: tzinfo | None,
    opts: MapOptions,
) -> _When:
    """Step 7: each row's time in UTC, and the registration a sendable attendee or cancellation
    proves by its registration time; one that cannot be read is that participation's rejection,
    not the row's."""
    scan, n = times.scan, layout.n
    if scan is None:
        nothing = np.zeros(n, dtype=bool)
        return _When(pa.nulls(n, pa.int64()), also_columns(np.zeros(n, dtype=np.int64), nothing, nothing, {}), {})
    if zone is None:
        _require_zone(sheet, scan, chosen, sendable)
    folded: dict[int, str] = {}
    utc_ms = _utc_ms(scan, chosen, sendable, zone, opts, layout.notes, folded)
    zoned = zone is not None
    timed = (chosen.code >= 0) & ((chosen.kind == AWARE) | ((chosen.kind == NAIVE) & zoned))
    ms = utc_ms[np.maximum(chosen.code, 0)]
    now = opts.now_ms if opts.now_ms is not None else int(time.time() * 1000)
    odd = sendable & timed & ((ms < MS_2000) | (ms > now + DAY_MS))
    layout.notes.extend(_odd_times(odd, layout.row_numbers, zoned))
    proven = sendable & ((chosen.reg_kind == AWARE) | ((chosen.reg_kind == NAIVE) & zoned))
    bad = sendable & (chosen.reg_kind == BAD)
    messages = {int(i): _registration_message(layout, scan, chosen, int(i)) for i in np.flatnonzero(bad)}
    said: dict[int, str] = {}
    if folded:
        codes = np.fromiter(folded, dtype=np.int64)
        reg_header = layout.columns.get("registration_time", "registration_time")
        for i in np.flatnonzero(proven & np.isin(chosen.reg, codes)).tolist():
            messages[i] = folded[int(chosen.reg[i])].format(column=reg_header)
        for i in np.flatnonzero(sendable & timed & np.isin(chosen.code, codes)).tolist():
            header = layout.columns.get(str(chosen.field[i]), str(chosen.field[i]))
            said[i] = folded[int(chosen.code[i])].format(column=header)
    also = also_columns(utc_ms[np.maximum(chosen.reg, 0)], proven, bad, messages)
    return _When(pa.array(ms, type=pa.int64(), mask=~timed), also, said)


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
    chosen = _choose_times(decision.state, times, opts, layout.n)
    ids = _read_ids(layout)
    verdicts = _Verdicts(layout.n)
    _settle_skips(verdicts, decision, layout, ids)
    _settle_ids(verdicts, layout, ids)
    undecided = np.flatnonzero(verdicts.open & (decision.state == None))  # noqa: E711 - element-wise comparison
    if times.scan is not None:
        _settle_times(verdicts, layout, times.scan, chosen)
    when = _send_times(sheet, layout, times, chosen, verdicts.open, zone, opts)
    for i, words in when.said.items():  # the row is sent at the first reading: its message says so
        verdicts.message[i] = words
    info = FileInfo(
        file=sheet.file,
        profile=profile.name,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        sheet=sheet.sheet_name,
        header_row=int(sheet.row_numbers[layout.main.header_pos]),
        date_order=times.order.words,
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
        state=decision.state,
        when_ms=when.ms,
        outcome=verdicts.outcome,
        reason=verdicts.reason,
        message=verdicts.message,
        extra=extras(layout.text, sheet.frame, layout.blocks, keep_raw=opts.keep_raw),
        also=when.also,
    )
    return MappedFile(info, table)
