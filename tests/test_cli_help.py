"""The command line's surface: every command explains itself; usage errors exit 2 in one sentence."""

from __future__ import annotations

import pytest

from importer.cli import build_parser, main

COMMANDS = ["run", "inspect", "retry", "verify"]


def test_top_level_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in [*COMMANDS, "sandbox"]:
        assert name in out
    assert "exit codes" in out and "HUBSPOT_ACCESS_TOKEN" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_documents_every_option(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in out
        if action.option_strings and action.help is None:
            raise AssertionError(f"{command} {action.option_strings} has no help text")


def test_run_contract_flags_exist(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for flag in ["--event", "--state", "--timezone", "--report", "--config", "--dry-run", "--sandbox", "--base-url"]:
        assert flag in out


def test_usage_error_exits_2_with_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--state", "maybe", "x.csv"], environ={}) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_token_flag_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x.csv", "--event", "1", "--token", "pat-abc"], environ={}) == 2
    err = capsys.readouterr().err
    assert "HUBSPOT_ACCESS_TOKEN" in err and "pat-abc" not in err
