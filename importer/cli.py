"""Command line: parse arguments, build the Config, call the pipeline, turn errors into exit codes.

Exit codes (a contract): 0 every row recorded, merged or skipped by rule; 1 finished but some rows
were rejected or failed; 2 nothing was sent because the input, config or usage is wrong; 3 the run
stopped early (token refused, scope missing, daily limit, interrupted) and running it again resumes.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shlex
import shutil
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__, config
from .config import API_VERSIONS, DEFAULT_API_VERSION
from .console import Console
from .errors import Declined, ImporterError, InputError, NothingToImport

EPILOG = """exit codes:
  0  every row recorded, merged or skipped by rule
  1  the run finished but some rows were rejected or failed (see the report)
  2  nothing was sent: the input, config or usage is wrong
  3  the run stopped early (token refused, scope missing, daily limit, interrupted);
     running the same command again resumes

The token comes from HUBSPOT_ACCESS_TOKEN (or token_file in the config), never from a flag."""


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2 with one sentence, as the contract says."""

    def error(self, message: str) -> Any:
        guesses = self._did_you_mean(message)
        hint = f"Did you mean {' or '.join(guesses)}? " if guesses else ""
        raise InputError(f"{self.prog}: {message}.", hint=f"{hint}See {self.prog} --help.")

    def _did_you_mean(self, message: str) -> list[str]:
        """Close option names for each unknown ``--option`` in an argparse message (a typo such as
        ``--dryrun`` or ``--time-zone``)."""
        known = {o for parser in self._all() for a in parser._actions for o in a.option_strings if o.startswith("--")}
        guesses: list[str] = []
        for word in re.findall(r"(?<![\w-])--[\w-]+", message):
            if word not in known:
                typed = word.split("=", 1)[0]
                guesses += difflib.get_close_matches(typed, sorted(known), n=2, cutoff=0.7)
        return list(dict.fromkeys(guesses))

    def _all(self) -> list[argparse.ArgumentParser]:
        parsers: list[argparse.ArgumentParser] = [self]
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
        return parsers


def _connection_args(p: argparse.ArgumentParser, *, sandbox: bool = False) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML settings file (see config.example.toml)")
    p.add_argument(
        "--base-url",
        dest="base_url",
        metavar="URL",
        help="HubSpot API base URL (default https://api.hubapi.com; env HUBSPOT_BASE_URL)",
    )
    p.add_argument(
        "--api-version",
        dest="api_version",
        choices=API_VERSIONS,
        help=f"HubSpot API version the paths use (default {DEFAULT_API_VERSION}; setting api_version)",
    )
    if sandbox:
        p.add_argument(
            "--sandbox",
            action="store_true",
            default=None,
            help="run against a HubSpot sandbox started on 127.0.0.1 (no account needed)",
        )
    p.add_argument(
        "--state-dir",
        dest="state_dir",
        metavar="DIR",
        help="where the journal, ledger and lookup cache live (default .importer/)",
    )
    p.add_argument("--log-file", dest="log_file", metavar="FILE", help="also append log lines to FILE")
    p.add_argument("--debug", action="store_true", default=None, help="show a traceback for unexpected errors")
    p.add_argument(
        "--json", dest="json_output", action="store_true", default=None, help="print one JSON summary line on stdout"
    )


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--report",
        metavar="PATH",
        help="reconciliation report path (.xlsx, .csv or .json); default <first input>.reconciliation.xlsx",
    )
    p.add_argument(
        "--report-format",
        dest="report_format",
        choices=config.REPORT_FORMATS,
        help="report format when the extension does not say",
    )


def _mapping_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", choices=config.STATES, help="force a state, or take it from the file (auto, the default)")
    p.add_argument("--timezone", metavar="ZONE", help="IANA time zone of times without an offset, e.g. Europe/Berlin")
    p.add_argument("--sheet", metavar="NAME", help="workbook sheet to read (default: the one with attendees)")
    p.add_argument(
        "--meeting-date",
        dest="meeting_date",
        metavar="YYYY-MM-DD[THH:MM]",
        help="the meeting's date, for reports whose times have none (Google Meet attendance); "
        "YYYY-MM-DDTHH:MM also gives its start, and times earlier in the day are read on the next day",
    )
    order = p.add_mutually_exclusive_group()
    order.add_argument(
        "--day-first", dest="day_first", action="store_const", const=True, help="dates are day/month/year"
    )
    order.add_argument(
        "--month-first", dest="day_first", action="store_const", const=False, help="dates are month/day/year"
    )
    p.add_argument(
        "--keep-raw", dest="keep_raw", action="store_true", default=None, help="keep every source column in the report"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="importer",
        description="Record webinar and event attendee exports as HubSpot marketing-event participations, "
        "and write a reconciliation report that accounts for every row.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"importer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="import attendee files into a marketing event",
        description="Import attendee files into a HubSpot marketing event and write the reconciliation report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "files", nargs="*", metavar="FILE", help="attendee exports (.csv, .xlsx, .xls, .ods); or inputs in the config"
    )
    run.add_argument(
        "--event",
        dest="event_id",
        metavar="OBJECT_ID",
        help="the marketing event's object id, or its URL in HubSpot",
    )
    run.add_argument(
        "--event-name",
        dest="event_name",
        metavar="NAME",
        help="the marketing event's name, looked up in HubSpot instead of --event (asks when several match)",
    )
    _mapping_args(run)
    _report_args(run)
    run.add_argument(
        "--contacts",
        dest="contacts_file",
        metavar="FILE",
        help="HubSpot contacts export used as the email -> contact id map",
    )
    run.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        default=None,
        help="do everything but write: the report shows what would be sent",
    )
    run.add_argument(
        "--yes",
        "-y",
        action="store_true",
        default=None,
        help="send without the question a terminal gets first (never asked when stdin is not a terminal)",
    )
    run.add_argument(
        "--force", action="store_true", default=None, help="send again what an earlier run already recorded"
    )
    run.add_argument(
        "--no-cache",
        dest="no_cache",
        action="store_true",
        default=None,
        help="do not use the on-disk contact lookup cache",
    )
    run.add_argument(
        "--create-missing",
        dest="create_missing",
        action="store_true",
        default=None,
        help="create contacts not found by email (email-create endpoint)",
    )
    run.add_argument(
        "--verify", action="store_true", default=None, help="read the participations back from HubSpot after the run"
    )
    run.add_argument("--batch-size", dest="batch_size", type=int, metavar="N", help="inputs per request (at most 100)")
    run.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once (default 4)")
    run.add_argument(
        "--done-dir",
        dest="done_dir",
        metavar="DIR",
        help="move each input here once every row of it is settled (a file with failed rows stays)",
    )
    _connection_args(run, sandbox=True)

    inspect = sub.add_parser(
        "inspect",
        help="preview how a file will be read, without sending anything",
        description="Show the detected profile, header row, column mapping, encoding, date order "
        "and the first rows as they will be sent.",
    )
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--rows", type=int, default=10, metavar="N", help="how many rows to show (default 10)")
    inspect.add_argument("--config", metavar="FILE", help="TOML settings file")
    _mapping_args(inspect)

    retry = sub.add_parser(
        "retry",
        help="look up and send again the rows a report lists as failed or not found in HubSpot",
        description="Look up and send again the rows of a reconciliation report whose fix lies outside the file "
        "(failed, or contact_not_found after the contact was added) and write an updated report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    retry.add_argument("report_in", metavar="REPORT")
    retry.add_argument(
        "--event", dest="event_id", metavar="OBJECT_ID", help="send to this event instead of the report's"
    )
    _report_args(retry)
    retry.add_argument(
        "--batch-size", dest="batch_size", type=int, metavar="N", help="inputs per request (at most 100)"
    )
    retry.add_argument("--concurrency", type=int, metavar="N", help="requests in flight at once")
    _connection_args(retry)

    verify = sub.add_parser(
        "verify",
        help="check that HubSpot shows every contact a report says was recorded",
        description="Read the event's participations from HubSpot and list every recorded contact it does not show.",
    )
    verify.add_argument("report_in", metavar="REPORT")
    verify.add_argument(
        "--event", dest="event_id", metavar="OBJECT_ID", help="override the event id read from the report"
    )
    _connection_args(verify)

    listed = sub.add_parser(
        "events",
        help="list the portal's marketing events with their ids",
        description="List the marketing events of the token's portal (id, name, start), for --event; "
        "--name keeps those whose name contains the text.",
    )
    listed.add_argument("--name", dest="list_name", metavar="TEXT", help="only events whose name contains TEXT")
    _connection_args(listed)

    sub.add_parser(
        "sandbox",
        help="serve the HubSpot sandbox on 127.0.0.1 (for rehearsals and tests)",
        description="Serve a HubSpot look-alike on 127.0.0.1; see `importer sandbox --help`.",
        add_help=False,
    )
    return parser


_NOT_SETTINGS = {"command", "files", "file", "rows", "report_in", "config", "typed", "list_name"}


def _flags(ns: argparse.Namespace) -> dict[str, Any]:
    flags = {k: v for k, v in vars(ns).items() if k not in _NOT_SETTINGS}
    if getattr(ns, "files", None):
        flags["inputs"] = tuple(ns.files)
    flags["config"] = getattr(ns, "config", None)
    return flags


def main(argv: Sequence[str] | None = None, *, environ: dict[str, str] | None = None) -> int:
    """Entry point; returns the exit code.  The one place errors become messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sandbox"]:
        from .sandbox.serve import main as serve

        return serve(args[1:])
    debug = "--debug" in args
    console: Console | None = None
    code = 1
    try:
        if any(a == "--token" or a.startswith("--token=") for a in args):
            raise InputError(
                "There is no --token flag: the token comes from HUBSPOT_ACCESS_TOKEN or token_file, "
                "so it never shows in shell history or process lists."
            )
        parser = build_parser()
        ns = parser.parse_args(args)
        ns.typed = "importer " + shlex.join(args)  # the command as typed, for "run it again" advice
        if ns.command is None:
            parser.print_help()
            return 2
        cfg = config.build(
            _flags(ns), environ=environ, warn=lambda m: print(f"importer: warning: {m}", file=sys.stderr)
        )
        debug = cfg.debug
        console = Console(log_file=cfg.log_file, quiet=False)
        handler: Callable[[Any, Any, Console], int] = _COMMANDS[ns.command]
        code = handler(ns, cfg, console)
    except NothingToImport as exc:  # an empty inbox of a scheduled job: fine unless empty_inbox = "error"
        (console.log if console is not None else _say)(str(exc))
        if "--json" in args:
            print(json.dumps({"exit_code": exc.exit_code, "nothing_to_import": True, "message": str(exc)}))
        code = exc.exit_code
    except ImporterError as exc:
        print(f"importer: error: {exc}", file=sys.stderr)
        if console is not None:
            console.record(f"error: {exc}")
        if "--json" in args:
            print(json.dumps({"exit_code": exc.exit_code, "error": str(exc)}))
        if debug:
            traceback.print_exc()
        code = exc.exit_code
    except KeyboardInterrupt:
        print("importer: interrupted; run the same command again to resume.", file=sys.stderr)
        code = 3
    except Exception as exc:  # the last line of defence: one sentence, traceback only with --debug
        message = f"internal error: {type(exc).__name__}: {exc}. Run again with --debug for details and report it."
        print(f"importer: {message}", file=sys.stderr)
        if console is not None:
            console.record(message)
        if debug:
            traceback.print_exc()
        code = 1
    finally:
        if console is not None:
            from .reporter import EXIT_MEANINGS

            outcome = f"outcome: exit {code}: {EXIT_MEANINGS.get(code, '')}"
            console.record(outcome + (f" {console.outcome}" if console.outcome else ""))
            console.close()
    return code


def _say(message: str) -> None:
    print(f"importer: {message}", file=sys.stderr)


def _cmd_run(ns: argparse.Namespace, cfg: config.Config, console: Console) -> int:
    from . import pipeline
    from .reporter import plural, render_terminal

    ask = console.confirm if _asks(cfg) else None
    choose = console.choose_event if _chooses(cfg) else None
    portal: pipeline.Portal | None = None
    if cfg.sandbox:
        from .rehearsal import sandbox

        portal = sandbox
    try:
        svc = pipeline.Services(
            log=console.log,
            progress=console.progress,
            lookups=console.lookups,
            expect=console.expect,
            confirm=ask,
            choose=choose,
            portal=portal,
        )
        result = pipeline.run(cfg, svc)
    except Declined as exc:
        console.log(str(exc))
        if cfg.json_output:
            print(json.dumps({"exit_code": exc.exit_code, "declined": True, "sent": 0}))
        return exc.exit_code
    if result.stopped is not None:
        console.log(f"stopped: {result.stopped.message}")
    if cfg.sandbox:
        recorded, event_id = len(result.sandbox_participations), result.report.summary.event.object_id
        console.log(
            f"sandbox: HubSpot recorded {plural(recorded, 'participation')} for event {event_id}; "
            f"what the sandbox holds is in {result.sandbox_dump}"
        )
    exit_code = result.exit_code
    console.outcome = _outcome_words(result)
    if result.verification is not None:
        console.record(result.verification.text)
        if not cfg.json_output:
            print(result.verification.text)  # once, as a result (stdout), before the closing table
    if cfg.json_output:
        print(pipeline.summary_line(result, exit_code))
    else:
        print(render_terminal(result.report, width=_width(), command=ns.typed, kept=str(result.report_copy or "")))
    return exit_code


def _outcome_words(result: Any) -> str:
    """The counts and report of a run, for the log file's last line."""
    counts = ", ".join(f"{k} {v:,}" for k, v in result.report.counts.items() if v)
    return f"({counts or 'no rows'}); report {result.report_path}"


def _asks(cfg: config.Config) -> bool:
    """Ask before sending only a person at a terminal: never cron or CI (stdin not a terminal),
    never with --yes, never for a dry run (it sends nothing)."""
    return not cfg.yes and not cfg.dry_run and bool(getattr(sys.stdin, "isatty", lambda: False)())


def _chooses(cfg: config.Config) -> bool:
    """Let a person at a terminal pick among the events an --event-name matches; never cron or CI,
    never with --yes (which asks nothing): those stop naming each event's id."""
    return not cfg.yes and bool(getattr(sys.stdin, "isatty", lambda: False)())


def _cmd_events(ns: argparse.Namespace, cfg: config.Config, console: Console) -> int:
    from . import pipeline
    from .events import describe

    name = (ns.list_name or "").strip()
    found = pipeline.list_events(cfg, name, pipeline.Services(log=console.log))
    if cfg.json_output:
        print(json.dumps({"exit_code": 0, "events": [_event_json(e) for e in found]}))
        return 0
    for event in found:
        print(describe(event))
    which = f" named or naming {name!r}" if name else " in this portal"
    if not found:
        console.log(f"HubSpot has no marketing event{which}; Marketing > Events in HubSpot creates one")
        return 0
    console.log(f"{len(found):,} marketing event{'' if len(found) == 1 else 's'}{which}; pass one with --event ID")
    return 0


def _event_json(event: Any) -> dict[str, Any]:
    from .reporter import iso_utc

    start = iso_utc(event.start_ms) if event.start_ms is not None else None
    return {"id": event.object_id, "name": event.name, "start_utc": start}


def _width() -> int:
    """The terminal's width for the closing text (80 when it cannot tell), never narrower than 60."""
    return max(60, shutil.get_terminal_size((80, 24)).columns)


def _cmd_inspect(ns: argparse.Namespace, cfg: config.Config, console: Console) -> int:
    from . import pipeline

    print(pipeline.inspect(Path(ns.file), cfg, rows=ns.rows))
    return 0


def _cmd_retry(ns: argparse.Namespace, cfg: config.Config, console: Console) -> int:
    from . import pipeline
    from .reporter import render_terminal

    svc = pipeline.Services(log=console.log, progress=console.progress, lookups=console.lookups, expect=console.expect)
    result = pipeline.retry(cfg, Path(ns.report_in), svc)
    console.outcome = _outcome_words(result)
    if cfg.json_output:
        print(pipeline.summary_line(result, result.exit_code))
    else:
        print(render_terminal(result.report, width=_width(), command=ns.typed, kept=str(result.report_copy or "")))
    return result.exit_code


def _cmd_verify(ns: argparse.Namespace, cfg: config.Config, console: Console) -> int:
    from . import pipeline

    verdict = pipeline.verify(cfg, Path(ns.report_in), pipeline.Services(log=console.log))
    if cfg.json_output:
        print(json.dumps(pipeline.verify_json(verdict), sort_keys=True))
    else:
        print(verdict.text)
    console.record(verdict.text.splitlines()[0])
    return verdict.exit_code


_COMMANDS: dict[str, Callable[[Any, Any, Console], int]] = {
    "run": _cmd_run,
    "events": _cmd_events,
    "inspect": _cmd_inspect,
    "retry": _cmd_retry,
    "verify": _cmd_verify,
}
