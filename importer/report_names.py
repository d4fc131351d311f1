"""Where reports go so that no run ever destroys an earlier run's report.

Every run (dry runs and retries too) writes its report under a run-stamped name,
``attendees.reconciliation.20241105T150001Z-ab12cd.xlsx``, and then points the plain name,
``attendees.reconciliation.xlsx``, at it (a hard link, or a copy where links are not possible).  The
plain name is always the latest report; the stamped ones are the history.  A plain-named file that
is not one of those links (written by an older version, or saved over in Excel) is moved aside to a
stamped name before the new one takes its place.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .reporter import TMP_MARK, TMP_SUFFIX, Report, write_report

#: A run stamp at the end of a report's stem: a journal run id, or a dry run's / retry's / a
#: moved-aside report's stamp, with an optional ``-N`` when two runs share a second.
_STAMP = re.compile(r"\.(?:\d{8}T\d{6}Z-[0-9a-f]{6}|(?:dry-run|retry|not-started|saved)-\d{8}T\d{6}Z)(?:-\d+)?$")


def latest_name(path: str | Path) -> Path:
    """The plain (latest) name of a report path: a run-stamped name without its stamp."""
    p = Path(path)
    return p.with_name(_STAMP.sub("", p.stem) + p.suffix)


def stamped_name(latest: str | Path, run_id: str) -> Path:
    """This run's own name beside ``latest``, never one that exists already."""
    p = latest_name(latest)
    candidate = p.with_name(f"{p.stem}.{run_id}{p.suffix}")
    n = 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = p.with_name(f"{p.stem}.{run_id}-{n}{p.suffix}")
    return candidate


def stamp_of(moment: datetime) -> str:
    """``20241105T150001Z``: the stamp form of a moment (UTC)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def keep_report(report: Report, latest: Path, stamped: Path, fmt: str | None = None) -> Path:
    """Write the report as ``stamped``, then make ``latest`` name the same file; returns ``latest``."""
    write_report(report, stamped, fmt)
    _set_aside(latest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{latest.name}{TMP_MARK}", suffix=TMP_SUFFIX, dir=latest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        try:
            os.link(stamped, tmp)
        except OSError:  # a file system without hard links: a copy serves as well
            shutil.copy2(stamped, tmp)
        os.replace(tmp, latest)
    finally:
        tmp.unlink(missing_ok=True)
    return latest


def _set_aside(latest: Path) -> None:
    """A plain-named report that no stamped name shares is renamed to a stamped name of its own."""
    try:
        info = latest.lstat()
    except FileNotFoundError:
        return
    if info.st_nlink > 1 or not latest.is_file() or latest.is_symlink():
        return  # it is a stamped report's second name (or not a report file: left to the caller's checks)
    moment = datetime.fromtimestamp(info.st_mtime, UTC)
    os.replace(latest, stamped_name(latest, f"saved-{stamp_of(moment)}"))
