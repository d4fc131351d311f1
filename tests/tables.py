"""Tiny builders for table tests: a ROWS table from a few dicts, and its lines back by row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from importer.models import ROWS

#: What a column holds when a test does not say (as a fresh row of the mapper has them).
_DEFAULTS: dict[str, object] = {
    "file": "a.csv",
    "time_source": "file",
    "reason": "",
    "message": "",
    "batch_id": "",
    "correlation_id": "",
    "created_contact": False,
    "extra": [],
}
_ALSO_DEFAULTS = {f"also_{k}": v for k, v in _DEFAULTS.items() if k in ("time_source", "reason", "message", "batch_id")}
_ALSO_DEFAULTS["also_correlation_id"] = ""


def rows_table(*rows: Mapping[str, object]) -> pa.Table:
    """A ROWS table, a line per dict; unnamed columns take the defaults of a fresh row (the
    ``also_`` ones only when the dict gives ``also_state``), the rest are null."""
    lines = []
    for given in rows:
        line: dict[str, object] = {**_DEFAULTS, **(_ALSO_DEFAULTS if "also_state" in given else {}), **given}
        lines.append({f.name: line.get(f.name) for f in ROWS})
    return pa.Table.from_pylist(lines, schema=ROWS)


def by_row(table: pa.Table) -> dict[tuple[str, int], dict[str, Any]]:
    """The table's lines as dicts, by (file, row)."""
    return {(line["file"], line["row"]): line for line in table.to_pylist()}
