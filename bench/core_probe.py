"""One measurement of bench_core.py, in a fresh process: ``core_probe.py bare|plan CSV``.

Prints a JSON line: seconds, the resident memory the timed steps added over what was held before
them (the kernel's high-water mark reset first), and the whole process's peak (MiB)."""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def rss(field: str) -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(field))


def reset_peak() -> float:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return rss("VmRSS")


def peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare(path: str) -> dict[str, float]:
    import pandas as pd

    base = reset_peak()
    t = time.perf_counter()
    pd.read_csv(path, engine="pyarrow")
    return {"time": time.perf_counter() - t, "added": rss("VmHWM") - base, "peak": peak()}


def _columns(path: str) -> tuple[list[Any], list[Any], list[Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    src = pacsv.read_csv(path)
    when = pc.cast(src.column("Join Time"), pa.timestamp("ms"))  # read as a timestamp by pyarrow's CSV reader
    return src.column("Email").to_pylist(), src.column("Record ID").to_pylist(), pc.cast(when, pa.int64()).to_pylist()


def plan(path: str, size: int = 100) -> dict[str, float]:
    """Merge and chunk, walk every batch (as the sender does), then settle an answer for each."""
    from importer import chunker, models

    email, vid, when = _columns(path)
    n = len(email)
    if hasattr(chunker, "MergeResult"):
        return _objects(models, chunker, email, vid, when)
    import pyarrow as pa

    from importer.settle import settle

    given = {"file": ["big.csv"] * n, "row": list(range(2, n + 2)), "email": email, "vid": vid, "state": ["attend"] * n}
    given |= {"when_ms": when, "time_source": ["file"] * n, "reason": [""] * n, "message": [""] * n}
    given |= {"batch_id": [""] * n, "correlation_id": [""] * n, "created_contact": [False] * n}
    rows = pa.table(
        {f.name: pa.array(given[f.name], f.type) if f.name in given else pa.nulls(n, f.type) for f in models.ROWS},
        schema=models.ROWS,
    )
    del given, email, vid, when
    base = reset_peak()
    t0 = time.perf_counter()
    rows, parts = chunker.merge(rows, "1001")
    parts = chunker.chunk(parts, size)
    t1 = time.perf_counter()
    walked = sum(len(b.items) for b in chunker.batches(parts))
    walk = time.perf_counter() - t1
    ids, keys, vids = (c.to_pylist() for c in (parts.column("batch_id"), models.part_keys(parts), parts.column("vid")))
    outcomes = _answers(models, zip(ids, keys, vids, strict=True))
    t2 = time.perf_counter()
    out = settle(rows, parts, outcomes, dry_run=False, stopped=None)
    t3 = time.perf_counter()
    assert out.column("outcome").to_pylist().count("recorded") == n == walked
    return _result(t1 - t0, walk, t3 - t2, base)


def _objects(models: Any, chunker: Any, email: list[Any], vid: list[Any], when: list[Any]) -> dict[str, float]:
    try:  # the Row-object versions (``bench_core.py --before REV``) settled in one of these
        from importer.execute import settle  # type: ignore[attr-defined]
    except ImportError:
        from importer.pipeline import settle  # type: ignore[attr-defined]
    ref, attend = models.RowRef, models.State.ATTEND
    rows = [
        models.Row(ref("big.csv", i + 2), email=e, vid=v, state=attend, when_ms=w)
        for i, (e, v, w) in enumerate(zip(email, vid, when, strict=True))
    ]
    del email, vid, when
    base = reset_peak()
    t0 = time.perf_counter()
    merged = chunker.merge(rows, "1001")
    rows, batches = list(merged.rows), chunker.chunk(merged.participations, 100)
    del merged
    t1 = time.perf_counter()
    walked = sum(len(b.items) for b in batches)
    walk = time.perf_counter() - t1
    outcomes = _answers(models, ((b.id, p.key, p.vid) for b in batches for p in b.items))
    t2 = time.perf_counter()
    out = settle(rows, batches, outcomes, dry_run=False, stopped=None)
    t3 = time.perf_counter()
    assert sum(r.outcome == "recorded" for r in out) == len(out) == walked
    return _result(t1 - t0, walk, t3 - t2, base)


def _answers(models: Any, keys: Any) -> dict[str, Any]:
    """An answer recording every contact of every batch (what the sender hands back; untimed)."""
    recorded: dict[str, dict[str, int]] = {}
    for batch_id, key, vid in keys:
        recorded.setdefault(batch_id, {})[key] = vid
    return {b: models.BatchOutcome(b, 200, got, {}, "corr") for b, got in recorded.items()}


def _result(merge_chunk: float, walk: float, settle: float, base: float) -> dict[str, float]:
    """``time`` is what a dry run spends here (merge, chunk, settle); ``walk`` what sending adds
    by building every batch's objects (the Row-object version had them from the merge)."""
    return {
        "merge_chunk": merge_chunk,
        "walk": walk,
        "settle": settle,
        "time": merge_chunk + settle,
        "added": rss("VmHWM") - base,
        "peak": peak(),
    }


if __name__ == "__main__":
    print(json.dumps((bare if sys.argv[1] == "bare" else plan)(sys.argv[2])))
