"""The ``--contacts`` map: a HubSpot contacts export read as email -> contact id.

It lets a run resolve emails without searching HubSpot.  An email listed with several different
ids is never guessed: it goes to ``conflicts`` and the pipeline rejects rows with that email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .mapper import _AliasIndex, _column, _emails, _locate, _vids
from .profiles import hubspot_contacts
from .profiles.base import SheetLike


@dataclass(frozen=True, slots=True)
class ContactsMap:
    """Emails (normalised) to contact ids, the ambiguous emails, and what was read."""

    file: str
    by_email: Mapping[str, int]
    conflicts: Mapping[str, tuple[int, ...]]
    rows: int
    notes: tuple[str, ...] = field(default=())


def load_contacts_map(path: str | Path) -> ContactsMap:
    """Read a contacts export (CSV or workbook) into a :class:`ContactsMap`."""
    from .loader import load

    return contacts_from_sheet(load(path))


def contacts_from_sheet(sheet: SheetLike) -> ContactsMap:
    """Build the map from an already loaded sheet; rows without a valid email or id are left out (noted)."""
    profile = hubspot_contacts.PROFILE
    blocks, notes = _locate(sheet, _AliasIndex(profile, {}), profile)
    emails_col = _column(sheet.frame, blocks, "email")
    vids_col = _column(sheet.frame, blocks, "vid")
    if emails_col is None or vids_col is None:
        raise InputError(
            f"Contacts file {sheet.file} needs both an Email and a Record ID column.",
            hint="Export the contacts from HubSpot with the Record ID and Email properties.",
        )
    rows = len(emails_col)
    emails = _emails(emails_col)
    vids, bad_vid, _ = _vids(vids_col)
    usable = np.flatnonzero(
        np.asarray([e is not None for e in emails.email], dtype=bool)
        & np.asarray([v is not None for v in vids], dtype=bool)
        & ~bad_vid
    )
    seen: dict[str, set[int]] = {}
    for i in usable:
        seen.setdefault(str(emails.email[i]), set()).add(int(vids[i]))
    by_email = {e: next(iter(ids)) for e, ids in seen.items() if len(ids) == 1}
    conflicts = {e: tuple(sorted(ids)) for e, ids in seen.items() if len(ids) > 1}
    skipped = rows - len(usable)
    if skipped:
        notes.append(f"{skipped} rows without a valid email and Record ID were left out of the contacts map")
    if conflicts:
        notes.append(f"{len(conflicts)} emails have several Record IDs; rows with those emails will not be guessed")
    return ContactsMap(sheet.file, by_email, conflicts, rows, tuple(notes))
