"""The sandbox portal's contacts: ids by email and back, when each was created, and the batch read.

Not locked on its own: :class:`~importer.sandbox.model.HubSpotModel` calls it under its one lock.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from .wire import batch_payload, iso, read_inputs, validation

#: Contacts the sandbox creates get ids of the size real portals issue (11 digits, past 2^31 and 2^32).
_VID_FLOOR = 10_000_000_000
_VID_SPAN = 90_000_000_000


class Contacts:
    """Email to vid and back; a deleted contact's id is never issued again, as in HubSpot."""

    def __init__(self, *, auto: bool, born: str) -> None:
        self._vid_by_email: dict[str, int] = {}
        self._email_by_vid: dict[int, str] = {}
        self._created: dict[int, str] = {}
        self._retired: set[int] = set()
        self._auto = auto
        self._born = born

    def __len__(self) -> int:
        return len(self._vid_by_email)

    def __contains__(self, vid: object) -> bool:
        return vid in self._email_by_vid

    def by_email(self) -> dict[str, int]:
        return dict(self._vid_by_email)

    def email_of(self, vid: int) -> str:
        return self._email_by_vid[vid]

    def put(self, email: str, vid: int) -> None:
        """A contact the portal starts with, under the id a test chose."""
        key = email.strip().lower()
        self._vid_by_email[key] = vid
        self._email_by_vid.setdefault(vid, key)
        self._created.setdefault(vid, self._born)

    def ensure(self, email: str) -> int:
        """The contact's id, creating the contact (with an id derived from the email) if it is new."""
        key = email.strip().lower()
        if key in self._vid_by_email:
            return self._vid_by_email[key]
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        vid = _VID_FLOOR + digest % _VID_SPAN
        while vid in self._email_by_vid or vid in self._retired:
            vid += 1
        self._vid_by_email[key] = vid
        self._email_by_vid[vid] = key
        self._created[vid] = iso(time.time())
        return vid

    def delete(self, email: str) -> int | None:
        """Forget a contact; its id, or None if there was none."""
        vid = self._vid_by_email.pop(email.strip().lower(), None)
        if vid is None:
            return None
        self._email_by_vid.pop(vid, None)
        self._created.pop(vid, None)
        self._retired.add(vid)
        return vid

    def batch_read(self, body: Any, partial_status: int) -> tuple[int, dict[str, Any]]:
        """``POST /crm/v3/objects/contacts/batch/read``: the contacts found, and the ids not found as
        one error with ``partial_status`` (207 in v3, 200 in the dated versions)."""
        inputs = read_inputs(body)
        by_email = body.get("idProperty") == "email"
        found: dict[int, None] = {}
        missing: list[str] = []
        for item in inputs:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise validation("Invalid input JSON: every input needs an 'id' string.")
            ident = item["id"]
            vid = self._read_one(ident, by_email=by_email)
            if vid is not None:
                found[vid] = None
            elif ident not in missing:
                missing.append(ident)
        payload = batch_payload([self._json(vid) for vid in sorted(found)])
        if not missing:
            return 200, payload
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects, they may be deleted or not exist. "
                "Check that ids are valid.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        ]
        return partial_status, payload

    def _read_one(self, ident: str, *, by_email: bool) -> int | None:
        """The contact a batch read's input names (by email, or by id), or None; with auto contacts
        an unknown email becomes a contact, as on a portal that has everyone."""
        if not by_email:
            return int(ident) if ident.isdigit() and int(ident) in self._email_by_vid else None
        key = ident.strip().lower()
        vid = self._vid_by_email.get(key)
        if vid is None and self._auto and "@" in key:
            vid = self.ensure(key)
        return vid

    def _json(self, vid: int) -> dict[str, Any]:
        created = self._created.get(vid, self._born)
        return {
            "id": str(vid),
            "properties": {
                "createdate": created,
                "email": self._email_by_vid.get(vid, ""),
                "hs_object_id": str(vid),
                "lastmodifieddate": created,
            },
            "createdAt": created,
            "updatedAt": created,
            "archived": False,
        }
