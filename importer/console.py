"""What a person sees while a run goes: log lines on stderr (and an optional log file), and a
progress bar when stderr is a terminal.  Stdout is kept for results (the summary table, --json)."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .errors import InputError

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
        self._first: tuple[float, int, int] | None = None
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

    def progress(self, done: int, total: int, rows: int = 0, rows_total: int = 0) -> None:
        """Batches (and contacts) answered so far; a bar with rate and ETA on a terminal, a line
        every 10% otherwise.  The first call is the baseline: rate and ETA count from it, so a
        resumed run's earlier batches do not inflate them."""
        if self.quiet or total <= 0:
            return
        now = time.monotonic()
        if self._first is None:
            self._first = (now, done, rows)
        answered, elapsed = done - self._first[1], now - self._first[0]
        rate = answered / elapsed if answered > 0 and elapsed > 0 else 0.0
        per_min = (rows - self._first[2]) / elapsed * 60 if rows_total and elapsed > 0 else 0.0
        pace = f"{per_min:,.0f} contacts/min" if per_min else f"{rate * 60:,.0f} requests/min"
        speed = f"{pace}  ETA {(total - done) / rate:.0f}s" if rate else "ETA --"
        contacts = f"  {rows:,}/{rows_total:,} contacts" if rows_total else ""
        with self._lock:
            if self._tty:
                width = 30
                filled = int(width * done / total)
                bar = "#" * filled + "-" * (width - filled)
                self.stream.write(f"\r\x1b[2K[{bar}] {done}/{total} batches{contacts}  {speed}")
                self.stream.flush()
                self._bar_shown = done < total
                if done >= total:
                    self.stream.write("\n")
            elif answered > 0 and (done == total or done % max(1, total // 10) == 0):
                per_s = f" ({pace})" if rate else ""
                self.stream.write(f"importer: {done}/{total} batches answered{contacts}{per_s}\n")
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
