"""``importer retry --json``: the same line as ``run --json`` (same keys, whole paths, the rows of
each file), plus what the retry itself did, in real counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importer.cli import main
from importer.sandbox import DEFAULT_TOKEN, Sandbox

CSV = (
    "Email,Join Time\n"
    "alice@example.com,2024-11-05T15:58:03Z\n"
    "bob@example.com,2024-11-05T15:59:03Z\n"
    "bad@@example.com,2024-11-05T16:00:03Z\n"
)


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out  # one line on stdout, nothing else
    line: dict[str, object] = json.loads(out[0])
    return line


def test_retry_json_matches_run_json_and_counts_what_it_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    with Sandbox(events=["1001"], contacts={"alice@example.com": 101}) as sb:
        env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url}
        assert main(["run", "a.csv", "--event", "1001", "--json"], environ=env) == 1
        ran = _json(capsys)
        assert main(["retry", "a.reconciliation.xlsx", "--json"], environ=env) == 1
        still = _json(capsys)
        sb.add_contacts(["bob@example.com"])
        assert main(["retry", "a.reconciliation.xlsx", "--json"], environ=env) == 1
        fixed = _json(capsys)

    assert set(still) == set(fixed) == set(ran)
    assert ran["retry_of"] is None and ran["retried"] is None
    report = tmp_path / "a.reconciliation.xlsx"
    for line in (ran, still, fixed):
        assert line["report"] == str(report)  # whole, as run prints it, whatever was typed
        assert Path(str(line["report_copy"])).is_absolute() and Path(str(line["report_copy"])).is_file()
        assert line["files"] == [{"file": "a.csv", "profile": "generic", "rows": 3}]
    assert still["retry_of"] == fixed["retry_of"] == str(report)

    assert still["counts"] == ran["counts"]  # the contact is still missing: the report is unchanged
    assert still["retried"] == {
        "rows": 1,
        "counts": {"recorded": 0, "merged": 0, "skipped": 0, "rejected": 1, "failed": 0, "planned": 0},
        "by_reason": {"contact_not_found": 1},
    }
    assert fixed["retried"] == {
        "rows": 1,
        "counts": {"recorded": 1, "merged": 0, "skipped": 0, "rejected": 0, "failed": 0, "planned": 0},
        "by_reason": {},
    }
    assert isinstance(fixed["counts"], dict) and fixed["counts"]["recorded"] == 2
    assert fixed["by_reason"] == {"invalid_email": 1}  # the row only the file can fix is not retried
