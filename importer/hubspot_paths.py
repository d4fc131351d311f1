"""Every path the importer calls on HubSpot, per API version: the only place paths are built."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from .config import API_VERSIONS


def _segment(value: object) -> str:
    return quote(str(value).strip(), safe="")


@dataclass(frozen=True, slots=True)
class ApiPaths:
    """Every path the importer calls, for one API version: the only place paths are built.

    ``v3`` is HubSpot's legacy numbered scheme (``/marketing/v3/marketing-events``,
    ``/crm/v3/objects/contacts``); the date-based versions put the date after the API's name
    (``/marketing/marketing-events/2026-03``, ``/crm/objects/2026-03/contacts``).
    """

    version: str

    def __post_init__(self) -> None:
        if self.version not in API_VERSIONS:
            raise ValueError(f"unknown HubSpot API version {self.version!r}")

    @property
    def vid_max(self) -> int:
        """The largest contact id the version's marketing-events contract declares (2026-09: int32)."""
        return 2**31 - 1 if self.version == "2026-09" else 2**63 - 1

    @property
    def _events(self) -> str:
        if self.version == "v3":
            return "/marketing/v3/marketing-events"
        return f"/marketing/marketing-events/{self.version}"

    @property
    def contacts_batch_read(self) -> str:
        if self.version == "v3":
            return "/crm/v3/objects/contacts/batch/read"
        return f"/crm/objects/{self.version}/contacts/batch/read"

    @property
    def events(self) -> str:
        """The portal's marketing events, a page at a time (``limit`` up to 100, ``after``)."""
        return self._events

    def event(self, event_id: str) -> str:
        return f"{self._events}/{_segment(event_id)}"

    def attendance(self, event_id: str, state: str, *, by_email: bool) -> str:
        verb = "email-create" if by_email else "create"
        return f"{self._events}/{_segment(event_id)}/attendance/{_segment(state)}/{verb}"

    def counters(self, event_id: str) -> str:
        return f"{self._events}/participations/{_segment(event_id)}"

    def breakdown(self, event_id: str) -> str:
        return f"{self._events}/participations/{_segment(event_id)}/breakdown"
