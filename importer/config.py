"""One frozen ``Config`` built from defaults < TOML file < environment < command-line flags.

This module is the only reader of ``os.environ``.  The access token never comes from a flag and is
kept out of ``repr`` so it cannot leak through logs or tracebacks.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import InputError
from .zones import parse_zone

DEFAULT_BASE_URL = "https://api.hubapi.com"
#: Where a HubSpot user makes and edits the token the importer uses (messages name it).
SERVICE_KEYS_PAGE = "Development > Keys > Service keys"
PRIVATE_APPS_PAGE = "Settings > Integrations > Private apps"
KEY_PLACES = f"{SERVICE_KEYS_PAGE}; a legacy private app: {PRIVATE_APPS_PAGE}"
API_BATCH_CAP = 100
#: ``--state``: from the file (auto), or every row in one of HubSpot's states.
STATES = ("auto", "register", "attend", "cancel")
REPORT_FORMATS = ("xlsx", "csv", "json")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
#: HubSpot API versions the client can speak: the legacy numbered paths and the date-based ones.
API_VERSIONS = ("v3", "2026-03", "2026-09")
#: Date-based (v1-v3 become unsupported in September 2027) and the newest whose marketing-events
#: contract declares the contact id int64; README "API version" says why not 2026-09.
DEFAULT_API_VERSION = "2026-03"


@dataclass(frozen=True)
class Config:
    """Every setting of a run.  Field names are the TOML keys (see config.example.toml)."""

    inputs: tuple[str, ...] = ()
    event_id: str = ""
    #: the marketing event's name, looked up in HubSpot when no event id is given
    event_name: str = ""
    state: str = "auto"
    timezone: str | None = None
    report: str | None = None
    report_format: str | None = None
    report_dir: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    contacts_file: str | None = None
    sheet: str | None = None
    day_first: bool | None = None
    #: the meeting's date (YYYY-MM-DD) for reports whose times carry none (Google Meet attendance)
    meeting_date: str | None = None
    dry_run: bool = False
    yes: bool = False
    sandbox: bool = False
    force: bool = False
    no_cache: bool = False
    create_missing: bool = False
    verify: bool = False
    debug: bool = False
    keep_raw: bool = False
    json_output: bool = False
    base_url: str = DEFAULT_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    batch_size: int = API_BATCH_CAP
    concurrency: int = 4
    rate_limit_max: int = 100
    rate_limit_interval_ms: int = 10_000
    rate_limit_reserve_pct: float = 0.0
    daily_reserve: int = 0
    retry_attempts: int = 6
    retry_max_seconds: float = 300.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    request_timeout_s: float = 120.0
    max_wait_s: float = 300.0
    proxy: str | None = field(default=None, repr=False)
    state_dir: str = ".importer"
    cache_ttl_days: float = 7.0
    #: the plans of the newest this many finished runs are kept in the state folder ...
    keep_plans: int = 5
    #: ... as long as they finished less than this many days ago (the ledger is always kept)
    keep_plans_days: float = 30.0
    done_dir: str | None = None
    #: ``ok``: inputs whose globs match no file exit 0 with "nothing to import"; ``error``: exit 2
    empty_inbox: str = "ok"
    log_file: str | None = None
    max_file_mb: float = 512.0

    @property
    def effective_batch_size(self) -> int:
        """The batch size clamped to HubSpot's 100-input cap (and at least 1)."""
        return max(1, min(int(self.batch_size), API_BATCH_CAP))


_FIELDS = {f.name: f for f in fields(Config)}
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[value.lower()]
    raise ValueError(value)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):  # TOML's true is no count
        raise ValueError(value)
    return int(value)


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_columns(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(value)
    return dict(value)


def _as_inputs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # the environment's list: paths joined as in PATH
        return tuple(p for p in value.split(os.pathsep) if p)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(value)


#: How a TOML or environment value becomes a setting, by the type the setting declares in Config.
_READERS: Mapping[str, Callable[[Any], Any]] = {
    "bool": _as_bool,
    "bool | None": _as_bool,
    "int": _as_int,
    "float": float,
    "str": _as_text,
    "str | None": _as_text,
    "Mapping[str, str]": _as_columns,
    "tuple[str, ...]": _as_inputs,
}
#: What a value that cannot be read is told, where "``name = value`` is not a valid <type>" says too little.
_UNREADABLE: Mapping[str, str] = {
    "columns": '[columns] must map field names to header text, e.g. email = "E-Mail".',
    "inputs": "inputs must be a list of paths or globs.",
    "day_first": "day_first must be true or false.",
}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Turn a TOML or environment value into the field's type, or say clearly what is wrong."""
    kind = str(_FIELDS[name].type)
    try:
        return _READERS[kind](value)
    except (TypeError, ValueError):
        said = _UNREADABLE.get(name) or f"{name} = {value!r} is not a valid {kind.split()[0]}."
        raise InputError(f"{source}: {said}") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Settings from a TOML file (top-level keys, ``[columns]`` and optional ``[hubspot]``/``[run]`` tables)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"Config file {p} does not exist.", hint="Check the --config path.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"Config file {p} is not valid TOML: {exc}.") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key in ("hubspot", "run", "limits", "report"):
            flat.update(value)
        else:
            flat[key] = value
    if "token" in flat:
        raise InputError(
            f"Config file {p} contains a token.",
            hint="Put the token in HUBSPOT_ACCESS_TOKEN or in a file named by token_file, never in the config.",
        )
    unknown = sorted(k for k in flat if k not in _FIELDS)
    if unknown:
        raise InputError(
            f"Config file {p} has unknown settings: {', '.join(unknown)}.", hint="See config.example.toml."
        )
    base = p.parent
    out = {k: _coerce(k, v, str(p)) for k, v in flat.items()}
    for key in ("token_file", "contacts_file", "state_dir", "report_dir", "done_dir", "log_file"):
        if isinstance(out.get(key), str) and not Path(out[key]).is_absolute():
            out[key] = str(base / out[key])
    if "inputs" in out:
        out["inputs"] = tuple(v if Path(v).is_absolute() else str(base / v) for v in out["inputs"])
    return out


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from the environment: ``HUBSPOT_ACCESS_TOKEN``, ``HUBSPOT_BASE_URL`` and ``IMPORTER_<SETTING>``."""
    out: dict[str, Any] = {}
    if environ.get("HUBSPOT_BASE_URL"):
        out["base_url"] = environ["HUBSPOT_BASE_URL"]
    for name in _FIELDS:
        key = f"IMPORTER_{name.upper()}"
        if name not in ("token", "columns") and environ.get(key, "") != "":
            out[name] = _coerce(name, environ[key], key)
    if environ.get("HUBSPOT_ACCESS_TOKEN"):
        out["token"] = environ["HUBSPOT_ACCESS_TOKEN"].strip()
    return out


def env_proxy(environ: Mapping[str, str], base_url: str) -> str | None:
    """The proxy the environment names for an https request to ``base_url`` (``https_proxy``, then
    ``all_proxy``, either case; none when ``no_proxy`` lists the host).  ``HTTP_PROXY`` never counts:
    plain http goes only to this machine, and never through a proxy."""

    def var(name: str) -> str:
        return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()

    proxy = var("https_proxy") or var("all_proxy")
    host = urlsplit(base_url).hostname or ""
    if not proxy or _bypassed(host.lower(), var("no_proxy")):
        return None
    return proxy


def _bypassed(host: str, no_proxy: str) -> bool:
    """``no_proxy`` as curl reads it: ``*``, or host names and domain suffixes (``.example.com``)."""
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def read_token_file(path: str, warn: Any = None) -> str:
    """Read a token file, warning when other users may read it."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
        text = p.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"Cannot read token_file {p}: {exc.strerror}.") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH) and warn is not None:
        warn(f"token_file {p} is readable by other users; run: chmod 600 {p}")
    if not text:
        raise InputError(f"token_file {p} is empty.")
    return text


def is_loopback(host: str | None) -> bool:
    """This machine (``localhost``, 127.0.0.0/8, ``::1``): never reached through a proxy."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """Refuse plain http:// except for this machine, before any request is made."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise InputError(
            "The base URL contains a user name or password (user:pass@): remove them, the importer "
            "signs in to HubSpot with the token alone (HUBSPOT_ACCESS_TOKEN or token_file).",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"Base URL {url!r} is not an http(s) URL.")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise InputError(
            f"Refusing plain http:// for {parts.hostname}: the token would travel unencrypted.",
            hint="Use https://.",
        )
    return url.rstrip("/")


def _one_event(values: dict[str, Any], layer: Mapping[str, Any], where: str) -> None:
    """The event is named once: by id (``--event``, ``event_id``) or by name (``--event-name``,
    ``event_name``).  A later source naming it either way replaces what an earlier one said; one
    source giving both is asked to choose, since they could name two events."""
    by_id, by_name = bool(layer.get("event_id")), bool(layer.get("event_name"))
    if by_id and by_name:
        what = "--event and --event-name" if where == "command line" else "event_id and event_name"
        raise InputError(
            f"The {where} gives both {what}: they could name two events.",
            hint="Keep one: the event id (or its URL), or the name.",
        )
    if by_id:
        values.pop("event_name", None)
    elif by_name:
        values.pop("event_id", None)


def build(
    flags: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    warn: Any = None,
) -> Config:
    """Layer the sources: defaults < TOML file (``flags['config']``) < environment < flags."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = flags.get("config") or env.get("IMPORTER_CONFIG")
    given: dict[str, Any] = {}
    for key, value in flags.items():
        if key == "config" or value is None:
            continue
        if key not in _FIELDS:
            raise KeyError(key)
        if isinstance(value, bool) and value is False and _FIELDS[key].default is False:
            continue  # an unset store_true flag must not override the file
        given[key] = value
    layers = [(read_toml(config_file) if config_file else {}, f"config file {config_file}")]
    layers += [(from_env(env), "environment"), (given, "command line")]
    for layer, where in layers:
        values.update(layer)
        _one_event(values, layer, where)
    cfg = replace(Config(), **values)
    if cfg.proxy is None:
        cfg = replace(cfg, proxy=env_proxy(env, cfg.base_url))
    if cfg.token is None and cfg.token_file:
        cfg = replace(cfg, token=read_token_file(cfg.token_file, warn))
    return validate(cfg)


#: HubSpot's object type id of marketing events (the ``0-54`` in a CRM record page's URL).
MARKETING_EVENT_TYPE = "0-54"
#: Record pages of other objects in the legacy ``/contacts/<portal>/<kind>/<id>`` shape.
_OTHER_RECORDS = {"contact": "a contact", "company": "a company", "deal": "a deal", "ticket": "a ticket"}


def event_id_from(text: str) -> str:
    """The marketing event's object id from what was pasted: the id itself, or the event's page in
    HubSpot (any data-centre host: ``app.hubspot.com``, ``app-eu1.hubspot.com``...).  A page URL
    names the portal (account) first and the event after it; the portal id is never taken, and a
    page that is not one marketing event (another record, a list, HubSpot's public events site)
    is refused naming what it is, never read as an event id.  The shapes:
    ``/marketing-events/<portal>/details/<event>`` and the CRM record page
    ``/contacts/<portal>/record/0-54/<event>``."""
    text = text.strip()
    parts = urlsplit(text)
    if not (parts.scheme in ("http", "https") and parts.hostname):
        return text
    host = parts.hostname.lower()
    if not (host == "hubspot.com" or host.endswith(".hubspot.com")):
        raise InputError(f"--event {text!r} is not a HubSpot address.", hint="Pass the event's id or its HubSpot URL.")
    event, found = _read_page(host, [unquote(p) for p in parts.path.split("/") if p])
    if event:
        return event
    raise InputError(
        f"The URL {text} does not name a marketing event{found}.",
        hint="Open the event in HubSpot (Marketing > Events, click the event) and copy that page's URL, "
        "or pass its id.",
    )


def _read_page(host: str, segments: list[str]) -> tuple[str, str]:
    """``(event id, "")`` for a marketing event's page, else ``("", what the page is, in words)``."""
    numbers = [seg for seg in segments if seg.isdigit()]
    if host.startswith("events.") or segments[:1] == ["events"]:
        return "", " (it is a page of HubSpot's events site or of custom behavioral events)"
    if "record" in segments:
        return _record_page(segments[segments.index("record") + 1 :])
    if "objects" in segments or "views" in segments:
        return "", " (it is a list of records; click the event to open its own page)"
    if len(segments) >= 3 and segments[0] == "contacts" and segments[2] in _OTHER_RECORDS:
        return "", f" (it is {_OTHER_RECORDS[segments[2]]}'s page)"
    if segments[:1] == ["marketing-events"] and len(numbers) >= 2 and segments[1] == numbers[0]:
        return numbers[1], ""  # the first number is the portal (account) id
    return "", f" (it names only the account {numbers[0]})" if len(numbers) == 1 else ""


def _record_page(after_record: list[str]) -> tuple[str, str]:
    """A CRM record page, from the segments after ``record``: ``<object type>/<record id>``."""
    kind, rest = after_record[:1], after_record[1:2]
    if kind == [MARKETING_EVENT_TYPE] and rest and rest[0].isdigit():
        return rest[0], ""
    return "", f" (it is the record page of object type {kind[0]}, not 0-54)" if kind else ""


def _finite(low: float, *, above: bool = False) -> Callable[[float], bool]:
    return lambda v: math.isfinite(v) and (v > low if above else v >= low)


#: Each number setting's bound, and the sentence for a value outside it.
_BOUNDS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("batch_size", lambda v: v >= 1, "batch_size must be at least 1."),
    ("concurrency", lambda v: v >= 1, "concurrency must be at least 1."),
    ("rate_limit_reserve_pct", lambda v: 0 <= v < 100, "rate_limit_reserve_pct must be between 0 and 99."),
    ("rate_limit_max", lambda v: v >= 1, "rate_limit_max and rate_limit_interval_ms must be positive."),
    ("rate_limit_interval_ms", lambda v: v >= 1, "rate_limit_max and rate_limit_interval_ms must be positive."),
    ("max_wait_s", _finite(0), "max_wait_s must be a number of seconds, 0 or more."),
    ("connect_timeout_s", _finite(0, above=True), "connect_timeout_s must be a positive number of seconds."),
    ("read_timeout_s", _finite(0, above=True), "read_timeout_s must be a positive number of seconds."),
    ("request_timeout_s", _finite(0, above=True), "request_timeout_s must be a positive number of seconds."),
    ("keep_plans", lambda v: v >= 0, "keep_plans must be 0 or more."),
    ("keep_plans_days", _finite(0), "keep_plans_days must be a number of days, 0 or more."),
)
#: Each word setting's choices (None: unset is allowed), and the sentence for another word.
_CHOICES: dict[str, tuple[tuple[str | None, ...], str]] = {
    "state": (STATES, "--state {value!r} is not one of {choices}."),
    "empty_inbox": (("ok", "error"), "empty_inbox must be ok or error, not {value!r}."),
    "report_format": ((None, *REPORT_FORMATS), "--report-format must be one of {choices}."),
}


def check_choice(name: str, value: object) -> None:
    """``value`` is one of the word setting ``name``'s choices (``state``, ``empty_inbox``,
    ``report_format``): the one check config and the mapper both use."""
    choices, say = _CHOICES[name]
    if value not in choices:
        raise InputError(say.format(value=value, choices=", ".join(c for c in choices if c)))


def check_meeting_date(text: str) -> None:
    """--meeting-date is a calendar date written as ISO (2024-11-21), optionally with the time the
    meeting began (2024-11-21T23:00): never a guess between orders."""
    got = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}):(\d{2}))?", text)
    try:
        ok = got is not None and date.fromisoformat(got.group(1)) is not None
        ok = ok and got is not None and (got.group(2) is None or (int(got.group(2)) < 24 and int(got.group(3)) < 60))
    except ValueError:
        ok = False
    if not ok:
        raise InputError(
            f"--meeting-date {text!r} is not a date written as YYYY-MM-DD (or YYYY-MM-DDTHH:MM with the start).",
            hint="Give the meeting's date like --meeting-date 2024-11-21, or its start like 2024-11-21T23:00.",
        )


def validate(cfg: Config) -> Config:
    """Check values that would otherwise fail late, with a sentence saying what to do."""
    for name in _CHOICES:
        check_choice(name, getattr(cfg, name))
    if cfg.timezone:
        parse_zone(cfg.timezone)
    if cfg.meeting_date is not None:
        check_meeting_date(cfg.meeting_date)
    if cfg.event_id:
        cfg = replace(cfg, event_id=event_id_from(cfg.event_id))
    if cfg.event_name.strip() != cfg.event_name:
        cfg = replace(cfg, event_name=cfg.event_name.strip())
    for name, within, say in _BOUNDS:
        if not within(getattr(cfg, name)):
            raise InputError(say)
    if cfg.api_version not in API_VERSIONS:
        raise InputError(
            f"api_version {cfg.api_version!r} is not one HubSpot serves to this importer.",
            hint=f"Use one of {', '.join(API_VERSIONS)} (default {DEFAULT_API_VERSION}).",
        )
    check_base_url(cfg.base_url)
    _check_proxy(cfg)
    return cfg


def _check_proxy(cfg: Config) -> None:
    """A proxy the client cannot use is refused before anything is sent (never named in full:
    its URL may hold a password)."""
    if not cfg.proxy or not cfg.base_url.startswith("https://") or is_loopback(urlsplit(cfg.base_url).hostname):
        return
    scheme = urlsplit(cfg.proxy).scheme.lower()
    if scheme.startswith("socks"):
        raise InputError(
            f"The proxy from HTTPS_PROXY, ALL_PROXY or the proxy setting is a SOCKS proxy ({scheme}://), "
            "which the importer cannot use: set HTTPS_PROXY to an http:// proxy, or unset ALL_PROXY, and run again."
        )
    if scheme not in ("http", "https") or not urlsplit(cfg.proxy).hostname:
        raise InputError(
            "The proxy from HTTPS_PROXY, ALL_PROXY or the proxy setting is not an http(s):// URL; "
            "set it like http://proxy.example.com:3128 and run again."
        )
