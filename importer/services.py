"""The seams a run uses (HTTP transport, clock, sleep, wall time, log, progress, the question
before sending, the portal): tests replace them so nothing really waits and no network is needed."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from . import events
from .config import Config
from .hubspot import HubSpot
from .models import EventInfo
from .preview import Preview
from .waits import Waits


def quiet(_: str) -> None:
    """The default log: say nothing."""


#: where a run sends: given the config and the rows, a context that yields the config to use and,
#: for a rehearsal, the look-alike it started (``participations(event_id)``, ``state()``)
Portal = Callable[[Config, pa.Table], AbstractContextManager[tuple[Config, Any]]]


@dataclass(frozen=True)
class Services:
    """The seams a run uses; tests replace them so nothing really waits."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    #: None: real waits, which an interrupt (SIGINT, SIGTERM) cuts short (see ``waits.Waits``).
    sleep: Callable[[float], None] | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    log: Callable[[str], None] = quiet
    progress: Callable[[int, int, int, int], None] | None = None
    #: the contact lookups answered so far (requests done and in all, emails done and in all)
    lookups: Callable[[int, int, int, int], None] | None = None
    #: before a phase: the requests that follow it, HubSpot's limit and the concurrency (the ETA
    #: covers the whole run)
    expect: Callable[[int, tuple[int, float], int], None] | None = None
    #: asked before the first write with what is about to be sent; False sends nothing (``Declined``)
    confirm: Callable[[Preview, EventInfo], bool] | None = None
    #: with --event-name, asked which event is meant when several match (a terminal); None: the
    #: run stops naming each one's id (see ``events.pick``)
    choose: events.Choose | None = None
    cwd: Path = field(default_factory=Path.cwd)
    #: with --sandbox, the HubSpot the run sends to instead (the CLI hands in ``rehearsal.sandbox``,
    #: so the pipeline never imports the sandbox): given the config and the rows, it yields the
    #: config to use and an object with ``participations(event_id)`` and ``state()``
    portal: Portal | None = None


def connect(cfg: Config, svc: Services, waits: Waits) -> HubSpot:
    """The run's HubSpot client: every wait it makes goes through ``waits``."""
    return HubSpot(cfg, transport=svc.transport, clock=svc.clock, waits=waits, log=svc.log, now=svc.now)
