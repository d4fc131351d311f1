"""When each row's participation happened: the time its state takes (and the registration an
attendee or a cancellation also proves), in UTC epoch ms.  Wall-clock times are placed in the
given zone; a time the autumn repeats says which reading was taken; no zone stops before sending.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import numpy as np
import pyarrow as pa

from .errors import InputError
from .mapper_layout import Layout
from .mapper_rows import also_columns
from .mapper_times import AWARE, BAD, NAIVE, Times, TimeScan, localize
from .mapper_values import rows_list, shown
from .models import State

MS_2000 = 946_684_800_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Chosen:
    """Per row, the distinct time its state uses (-1: none) and from which field, and the
    registration time an attendee or cancellation also proves (-1: none), with their kinds."""

    code: np.ndarray
    fields: np.ndarray  # int8: the field's index in ``_STATE_TIME`` (-1: none)
    kind: np.ndarray
    reg: np.ndarray
    reg_kind: np.ndarray

    def field(self, i: int) -> str:
        """The time field row ``i`` takes its time from ('' for none)."""
        at = int(self.fields[i])
        return _STATE_TIME[at][1] if at >= 0 else ""


#: The time column each state's participation takes its time from.
_STATE_TIME = ((State.ATTEND, "join_time"), (State.REGISTER, "registration_time"), (State.CANCEL, "cancel_time"))


def choose_times(state: np.ndarray, times: Times, forced: bool, n: int) -> Chosen:
    """Step 4: which time each row uses: its state's column (a cancellation never takes the order
    date: with no cancellation time it is the event's start).  An attendee or a cancellation with a
    registration time also proves a registration at that time (HubSpot keeps one participation per
    state); a forced --state means one participation per row."""
    chosen = np.full(n, -1, dtype=np.int32)
    chosen_field = np.full(n, -1, dtype=np.int8)
    for at, (st, t) in enumerate(_STATE_TIME):
        if t in times.codes:
            mask = state == st
            chosen[mask] = times.codes[t][mask]
            chosen_field[mask] = at
    reg = np.full(n, -1, dtype=np.int32)
    if "registration_time" in times.codes and not forced:
        second = (state == State.ATTEND) | (state == State.CANCEL)
        reg[second] = times.codes["registration_time"][second]
    if times.scan is None:
        none = np.zeros(n, dtype=np.int8)
        return Chosen(chosen, chosen_field, none, reg, none)
    return Chosen(chosen, chosen_field, times.scan.kinds(chosen), reg, times.scan.kinds(reg))


def _require_zone(file: str, scan: TimeScan, chosen: Chosen, sendable: np.ndarray) -> None:
    """Stop before sending: a sendable row's time has no zone and none was given."""
    naive_rows = sendable & (chosen.kind == NAIVE)
    naive_reg = sendable & (chosen.reg_kind == NAIVE)
    if not (naive_rows.any() or naive_reg.any()):
        return
    first = int(chosen.code[np.flatnonzero(naive_rows)[0]]) if naive_rows.any() else int(chosen.reg[naive_reg][0])
    raise InputError(
        f"{file} has times without a time zone (e.g. {shown(scan.texts[first].as_py())}); "
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
    chosen: Chosen,
    sendable: np.ndarray,
    zone: tzinfo | None,
    zone_name: str,
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
            f"{int(used.sum())} times fall in the hour {zone_name} repeats when the clocks go back "
            f"(e.g. {ex}): each was read as the first of the two (summer time)"
        )
        folded.update({int(c): _fold_note(scan, int(c), zone, zone_name) for c in naive[used]})
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
class When:
    """Per row, the UTC epoch ms its participation is sent at (null: the file gives none), and
    the registration it also proves (the ``also_`` columns)."""

    ms: pa.Array
    also: dict[str, pa.Array]
    #: row index -> its own participation's message (a time the autumn repeats: which reading)
    said: dict[int, str]


def _registration_message(layout: Layout, scan: TimeScan, chosen: Chosen, i: int) -> str:
    code = int(chosen.reg[i])
    return (
        f"Registration time {shown(scan.texts[code].as_py())} in row {layout.row_numbers[i]} "
        f"({layout.columns.get('registration_time', 'registration_time')}) "
        f"{scan.why.get(code, 'could not be read as a date and time')}; correct it or clear the cell "
        "(the attendance or cancellation is sent without it)."
    )


def send_times(
    file: str,
    layout: Layout,
    times: Times,
    chosen: Chosen,
    sendable: np.ndarray,
    zone: tzinfo | None,
    zone_name: str | None,
    now_ms: int | None,
) -> When:
    """Step 7: each row's time in UTC, and the registration a sendable attendee or cancellation
    proves by its registration time; one that cannot be read is that participation's rejection,
    not the row's."""
    scan, n = times.scan, layout.n
    if scan is None:
        nothing = np.zeros(n, dtype=bool)
        return When(pa.nulls(n, pa.int64()), also_columns(np.zeros(n, dtype=np.int64), nothing, nothing, {}), {})
    if zone is None:
        _require_zone(file, scan, chosen, sendable)
    folded: dict[int, str] = {}
    utc_ms = _utc_ms(scan, chosen, sendable, zone, str(zone_name), layout.notes, folded)
    zoned = zone is not None
    timed = (chosen.code >= 0) & ((chosen.kind == AWARE) | ((chosen.kind == NAIVE) & zoned))
    ms = utc_ms[np.maximum(chosen.code, 0)]
    now = now_ms if now_ms is not None else int(time.time() * 1000)
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
            header = layout.columns.get(chosen.field(i), chosen.field(i))
            said[i] = folded[int(chosen.code[i])].format(column=header)
    reg_ms = utc_ms[np.maximum(chosen.reg, 0)] if proven.any() else np.zeros(n, dtype=np.int64)
    also = also_columns(reg_ms, proven, bad, messages)
    return When(pa.array(ms, type=pa.int64(), mask=~timed), also, said)
