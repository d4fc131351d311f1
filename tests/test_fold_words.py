"""A time the autumn repeats: ``inspect`` says it per file and per row, and the row's word on
which reading was sent survives a stop: the report of a resumed run, and of a retry, says what
the uninterrupted run's report says (through the CLI, against the sandbox)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from importer.cli import main
from importer.sandbox import DEFAULT_TOKEN, Fault, Sandbox

ENV = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
PEOPLE = [f"p{i}@example.com" for i in range(6)]
NIGHT = "Email,Join Time,Registration Time\n" + "".join(
    f"{e},2024-11-03 01:{10 + 5 * i},2024-11-03 01:0{i}\n" for i, e in enumerate(PEOPLE)
)  # every join and registration in the hour New York repeats (01:00 to 01:59)


def _write(tmp_path: Path) -> Path:
    src = tmp_path / "night.csv"
    src.write_text(NIGHT + "late@example.com,2024-11-03 03:00,2024-11-03 02:30\n", encoding="utf-8")
    return src


def _run(box: Sandbox, src: Path, report: Path, state: Path) -> int:
    return main(
        ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--base-url", box.base_url,
         "--report", str(report), "--state-dir", str(state), "--batch-size", "2", "--concurrency", "1"],
        environ=ENV,
    )  # fmt: skip


def _said(report: Path) -> dict[str, tuple[str, str, str, str]]:
    lines = csv.DictReader(io.StringIO(report.read_text(encoding="utf-8-sig")))
    return {r["email"]: (r["outcome"], r["message"], r["also_outcome"], r["also_message"]) for r in lines}


def test_inspect_says_it_for_the_file_and_under_each_row_it_touches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path)
    assert main(["inspect", str(src), "--timezone", "America/New_York"], environ={}) == 0
    out = capsys.readouterr().out
    # where the states come from is still said as such (it was the last row's fold words)
    assert "state:       column Join Time (a join time means attended)" in out
    assert "12 times fall in the hour America/New_York repeats" in out
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "p0@example.com" in line)
    assert lines[first + 1].strip().startswith("note: Time '2024-11-03 01:10' (Join Time) happened twice")
    assert "01:10 EST (UTC-05:00)" in lines[first + 1]
    assert "note: Time '2024-11-03 01:00' (Registration Time) happened twice" in lines[first + 3]  # its + also
    late = next(i for i, line in enumerate(lines) if "late@example.com" in line)
    assert not [line for line in lines[late + 1 :] if "note:" in line]  # 03:00 and 02:30 are not repeated


def test_a_resumed_run_and_a_retry_report_each_row_as_the_whole_run_does(tmp_path: Path) -> None:
    src = _write(tmp_path)
    with Sandbox(events=["1001"]) as box:
        box.add_contacts([*PEOPLE, "late@example.com"])
        assert _run(box, src, tmp_path / "whole.csv", tmp_path / "whole") == 0
    whole = _said(tmp_path / "whole.csv")
    assert sum("happened twice" in m for o, m, ao, am in whole.values() for m in (m, am)) == 12
    assert whole["late@example.com"][1] == "Recorded as attend."
    for second in ("resumed", "retried"):
        with Sandbox(events=["1001"]) as box:
            box.add_contacts([*PEOPLE, "late@example.com"])
            box.inject(Fault("daily", "/attendance/", after=1))
            state = tmp_path / f"{second}-state"
            assert _run(box, src, tmp_path / f"{second}.csv", state) == 3
            stopped = _said(tmp_path / f"{second}.csv")
            assert {o for o, *_ in stopped.values()} == {"failed"}
            assert all("happened twice" in m for e, (o, m, ao, am) in stopped.items() if e != "late@example.com")
            # the fault answered one request: the limit is lifted
            if second == "resumed":
                assert _run(box, src, tmp_path / f"{second}.csv", state) == 0
            else:
                report = str(tmp_path / f"{second}.csv")
                assert main(["retry", report, "--base-url", box.base_url, "--state-dir", str(state)], environ=ENV) == 0
        assert _said(tmp_path / f"{second}.csv") == whole, second
