"""Each row's verdict while the mapper reads it: skipped by a profile rule, rejected for its contact
id, email or time, or still open (to be sent).  The first rule to settle a row wins; every
message names the row and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .mapper_layout import Layout
from .mapper_states import display_names
from .mapper_times import BAD, TimeScan
from .mapper_values import ContactIds, Emails, lost_ids, read_contact_ids, read_emails, shown, why_email
from .mapper_when import Chosen
from .models import Outcome, Reason
from .profiles.base import Decision
from .rows import blanks, nulls


@dataclass(frozen=True)
class Ids:
    """The row's contact: its email column and contact id column read (either may be absent)."""

    emails: Emails | None
    vids: ContactIds

    def who(self, layout: Layout, i: int) -> str:
        """Row ``i``'s person for a message: the address, else the email text, else the name."""
        e = self.emails
        if e is not None and e.valid[i]:
            return str(e.clean[i])
        if e is not None and not e.empty[i]:
            return shown(e.raw[i].as_py(), 50)
        return _name_of(layout.text, i) or "no email"


def read_ids(layout: Layout) -> Ids:
    """Step 5: emails and contact ids read."""
    text, n = layout.text, layout.n
    emails = read_emails(text["email"]) if "email" in text else None
    if "vid" in text:
        vids = read_contact_ids(text["vid"])
    else:
        vids = ContactIds(pa.nulls(n, pa.int64()), np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    return Ids(emails, vids)


def _name_of(text: Mapping[str, pd.Series], i: int) -> str:
    """Row ``i``'s display name (first + last, else the name column) for a message."""
    first = str(text["first_name"].iloc[i]) if "first_name" in text else ""
    last = str(text["last_name"].iloc[i]) if "last_name" in text else ""
    full = f"{first} {last}".strip()
    if not full and "name" in text:
        full = str(display_names(text["name"].iloc[i : i + 1]).iloc[0])
    return full


class Verdicts:
    """Each settled row's outcome, reason and message while the rules settle them; the first rule
    to settle a row wins.  Only settled rows are held (most rows are open), and the table's columns
    are built from them once, at the end."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.open = np.ones(n, dtype=bool)
        self._settled: dict[int, tuple[str, str, str]] = {}
        self._said: dict[int, str] = {}

    def settle(
        self, mask: np.ndarray, result: Outcome, code: Reason | str | np.ndarray, build: Callable[[int], str]
    ) -> None:
        """Settle the still open rows of ``mask``, each with its own message; ``code`` may give
        each row its own reason (an array)."""
        for i in np.flatnonzero(mask & self.open):
            reason = code[i] if isinstance(code, np.ndarray) else code
            self._settled[int(i)] = (str(result), str(reason), build(int(i)))
        self.open &= ~mask

    def say(self, i: int, message: str) -> None:
        """An open row's message (why it is sent as it is)."""
        self._said[i] = message

    def columns(self) -> tuple[pa.Array, pa.Array, pa.Array]:
        """The outcome (null while open), reason and message ('' when there is none) columns."""
        outcome = {i: o for i, (o, _, _) in self._settled.items()}
        reason = {i: r for i, (_, r, _) in self._settled.items()}
        message = {**{i: m for i, (_, _, m) in self._settled.items()}, **self._said}
        return _scattered(self.n, None, outcome), _scattered(self.n, "", reason), _scattered(self.n, "", message)


def _scattered(n: int, fill: str | None, values: Mapping[int, str]) -> pa.Array:
    """A text column of ``fill`` with ``values`` at their rows."""
    if fill is None or fill == "":
        base = nulls(n, pa.string()) if fill is None else blanks(n)  # zero pages nothing writes
    else:
        base = pa.repeat(pa.scalar(fill, pa.string()), n)
    if not values:
        return base
    rows = np.fromiter(sorted(values), dtype=np.int64, count=len(values))
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(base, pa.array(mask), pa.array([values[int(i)] for i in rows], pa.string()))


def settle_skips(v: Verdicts, decision: Decision, layout: Layout, ids: Ids) -> None:
    """Rows a profile rule skips (hosts, panelists, declined...), with the rule's message."""
    status = layout.text.get("state_text")
    v.settle(
        decision.reason != "",
        Outcome.SKIPPED,
        decision.reason,
        lambda i: str(decision.message[i]).format(
            row=layout.row_numbers[i], who=ids.who(layout, i), status=status.iloc[i] if status is not None else ""
        ),
    )


def settle_ids(v: Verdicts, layout: Layout, ids: Ids) -> None:
    """Rows whose contact id or email cannot be used, or that have neither."""
    rows, raw_vid, vids, emails = layout.row_numbers, layout.text.get("vid"), ids.vids, ids.emails
    raw = (lambda i: str(raw_vid.iloc[i])) if raw_vid is not None else (lambda i: "")
    if raw_vid is not None:
        lost = np.zeros(layout.n, dtype=bool)
        bad = np.flatnonzero(vids.bad)
        lost[bad] = lost_ids(raw_vid.iloc[bad])
        v.settle(
            lost,
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
                f"Email {shown(emails.raw[i].as_py())} in row {rows[i]} is not a valid "
                f"address ({why_email(str(emails.clean[i]))}); correct it in the file."
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


def settle_times(v: Verdicts, layout: Layout, scan: TimeScan, chosen: Chosen) -> None:
    """Rows whose time cannot be read."""
    rows, code = layout.row_numbers, chosen.code
    v.settle(
        chosen.kind == BAD,
        Outcome.REJECTED,
        Reason.BAD_TIME,
        lambda i: (
            f"Time {shown(scan.texts[int(code[i])].as_py())} in row {rows[i]} "
            f"({layout.columns.get(chosen.field(i), chosen.field(i))}) "
            f"{scan.why.get(int(code[i]), 'could not be read as a date and time')}; "
            "correct it or clear the cell to use the event's start."
        ),
    )
