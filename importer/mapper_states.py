"""What a file says about each row's state beyond its own cells: an Attended column's words, a
duration, the titles above its table (section label, sheet name, title lines, file name), and where
the states come from in words for the summary."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .mapper_layout import Block
from .mapper_values import shown
from .models import State
from .profiles import Profile
from .profiles.base import NO, YES, Decision, SheetLike, title_state


def attended(values: pd.Series | None, n: int, notes: list[str]) -> np.ndarray:
    if values is None:
        return np.full(n, -1, dtype=np.int8)
    codes, uniq = pd.factorize(values)
    words = [str(u).strip().lower() for u in uniq]
    table = np.array([1 if w in YES else 0 if w in NO else -1 for w in words], dtype=np.int8)
    odd = sorted({str(u) for u, w in zip(uniq, words, strict=True) if w and w not in YES and w not in NO})
    if odd:
        listed = ", ".join(shown(o, 20) for o in odd[:5])
        notes.append(f"Attended values not understood ({listed}): those rows follow the other columns")
    return table[np.asarray(codes)]


def display_names(values: pd.Series) -> pd.Series:
    """Names without Teams' '(External)'/'(Unverified)'/'(Guest)' marks."""
    return values.str.replace(
        r"\s*\((?:External|Unverified|Guest|Extern|Externe?|Gast|Invité|Invitado)\)", "", regex=True
    )


def titles(sheet: SheetLike, blocks: Sequence[Block]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the state its titles name and which title said it: the section label above its
    table, else the sheet name, the file's title lines, the file name (the first that names one)."""
    found: tuple[State, str] | None = None
    candidates = [(sheet.sheet_name or "", f"sheet name {sheet.sheet_name}")]
    first = min(b.header_pos for b in blocks)
    for line in sheet.frame.iloc[:first].itertuples(index=False, name=None):
        cells = [str(c) for c in line if c]
        if len(cells) == 1 and len(cells[0]) <= 80 and cells[0] != blocks[0].label_text:
            candidates.append((cells[0], f"title line {shown(cells[0])}"))
    candidates.append((sheet.path.name, f"file name {sheet.path.name}"))
    for text, where in candidates:
        said = title_state(text) if text else None
        if said is not None:
            found = (said, where)
            break
    parts_state: list[tuple[object, int]] = []
    parts_from: list[tuple[object, int]] = []
    for b in blocks:
        said = title_state(b.label_text) if b.label_text else None
        kind = "section" if len(blocks) > 1 else "title line"
        got = (said, f"{kind} {shown(b.label_text)}") if said is not None else found
        parts_state.append((None if got is None else got[0], len(b.positions)))
        parts_from.append(("" if got is None else got[1], len(b.positions)))
    return per_block(parts_state), per_block(parts_from)


def per_block(values: Sequence[tuple[object, int]]) -> np.ndarray:
    """Per row the value of its table, given as (value, rows) per table: one table's is a read-only
    view of its one value (a million rows of the same title or section cost nothing)."""
    cells = []
    for value, n in values:
        one = np.empty((), dtype=object)
        one[()] = value  # np.full would turn an enum into a plain str
        cells.append(np.broadcast_to(one, (n,)))
    return cells[0] if len(cells) == 1 else np.concatenate(cells)


def positive_durations(values: pd.Series) -> np.ndarray:
    """Rows whose duration is more than nothing ('68', '1:02:03', '45 min'; not '0', '00:00', '--')."""
    codes, uniq = pd.factorize(values)
    table = np.fromiter((bool(re.search(r"[1-9]", str(u))) for u in uniq), dtype=bool, count=len(uniq))
    return table[np.asarray(codes)] if len(uniq) else np.zeros(len(values), dtype=bool)


def state_source(
    decision: Decision, forced: str, columns: Mapping[str, str], title_from: np.ndarray, profile: Profile
) -> str:
    """Where the rows' states come from, in words, most used first ('' when nothing says it)."""
    live = decision.reason == ""
    if forced != "auto":
        return f"--state {forced} (every row the rules do not skip)"
    what = {
        "attended": lambda: f"column {columns.get('attended', 'attended')} (Yes/No)",
        "state_text": lambda: f"column {columns.get('state_text', 'status')} (status words)",
        "join_time": lambda: f"column {columns.get('join_time', 'join time')} (a join time means attended)",
        "duration": lambda: f"column {columns.get('duration', 'duration')} (a duration means attended)",
        "registration_time": lambda: (
            f"column {columns.get('registration_time', 'registration time')} (a registration time means registered)"
        ),
        "layout": lambda: f"the {profile.name} layout's rules",
    }
    counts: dict[str, int] = {}
    for source, n in sorted(_counts(decision.source[live]).items()):
        if source == "title":
            for where, m in sorted(_counts(title_from[live & (decision.source == "title")]).items()):
                counts[where] = counts.get(where, 0) + m
        elif source:
            counts[what[source]()] = n
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1:
        return ranked[0][0]
    return ", ".join(f"{text} ({n} rows)" for text, n in ranked)


def _counts(words: np.ndarray) -> dict[str, int]:
    """How often each word occurs (hashed: a few distinct words in a million rows)."""
    return {str(w): int(n) for w, n in pd.Series(words, dtype=object).value_counts(sort=False).items()}
