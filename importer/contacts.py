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
from .mapper_layout import AliasIndex, column, locate
from .mapper_values import read_contact_ids, read_emails
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
    blocks, notes = locate(sheet, AliasIndex(profile, {}), profile)
    emails_col = column(sheet.frame, blocks, "email")
    vids_col = column(sheet.frame, blocks, "vid")
    if emails_col is None or vids_col is None:
        raise InputError(
            f"Contacts file {sheet.file} needs both an Email and a Record ID column.",
            hint="Export the contacts from HubSpot with the Record ID and Email properties.",
        )
    rows = len(emails_col)
    emails = read_emails(emails_col)
    cids = read_contact_ids(vids_col)
    address = emails.address
    usable = np.flatnonzero(emails.valid & ~cids.none)
    vids = cids.vid.fill_null(0).to_numpy()
    seen: dict[str, set[int]] = {}
    for i in usable:
        seen.setdefault(str(address[i]), set()).add(int(vids[i]))
    by_email = {e: next(iter(ids)) for e, ids in seen.items() if len(ids) == 1}
    conflicts = {e: tuple(sorted(ids)) for e, ids in seen.items() if len(ids) > 1}
    skipped = rows - len(usable)
    if skipped:
        notes.append(f"{skipped} rows without a valid email and Record ID were left out of the contacts map")
    if conflicts:
        notes.append(f"{len(conflicts)} emails have several Record IDs; rows with those emails will not be guessed")
    return ContactsMap(sheet.file, by_email, conflicts, rows, tuple(notes))
