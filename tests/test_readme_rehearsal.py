"""The README's rehearsal commands work as written: a sandbox that keeps running, then run and verify."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORTER = ".venv/bin/importer"


def rehearsal_block() -> list[str]:
    """The shell lines of the README block that follows "To rehearse against"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("To rehearse against", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block is not None, "the README lost its rehearsal commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def words(line: str, port: int) -> list[str]:
    """One README line as argv, with this test's interpreter and a free port."""
    argv = shlex.split(line.replace("8765", str(port)), comments=True)
    argv = [a for a in argv if a != "&"]
    if argv and argv[0] == IMPORTER:
        argv = [sys.executable, "-m", "importer", *argv[1:]]
    return argv


def test_the_rehearsal_commands_run_as_written(tmp_path: Path) -> None:
    serve, export, *commands = rehearsal_block()
    assert serve.rstrip().split("#")[0].rstrip().endswith("&") and export.startswith("export ")
    port = free_port()
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "IMPORTER_"))}
    env.update(dict(pair.split("=", 1) for pair in words(export, port)[1:]))
    proc = subprocess.Popen(
        words(serve, port), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == env["HUBSPOT_BASE_URL"]
        assert proc.stdout.readline().strip() == env["HUBSPOT_ACCESS_TOKEN"]
        for line in commands:
            done = subprocess.run(words(line, port), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{line}\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
