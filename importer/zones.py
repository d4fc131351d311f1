"""Time zone names a user gives (``--timezone``, ``timezone`` in the config): IANA names, and
fixed offsets only when named as such; and the one reader of written UTC offsets, which the
mapper's time cells and headers use too.

An abbreviation is refused: ``EST`` exists in the tz database as a fixed UTC-5 all year, so a
June webinar in New York read with it lands an hour off; ``CST`` and ``IST`` each mean three
different places.  The message names the IANA zones people usually mean.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InputError

#: Abbreviations (and the tz database's legacy abbreviation-like names) -> what people usually mean.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "EST": ("America/New_York", "America/Toronto"),
    "EDT": ("America/New_York", "America/Toronto"),
    "ET": ("America/New_York",),
    "CST": ("America/Chicago", "America/Mexico_City", "Asia/Shanghai"),
    "CDT": ("America/Chicago",),
    "CT": ("America/Chicago",),
    "MST": ("America/Denver", "America/Phoenix"),
    "MDT": ("America/Denver",),
    "MT": ("America/Denver",),
    "PST": ("America/Los_Angeles", "America/Vancouver"),
    "PDT": ("America/Los_Angeles",),
    "PT": ("America/Los_Angeles",),
    "AKST": ("America/Anchorage",),
    "HST": ("Pacific/Honolulu",),
    "AST": ("America/Halifax", "Asia/Riyadh"),
    "NST": ("America/St_Johns",),
    "GMT": ("Europe/London", "UTC"),
    "BST": ("Europe/London",),
    "WET": ("Europe/Lisbon",),
    "CET": ("Europe/Paris", "Europe/Berlin"),
    "CEST": ("Europe/Paris", "Europe/Berlin"),
    "MET": ("Europe/Paris", "Europe/Berlin"),
    "MEZ": ("Europe/Berlin",),
    "EET": ("Europe/Athens", "Europe/Helsinki"),
    "MSK": ("Europe/Moscow",),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "PKT": ("Asia/Karachi",),
    "SGT": ("Asia/Singapore",),
    "HKT": ("Asia/Hong_Kong",),
    "JST": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney",),
    "ACST": ("Australia/Adelaide",),
    "AWST": ("Australia/Perth",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
    "EST5EDT": ("America/New_York",),
    "CST6CDT": ("America/Chicago",),
    "MST7MDT": ("America/Denver",),
    "PST8PDT": ("America/Los_Angeles",),
}
#: A written UTC offset: ``+01:00``, ``-0500``, ``UTC-5``, ``GMT+5:30`` (the prefix is optional here).
_OFFSET = re.compile(r"((?:UTC|GMT)?)\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
#: The furthest offsets in use (UTC-12 to UTC+14).
MAX_OFFSET_HOURS = 14


def offset_minutes(text: str, *, named: bool = False) -> int | None:
    """Minutes east of UTC of a written offset (``+01:00``, ``UTC-5``, ``GMT+5:30``); None if the
    text is not one, or is past ±14 hours or 59 minutes.  ``named``: only with ``UTC``/``GMT`` before
    it, as a zone setting must say.  The arithmetic is ``datetime``'s ``%z`` (zoneinfo names no
    offsets with minutes); the pattern only accepts the forms exports and people write."""
    m = _OFFSET.fullmatch(text)
    if m is None or (named and not m.group(1)) or int(m.group(3)) > MAX_OFFSET_HOURS:
        return None
    try:
        written = datetime.strptime(f"{m.group(2)}{int(m.group(3)):02d}{m.group(4) or '00'}", "%z")
    except ValueError:  # minutes past 59
        return None
    offset = written.utcoffset()
    assert offset is not None
    return offset // timedelta(minutes=1)


def parse_zone(name: str) -> tzinfo:
    """The zone ``name`` means: an IANA name (``Europe/Berlin``, ``Etc/GMT+5``, ``UTC``) or an
    explicit fixed offset (``UTC-05:00``, ``GMT+2``); an abbreviation or unknown name is an
    :class:`InputError` saying which names to use."""
    text = name.strip()
    meant = ABBREVIATIONS.get(text.upper())
    if meant is not None:
        shown = " or ".join(meant)
        raise InputError(
            f"--timezone {text!r} is an abbreviation, not a time zone: it does not follow daylight saving "
            f"time, so summer times would land an hour off, and it can mean several places.",
            hint=f"Use the IANA name, usually {shown}; for a fixed offset all year say so, e.g. UTC-05:00 "
            "or Etc/GMT+5.",
        )
    fixed = offset_minutes(text, named=True)
    if fixed is not None:
        return timezone(timedelta(minutes=fixed), text.upper())
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        close = zone_suggestions(text)
        raise InputError(
            f"Unknown time zone {text!r}.",
            hint=f"Did you mean {' or '.join(close)}? Time zones are IANA names."
            if close
            else "Use an IANA name such as Europe/Berlin or America/New_York, or a fixed offset such as UTC-05:00.",
        ) from None


#: Names people write for a zone beside the abbreviations above (US/Canada zone names), as IANA names.
_ZONE_WORDS: dict[str, tuple[str, ...]] = {
    "eastern": ("America/New_York", "America/Toronto"),
    "central": ("America/Chicago", "America/Winnipeg"),
    "mountain": ("America/Denver", "America/Phoenix"),
    "pacific": ("America/Los_Angeles", "America/Vancouver"),
    "alaska": ("America/Anchorage",),
    "hawaii": ("Pacific/Honolulu",),
    "atlantic": ("America/Halifax",),
}


def zone_suggestions(text: str) -> list[str]:
    """IANA names for what someone typed as a zone: ``Eastern`` (US names and abbreviations),
    ``New York`` or ``new_york`` (a city), or a near miss such as ``Europe/Berln``."""
    import difflib
    from zoneinfo import available_timezones

    words = " ".join(text.replace("_", " ").replace("(", " ").replace(")", " ").split()).lower()
    for word in (words, words.removesuffix(" time"), words.removesuffix(" standard time")):
        meant = _ZONE_WORDS.get(word) or ABBREVIATIONS.get(word.upper())
        if meant:
            return list(meant)
    zones = sorted(available_timezones())
    by_city: dict[str, list[str]] = {}
    for zone in zones:
        by_city.setdefault(zone.rsplit("/", 1)[-1].replace("_", " ").lower(), []).append(zone)
    city = words.rsplit("/", 1)[-1]
    if city in by_city:
        return [z for z in by_city[city] if "/" in z][:3] or by_city[city][:3]
    lowered = {z.lower(): z for z in zones}
    near = difflib.get_close_matches(text.lower(), list(lowered), n=2, cutoff=0.85)
    near += [z for c in difflib.get_close_matches(city, list(by_city), n=2, cutoff=0.8) for z in by_city[c][:1]]
    return list(dict.fromkeys(lowered.get(n, n) for n in near))[:3]
