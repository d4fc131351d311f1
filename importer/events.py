"""The marketing event named by its name (``--event-name``): found in HubSpot's list of the portal's
events, never guessed.

Only one event of exactly that name (case and spacing aside) is taken without asking.  Several of
that name, or only events that contain it, are listed: a person at a terminal picks one, a run
without a terminal (cron, CI) stops before sending (exit 2) naming each one's id and the exact
``--event`` to pass, since participations cannot be deleted once recorded in the wrong event.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from .errors import InputError
from .models import EventInfo

#: asked on a terminal with the name and the candidates; the one picked, or None for none
Choose = Callable[[str, Sequence[EventInfo]], EventInfo | None]
#: candidates listed in a message; the rest are counted (``importer events`` lists every one)
SHOWN = 20
LIST_COMMAND = "importer events"


def name_key(name: str) -> str:
    """A name as people compare names: case and runs of spaces aside."""
    return " ".join(name.split()).casefold()


def matching(events: Iterable[EventInfo], name: str) -> tuple[list[EventInfo], list[EventInfo]]:
    """The events of exactly that name, and (when there are none) the ones whose name contains it."""
    wanted = name_key(name)
    known = list(events)
    exact = [e for e in known if name_key(e.name) == wanted]
    return exact, [] if exact else [e for e in known if wanted and wanted in name_key(e.name)]


def describe(event: EventInfo) -> str:
    """``1001  Autumn webinar  (starts 2026-10-01 15:00 UTC)``: one line of a list of events."""
    return f"{event.object_id}  {_named(event)}"


def _named(event: EventInfo) -> str:
    start = ""
    if event.start_ms is not None:
        moment = datetime.fromtimestamp(event.start_ms / 1000, UTC)
        start = f"  (starts {moment:%Y-%m-%d %H:%M} UTC)"
    return f"{event.name or '(no name)'}{start}"


def listing(events: Sequence[EventInfo], name: str) -> str:
    """The candidates, each with the exact flag that names it."""
    width = max(len(e.object_id) for e in events[:SHOWN])
    lines = [f"  --event {e.object_id:<{width}}  {_named(e)}" for e in events[:SHOWN]]
    if len(events) > SHOWN:
        more = len(events) - SHOWN
        lines.append(f"  ... and {more:,} more: {LIST_COMMAND} --name {shlex.quote(name)} lists them all")
    return "\n".join(lines)


def pick(events: Iterable[EventInfo], name: str, choose: Choose | None) -> EventInfo:
    """The one event ``name`` names, or an ``InputError`` that says which ids to choose from."""
    exact, partial = matching(events, name)
    if len(exact) == 1:
        return exact[0]
    candidates = exact or partial
    if not candidates:
        raise InputError(
            f"No marketing event in HubSpot is named {name!r} (nothing was sent).",
            hint=f"`{LIST_COMMAND}` lists the portal's events with their ids; pass --event with the id "
            "(or the event's URL), or the name exactly as HubSpot shows it.",
        )
    said = (
        f"{len(exact)} marketing events in HubSpot are named {name!r}"
        if exact
        else f"No marketing event is named exactly {name!r}; {_count(partial)} {name!r} in the name"
    )
    if choose is not None:
        picked = choose(f"{said}:", candidates)
        if picked is None:
            raise InputError("No event was chosen (nothing was sent).", hint=f"Pass --event {candidates[0].object_id}.")
        return picked
    raise InputError(
        f"{said} (nothing was sent):\n{listing(candidates, name)}\n"
        "Run the same command with the --event of the one you mean instead of --event-name "
        "(a name that matches one event exactly needs no id)."
    )


def _count(events: Sequence[EventInfo]) -> str:
    return "1 has" if len(events) == 1 else f"{len(events):,} have"
