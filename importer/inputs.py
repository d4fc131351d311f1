"""The inputs of a run: which files the patterns name, and each file read and mapped.

Shared by ``run`` (which sends them) and ``inspect`` (which shows how they will be read)."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .config import Config
from .errors import InputError, NothingToImport
from .loader import load_all, numbers_error
from .mapper import MapOptions, MappedFile, map_sheet


def expand_inputs(patterns: Sequence[str], cwd: Path, *, empty_inbox: str = "error") -> list[Path]:
    """Paths and globs -> existing files, in the order given, each once.

    Globs that match nothing (an empty inbox of a scheduled job) end the run with ``NothingToImport``
    (exit 0) when ``empty_inbox`` is ``"ok"``, else with an input error (exit 2)."""
    out: list[Path] = []
    unmatched: list[str] = []
    for pattern in patterns:
        base = Path(pattern) if Path(pattern).is_absolute() else cwd / pattern
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(base), recursive=True) if Path(p).is_file())
            if not matches:
                unmatched.append(str(base))
            out.extend(matches)
        elif base.is_file():
            out.append(base)
        elif base.is_dir() and base.suffix.lower() == ".numbers":  # a Numbers document saved as a package
            raise numbers_error(pattern)
        elif base.is_dir():
            raise InputError(
                f"{pattern} is a folder, not a file.", hint="Name the files, or a glob such as exports/*.csv."
            )
        elif base.exists():
            raise InputError(
                f"{pattern} is not a regular file (a FIFO, device or socket).",
                hint="Save the export as a file and name that file.",
            )
        else:
            raise InputError(f"File {pattern} does not exist.")
    if unmatched and not out:
        said = " or ".join(repr(u) for u in unmatched)
        if empty_inbox == "ok":
            raise NothingToImport(f"Nothing to import: no file matches {said}.")
        raise InputError(
            f"No file matches {said}.",
            hint='Check the path or the glob in inputs (empty_inbox = "ok" makes an empty inbox exit 0).',
        )
    seen: set[Path] = set()
    unique = [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]  # type: ignore[func-returns-value]
    if not unique:
        raise InputError("No input file given.", hint="Name one or more exports, or set inputs in the config.")
    return unique


def map_options(cfg: Config) -> MapOptions:
    return MapOptions(
        state=cfg.state,
        timezone=cfg.timezone,
        columns=dict(cfg.columns),
        day_first=cfg.day_first,
        keep_raw=cfg.keep_raw,
        meeting_date=cfg.meeting_date,
    )


def display_name(path: Path, cwd: Path) -> str:
    """How a file is named in the report: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


def read_file(path: Path, cfg: Config, cwd: Path) -> list[MappedFile]:
    """Loader + mapper for one file: one mapped sheet, or a workbook's registrants and attendees
    sheets, each named ``file [sheet]`` in the report so their row numbers stay apart."""
    sheets = load_all(path, sheet=cfg.sheet, max_bytes=int(cfg.max_file_mb * 2**20))
    name = display_name(path, cwd)
    several = len(sheets) > 1
    out: list[MappedFile] = []
    while sheets:
        sheet = sheets.pop(0)
        label = f"{name} [{sheet.sheet_name}]" if several else name
        if sheet.file != label:
            sheet = replace(sheet, file=label)
        out.append(map_sheet(sheet, map_options(cfg)))
        del sheet  # the loaded grid is not needed once mapped
    return out


def file_digest(path: Path) -> str:
    """The file's SHA-256 (hex): a run's key names its inputs by content."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
