"""The ``--contacts`` map: a HubSpot contacts export read as email -> contact id.

It lets a run resolve emails without searching HubSpot.  An email listed with several different
ids is never guessed: it goes to ``conflicts`` and the pipeline rejects rows with that email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    usable = emails.valid & ~cids.none
    by_email, conflicts = _ids_by_email(emails.clean.filter(pa.array(usable)), cids.vid.filter(pa.array(usable)))
    usable_rows = int(usable.sum())
    skipped = rows - usable_rows
    if skipped:
        notes.append(f"{skipped} rows without a valid email and Record ID were left out of the contacts map")
    if conflicts:
        notes.append(f"{len(conflicts)} emails have several Record IDs; rows with those emails will not be guessed")
    return ContactsMap(sheet.file, by_email, conflicts, rows, tuple(notes))


def _ids_by_email(
    address: pa.Array | pa.ChunkedArray, vid: pa.Array | pa.ChunkedArray
) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    """Each address (in the order they first appear) with its one id, and those with several.
    Column-wise: a set of ids per address cost a Python object per row of a million-row export."""
    if isinstance(address, pa.ChunkedArray):
        address = address.combine_chunks()
    encoded = pc.dictionary_encode(address)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
    ids = np.asarray(vid.to_numpy(zero_copy_only=False), np.int64)
    lowest = np.full(len(encoded.dictionary), np.iinfo(np.int64).max, np.int64)
    highest = np.full(len(encoded.dictionary), np.iinfo(np.int64).min, np.int64)
    np.minimum.at(lowest, codes, ids)
    np.maximum.at(highest, codes, ids)
    one = lowest == highest
    names = encoded.dictionary.to_pylist()
    by_email = dict(zip([names[i] for i in np.flatnonzero(one)], lowest[one].tolist(), strict=True))
    several: dict[int, set[int]] = {int(c): set() for c in np.flatnonzero(~one)}
    for c, v in zip(codes[~one[codes]].tolist(), ids[~one[codes]].tolist(), strict=True):
        several[c].add(v)
    return by_email, {names[c]: tuple(sorted(found)) for c, found in several.items()}
