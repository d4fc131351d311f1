"""Config layering: defaults < file < environment < flags, and the checks that fail early."""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path

import pytest

from importer import config
from importer.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "job.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    path = write(tmp_path, 'timezone = "Europe/Berlin"\nconcurrency = 2\nbatch_size = 50\n[columns]\nemail = "Mail"\n')
    env = {"IMPORTER_CONCURRENCY": "3", "HUBSPOT_ACCESS_TOKEN": "tok"}
    cfg = config.build({"config": path, "batch_size": 10, "dry_run": False}, environ=env)
    assert cfg.timezone == "Europe/Berlin"
    assert cfg.concurrency == 3
    assert cfg.batch_size == 10
    assert cfg.columns == {"email": "Mail"}
    assert cfg.token == "tok"
    assert cfg.rate_limit_max == 100


def test_unset_boolean_flag_does_not_override_file(tmp_path: Path) -> None:
    cfg = config.build({"config": write(tmp_path, "dry_run = true\n"), "dry_run": None}, environ={})
    assert cfg.dry_run is True


def test_token_is_never_in_repr_and_never_from_the_file(tmp_path: Path) -> None:
    cfg = config.build({}, environ={"HUBSPOT_ACCESS_TOKEN": "pat-na1-secret"})
    assert "pat-na1-secret" not in repr(cfg)
    with pytest.raises(InputError, match="token"):
        config.build({"config": write(tmp_path, 'token = "x"\n')}, environ={})


def test_token_file_and_its_permissions_warning(tmp_path: Path) -> None:
    tf = tmp_path / "token"
    tf.write_text("pat-file\n")
    os.chmod(tf, 0o644)
    warnings: list[str] = []
    cfg = config.build({"config": write(tmp_path, f'token_file = "{tf}"\n')}, environ={}, warn=warnings.append)
    assert cfg.token == "pat-file"
    assert warnings and "chmod 600" in warnings[0]
    os.chmod(tf, 0o600)
    warnings.clear()
    config.build({"config": write(tmp_path, f'token_file = "{tf}"\n')}, environ={}, warn=warnings.append)
    assert warnings == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
        ({"state": "maybe"}, "--state"),
        ({"base_url": "http://api.example.com"}, "Refusing plain http"),
        ({"base_url": "ftp://x"}, "not an http"),
        ({"concurrency": 0}, "concurrency"),
        ({"api_version": "v4"}, "api_version 'v4'"),
    ],
)
def test_bad_values_are_input_errors(flags: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        config.build(flags, environ={})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1", "https://api.hubapi.com"])
def test_local_http_and_https_are_allowed(url: str) -> None:
    assert config.build({"base_url": url}, environ={}).base_url == url


def test_batch_size_is_clamped_to_the_api_cap() -> None:
    assert config.build({"batch_size": 500}, environ={}).effective_batch_size == 100


def test_unknown_setting_in_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown settings: colour"):
        config.build({"config": write(tmp_path, 'colour = "red"\n')}, environ={})


def test_example_config_is_valid_and_documents_every_setting() -> None:
    example = ROOT / "config.example.toml"
    cfg = config.build({"config": str(example)}, environ={})
    assert cfg.event_id
    text = example.read_text()
    documented = set(re.findall(r"^#?\s*([a-z_]+)\s*=", text, flags=re.M))
    missing = {f.name for f in fields(config.Config)} - documented - {"token", "debug", "sandbox", "columns"}
    assert missing == set()


def test_api_version_comes_from_file_env_and_flag(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('api_version = "v3"\n')
    assert config.build({"config": str(toml)}, environ={}).api_version == "v3"
    env = {"IMPORTER_API_VERSION": "2026-09"}
    assert config.build({"config": str(toml)}, environ=env).api_version == "2026-09"
    assert config.build({"config": str(toml), "api_version": "2026-03"}, environ=env).api_version == "2026-03"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("keep_plans = -1\n", "keep_plans must be 0 or more"),
        ("keep_plans = true\n", "keep_plans = True is not a valid int"),
        ('keep_plans_days = "a week"\n', "keep_plans_days = 'a week' is not a valid float"),
        ('day_first = "maybe"\n', "day_first must be true or false"),
        ("inputs = [1, 2]\n", "inputs must be a list of paths or globs"),
        ("[columns]\nemail = 3\n", r"\[columns\] must map field names to header text"),
        ('empty_inbox = "never"\n', "empty_inbox must be ok or error, not 'never'"),
        ('report_format = "pdf"\n', "--report-format must be one of xlsx, csv, json"),
        ("read_timeout_s = 0\n", "read_timeout_s must be a positive number of seconds"),
    ],
)
def test_each_unreadable_or_out_of_bounds_setting_names_itself(tmp_path: Path, settings: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        config.build({"config": write(tmp_path, settings)}, environ={})


def test_environment_values_become_the_settings_types() -> None:
    environ = {
        "IMPORTER_KEEP_PLANS": "2",
        "IMPORTER_KEEP_PLANS_DAYS": "0.5",
        "IMPORTER_DRY_RUN": "yes",
        "IMPORTER_DAY_FIRST": "off",
        "IMPORTER_INPUTS": os.pathsep.join(["a.csv", "b.csv"]),
        "IMPORTER_TIMEZONE": "Europe/Berlin",
    }
    cfg = config.build({}, environ=environ)
    assert (cfg.keep_plans, cfg.keep_plans_days, cfg.dry_run, cfg.day_first) == (2, 0.5, True, False)
    assert (cfg.inputs, cfg.timezone) == (("a.csv", "b.csv"), "Europe/Berlin")
    assert (config.Config().keep_plans, config.Config().keep_plans_days) == (5, 30.0)


def test_a_zone_name_people_type_is_refused_with_the_iana_names_meant_wherever_it_is_read() -> None:
    """One zone vocabulary: the config and every stage that reads a zone say the same."""
    from importer.zones import parse_zone

    with pytest.raises(InputError) as from_config:
        config.build({"timezone": "Eastern"}, environ={})
    with pytest.raises(InputError) as from_zones:
        parse_zone("Eastern")
    assert from_config.value.hint == from_zones.value.hint
    assert from_config.value.hint.startswith("Did you mean America/New_York or America/Toronto?")
    from importer.models import State

    assert config.STATES == ("auto", *State), "--state offers HubSpot's states (config stays free of pyarrow)"
