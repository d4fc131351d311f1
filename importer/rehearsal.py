"""``--sandbox``: a HubSpot look-alike on 127.0.0.1 for one run.

The CLI hands :func:`sandbox` to the pipeline as its portal, so the pipeline (the application)
never imports the sandbox: only this module and the CLI do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from .config import Config
from .contacts import load_contacts_map
from .sandbox import DEFAULT_TOKEN, Sandbox

#: the id of the event a rehearsal by --event-name holds
REHEARSAL_EVENT_ID = "1001"


@contextmanager
def sandbox(cfg: Config, rows: pa.Table) -> Iterator[tuple[Config, Sandbox]]:
    """A sandbox that holds the one event the run names and knows every contact of the input
    (each email, and each contact id the file gives, with its email when it has one), with the ids
    a ``--contacts`` export gives them: the run sends those ids, so the sandbox must hold them.

    The sandbox forgets everything when the run ends, so its run also gets a journal of its own
    that goes with it: a ledger that outlived the sandbox would claim rows were already recorded.
    """
    with_id = rows.filter(pc.is_valid(rows.column("vid")))
    ids = with_id.column("vid").to_pylist()
    named = with_id.column("email").to_pylist()
    known = {(email or f"contact-{vid}@sandbox.example"): vid for email, vid in zip(named, ids, strict=True)}
    if cfg.contacts_file:
        export = load_contacts_map(cfg.contacts_file)
        known.update({e: v for e, v in export.by_email.items() if e not in export.conflicts and e not in known})
    sendable = pc.and_(pc.is_null(rows.column("outcome")), pc.fill_null(pc.not_equal(rows.column("email"), ""), False))
    emails = sorted(set(pc.unique(rows.column("email").filter(sendable)).to_pylist()) - set(known))
    del rows
    creatable = cfg.event_id.isdigit() and int(cfg.event_id) < 2**63  # else HubSpot's 404 says the id is wrong
    events: dict[str, dict[str, str]] = {cfg.event_id: {}} if creatable else {}
    if not cfg.event_id and cfg.event_name:  # --event-name: an event of that name, found as HubSpot's would be
        events[REHEARSAL_EVENT_ID] = {"eventName": cfg.event_name}
    box = Sandbox(contacts=known, events=events)
    box.start()
    try:
        with tempfile.TemporaryDirectory(prefix="importer-sandbox-") as journal_dir:
            box.add_contacts(emails)
            yield replace(cfg, base_url=box.base_url, token=DEFAULT_TOKEN, state_dir=journal_dir), box
    finally:
        box.stop()
