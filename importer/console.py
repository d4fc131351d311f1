"""What a person sees while a run goes: log lines on stderr (and an optional log file), and a
progress bar when stderr is a terminal.  Stdout is kept for results (the summary table, --json)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import InputError
from .ratelimit import estimate_seconds

if TYPE_CHECKING:  # the console loads before Arrow may (see cli._prefer_system_allocator)
    from .models import EventInfo
    from .preview import Preview


def _open_log(path: str) -> TextIO:
    """Open (and create the folder of) the log file; a scheduled job's logs/ often does not exist yet."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.open("a", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write the log file {target}: {exc.strerror}.", hint="Check log_file.") from None


def _clock(seconds: float) -> str:
    """``42s`` below two minutes, else ``14m05s``: the time left of a run."""
    s = round(seconds)
    return f"{s}s" if s < 120 else f"{s // 60}m{s % 60:02d}s"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Console:
    """Thread-safe logging to stderr and a log file; a one-line progress bar on a TTY."""

    def __init__(self, *, stream: TextIO | None = None, log_file: str | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._lock = threading.Lock()
        self._file = _open_log(log_file) if log_file else None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar_shown = False
        #: the phase now shown (lookups, writes) and its baseline: when, requests and contacts done
        self._phase = ""
        self._first: tuple[float, int, int] | None = None
        #: requests still to come after the phase now running, and the limit they all go at
        self._later = 0
        self._limit: tuple[int, float] | None = None
        self._concurrency = 4
        #: what the run came to (counts, report), appended to the log file's closing outcome line
        self.outcome = ""

    def log(self, message: str) -> None:
        with self._lock:
            if self._file:
                self._file.write(f"{_stamp()} {message}\n")
                self._file.flush()
            if self.quiet:
                return
            if self._bar_shown:
                self.stream.write("\r\x1b[2K")
                self._bar_shown = False
            self.stream.write(f"importer: {message}\n")
            self.stream.flush()

    def expect(self, later: int, limit: tuple[int, float] | None = None, concurrency: int = 4) -> None:
        """The requests that follow the phase about to run (the writes, while contacts are looked
        up) and HubSpot's limit as the run's limiter enforces it: the ETA covers them all."""
        self._later, self._limit, self._concurrency = max(0, later), limit, max(1, concurrency)

    def lookups(self, done: int, total: int, contacts: int = 0, contacts_total: int = 0) -> None:
        """Contact lookups answered so far (HubSpot's batch read, 100 emails a request)."""
        self._show("lookups", done, total, contacts, contacts_total)

    def progress(self, done: int, total: int, rows: int = 0, rows_total: int = 0) -> None:
        """Batches (and contacts) answered so far; a bar with rate and ETA on a terminal, a line
        every 10% otherwise.  The first call is the baseline: rate and ETA count from it, so a
        resumed run's earlier batches do not inflate them."""
        if self._phase == "lookups":
            self._later = 0  # the writes are this phase now
        self._show("batches", done, total, rows, rows_total)

    def _eta(self, now: float, done: int, total: int) -> float | None:
        """Seconds left of the whole run: the slower of the pace so far and HubSpot's limit (a
        burst that the window still allows must not promise the rest at the same speed)."""
        assert self._first is not None
        answered, elapsed = done - self._first[1], now - self._first[0]
        left = total - done + self._later
        if answered <= 0 or elapsed <= 0:
            return None
        eta = left / (answered / elapsed)
        if self._limit is not None:
            bound = estimate_seconds(answered + left, self._limit, self._concurrency) - elapsed
            eta = max(eta, bound)
        return max(0.0, eta)

    def _show(self, phase: str, done: int, total: int, contacts: int, contacts_total: int) -> None:
        if self.quiet or total <= 0:
            return
        now = time.monotonic()
        if self._first is None or phase != self._phase:
            self._phase, self._first = phase, (now, done, contacts)
        answered, elapsed = done - self._first[1], now - self._first[0]
        rate = answered / elapsed if answered > 0 and elapsed > 0 else 0.0
        per_min = (contacts - self._first[2]) / elapsed * 60 if contacts_total and elapsed > 0 else 0.0
        pace = f"{per_min:,.0f} contacts/min" if per_min else f"{rate * 60:,.0f} requests/min"
        eta = self._eta(now, done, total)
        speed = f"{pace}  ETA {_clock(eta)}" if eta is not None else "ETA --"
        unit = "contacts" if phase == "batches" else "emails"
        counted = f"  {contacts:,}/{contacts_total:,} {unit}" if contacts_total else ""
        with self._lock:
            if self._tty:
                width = 30
                filled = int(width * done / total)
                bar = "#" * filled + "-" * (width - filled)
                self.stream.write(f"\r\x1b[2K[{bar}] {done}/{total} {phase}{counted}  {speed}")
                self.stream.flush()
                self._bar_shown = done < total
                if done >= total:
                    self.stream.write("\n")
            elif answered > 0 and (done == total or done % max(1, total // 10) == 0):
                per_s = f" ({pace})" if rate else ""
                self.stream.write(f"importer: {done}/{total} {phase} answered{counted}{per_s}\n")
                self.stream.flush()

    def confirm(self, preview: Preview, event: EventInfo) -> bool:
        """Show what is about to be sent and ask; only ``y`` or ``yes`` sends (Enter, ``n``, end of
        input and Ctrl-C send nothing)."""
        with self._lock:
            if self._bar_shown:
                self.stream.write("\r\x1b[2K")
                self._bar_shown = False
            self.stream.write(preview.text + "\n" + preview.question(event))
            self.stream.flush()
            from .sender import Interrupted

            try:
                answer = sys.stdin.readline()
            except (KeyboardInterrupt, Interrupted, OSError):
                answer = ""
            if not answer.endswith("\n"):
                self.stream.write("\n")
        yes = answer.strip().lower() in ("y", "yes")
        if self._file:
            self._file.write(f"{_stamp()} asked: {preview.question(event).strip()} {'yes' if yes else 'no'}\n")
            self._file.flush()
        return yes

    def choose_event(self, said: str, candidates: Sequence[EventInfo]) -> EventInfo | None:
        """List the events an --event-name matches and let the person pick one by its number;
        Enter, anything else, end of input or Ctrl-C picks none (nothing is sent)."""
        from .events import describe
        from .sender import Interrupted

        lines = [said, *(f"  {i}) {describe(e)}" for i, e in enumerate(candidates, 1))]
        question = f"Which event? [1-{len(candidates)}, Enter for none] "
        with self._lock:
            if self._bar_shown:
                self.stream.write("\r\x1b[2K")
                self._bar_shown = False
            self.stream.write("\n".join(lines) + "\n" + question)
            self.stream.flush()
            try:
                answer = sys.stdin.readline()
            except (KeyboardInterrupt, Interrupted, OSError):
                answer = ""
            if not answer.endswith("\n"):
                self.stream.write("\n")
        typed = answer.strip()
        picked = candidates[int(typed) - 1] if typed.isdigit() and 1 <= int(typed) <= len(candidates) else None
        if self._file:
            chosen = picked.object_id if picked else "none"
            self._file.write(f"{_stamp()} asked: {said} {question.strip()} {chosen}\n")
            self._file.flush()
        return picked

    def record(self, message: str) -> None:
        """A line for the log file only (the terminal has seen it already, or never needs it)."""
        with self._lock:
            if self._file:
                self._file.write(f"{_stamp()} {message}\n")
                self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None
