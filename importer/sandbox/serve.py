"""Run a sandbox in the foreground (``importer sandbox`` / ``python -m importer.sandbox``).

Prints the base URL and the token, one per line (and the events it holds on stderr), then serves
until Ctrl-C or SIGTERM.  Marketing events exist only when named (``--event 1001``, ``--event
"1002=Spring webinar"``, ``--events-file``), as in a real portal.  Another process (an importer run
with ``--base-url``) can drive it through the ``/_sandbox/`` endpoints.
"""

from __future__ import annotations

import argparse
import csv
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .server import Sandbox
from .wire import ALL_SCOPES, DEFAULT_TOKEN, INT64_MAX


def _rate_limit(text: str) -> tuple[int, int]:
    """``MAX/INTERVAL_MS`` such as ``20/2000``."""
    head, sep, tail = text.partition("/")
    if not sep or not head.strip().isdigit() or not tail.strip().isdigit() or int(head) < 1 or int(tail) < 1:
        raise argparse.ArgumentTypeError(f"expected MAX/INTERVAL_MS such as 20/2000, not {text!r}")
    return int(head), int(tail)


def _read_contacts(path: str) -> dict[str, int]:
    """Rows of ``email,vid``; a first row whose vid is not a number is taken as a header."""
    contacts: dict[str, int] = {}
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or not row[1].strip().isdigit():
                if number == 1:
                    continue
                raise ValueError(f"row {number} is not 'email,vid'")
            contacts[row[0].strip()] = int(row[1].strip())
    return contacts


def _event(text: str) -> tuple[str, str]:
    """``ID`` or ``ID=Name`` such as ``1002=Spring webinar``."""
    head, _, name = text.partition("=")
    object_id = head.strip()
    if not object_id.isdigit() or int(object_id) > INT64_MAX:
        raise argparse.ArgumentTypeError(f"expected an event id (a number) or ID=Name, not {text!r}")
    return object_id, name.strip()


def _read_events(path: str) -> dict[str, dict[str, str]]:
    """Rows of ``objectId,eventName,startDateTime,endDateTime`` (name and times optional; ISO 8601);
    a first row whose id is not a number is taken as a header."""
    events: dict[str, dict[str, str]] = {}
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            cells = [cell.strip() for cell in row]
            if not "".join(cells):
                continue
            if not cells[0].isdigit():
                if number == 1:
                    continue
                raise ValueError(f"row {number} does not start with an event id")
            info = dict(zip(("eventName", "startDateTime", "endDateTime"), cells[1:4], strict=False))
            events[cells[0]] = {k: v for k, v in info.items() if v}
    return events


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="importer sandbox", description="Serve a local HubSpot stand-in on 127.0.0.1 until Ctrl-C."
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0 picks a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every answer")
    parser.add_argument(
        "--latency-jitter-ms", type=float, default=0.0, help="each answer's delay varies by up to this, either way"
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=(100, 10_000),
        metavar="MAX/INTERVAL_MS",
        help="burst limit per token, e.g. 190/10000 for Pro/Enterprise (default 100/10000)",
    )
    parser.add_argument("--daily-limit", type=int, default=250_000, help="requests per day (default 250000)")
    parser.add_argument("--auto-contacts", action="store_true", help="every email looked up exists")
    parser.add_argument("--contacts-file", help="CSV of email,vid rows to preload")
    parser.add_argument(
        "--event",
        dest="events",
        action="append",
        type=_event,
        default=[],
        metavar="ID[=NAME]",
        help='create a marketing event (repeatable), e.g. --event 1001 --event "1002=Spring webinar"; '
        "only created events exist",
    )
    parser.add_argument(
        "--events-file", help="CSV of objectId,eventName,startDateTime,endDateTime rows to create (ISO 8601 times)"
    )
    parser.add_argument(
        "--no-daily-headers",
        dest="daily_headers",
        action="store_false",
        help="leave out X-HubSpot-RateLimit-Daily(-Remaining), as HubSpot does for OAuth tokens",
    )
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the token the sandbox accepts")
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429 answers")
    parser.add_argument("--external-load", type=int, default=0, help="requests per window used by others")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 when the options or contacts file are wrong."""
    args = _parser().parse_args(argv)
    contacts: dict[str, int] = {}
    if args.contacts_file:
        try:
            contacts = _read_contacts(args.contacts_file)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            print(f"Cannot read the contacts file {args.contacts_file}: {exc}.", file=sys.stderr)
            return 2
    events: dict[str, dict[str, str]] = {}
    if args.events_file:
        try:
            events = _read_events(args.events_file)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            print(f"Cannot read the events file {args.events_file}: {exc}.", file=sys.stderr)
            return 2
    for object_id, name in args.events:
        events[object_id] = {**events.get(object_id, {}), **({"eventName": name} if name else {})}
    limit_max, interval_ms = args.rate_limit
    try:
        sandbox = Sandbox(
            tokens={args.token: ALL_SCOPES},
            contacts=contacts,
            auto_contacts=args.auto_contacts,
            events=events,
            rate_limit_max=limit_max,
            rate_limit_interval_ms=interval_ms,
            daily_limit=args.daily_limit,
            daily_headers=args.daily_headers,
            latency_s=args.latency_ms / 1000.0,
            latency_jitter_s=args.latency_jitter_ms / 1000.0,
            retry_after=args.retry_after,
            external_load=args.external_load,
            port=args.port,
        )
    except ValueError as exc:
        print(f"Cannot create the sandbox's events: {exc}.", file=sys.stderr)
        return 2
    try:
        base_url = sandbox.start()
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); pick another --port.", file=sys.stderr)
        return 2
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _stop)
    print(base_url, flush=True)
    print(args.token, flush=True)
    if events:
        held = ", ".join(f"{i} ({e['eventName']})" if e.get("eventName") else i for i, e in events.items())
        print(f"marketing events: {held}", file=sys.stderr, flush=True)
    else:
        print(
            "marketing events: none, so every event id answers 404; restart with --event ID to create one",
            file=sys.stderr,
            flush=True,
        )
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
