"""The package root is the library's front door: its names are pinned, sorted and resolvable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import importer
from importer import errors

PUBLIC = [
    "BatchRejected",
    "Config",
    "ImporterError",
    "InputError",
    "Outcome",
    "Reason",
    "ReportWriteError",
    "RetryableError",
    "RunResult",
    "Services",
    "State",
    "StopRun",
    "VerifyResult",
    "__version__",
    "build_config",
    "inspect",
    "retry",
    "run",
    "verify",
]


def test_all_is_pinned_and_sorted() -> None:
    assert importer.__all__ == PUBLIC
    assert importer.__all__ == sorted(importer.__all__)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(importer, name) is not None


def test_functions_are_the_pipeline_and_config_ones() -> None:
    from importer import config, pipeline

    assert importer.run is pipeline.run
    assert importer.retry is pipeline.retry
    assert importer.build_config is config.build


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        importer.nope  # noqa: B018


def test_error_tree_has_one_root() -> None:
    kinds = [importer.InputError, importer.StopRun, importer.RetryableError, importer.BatchRejected]
    kinds.append(importer.ReportWriteError)
    assert all(issubclass(k, errors.ImporterError) for k in kinds)
    assert importer.StopRun.exit_code == 3 and importer.InputError.exit_code == 2


def test_importing_the_package_does_not_load_pandas() -> None:
    """`importer --help` must stay quick: the root loads its names lazily."""
    code = "import sys, importer; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_stop_reasons_are_reason_words() -> None:
    assert importer.Reason("locked") is importer.Reason.LOCKED
    assert errors.disk_full("the report", "No space left").reason == importer.Reason.DISK_FULL


def test_a_sandbox_run_without_a_portal_is_refused(tmp_path: Path) -> None:
    """The pipeline never starts the sandbox itself: without the CLI's portal it says so, before
    anything is sent (a library caller must not reach a real portal by accident)."""
    from dataclasses import replace

    from importer import config, pipeline

    src = tmp_path / "a.csv"
    src.write_text("Email,Attended\na@example.com,Yes\n", encoding="utf-8")
    cfg = replace(config.build({"inputs": (str(src),), "event_id": "1001"}, environ={}), sandbox=True)
    with pytest.raises(importer.InputError, match="needs a sandbox"):
        pipeline.run(cfg, pipeline.Services(cwd=tmp_path))
