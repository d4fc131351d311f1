"""Where the attendee table is in a sheet: its header line(s), the fields their headers name, the
sections a report splits into, and each field's cells over all sections.

A sheet may carry title lines above the table, a meeting summary, section labels with a header
of their own per section ('Attendee Details', 'Panelist Details'), repeated headers and
separator lines: only data lines are rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError
from .mapper_times import AWARE, NAIVE, header_zone, scan_times
from .mapper_values import arrow_text, shown
from .profiles import Profile
from .profiles.base import HEAD_LINES, SheetLike
from .profiles.headers import ALIASES, KEY_FIELDS, norm_header

#: field -> (rank, column, language) of the alias a header line names it by.
Hits = dict[str, tuple[int, int, str]]


class AliasIndex:
    """Header text -> field, with overrides first, then the profile's aliases, then the shared ones."""

    def __init__(self, profile: Profile, overrides: Mapping[str, str]) -> None:
        self.index: dict[str, tuple[str, int, str]] = {}
        for name, entries in ALIASES.items():
            for rank, (text, lang) in enumerate(entries):
                self.index.setdefault(norm_header(text), (name, rank, lang))
        for text in profile.ignore:
            self.index.pop(norm_header(text), None)
        for name, texts in profile.aliases.items():
            for text in texts:
                self.index[norm_header(text)] = (name, -1, "")
        for name, text in overrides.items():
            self.index[norm_header(text)] = (name, -2, "")
        self.last = profile.last_column
        shared = {text for name, entries in ALIASES.items() if name in KEY_FIELDS for text, _ in entries}
        own = {text for name, text in overrides.items() if name in KEY_FIELDS}
        self.key_texts = {text.strip().lower() for text in shared | own}

    def _field(self, cell: str) -> tuple[str, int, str] | None:
        got = self.index.get(norm_header(cell))
        if got is None:
            bare, zone = header_zone(cell)
            got = self.index.get(norm_header(bare)) if zone else None
        return got

    def scan(self, cells: Sequence[str]) -> Hits:
        """field -> (rank, column, language) for a candidate header line; the best alias wins."""
        hits: Hits = {}
        for col, cell in enumerate(cells):
            got = self._field(cell) if cell and len(cell) <= 80 else None
            if got is None:
                continue
            name, rank, lang = got
            if name not in hits or rank < hits[name][0] or (rank == hits[name][0] and name in self.last):
                hits[name] = (rank, col, lang)
        return hits


@dataclass(frozen=True)
class Block:
    """One table of the sheet: its header line, section label and data lines."""

    header_pos: int
    label: str
    label_text: str
    headers: tuple[str, ...]
    columns: Mapping[str, int]
    langs: frozenset[str]
    positions: np.ndarray


def line(frame: pd.DataFrame, pos: int) -> list[str]:
    """The cells of one line of the sheet."""
    return [str(c) for c in frame.iloc[pos].tolist()]


def _no_header(sheet: SheetLike, head: list[list[str]]) -> InputError:
    fullest = max(head, key=lambda cells: sum(bool(c) for c in cells), default=[])
    seen = ", ".join(shown(c, 40) for c in fullest if c)[:300] or "none"
    return InputError(
        f"{sheet.file}: no header row with an email or contact ID column was found in the first {HEAD_LINES} lines "
        f"(the fullest line reads: {seen}).",
        hint='Name the columns in the config\'s [columns] table, e.g. email = "Mail" or vid = "Kundennummer".',
    )


def _weight(hits: Mapping[str, object]) -> int:
    """How much a line looks like the attendee table's header: its fields, a duration not
    counted (a meeting summary above the table has an email and a duration too)."""
    return len(hits) - ("duration" in hits)


@dataclass(frozen=True)
class _Lines:
    """What the lines below the first header are: later headers, separators, one-cell lines."""

    headers: dict[int, Hits]
    separators: list[int]
    single: set[int]


def _first_header(sheet: SheetLike, aliases: AliasIndex) -> tuple[list[list[str]], int, Hits, int]:
    """The top lines, the first header among them (its line and fields) and how many fields a
    header needs."""
    head = [[str(c) for c in cells] for cells in sheet.frame.iloc[:HEAD_LINES].itertuples(index=False, name=None)]
    scans = [aliases.scan(cells) for cells in head]
    keyed = [i for i, hits in enumerate(scans) if any(k in hits for k in KEY_FIELDS)]
    if not keyed:
        raise _no_header(sheet, head)
    need = 2 if max(_weight(scans[i]) for i in keyed) >= 2 else 1
    h0 = next(i for i in keyed if _weight(scans[i]) >= need)
    return head, h0, scans[h0], need


def _later_lines(frame: pd.DataFrame, aliases: AliasIndex, h0: int, hits0: Hits, need: int) -> _Lines:
    """Below the first header, the lines whose key cell holds no email or id: headers of later
    sections, separator lines, and one-cell lines (section labels)."""
    key = "email" if "email" in hits0 else "vid"
    rest = frame[hits0[key][1]].iloc[h0 + 1 :]
    plain = rest.str.contains("@", regex=False) if key == "email" else rest.str.match(r"\d")
    cand = np.flatnonzero(~plain.to_numpy(dtype=bool)) + h0 + 1
    found = _Lines({h0: hits0}, [], set())
    if not len(cand):
        return found
    sub = frame.iloc[cand]
    count = (sub != "").to_numpy(dtype=bool).sum(axis=1)
    keyish = np.zeros(len(cand), dtype=bool)
    sep = np.ones(len(cand), dtype=bool)
    for col in sub.columns:
        cells = sub[col]
        keyish |= cells.str.strip().str.lower().isin(aliases.key_texts).to_numpy(dtype=bool)
        sep &= cells.str.fullmatch(r"[-=_*~#.|+\s]*").to_numpy(dtype=bool)
    for pos in cand[keyish]:
        hits = aliases.scan(line(frame, int(pos)))
        if any(k in hits for k in KEY_FIELDS) and _weight(hits) >= need:
            found.headers[int(pos)] = hits
    found.separators.extend(int(p) for p in cand[sep & (count > 0)])
    found.single.update(int(p) for p in cand[count == 1])
    return found


def _label_of(frame: pd.DataFrame, head: list[list[str]], h0: int, lines: _Lines, h: int) -> tuple[int | None, str]:
    """The section label right above header ``h`` (its line and text), if there is one."""
    above = h - 1
    if above < 0 or above in lines.headers:
        return None, ""
    if above < h0 + 1:
        cells = [c for c in head[above] if c] if above < len(head) else []
        return (above, cells[0]) if len(cells) == 1 else (None, "")
    if above in lines.single:
        return above, next(c for c in line(frame, above) if c)
    return None, ""


def locate(sheet: SheetLike, aliases: AliasIndex, profile: Profile) -> tuple[list[Block], list[str]]:
    """Find every header line (the first within the top lines, later ones per section) and split
    the data lines between them; section labels, repeated headers and separator lines are not data."""
    frame = sheet.frame
    if len(frame) == 0 or frame.shape[1] == 0:
        raise InputError(f"{sheet.file} has no rows at all: check that the right file was exported.")
    head, h0, hits0, need = _first_header(sheet, aliases)
    lines = _later_lines(frame, aliases, h0, hits0, need)
    starts = sorted(lines.headers)
    labels = {h: _label_of(frame, head, h0, lines, h) for h in starts}
    drop = set(starts) | set(lines.separators) | {p for p, _ in labels.values() if p is not None and p > h0}
    positions = np.arange(h0 + 1, len(frame), dtype=np.int64)
    if drop:
        positions = positions[~np.isin(positions, np.fromiter(drop, dtype=np.int64))]
    block_of = np.searchsorted(np.asarray(starts), positions, side="right") - 1
    blocks: list[Block] = []
    notes: list[str] = []
    for i, h in enumerate(starts):
        label_text = labels[h][1]
        label = norm_header(label_text)
        mine = positions[block_of == i]
        if label and profile.leave_out(label):
            notes.append(f"section '{label_text}' ({len(mine)} lines) left out: it does not list attendees")
            continue
        hits = lines.headers[h]
        columns = {name: col for name, (_, col, _) in hits.items()}
        langs = frozenset(lang for _, _, lang in hits.values() if lang)
        blocks.append(Block(h, label, label_text, tuple(line(frame, h)), columns, langs, mine))
    if lines.separators:
        notes.append(f"{len(lines.separators)} separator lines left out")
    return blocks, notes


def column(frame: pd.DataFrame, blocks: Sequence[Block], name: str) -> pd.Series | None:
    """One field's cells over all blocks ('' where a block lacks the column), in row order."""
    if not any(name in b.columns for b in blocks):
        return None
    parts = []
    for b in blocks:
        if name in b.columns:
            parts.append(_cells(frame[b.columns[name]], b.positions))
        else:
            parts.append(pd.Series([""] * len(b.positions), dtype="str"))
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def _cells(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """The cells at ``positions``: a slice (no copy) when they follow each other, as the lines of
    one table nearly always do."""
    if len(positions) and positions[-1] - positions[0] == len(positions) - 1:
        values = values.iloc[int(positions[0]) : int(positions[-1]) + 1]
    else:
        values = values.take(positions)
    return values.reset_index(drop=True)


#: Cells looked at per column to tell whether it holds date-times.
_SAMPLE_CELLS = 200


def unused_time_columns(frame: pd.DataFrame, block: Block) -> list[str]:
    """A note naming the columns of the attendee table whose values read as date-times but which no
    field uses, so the marketer sees a time the import ignores (and can name it in ``[columns]``)."""
    used = set(block.columns.values())
    found: list[str] = []
    for col, head in enumerate(block.headers):
        if col in used or not head:
            continue
        cells = frame[frame.columns[col]].take(block.positions[:_SAMPLE_CELLS])
        cells = cells[cells.str.strip() != ""]
        if len(cells) == 0 or cells.str.fullmatch(r"\s*\d+(?:[.,]\d+)?\s*").any():
            continue  # numbers (durations, ids, Excel serials) are not taken for dates
        scan = scan_times(arrow_text(cells.drop_duplicates()))
        if ((scan.kind == AWARE) | (scan.kind == NAIVE) | scan.pending).all():
            found.append(head)
    if not found:
        return []
    listed = ", ".join(f"'{h}'" for h in found)
    return [
        f"date-time columns not used: {listed}; if one of them is the time to record, name it in [columns] "
        f'(e.g. join_time = "{found[0]}" or registration_time = "{found[0]}")'
    ]


@dataclass
class Layout:
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
