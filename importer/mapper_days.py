"""The day of each time in a report that writes times of day only (Google Meet), from what its
rows prove, never from a guess.

The file gives the day the meeting began (a line above the table, Google's file name, or
``--meeting-date``).  A time of day is on that day or, for a meeting that ran past midnight, on
the next one.  What decides it:

- a row cannot leave before it joined, so a row whose ``Time exited`` is earlier in the day than
  its ``Time joined`` joined before midnight and left after it: the meeting ran past midnight;
- someone is in a meeting at every moment of it, so a meeting past midnight has such a row:
  without one, every time is on the meeting's date;
- a Meet call lasts at most 24 hours (Google's plans cap every meeting at 24 hours), so once a
  time is known to be after midnight, every time later in the day than it was before midnight,
  and once a time is known to be before midnight, every time earlier in the day was after it.
  Applied until nothing changes, this places the rows one after the other.

A row these facts leave open (a join and exit both between the latest time known to be after
midnight and the earliest known to be before it) could be on either day: the run stops and asks
for the meeting's start (``--meeting-date 2024-11-21T23:00``), and times earlier in the day than
that start are then read on the next day; a start that splits a row's join and exit (join after
midnight, exit before) is refused, naming the row.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .errors import InputError
from .mapper_layout import Block
from .mapper_values import rows_list
from .profiles.headers import norm_header

DAY_S = 86_400
#: A time of day as Meet writes it: ``1:58 PM``, ``13:58``, ``1:58:30 p.m.``.
CLOCK = re.compile(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[\s\u202f]*([AaPp])\.?\s?[Mm]\.?)?\s*")
#: ``--meeting-date`` with the meeting's start: ``2024-11-21T23:00`` (or a space for the T).
START = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}):(\d{2}))?")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def clock_seconds(texts: pd.Series) -> np.ndarray:
    """Seconds after midnight of each bare time of day, NaN where the cell is not one."""
    parts = texts.astype("str").str.extract(f"^{CLOCK.pattern}$")
    hours = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float)
    minutes = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float)
    seconds = pd.to_numeric(parts[2], errors="coerce").fillna(0).to_numpy(dtype=float)
    half = parts[3].str.lower().to_numpy(dtype=object)
    pm, am = half == "p", half == "a"
    twelve = pm | am
    bad = (minutes > 59) | (seconds > 59) | np.where(twelve, (hours < 1) | (hours > 12), hours > 23)
    hours = np.where(twelve, hours % 12 + np.where(pm, 12, 0), hours)
    out = hours * 3600 + minutes * 60 + seconds
    out[bad] = np.nan
    return out


def iso_date(text: str) -> date | None:
    """The calendar date a meeting-date text names, when it names one without doubt: ISO,
    ``Nov 21, 2024``, ``21 Nov 2024``, or numeric when one part is over 12 (or both are equal)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            y, m, d = (int(p) for p in text.split("-"))
            return date(y, m, d)
        named = re.fullmatch(r"([A-Za-z]{3})[a-z]*\.? (\d{1,2}), (\d{4})", text) or re.fullmatch(
            r"(\d{1,2}) ([A-Za-z]{3})[a-z]*\.?,? (\d{4})", text
        )
        if named:
            first, second, year = named.groups()
            month, day = (first, second) if first.isalpha() else (second, first)
            return date(int(year), _MONTHS.index(month.lower()) + 1, int(day))
        numeric = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
        if numeric:
            a, b, n = (int(p) for p in numeric.groups())
            if a > 12 or a == b:
                return date(n, b, a)
            if b > 12:
                return date(n, a, b)
    except ValueError:
        return None
    return None


def next_day(day: date) -> date:
    return day + timedelta(days=1)


@dataclass(frozen=True)
class Placement:
    """Per row, the day its join time is on (0: the meeting's date, 1: the next day, -1: not
    known), the rows that joined before midnight and left after, and, when the rows cannot be one
    meeting of at most 24 hours or the given start splits a row, the row positions that show it."""

    day: np.ndarray
    crossed: np.ndarray
    conflict: tuple[int, ...] = ()


def place(join: np.ndarray, leave: np.ndarray, start: float | None = None) -> Placement:
    """Each row's day from its join and exit times of day (seconds; NaN where none)."""
    n = len(join)
    both = ~np.isnan(join) & ~np.isnan(leave)
    crossed = both & (leave < join)
    lo = np.where(np.isnan(join), leave, join)
    hi = np.where(np.isnan(leave), join, leave)
    known = ~np.isnan(lo)
    if start is not None:
        joins_next = lo < start
        split = both & (joins_next & (leave >= start) | crossed & ((join >= start) == (leave >= start)))
        day = np.where(joins_next, 1, 0).astype(np.int8)
        return Placement(day, crossed, tuple(np.flatnonzero(split).tolist()))
    day = np.zeros(n, dtype=np.int8)
    if not crossed.any():
        return Placement(day, crossed)
    day[known & ~crossed] = -1
    late_at = int(np.flatnonzero(crossed)[np.argmax(leave[crossed])])
    early_at = int(np.flatnonzero(crossed)[np.argmin(join[crossed])])
    while hi[late_at] <= lo[early_at]:
        open_ = day == -1
        to_next = open_ & (lo < hi[late_at])
        to_same = open_ & (hi > lo[early_at])
        if not (to_next | to_same).any():
            return Placement(day, crossed)
        day[to_next] = 1
        day[to_same & ~to_next] = 0
        if (to_next & to_same).any():
            return Placement(day, crossed, (late_at, int(np.flatnonzero(to_next & to_same)[0]), early_at))
        if to_next.any():
            late_at = max(late_at, *np.flatnonzero(to_next).tolist(), key=lambda i: hi[i])
        if to_same.any():
            early_at = min(early_at, *np.flatnonzero(to_same).tolist(), key=lambda i: lo[i])
    return Placement(day, crossed, (late_at, early_at))


def leave_cells(frame: pd.DataFrame, blocks: Sequence[Block], headers: Collection[str]) -> pd.Series | None:
    """The cells of the column saying when each row left (``Time exited``), '' where a table lacks it."""
    wanted = {norm_header(h) for h in headers}
    parts, found = [], False
    for b in blocks:
        cols = [c for c, h in enumerate(b.headers) if norm_header(h) in wanted]
        if cols:
            found = True
            parts.append(frame[frame.columns[cols[0]]].take(b.positions).reset_index(drop=True))
        else:
            parts.append(pd.Series([""] * len(b.positions), dtype="str"))
    return pd.concat(parts, ignore_index=True) if found else None


@dataclass(frozen=True)
class Dateless:
    """What a report without dates gives the placing: where its date came from and what it says."""

    file: str
    platform: str
    day_text: str  # as written (a line above the table, the file name, --meeting-date)
    where: str
    start: float | None  # seconds after midnight, from --meeting-date YYYY-MM-DDTHH:MM


def _hhmm(seconds: float) -> str:
    h, m = divmod(int(seconds) // 60, 60)
    return f"{h:02d}:{m:02d}"


def _clock(seconds: float) -> str:
    h, m = divmod(int(seconds) // 60, 60)
    return f"{(h - 1) % 12 + 1}:{m:02d} {'AM' if h < 12 else 'PM'}"


def _hint(first: date | None, at: str = "23:00") -> str:
    day = first.isoformat() if first else "2024-11-21"
    return (
        f"Give the time the meeting began with --meeting-date, e.g. --meeting-date {day}T{at}: times of day "
        "earlier than it are then read on the next day (nothing was sent)."
    )


def _write(text: dict[str, pd.Series], bare: dict[str, pd.Series], days: pd.Series | str) -> None:
    for t, mask in bare.items():
        dated = days.set_axis(text[t].index) if isinstance(days, pd.Series) else days
        text[t] = text[t].where(~mask, dated + " " + text[t].str.strip())


@dataclass(frozen=True)
class _Read:
    """The rows' times of day as placed, with what the messages say about them."""

    join: np.ndarray
    exits: np.ndarray
    numbers: np.ndarray
    src: Dateless
    got: Placement

    def row(self, i: int) -> str:
        said = [f"joined {_clock(self.join[i])}"] if not np.isnan(self.join[i]) else []
        said += [f"left {_clock(self.exits[i])}"] if not np.isnan(self.exits[i]) else []
        return f"row {int(self.numbers[i])} ({', '.join(said)})"

    def proof(self) -> str:
        if not self.got.crossed.any():
            return ""
        i = int(np.flatnonzero(self.got.crossed)[0])
        return (
            f"its rows show the meeting ran past midnight (row {int(self.numbers[i])} joined "
            f"{_clock(self.join[i])} and left {_clock(self.exits[i])} the next day)"
        )

    def refuse(self, first: date | None) -> None:
        """Stop before sending when the rows do not say each time's day, naming the rows."""
        src, got, proof = self.src, self.got, self.proof()
        if src.start is not None and got.conflict:
            i = got.conflict[0]
            earliest = self.join[i] if not np.isnan(self.join[i]) else self.exits[i]
            raise InputError(
                f"{src.file}: --meeting-date says the {src.platform} meeting began at {_clock(src.start)}, so times "
                f"earlier in the day are on the next day; then {self.row(i)} would have left before it joined.",
                hint=_hint(first, _hhmm(earliest)),
            )
        if got.conflict:
            rows = ", ".join(self.row(i) for i in dict.fromkeys(got.conflict))
            raise InputError(
                f"{src.file}: the {src.platform} report gives times without a date and {proof}, but its rows "
                f"cannot all be in one meeting of at most 24 hours ({rows}): which day each time is on is not known.",
                hint=_hint(first),
            )
        undecided = np.flatnonzero(got.day == -1)
        if len(undecided):
            before = np.where(got.day == 0, np.where(np.isnan(self.join), self.exits, self.join), np.nan)
            listed = "; ".join(self.row(int(i)) for i in undecided[:3])
            more = f"; and {len(undecided) - 3} more rows" if len(undecided) > 3 else ""
            raise InputError(
                f"{src.file}: the {src.platform} report gives times without a date and {proof}; whether these "
                f"rows were before or after midnight the file does not say: {listed}{more}.",
                hint=_hint(first, _hhmm(np.nanmin(before)) if not np.isnan(before).all() else "23:00"),
            )


def date_times(
    text: dict[str, pd.Series],
    bare: dict[str, pd.Series],
    leave: pd.Series | None,
    numbers: np.ndarray,
    src: Dateless,
) -> list[str]:
    """Write each bare time of day as a date-time on the day the rows prove (see the module);
    raise ``InputError`` when they do not prove it.  The notes say what was read."""
    join_field = "join_time" if "join_time" in bare else next(iter(bare))
    join = clock_seconds(text[join_field].where(bare[join_field], ""))
    exits = clock_seconds(leave) if leave is not None else np.full(len(join), np.nan)
    read = _Read(join, exits, numbers, src, place(join, exits, src.start))
    said = f"times without a date read on {src.day_text} (from {src.where})"
    first = iso_date(src.day_text)
    read.refuse(first)
    after = [int(numbers[i]) for i in np.flatnonzero((read.got.day == 1) & ~np.isnan(join))]
    proof = read.proof()
    if not after:
        _write(text, bare, src.day_text)
        return [said + (f"; {proof}, and every join was before midnight" if proof else "")]
    if first is None:
        raise InputError(
            f"{src.file}: the {src.platform} meeting ran past midnight, so some times are on the day after "
            f"{src.day_text} (from {src.where}), but which calendar day that date names is not certain.",
            hint="Pass the meeting's date with --meeting-date, e.g. --meeting-date 2024-11-21 (nothing was sent).",
        )
    _write(text, bare, pd.Series(np.where(read.got.day == 1, next_day(first).isoformat(), first.isoformat())))
    why = proof or f"--meeting-date says the meeting began at {_clock(src.start or 0)}"
    return [f"{said}; {why}: the times of rows {rows_list(after)} are read on {next_day(first).isoformat()}"]
