"""The closing lines on the terminal: counts, the report, the top reasons with their fix, the next command."""

from __future__ import annotations

import shlex
import textwrap
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

from .actions import FILE_FIXES
from .models import Outcome, Reason
from .report_model import EXIT_MEANINGS, Report, iso_utc, needs_user, plural, word_counts
from .report_text import fix_for, reason_label, where

#: Failed rows that never left this machine: the run stopped before sending them (the outcome
#: word stays ``failed``; the terminal shows them as "not sent yet", not as a failure).
NOT_SENT_REASONS = frozenset(
    {
        Reason.INTERRUPTED.value,
        Reason.LOCKED.value,
        Reason.TOKEN_REJECTED.value,
        Reason.MISSING_SCOPE.value,
        Reason.DAILY_LIMIT.value,
        Reason.EVENT_NOT_FOUND.value,
    }
)


_NOT_SENT = pa.array(sorted(NOT_SENT_REASONS))


def not_sent(rows: pa.Table) -> pa.ChunkedArray:
    """Which rows failed without ever leaving this machine."""
    failed = pc.equal(rows.column("outcome"), Outcome.FAILED.value)
    return pc.fill_null(pc.and_(failed, pc.is_in(rows.column("reason"), value_set=_NOT_SENT)), False)


def render_terminal(report: Report, *, width: int = 80, command: str = "", kept: str = "") -> str:
    """The closing table: counts per outcome, the report path, the top three reasons with what to do,
    and last the next step with the exact command (``command`` is the command line as typed)."""
    s = report.summary
    event = f"{s.event.name} (event {s.event.object_id})" if s.event.name else f"Event {s.event.object_id}"
    lines = [event]
    if s.event.start_ms is not None:
        lines.append(f"  starts {iso_utc(s.event.start_ms)[:16].replace('T', ' ')} UTC")
    if s.dry_run:
        lines.append("Dry run: nothing was sent.")
    for info in s.files:
        sheet = f", sheet {info.sheet}" if info.sheet else ""
        lines.append(
            f"  {info.file}{sheet}: {info.profile}" + (f", {plural(info.data_rows, 'row')}" if info.data_rows else "")
        )
    already = report.by_reason.get(Reason.ALREADY_RECORDED.value, 0)
    unsent_rows = not_sent(report.rows)
    unsent = (pc.sum(unsent_rows).as_py() or 0) if report.counts.get("failed") else 0
    lines += _count_lines(report, already, unsent)
    lines.append(f"Report: {s.report_path}")
    if kept and kept != s.report_path:
        lines.append(f"  this run's copy, kept: {kept}")
    files = report.action_files
    if "fix" in files:
        lines.append(f"Fix and re-import ({plural(int(files['fix_rows']), 'row')}): {files['fix']}")
    if "create" in files:
        lines.append(
            f"Contacts to create in HubSpot ({plural(int(files['create_rows']), 'contact')}): {files['create']}"
        )
    attention = report.rows.filter(pc.and_(needs_user(report.rows), pc.invert(unsent_rows)))
    problems = word_counts(attention.column("reason"))
    lines += _attention_lines(attention, problems, s.report_path or "<report>", width)
    if report.rows.num_rows and not s.dry_run and not unsent and not report.counts.get(Outcome.RECORDED.value):
        lines += _wrap(_why_nobody(report, already, unsent), width)
    if s.exit_code != 3:  # a stop's meaning is the next step below
        lines.append(EXIT_MEANINGS.get(s.exit_code, f"Exit code {s.exit_code}."))
    stop = report.rows.filter(unsent_rows).column("reason")[0].as_py() if unsent else ""
    lines += _wrap("Next: " + _next_command(report, problems, unsent, stop, command), width)
    return "\n".join(lines)


def _count_lines(report: Report, already: int, unsent: int) -> list[str]:
    """The counts per outcome, rows already in HubSpot and rows not sent yet on lines of their own."""
    shown: list[tuple[str, int]] = []
    for outcome, n in report.counts.items():
        if outcome == Outcome.SKIPPED.value:
            shown += [("already in HubSpot", already), ("skipped", n - already)]
        elif outcome == Outcome.FAILED.value:
            shown += [("failed", n - unsent), ("not sent yet", unsent)]
        else:
            shown.append((outcome, n))
    label_w = max(len(k) for k, _ in shown) + 2
    lines = [f"  {label:<{label_w}}{n:>9,}" for label, n in shown]
    lines.append(f"  {'total':<{label_w}}{report.rows.num_rows:>9,}")
    return lines


def _attention_lines(attention: pa.Table, problems: dict[str, int], report_path: str, width: int) -> list[str]:
    """The three most frequent problems, each with its first row and its fix."""
    if not problems:
        return []
    lines = [f"Needs attention: {plural(sum(problems.values()), 'row')} rejected or failed."]
    reasons = pc.fill_null(attention.column("reason"), "")
    for reason, n in sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
        example = attention.slice(pc.index(reasons, reason).as_py(), 1).to_pylist()[0]
        head = f"  {reason or 'unsettled'} ({n:,}, first at {where(example)}): "
        lines += _wrap(head + fix_for(example, report_path), width)
    if len(problems) > 3:
        lines.append("  More reasons are listed in the report.")
    return lines


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(
        text,
        width=width,
        subsequent_indent="      ",
        break_on_hyphens=False,
        break_long_words=False,  # a path or a command is never cut in two
    )


def _why_nobody(report: Report, already: int, unsent: int) -> str:
    """A run that records nobody says why."""
    c = report.counts
    skipped = report.rows.filter(pc.fill_null(pc.equal(report.rows.column("outcome"), Outcome.SKIPPED.value), False))
    rules = Counter(word_counts(skipped.column("reason")))
    del rules[Reason.ALREADY_RECORDED.value]
    by_rule = ", ".join(f"{n:,} {reason_label(reason).lower()}" for reason, n in rules.most_common())
    parts = [
        (already, "already in HubSpot"),
        (unsent, "not sent yet"),
        (c.get("rejected", 0), "rejected"),
        (c.get("failed", 0) - unsent, "failed"),
        (c.get("skipped", 0) - already, f"skipped by rule ({by_rule})"),
        (c.get("merged", 0), "merged into another row"),
    ]
    said = [f"{n:,} {what}" for n, what in parts if n]
    if already and already + c.get("merged", 0) == report.rows.num_rows:
        return f"Nobody new to record: every contact of the file was already in HubSpot ({', '.join(said)})."
    return "Nobody was recorded: " + (", ".join(said) or "the file has no row to send") + "."


def _next_command(report: Report, problems: dict[str, int], unsent: int, stop: str, command: str) -> str:
    """The one next step, with the exact command to type (``stop``: the reason of the first row not sent)."""
    s = report.summary
    path = shlex.quote(s.report_path or "<report>")
    again = f"`{command}`" if command else "the same command"
    if unsent:
        return _unsent_step(unsent, stop, path, again)
    if s.dry_run:
        planned = report.counts.get(Outcome.PLANNED.value, 0)
        real = shlex.join(w for w in shlex.split(command) if w != "--dry-run") if command else ""
        how = f": `{real}`" if real else ""
        return f"run without --dry-run to send {plural(planned, 'participation')}{how}"
    missing = problems.get(Reason.CONTACT_NOT_FOUND.value, 0)
    in_file = sum(n for reason, n in problems.items() if reason in FILE_FIXES)
    retryable = sum(problems.values()) - missing - in_file
    steps = []
    files = report.action_files
    if missing:
        how = f" (import {files['create']} in HubSpot: Contacts > Import)" if "create" in files else ""
        steps.append(
            f"{plural(missing, 'contact is', 'contacts are')} not in HubSpot: add {'it' if missing == 1 else 'them'}"
            f"{how}, then `importer retry {path}`"
        )
    if retryable:
        steps.append(f"{plural(retryable, 'row')} failed: follow the fix above, then `importer retry {path}`")
    if in_file and "fix" in files:
        steps.append(f"correct {plural(in_file, 'row')} in {files['fix']}, then `{files['fix_command']}`")
    elif in_file:
        steps.append(f"correct {plural(in_file, 'row')} in the file as the report says, then run {again}")
    if steps:
        return "; ".join(steps) + "."
    return "nothing to do."


def _unsent_step(unsent: int, stop: str, path: str, again: str) -> str:
    """Rows not sent yet: what stopped them, and the command that sends them."""
    if stop == Reason.EVENT_NOT_FOUND.value:
        return (
            f"{plural(unsent, 'row is', 'rows are')} not sent yet: HubSpot has no such event; check the event id, "
            f"then run `importer retry {path} --event OBJECT_ID` with the right one."
        )
    fix = _unsent_fix(stop)
    return (
        f"{plural(unsent, 'row is', 'rows are')} not sent yet ({stop}): {fix + ', then ' if fix else ''}"
        f"run the same command again to send them: {again}."
    )


def _unsent_fix(reason: str) -> str:
    return {
        Reason.TOKEN_REJECTED.value: "set a new private app token in HUBSPOT_ACCESS_TOKEN",
        Reason.MISSING_SCOPE.value: "add the missing scope to the private app (see above)",
        Reason.DAILY_LIMIT.value: "wait until HubSpot's daily limit resets at midnight (the portal's time zone)",
    }.get(reason, "")
