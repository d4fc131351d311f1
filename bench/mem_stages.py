"""Where a run's memory goes: each stage's time, the resident memory at its start and its
highest (sampled), the kernel's exact high-water mark of the process when the stage ends (the
stage where it rises holds the peak), and Arrow's allocations (``pyarrow.total_allocated_bytes``)
at its start, end and highest.

Run:  .venv/bin/python bench/mem_stages.py [ROWS [csv|json|xlsx]]   (default 1,000,000 rows, a CSV report;
      the file of bench_import)
      .venv/bin/python bench/mem_stages.py --real [ROWS [FORMAT]] [--keep DIR]   (a real import)

A sandbox runs in a process of its own, so only the importer's memory is sampled (every 5 ms, in
a thread of this process); the run goes through ``cli.main`` as ``importer run`` would.  The
stages are the pipeline's own functions, wrapped where their callers look them up.  Not a timed
benchmark (the sampler costs a little): it says where the peak is.

``--real`` imports the file for real (not a dry run), as bench_import's real import does: into a
sandbox that knows every contact and limits nothing, 8 requests at a time; the table then has the
journal's, the send's and the settle's stages too.  That sandbox's correlation ids are a digest
of each request (not random), so ``--keep DIR`` leaves a report that two versions of the code
write byte for byte alike on the same file (compare them with ``cmp``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyarrow as pa  # noqa: E402

from importer import chunker, cli, execute, inputs, pipeline, planning, sender, settle  # noqa: E402
from importer import rows as rows_ops  # noqa: E402
from importer.journal import Journal  # noqa: E402
from importer.sandbox import DEFAULT_TOKEN  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 2**20


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


def high_water() -> int:
    """The kernel's exact highest resident memory of this process so far (no sample can miss it)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))


class Sampler:
    """The resident memory and Arrow's allocations every few ms, against the stage running."""

    def __init__(self) -> None:
        self.stack: list[str] = ["(start)"]
        self.stats: dict[str, dict[str, float]] = {}
        self.order: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _note(self, name: str, resident: int, arrow: int) -> None:
        s = self.stats.setdefault(name, {"rss_max": 0, "arrow_max": 0})
        s["rss_max"] = max(s["rss_max"], resident)
        s["arrow_max"] = max(s["arrow_max"], arrow)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            resident, arrow = rss(), pa.total_allocated_bytes()
            for name in self.stack:  # a stage's highest counts what its inner stages held too
                self._note(name, resident, arrow)

    def wrap(self, owner: Any, attr: str, label: str | None = None) -> None:
        if not hasattr(owner, attr):  # a stage of another version of the code
            return
        inner: Callable[..., Any] = getattr(owner, attr)
        name = label or attr

        def stage(*args: Any, **kwargs: Any) -> Any:
            key = name if name not in self.stats else f"{name} #{sum(k.startswith(name) for k in self.stats) + 1}"
            self.order.append(key)
            s = self.stats.setdefault(key, {"rss_max": 0, "arrow_max": 0})
            s.update(rss_in=rss(), arrow_in=pa.total_allocated_bytes(), depth=len(self.stack) - 1)
            self._note(key, rss(), pa.total_allocated_bytes())
            self.stack.append(key)
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                s["seconds"] = time.perf_counter() - t
                self.stack.pop()
                s.update(rss_out=rss(), arrow_out=pa.total_allocated_bytes(), hwm_out=high_water())
                self._note(key, rss(), pa.total_allocated_bytes())

        setattr(owner, attr, stage)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def table(self) -> str:
        head = (
            f"{'stage':<28} {'s':>6} {'rss in':>8} {'rss max':>8} {'hwm out':>8} "
            f"{'arrow in':>9} {'arrow max':>9} {'arrow out':>9}"
        )
        lines = [head, "(MiB)".rjust(len(head))]
        for key in self.order:
            s = self.stats[key]
            indent = "  " * int(s.get("depth", 0))
            lines.append(
                f"{indent + key:<28} {s.get('seconds', 0):6.2f} {s['rss_in'] / MIB:8.0f} "
                f"{s['rss_max'] / MIB:8.0f} {s['hwm_out'] / MIB:8.0f} "
                f"{s['arrow_in'] / MIB:9.0f} {s['arrow_max'] / MIB:9.0f} {s['arrow_out'] / MIB:9.0f}"
            )
        return "\n".join(lines)


def stages(sampler: Sampler) -> None:
    """The pipeline's stages, wrapped where their callers look them up."""
    sampler.wrap(pipeline, "read_file", "read + map")
    sampler.wrap(inputs, "load_all", "load")
    sampler.wrap(inputs, "map_sheet", "map")
    sampler.wrap(planning, "fill_times")
    sampler.wrap(planning, "resolve")
    sampler.wrap(chunker, "merge")
    sampler.wrap(chunker, "chunk")
    sampler.wrap(planning, "skip_recorded")
    sampler.wrap(Journal, "begin", "journal the plan")
    sampler.wrap(execute, "_send_plan", "send (all)")
    sampler.wrap(chunker, "batches")
    sampler.wrap(sender, "send")
    sampler.wrap(execute, "_send_again", "send again")
    sampler.wrap(execute, "settle")
    sampler.wrap(execute, "settle_fates", "settle: fates")
    sampler.wrap(settle, "_answered", "answers to lines")
    sampler.wrap(settle, "_apply", "lines to rows")
    sampler.wrap(execute, "apply_fates", "settle: the rows")
    sampler.wrap(Journal, "update_rows", "journal the rows")
    sampler.wrap(rows_ops, "in_order")
    sampler.wrap(execute, "_settled_files")
    sampler.wrap(execute, "_act_on", "originals + actions")
    sampler.wrap(execute, "build_report")
    sampler.wrap(execute, "keep_report", "write report")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(rows: int) -> None:
    """The real import's sandbox (``--serve``, a process of its own): every contact known, nothing
    limited, each correlation id a digest of its request; prints its URL, then, once its input
    closes, what it recorded."""
    from importer.sandbox import Sandbox, model

    answer = model.HubSpotModel.handle
    name = "X-HubSpot-Correlation-Id"

    def handle(self: Any, method: str, target: str, authorization: str | None, raw_body: bytes) -> Any:
        out = answer(self, method, target, authorization, raw_body)
        random_id = dict(out.headers)[name]
        d = hashlib.sha1(f"{method} {target} ".encode() + raw_body).hexdigest()
        said = f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
        headers = tuple((k, said if k == name else v) for k, v in out.headers)
        return dataclasses.replace(out, headers=headers, body=out.body.replace(random_id.encode(), said.encode()))

    model.HubSpotModel.handle = handle  # type: ignore[method-assign]
    contacts = {f"user{i}@example.com": i + 1000 for i in range(rows)}
    with Sandbox(events=["1001"], contacts=contacts, rate_limit_max=10**6, daily_limit=10**9) as box:
        del contacts
        print(box.base_url, flush=True)
        sys.stdin.read()
        print(f"recorded {len(box.participations('1001'))}  requests {len(box.requests)}", flush=True)


def _sandbox(real: bool, rows: int) -> subprocess.Popen[str]:
    if real:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", str(rows)]
    else:
        cmd = [sys.executable, "-m", "importer", "sandbox", "--event", "1001", "--port", str(_free_port())]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("format", nargs="?", default="csv", choices=("csv", "json", "xlsx"))
    parser.add_argument("--real", action="store_true", help="a real import (not a dry run) into a sandbox")
    parser.add_argument("--keep", type=lambda p: Path(p).resolve(), help="copy the report into this folder")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return 0
    rows, fmt = args.rows, args.format
    said = ""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big = work / "big.csv"
        # written by another process: the generator's frames are not this one's memory
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import bench_import; bench_import.big_csv(__import__('pathlib').Path({str(big)!r}), {rows})",
            ],
            check=True,
            cwd=ROOT / "bench",
        )
        box = _sandbox(args.real, rows)
        report = work / f"big.report.{fmt}"
        try:
            assert box.stdout is not None and box.stdin is not None
            base_url = box.stdout.readline().strip()
            os.chdir(work)  # the report names the file as given: the same name in every run
            argv = [
                "run", big.name, "--event", "1001", "--timezone", "UTC", "--base-url", base_url,
                "--report", str(report), "--state-dir", str(work / "state"), "--json",
            ]  # fmt: skip
            argv += ["--concurrency", "8"] if args.real else ["--dry-run"]
            sampler = Sampler()
            stages(sampler)
            base = rss()
            t = time.perf_counter()
            with sampler:
                code = cli.main(argv, environ={**os.environ, "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})
            took = time.perf_counter() - t
            if args.real:
                said, _ = box.communicate(timeout=120)
        finally:
            box.terminate()
            box.wait()
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(report, args.keep / report.name)
        os.chdir(ROOT)
    peak = max(s["rss_max"] for s in sampler.stats.values())
    print(sampler.table())
    print(
        f"rows {rows:,}  {'real' if args.real else 'dry run'}  exit {code}  {took:.2f} s  "
        f"rss before {base / MIB:.0f} MiB, highest {peak / MIB:.0f} MiB  {said.strip()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
