"""Mapper: turn the loader's raw grid into ``Row`` objects, one per data row.

It finds the header row(s), maps columns by header aliases, lets the platform profile decide each
row's state (or skip it), and normalises emails, contact ids and times.  Everything is column-wise
on *distinct* values (pyarrow/pandas), so a million-row file maps in seconds; a bad row becomes a
settled ``Row`` with a reason and a message, never an exception.  Only problems with the whole file
(no header, no data, times without a zone, mixed date orders) raise ``InputError``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from datetime import timedelta as dt_timedelta
from itertools import repeat

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .bulk import no_gc, release_memory
from .errors import InputError
from .models import Also, FileInfo, Outcome, Reason, Row, RowRef, State
from .profiles import Profile, by_name, detect
from .profiles.base import (
    ALIASES,
    DAY_FIRST_LANGS,
    FIELDS,
    HEAD_LINES,
    KEY_FIELDS,
    NO,
    TIME_FIELDS,
    YES,
    Decision,
    Facts,
    SheetLike,
    norm_header,
    title_state,
)
from .zones import parse_zone

STATES = ("auto", "register", "attend", "cancel")
WORKBOOK_KINDS = frozenset({"xlsx", "xls", "xlsb", "ods"})
NAME_FIELDS = ("first_name", "last_name", "name")
MS_2000 = 946_684_800_000
_EPOCH_NAIVE = datetime(1970, 1, 1)
DAY_MS = 86_400_000
MAX_VID = 2**63 - 1


@dataclass(frozen=True)
class MapOptions:
    """How to read the files: forced state, time zone, header overrides, date order.

    ``now_ms`` fixes "now" for the future-time check (tests); ``None`` means the clock.
    """

    state: str = "auto"
    timezone: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    day_first: bool | None = None
    keep_raw: bool = False
    profile: str | None = None
    now_ms: int | None = None


@dataclass(frozen=True)
class MappedFile:
    """One file's rows (one per data row, in file order) and what was learned about it."""

    info: FileInfo
    rows: list[Row]


# --- small helpers ------------------------------------------------------------------------------


def _show(text: str, limit: int = 60) -> str:
    """A cell value quoted for a message: control characters escaped, long values shortened."""
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)
    if len(safe) > limit:
        safe = safe[: limit - 1] + "…"
    return f"'{safe}'"


def _rows_list(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _factorize(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes per row and the distinct values as an Arrow string array (zero-copy when Arrow-backed)."""
    codes, uniq = pd.factorize(values)
    return np.asarray(codes), _arrow_text(uniq)


def _objects(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _to_numpy_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


# --- emails -------------------------------------------------------------------------------------

_INVISIBLE = r"[\x00\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]"
_ODD_SPACE = r"[\x{00A0}\x{2007}\x{2009}\x{202F}]"
_QUOTES = r"^['\"`]+|['\"`]+$"
_LOCAL_CHARS = r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?"
EMAIL_RE = rf"^{_LOCAL_CHARS}+(?:\.{_LOCAL_CHARS}+)*@(?:{_LABEL}\.)+(?:\p{{L}}{{2,63}}|xn--[a-z0-9-]{{1,59}})$"


_PLAIN_EMAIL = r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$"


def _clean_email_texts(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cleaned, lower-cased addresses (object array) plus ``valid`` and ``empty`` masks, for distinct
    texts.  Addresses that are already clean (nearly all) skip the cleaning steps."""
    plain = pc.and_(
        pc.and_(pc.match_substring_regex(arr, _PLAIN_EMAIL), pc.invert(pc.match_substring(arr, "xn--"))),
        pc.and_(pc.less_equal(pc.utf8_length(arr), 254), pc.less_equal(pc.find_substring(arr, "@"), 64)),
    )
    valid = _to_numpy_bool(plain)
    out = _objects(arr)
    empty = np.zeros(len(out), dtype=bool)
    rest = np.flatnonzero(~valid)
    if len(rest):
        clean, ok, blank = _clean_email_slow(arr.take(pa.array(rest)))
        out[rest], valid[rest], empty[rest] = _objects(clean), ok, blank
    return out, valid, empty


def _clean_email_slow(arr: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    # NFC: macOS writes 'é' as 'e' + a combining accent (NFD), which must match the contact's 'é'
    s = pc.replace_substring_regex(pc.utf8_normalize(arr, "NFC"), _INVISIBLE, "")
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, _ODD_SPACE, " "))
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, _QUOTES, ""))
    inner = pc.extract_regex(s, r"^[^<>]*<(?P<a>[^<>]*)>\s*$")
    s = pc.if_else(inner.is_valid(), inner.field("a"), s)
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, _QUOTES, ""))
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r"(?i)^mailto:", ""))
    s = _unicode_domains(pc.utf8_lower(s))
    valid = pc.and_(
        pc.match_substring_regex(s, EMAIL_RE),
        pc.and_(pc.less_equal(pc.utf8_length(s), 254), pc.less_equal(pc.find_substring(s, "@"), 64)),
    )
    return s, _to_numpy_bool(valid), _to_numpy_bool(pc.equal(s, ""))


def _unicode_domains(arr: pa.Array) -> pa.Array:
    """Punycode domain labels (``xn--mller-kva.de``) as the Unicode they stand for (``müller.de``),
    so an IDN address and its ASCII form are one address; a label that does not decode stays."""
    hit = np.flatnonzero(_to_numpy_bool(pc.match_substring(arr, "xn--")))
    if not len(hit):
        return arr
    out = _objects(arr)
    for i in hit:
        local, at, domain = str(out[i]).rpartition("@")
        labels = []
        for label in domain.split("."):
            try:
                labels.append(label.encode("ascii").decode("idna") if label.startswith("xn--") else label)
            except UnicodeError:
                labels.append(label)
        out[i] = f"{local}{at}{'.'.join(labels)}"
    return pa.array(out, type=pa.string())


def normalize_email(text: str) -> str | None:
    """One address cleaned and lower-cased, or ``None`` when empty or not a valid address."""
    s, valid, _ = _clean_email_texts(pa.array([text], type=pa.string()))
    return str(s[0]) if valid[0] else None


def _why_email(clean: str) -> str:
    """Which rule an invalid address breaks, in words."""
    if len(clean) > 254:
        return "it is longer than 254 characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in clean):
        return "it contains control characters"
    at = clean.count("@")
    if at == 0:
        return "it has no @"
    if at > 1:
        return "it has more than one @"
    if any(c.isspace() for c in clean):
        return "it contains a space"
    local, domain = clean.split("@")
    if not local:
        return "nothing comes before the @"
    if "." not in domain:
        return "its domain has no dot"
    if len(local) > 64:
        return "the part before the @ is longer than 64 characters"
    if ".." in clean:
        return "it has two dots in a row"
    return "it contains characters an address cannot have"


@dataclass(frozen=True)
class _Emails:
    email: np.ndarray  # object: normalised address or None
    invalid: np.ndarray  # bool
    empty: np.ndarray  # bool
    codes: np.ndarray
    uniq_raw: pa.Array
    uniq_clean: np.ndarray


def _emails(values: pd.Series) -> _Emails:
    codes, uniq = _factorize(values)
    clean, valid, empty = _clean_email_texts(uniq)
    out = clean.copy()
    out[~valid] = None
    invalid = ~valid & ~empty
    return _Emails(out[codes], invalid[codes], empty[codes], codes, uniq, clean)


# --- contact ids --------------------------------------------------------------------------------


def _vids(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact ids as ints (None when empty or bad), a mask of cells that are not a valid id, and
    a mask of rows without a usable id.  Arrow compute over the whole column: ids rarely repeat
    (a contacts export holds a million distinct ones), so finding the distinct values first
    would cost more than it saves."""
    # Excel's leading apostrophe keeps a long id as text: '51234598694 is the id 51234598694
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(_arrow_text(values)), r"^'+\s*", "")
    shaped = _to_numpy_bool(pc.match_substring_regex(text, r"^\d+(\.0+)?$"))
    digits = pc.replace_substring_regex(text, r"\.0+$", "")
    digits = pc.replace_substring_regex(digits, r"^0+(\d)", r"\1")
    length = np.asarray(pc.utf8_length(digits).to_numpy(zero_copy_only=False))
    fits = shaped & (length < 19)
    longest = np.flatnonzero(shaped & (length == 19))
    if len(longest):  # 19 digits may still fit in 63 bits: compare as text
        fits[longest] = np.asarray(digits.take(pa.array(longest)).to_pylist(), dtype=object) <= str(MAX_VID)
    parsed = np.zeros(len(text), dtype=np.int64)
    if fits.any():
        parsed[fits] = pc.cast(pc.filter(digits, pa.array(fits)), pa.int64()).to_numpy(zero_copy_only=False)
    ok = fits & (parsed > 0)
    empty = np.asarray(pc.equal(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False), dtype=bool)
    vid = np.full(len(text), None, dtype=object)
    vid[ok] = parsed[ok].tolist()
    return vid, ~empty & ~ok, ~ok


def _lost_ids(values: pd.Series) -> np.ndarray:
    """Cells Excel turned into scientific notation (1.2345E+10): the id's last digits are gone."""
    text = pc.utf8_trim_whitespace(_arrow_text(values))
    return _to_numpy_bool(pc.match_substring_regex(text, r"^'?\d(?:[.,]\d+)?[eE]\+?\d+$"))


def _arrow_text(values: pd.Series | pd.Index) -> pa.Array:
    """Text values as Arrow strings, empty text for missing ones (zero-copy when they are
    Arrow-backed already, as the loader's columns are)."""
    try:
        arr = pa.array(values.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array([None if v is None else str(v) for v in values.tolist()], type=pa.string())
    return arr.fill_null("")


# --- times --------------------------------------------------------------------------------------

_TIME = (
    r"(?:(?:[T ]|,\s*|\s+at\s+|\s+um\s+|\s+à\s+|\s+a las\s+)"
    r"(?P<H>\d{1,2})[:h](?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"(?:\s*(?P<AP>[AaPp])\.?\s?[Mm]\.?)?)?"
)
_ZONE = r"(?:\s*\(?(?P<Z>[Zz]|[+-]\d{2}(?::?\d{2})?|(?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{2,5})\)?)?"
_PATTERNS = {
    "iso": rf"^(?P<Y>\d{{4}})[-/.](?P<Mo>\d{{1,2}})[-/.](?P<D>\d{{1,2}}){_TIME}{_ZONE}$",
    "num": rf"^(?P<A>\d{{1,2}})(?P<sep>[./-])(?P<B>\d{{1,2}})[./-](?P<Y>\d{{4}}|\d{{2}})\.?{_TIME}{_ZONE}$",
    "mon": (
        rf"^(?:\p{{L}}+\.?,?\s+)?(?P<MN>\p{{L}}{{3,10}})\.?[\s-]+(?P<D>\d{{1,2}})(?:st|nd|rd|th)?,?[\s-]+"
        rf"(?P<Y>\d{{4}}){_TIME}{_ZONE}$"
    ),
    "dmon": (
        rf"^(?:\p{{L}}+\.?,?\s+)?(?P<D>\d{{1,2}})\.?[\s-]+(?P<MN>\p{{L}}{{3,10}})\.?,?[\s-]+"
        rf"(?P<Y>\d{{4}}){_TIME}{_ZONE}$"
    ),
}
_ISO_AWARE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
_SERIAL = r"^\d{5}(?:\.\d+)?$"
_NO_TIME = ["", "-", "--", "—", "n/a", "na", "none", "null", "nan", "nat"]

_MONTHS: dict[str, int] = {}
for _num, _words in enumerate(
    (
        "jan january januar janv janvier ene enero jän jänner",
        "feb february februar fév févr février febrero",
        "mar march märz mär mrz mars marzo",
        "apr april avr avril abr abril",
        "may mai mayo",
        "jun june juni juin junio",
        "jul july juli juil juillet julio",
        "aug august août ago agosto",
        "sep sept september septembre septiembre setiembre",
        "oct october okt oktober octobre octubre",
        "nov november novembre noviembre",
        "dec december dez dezember déc décembre dic diciembre",
    ),
    start=1,
):
    for _word in _words.split():
        _MONTHS[_word] = _num

#: Zone abbreviations seen in exports, as minutes east of UTC.
ZONE_ABBREVIATIONS: Mapping[str, int] = {
    "Z": 0,
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "WET": 0,
    "WEST": 60,
    "BST": 60,
    "IST": 60,
    "CET": 60,
    "MEZ": 60,
    "CEST": 120,
    "MESZ": 120,
    "EET": 120,
    "EEST": 180,
    "MSK": 180,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "AKST": -540,
    "AKDT": -480,
    "HST": -600,
    "AST": -240,
    "ADT": -180,
    "NST": -210,
    "NDT": -150,
    "JST": 540,
    "KST": 540,
    "AEST": 600,
    "AEDT": 660,
    "ACST": 570,
    "ACDT": 630,
    "AWST": 480,
    "NZST": 720,
    "NZDT": 780,
    "SGT": 480,
    "HKT": 480,
}
_OFFSET_RE = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?")

EMPTY, AWARE, NAIVE, BAD = 0, 1, 2, 3


def _zone_minutes(text: str) -> int | None:
    """Minutes east of UTC for an offset ('+01:00', 'UTC-5') or known abbreviation; None if unknown."""
    if text.upper() in ZONE_ABBREVIATIONS:
        return ZONE_ABBREVIATIONS[text.upper()]
    m = _OFFSET_RE.fullmatch(text.upper())
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    return (hours * 60 + minutes) * (1 if m.group(1) == "+" else -1)


_HEADER_ZONE_RE = re.compile(r"\s*[(\[]?\s*((?:UTC|GMT)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?)\s*[)\]]?\s*$", re.IGNORECASE)


def header_zone(header: str) -> tuple[str, str | None]:
    """A header without the zone it names ('Join Time (UTC)', 'Registered at (GMT+2)', 'Time UTC+01:00')
    and that zone as a time suffix ('UTC', 'GMT+2'), or the header and ``None``."""
    m = _HEADER_ZONE_RE.search(header)
    if not m or m.start() == 0:
        return header, None
    zone = re.sub(r"\s+", "", m.group(1)).upper()
    if _zone_minutes(zone) is None:
        return header, None
    return header[: m.start()], zone


def _with_header_zone(values: pd.Series, zone: str) -> pd.Series:
    """Cells of a column whose header names a zone, with that zone written after each time that has none
    of its own (Excel serial numbers are left as they are)."""
    own = values.str.contains(r"(?:[Zz]|[+-]\d{2}:?\d{2}|[A-Za-z]{2,5}|(?:UTC|GMT)[+-]\d{1,2}(?::?\d{2})?)\)?\s*$")
    bare = (values.str.strip() != "") & ~own.fillna(False) & ~values.str.fullmatch(r"\s*\d{5}(?:\.\d+)?\s*")
    return values.where(~bare, values + " " + zone)


def _ints(st: pa.StructArray, name: str) -> np.ndarray:
    """An extracted group as int64, -1 where the group did not take part in the match."""
    col = st.field(name)
    col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    return np.asarray(pc.cast(col, pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _strs(st: pa.StructArray, name: str) -> np.ndarray:
    return np.asarray(st.field(name).to_numpy(zero_copy_only=False), dtype=object)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), vectorised."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


@dataclass
class _TimeScan:
    """Components of distinct time texts, before the day/month order is known.

    ``kind`` is EMPTY, AWARE, NAIVE or BAD once resolved; ``ms`` is UTC epoch ms for aware values
    and wall-clock ms (as if UTC) for naive ones.
    """

    texts: pa.Array
    kind: np.ndarray
    ms: np.ndarray
    pending: np.ndarray  # bool: needs resolving from components
    y: np.ndarray
    mo: np.ndarray
    d: np.ndarray
    a: np.ndarray
    b: np.ndarray
    dotted: np.ndarray
    hh: np.ndarray
    mi: np.ndarray
    ss: np.ndarray
    frac: np.ndarray
    ap: np.ndarray
    zone: np.ndarray  # object: zone text or ''
    serial: np.ndarray  # float64, nan when not a serial
    why: dict[int, str] = field(default_factory=dict)


def _scan_times(texts: pa.Array) -> _TimeScan:
    """Classify distinct time texts and pull out their components (vectorised, one regex per family)."""
    n = len(texts)

    def ints() -> np.ndarray:
        return np.full(n, -1, dtype=np.int64)

    scan = _TimeScan(
        texts=texts,
        kind=np.full(n, BAD, dtype=np.int8),
        ms=np.zeros(n, dtype=np.int64),
        pending=np.zeros(n, dtype=bool),
        y=ints(),
        mo=ints(),
        d=ints(),
        a=ints(),
        b=ints(),
        dotted=np.zeros(n, dtype=bool),
        hh=ints(),
        mi=ints(),
        ss=ints(),
        frac=ints(),
        ap=np.zeros(n, dtype=np.int8),
        zone=np.full(n, "", dtype=object),
        serial=np.full(n, np.nan),
    )
    todo = np.ones(n, dtype=bool)
    s = texts
    for pattern, kind, utc in ((_ISO_AWARE, AWARE, True), (_ISO_NAIVE, NAIVE, False)):
        hit = todo & _to_numpy_bool(pc.match_substring_regex(s, pattern))
        if hit.any():
            idx = np.flatnonzero(hit)
            parsed = pd.to_datetime(
                pd.Series(s.take(pa.array(idx)).to_numpy(zero_copy_only=False)),
                format="ISO8601",
                utc=utc,
                errors="coerce",
            )
            ok = parsed.notna().to_numpy()
            if utc:
                parsed = parsed.dt.tz_localize(None)
            values = parsed.to_numpy(dtype="datetime64[ms]").view(np.int64)
            scan.kind[idx[ok]] = kind
            scan.ms[idx[ok]] = values[ok]
            todo[idx[ok]] = False

    rest = np.flatnonzero(todo)
    if not len(rest):
        return scan
    # everything else: normalise spaces, then try each family on what is left
    s = texts.take(pa.array(rest))
    s = pc.replace_substring_regex(s, r"[\s\x{00A0}\x{2007}\x{2009}\x{202F}]+", " ")
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r"(?i)\s*uhr$", ""))
    full = np.full(n, "", dtype=object)
    full[rest] = _objects(s)
    s = pa.array(full, type=pa.string())
    empty = todo & _to_numpy_bool(pc.is_in(pc.utf8_lower(s), value_set=pa.array(_NO_TIME)))
    scan.kind[empty] = EMPTY
    todo &= ~empty

    # Excel serial numbers (1900 system): in workbooks, and in the CSVs Excel saves ('45600.5')
    hit = todo & _to_numpy_bool(pc.match_substring_regex(s, _SERIAL))
    if hit.any():
        idx = np.flatnonzero(hit)
        scan.serial[idx] = np.asarray(pc.cast(s.take(pa.array(idx)), pa.float64()).to_numpy(zero_copy_only=False))
        scan.pending[idx] = True
        todo[idx] = False

    for family, pattern in _PATTERNS.items():
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        st = pc.extract_regex(s.take(pa.array(idx)), pattern)
        ok = _to_numpy_bool(st.is_valid())
        if not ok.any():
            continue
        idx, st = idx[ok], st.filter(pa.array(ok))
        todo[idx] = False
        scan.pending[idx] = True
        scan.y[idx] = _ints(st, "Y")
        if family == "num":
            scan.a[idx], scan.b[idx] = _ints(st, "A"), _ints(st, "B")
            scan.dotted[idx] = _strs(st, "sep") == "."
        elif family == "iso":
            scan.mo[idx], scan.d[idx] = _ints(st, "Mo"), _ints(st, "D")
        else:
            scan.d[idx] = _ints(st, "D")
            names = _strs(st, "MN")
            scan.mo[idx] = [_MONTHS.get(str(nm).lower().rstrip("."), 0) for nm in names]
        scan.hh[idx], scan.mi[idx], scan.ss[idx] = _ints(st, "H"), _ints(st, "M"), _ints(st, "S")
        frac = st.field("F")
        frac = pc.utf8_rpad(pc.utf8_slice_codeunits(frac, 0, 3), 3, "0")
        scan.frac[idx] = np.asarray(pc.cast(frac, pa.int64()).to_numpy(zero_copy_only=False))
        ap = _strs(st, "AP")
        scan.ap[idx] = [1 if str(x).lower() == "a" else 2 if str(x).lower() == "p" else 0 for x in ap]
        scan.zone[idx] = _strs(st, "Z")
    return scan


def _resolve_times(scan: _TimeScan, day_first: bool) -> None:
    """Turn the pending components into epoch ms (wall clock for naive values) and flag the impossible."""
    idx = np.flatnonzero(scan.pending)
    if not len(idx):
        return
    serial = scan.serial[idx]
    is_serial = ~np.isnan(serial)
    y, mo, d = scan.y[idx].copy(), scan.mo[idx].copy(), scan.d[idx].copy()
    numeric = scan.a[idx] >= 0
    first, second = scan.a[idx], scan.b[idx]
    mo[numeric] = np.where(day_first, second, first)[numeric]
    d[numeric] = np.where(day_first, first, second)[numeric]
    y = np.where((y >= 0) & (y < 100), np.where(y < 70, 2000 + y, 1900 + y), y)
    hh, mi, ss, frac, ap = scan.hh[idx].copy(), scan.mi[idx].copy(), scan.ss[idx].copy(), scan.frac[idx], scan.ap[idx]
    no_clock = hh < 0
    hh[no_clock], mi[mi < 0], ss[ss < 0] = 0, 0, 0
    ok = (ap == 0) | ((hh >= 1) & (hh <= 12) & ~no_clock)
    hh = np.where(ap == 1, hh % 12, np.where(ap == 2, hh % 12 + 12, hh))
    ok &= (mo >= 1) & (mo <= 12) & (y >= 1900) & (y <= 2200)
    month = np.clip(mo, 1, 12)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    dim = _DAYS_IN_MONTH[month] + ((month == 2) & leap)
    ok &= (d >= 1) & (d <= dim) & (hh <= 23) & (mi <= 59) & (ss <= 59)
    ms = (
        ((_days_from_civil(y, month, np.clip(d, 1, 31)) * 24 + hh) * 60 + mi) * 60_000 + ss * 1000 + np.maximum(frac, 0)
    )
    serial_ms = np.round((np.nan_to_num(serial) - 25569.0) * DAY_MS).astype(np.int64)
    ms = np.where(is_serial, serial_ms, ms)
    ok = np.where(is_serial, (serial >= 1) & (serial < 2958466), ok)
    kind = np.where(ok, NAIVE, BAD).astype(np.int8)
    zones = scan.zone[idx]
    for zt in set(zones[ok & (zones != "")].tolist()):
        minutes = _zone_minutes(str(zt))
        where = ok & (zones == zt)
        if minutes is None:
            kind[where] = BAD
            for i in idx[where]:
                scan.why[int(i)] = f"has a time zone abbreviation that is not known ({_show(str(zt))})"
        else:
            kind[where] = AWARE
            ms[where] -= minutes * 60_000
    scan.kind[idx] = kind
    scan.ms[idx] = ms


@dataclass(frozen=True)
class _Order:
    day_first: bool | None
    note: str = ""


def _date_order(scan: _TimeScan, opts: MapOptions, file: str, langs: set[str], platform: str) -> _Order:
    """Decide day-first vs month-first for the whole file from its values, never mixing."""
    numeric = scan.a >= 0
    if not numeric.any():
        return _Order(None)
    if opts.day_first is not None:
        return _Order(opts.day_first)
    a, b = scan.a, scan.b
    texts = scan.texts
    says_day = numeric & (a > 12) & (a <= 31) & (b <= 12)
    says_month = numeric & (b > 12) & (b <= 31) & (a <= 12)
    if says_day.any() and says_month.any():
        ex_day = texts[int(np.flatnonzero(says_day)[0])].as_py()
        ex_month = texts[int(np.flatnonzero(says_month)[0])].as_py()
        raise InputError(
            f"{file} mixes day-first and month-first dates (e.g. {_show(ex_day)} and {_show(ex_month)}).",
            hint="Make the dates consistent in the file, or say which order is right: --day-first or --month-first.",
        )
    if says_day.any():
        return _Order(True)
    if says_month.any():
        return _Order(False)
    open_ = numeric & (a != b) & (a >= 1) & (b >= 1)
    if not open_.any():
        return _Order(False)
    example = _show(texts[int(np.flatnonzero(open_)[0])].as_py())
    if langs & DAY_FIRST_LANGS:
        day_first, why = True, "the headers are not English"
    elif scan.dotted[numeric].all():
        day_first, why = True, "dates written with dots are day-first"
    else:
        day_first, why = False, f"usual for {platform} exports" if platform else "nothing in the file decides it"
    order = "day-first" if day_first else "month-first"
    note = (
        f"dates such as {example} could be day-first or month-first; read them as {order} ({why}); "
        "use --day-first or --month-first if that is wrong"
    )
    return _Order(day_first, note)


def _reject_gaps(scan: _TimeScan, zone: tzinfo, name: str) -> None:
    """Local times that never happened (the spring-forward gap) cannot be sent: which instant was
    meant is unknown, so the row is rejected with a message naming the gap."""
    naive = np.flatnonzero(scan.kind == NAIVE)
    if not len(naive):
        return
    idx = pd.DatetimeIndex(scan.ms[naive].astype("datetime64[ms]"))
    probe = idx.tz_localize(zone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="NaT")
    gaps = np.asarray(probe.isna())
    if not gaps.any():
        return
    befores = idx[gaps].tz_localize(zone, ambiguous=np.ones(int(gaps.sum()), dtype=bool), nonexistent="shift_backward")
    for i, before in zip(naive[gaps], befores, strict=True):
        wall = (_EPOCH_NAIVE + dt_timedelta(milliseconds=int(scan.ms[i]))).replace(tzinfo=zone)
        length = wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) - wall.replace(tzinfo=None)
        start = before.tz_localize(None).ceil("min")
        end = start + pd.Timedelta(length)
        scan.kind[i] = BAD
        scan.why[int(i)] = (
            f"does not exist in {name}: on {end:%Y-%m-%d} the clocks jumped from {start:%H:%M} to "
            f"{end:%H:%M} (the spring-forward gap), so which moment was meant is unknown"
        )


def _localize(wall_ms: np.ndarray, zone: tzinfo) -> tuple[np.ndarray, np.ndarray]:
    """UTC ms for wall-clock ms in ``zone``: times in a DST gap move forward, ambiguous ones take
    the earlier (daylight-saving) reading.  Also returns which values needed that."""
    idx = pd.DatetimeIndex(wall_ms.astype("datetime64[ms]"))
    first = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    special = np.asarray(first.isna())
    out = np.asarray(first.as_unit("ms").asi8).copy()
    if special.any():
        fixed = idx[special].tz_localize(
            zone, ambiguous=np.ones(int(special.sum()), dtype=bool), nonexistent="shift_forward"
        )
        out[special] = fixed.as_unit("ms").asi8
    return out, special


# --- header and sections ------------------------------------------------------------------------


class _AliasIndex:
    """Header text -> field, with overrides first, then the profile's aliases, then the shared ones."""

    def __init__(self, profile: Profile, overrides: Mapping[str, str]) -> None:
        self.index: dict[str, tuple[str, int, str]] = {}
        for name, entries in ALIASES.items():
            for rank, (text, lang) in enumerate(entries):
                self.index.setdefault(norm_header(text), (name, rank, lang))
        for text in profile.ignore:
            self.index.pop(norm_header(text), None)
        for name, texts in profile.aliases.items():
            for text in texts:
                self.index[norm_header(text)] = (name, -1, "")
        for name, text in overrides.items():
            self.index[norm_header(text)] = (name, -2, "")
        self.last = profile.last_column
        self.key_texts = {
            text.strip().lower() for name, entries in ALIASES.items() if name in KEY_FIELDS for text, _ in entries
        } | {text.strip().lower() for name, text in overrides.items() if name in KEY_FIELDS}

    def scan(self, cells: Sequence[str]) -> dict[str, tuple[int, int, str]]:
        """field -> (rank, column, language) for a candidate header line; the best alias wins."""
        hits: dict[str, tuple[int, int, str]] = {}
        for col, cell in enumerate(cells):
            if not cell or len(cell) > 80:
                continue
            got = self.index.get(norm_header(cell))
            if got is None:
                bare, zone = header_zone(cell)
                got = self.index.get(norm_header(bare)) if zone else None
            if got is None:
                continue
            name, rank, lang = got
            if name not in hits or rank < hits[name][0] or (rank == hits[name][0] and name in self.last):
                hits[name] = (rank, col, lang)
        return hits


@dataclass(frozen=True)
class _Block:
    """One table of the sheet: its header line, section label and data lines."""

    header_pos: int
    label: str
    label_text: str
    headers: tuple[str, ...]
    columns: Mapping[str, int]
    langs: frozenset[str]
    positions: np.ndarray


def _line(frame: pd.DataFrame, pos: int) -> list[str]:
    return [str(c) for c in frame.iloc[pos].tolist()]


def _no_header(sheet: SheetLike, head: list[list[str]]) -> InputError:
    fullest = max(head, key=lambda line: sum(bool(c) for c in line), default=[])
    seen = ", ".join(_show(c, 40) for c in fullest if c)[:300] or "none"
    return InputError(
        f"{sheet.file}: no header row with an email or contact ID column was found in the first {HEAD_LINES} lines "
        f"(the fullest line reads: {seen}).",
        hint='Name the columns in the config\'s [columns] table, e.g. email = "Mail" or vid = "Kundennummer".',
    )


def _weight(hits: Mapping[str, object]) -> int:
    """How much a line looks like the attendee table's header: its fields, a duration not
    counted (a meeting summary above the table has an email and a duration too)."""
    return len(hits) - ("duration" in hits)


def _locate(sheet: SheetLike, aliases: _AliasIndex, profile: Profile) -> tuple[list[_Block], list[str]]:
    """Find every header line (the first within the top lines, later ones per section) and split
    the data lines between them; section labels, repeated headers and separator lines are not data."""
    frame = sheet.frame
    n = len(frame)
    if n == 0 or frame.shape[1] == 0:
        raise InputError(f"{sheet.file} has no rows at all: check that the right file was exported.")
    head = [[str(c) for c in line] for line in frame.iloc[:HEAD_LINES].itertuples(index=False, name=None)]
    scans = [aliases.scan(line) for line in head]
    keyed = [i for i, hits in enumerate(scans) if any(k in hits for k in KEY_FIELDS)]
    if not keyed:
        raise _no_header(sheet, head)
    need = 2 if max(_weight(scans[i]) for i in keyed) >= 2 else 1
    h0 = next(i for i in keyed if _weight(scans[i]) >= need)
    key = "email" if "email" in scans[h0] else "vid"
    key_col = scans[h0][key][1]

    rest = frame[key_col].iloc[h0 + 1 :]
    plain = rest.str.contains("@", regex=False) if key == "email" else rest.str.match(r"\d")
    cand = np.flatnonzero(~plain.to_numpy(dtype=bool)) + h0 + 1
    headers: dict[int, dict[str, tuple[int, int, str]]] = {h0: scans[h0]}
    separators: list[int] = []
    single: set[int] = set()
    if len(cand):
        sub = frame.iloc[cand]
        filled = (sub != "").to_numpy(dtype=bool)
        count = filled.sum(axis=1)
        keyish = np.zeros(len(cand), dtype=bool)
        sep = np.ones(len(cand), dtype=bool)
        for col in sub.columns:
            cells = sub[col]
            keyish |= cells.str.strip().str.lower().isin(aliases.key_texts).to_numpy(dtype=bool)
            sep &= cells.str.fullmatch(r"[-=_*~#.|+\s]*").to_numpy(dtype=bool)
        for pos in cand[keyish]:
            hits = aliases.scan(_line(frame, int(pos)))
            if any(k in hits for k in KEY_FIELDS) and _weight(hits) >= need:
                headers[int(pos)] = hits
        separators = [int(p) for p in cand[sep & (count > 0)]]
        single = {int(p) for p in cand[count == 1]}

    def label_of(h: int) -> tuple[int | None, str]:
        above = h - 1
        if above < 0 or above in headers:
            return None, ""
        if above < h0 + 1:
            cells = [c for c in head[above] if c] if above < len(head) else []
            return (above, cells[0]) if len(cells) == 1 else (None, "")
        if above in single:
            return above, next(c for c in _line(frame, above) if c)
        return None, ""

    starts = sorted(headers)
    labels = {h: label_of(h) for h in starts}
    drop = set(starts) | set(separators) | {p for p, _ in labels.values() if p is not None and p > h0}
    positions = np.arange(h0 + 1, n, dtype=np.int64)
    if drop:
        positions = positions[~np.isin(positions, np.fromiter(drop, dtype=np.int64))]
    block_of = np.searchsorted(np.asarray(starts), positions, side="right") - 1

    blocks: list[_Block] = []
    notes: list[str] = []
    for i, h in enumerate(starts):
        label_text = labels[h][1]
        label = norm_header(label_text)
        mine = positions[block_of == i]
        if label and profile.leave_out(label):
            notes.append(f"section '{label_text}' ({len(mine)} lines) left out: it does not list attendees")
            continue
        hits = headers[h]
        blocks.append(
            _Block(
                header_pos=h,
                label=label,
                label_text=label_text,
                headers=tuple(_line(frame, h)),
                columns={name: col for name, (_, col, _) in hits.items()},
                langs=frozenset(lang for _, _, lang in hits.values() if lang),
                positions=mine,
            )
        )
    if separators:
        notes.append(f"{len(separators)} separator lines left out")
    return blocks, notes


def source_lines(
    sheet: SheetLike, opts: MapOptions, rows: Collection[int]
) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The header and the cells, as written, of the data lines at these spreadsheet row numbers.

    The report shows a problem row's original values and writes the lines to fix and import again;
    each line comes with the header of its own table (a Zoom report has one per section).
    """
    profile = by_name(opts.profile) if opts.profile else detect(sheet)
    blocks, _ = _locate(sheet, _AliasIndex(profile, opts.columns), profile)
    numbers = np.asarray(sheet.row_numbers)
    wanted = np.fromiter(rows, dtype=np.int64)
    out: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for b in blocks:
        for pos in b.positions[np.isin(numbers[b.positions], wanted)].tolist():
            out[int(numbers[pos])] = (b.headers, tuple(_line(sheet.frame, pos)))
    return out


# --- the mapping ---------------------------------------------------------------------------------


#: Cells looked at per column to tell whether it holds date-times.
_SAMPLE_CELLS = 200


def _unused_time_columns(frame: pd.DataFrame, block: _Block) -> list[str]:
    """A note naming the columns of the attendee table whose values read as date-times but which no
    field uses, so the marketer sees a time the import ignores (and can name it in ``[columns]``)."""
    used = set(block.columns.values())
    found: list[str] = []
    for col, head in enumerate(block.headers):
        if col in used or not head:
            continue
        cells = frame[frame.columns[col]].take(block.positions[:_SAMPLE_CELLS])
        cells = cells[cells.str.strip() != ""]
        if len(cells) == 0 or cells.str.fullmatch(r"\s*\d+(?:[.,]\d+)?\s*").any():
            continue  # numbers (durations, ids, Excel serials) are not taken for dates
        scan = _scan_times(_arrow_text(cells.drop_duplicates()))
        if ((scan.kind == AWARE) | (scan.kind == NAIVE) | scan.pending).all():
            found.append(head)
    if not found:
        return []
    shown = ", ".join(f"'{h}'" for h in found)
    return [
        f"date-time columns not used: {shown}; if one of them is the time to record, name it in [columns] "
        f'(e.g. join_time = "{found[0]}" or registration_time = "{found[0]}")'
    ]


def _check_options(opts: MapOptions) -> tzinfo | None:
    if opts.state not in STATES:
        raise InputError(f"--state {opts.state!r} is not one of {', '.join(STATES)}.")
    unknown = sorted(set(opts.columns) - set(FIELDS))
    if unknown:
        raise InputError(
            f"[columns] names unknown fields: {', '.join(unknown)}.", hint=f"Known fields: {', '.join(FIELDS)}."
        )
    return parse_zone(opts.timezone) if opts.timezone else None


def _column(frame: pd.DataFrame, blocks: Sequence[_Block], name: str) -> pd.Series | None:
    """One field's cells over all blocks (''  where a block lacks the column), in row order."""
    if not any(name in b.columns for b in blocks):
        return None
    parts = []
    for b in blocks:
        if name in b.columns:
            parts.append(frame[b.columns[name]].take(b.positions).reset_index(drop=True))
        else:
            parts.append(pd.Series([""] * len(b.positions), dtype="str"))
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def _attended(values: pd.Series | None, n: int, notes: list[str]) -> np.ndarray:
    if values is None:
        return np.full(n, -1, dtype=np.int8)
    codes, uniq = pd.factorize(values)
    words = [str(u).strip().lower() for u in uniq]
    table = np.array([1 if w in YES else 0 if w in NO else -1 for w in words], dtype=np.int8)
    odd = sorted({str(u) for u, w in zip(uniq, words, strict=True) if w and w not in YES and w not in NO})
    if odd:
        shown = ", ".join(_show(o, 20) for o in odd[:5])
        notes.append(f"Attended values not understood ({shown}): those rows follow the other columns")
    return table[np.asarray(codes)]


def _display_names(values: pd.Series) -> pd.Series:
    """Names without Teams' '(External)'/'(Unverified)'/'(Guest)' marks."""
    return values.str.replace(
        r"\s*\((?:External|Unverified|Guest|Extern|Externe?|Gast|Invité|Invitado)\)", "", regex=True
    )


@dataclass(frozen=True)
class _RowColumns:
    """Every field of the rows to build, one array per field (same length, in row order); the
    object arrays hold the very values the rows will, ``extra`` is already a list of tuples."""

    row: np.ndarray
    email: np.ndarray
    vid: np.ndarray
    state: np.ndarray
    when: np.ndarray
    outcome: np.ndarray
    reason: np.ndarray
    message: np.ndarray
    extra: list[tuple[tuple[str, str], ...]]
    also: np.ndarray


#: Rows built per step: the Python lists of one step's fields stay small next to the rows.
_BUILD_STEP = 100_000


def map_sheet(sheet: SheetLike, opts: MapOptions) -> MappedFile:
    """Map one loaded sheet to rows (see the module docstring).

    The columns are computed first and their temporaries given back to the system before a
    million ``Row`` objects are built, a step at a time, so the two never need memory together.
    """
    with no_gc():
        info, cols = _map_columns(sheet, opts)
        release_memory()
        file = info.file
        rows: list[Row] = []
        for a in range(0, info.data_rows, _BUILD_STEP):
            b = a + _BUILD_STEP
            rows.extend(
                map(
                    Row,
                    map(RowRef, repeat(file), cols.row[a:b].tolist()),
                    cols.email[a:b].tolist(),
                    cols.vid[a:b].tolist(),
                    cols.state[a:b].tolist(),
                    cols.when[a:b].tolist(),
                    repeat("file"),
                    cols.outcome[a:b].tolist(),
                    cols.reason[a:b].tolist(),
                    cols.message[a:b].tolist(),
                    repeat(None),
                    repeat(""),
                    repeat(""),
                    repeat(False),
                    cols.extra[a:b],
                    cols.also[a:b].tolist(),
                )
            )
    return MappedFile(info, rows)


def _map_columns(sheet: SheetLike, opts: MapOptions) -> tuple[FileInfo, _RowColumns]:
    """The mapping itself, column-wise: what is learned about the file and every row's fields."""
    zone = _check_options(opts)
    profile = by_name(opts.profile) if opts.profile else detect(sheet)
    if profile.refuse:
        raise InputError(f"{sheet.file}: {profile.refuse}", hint=profile.refuse_hint)
    aliases = _AliasIndex(profile, opts.columns)
    blocks, notes = _locate(sheet, aliases, profile)
    notes = [*sheet.notes, *notes]
    frame = sheet.frame
    n = sum(len(b.positions) for b in blocks)
    if n == 0:
        raise InputError(f"{sheet.file} has a header row but no data rows: check that the right report was exported.")
    main = max(blocks, key=lambda b: len(b.positions))
    columns: dict[str, str] = {name: main.headers[col] for name, col in main.columns.items()}
    for b in blocks:
        for name, col in b.columns.items():
            columns.setdefault(name, b.headers[col])
    for name, wanted in opts.columns.items():
        if name not in columns or norm_header(columns[name]) != norm_header(wanted):
            notes.append(f"[columns] {name} = {wanted!r} is not a header of this file; used the usual headers instead")

    positions = np.concatenate([b.positions for b in blocks])
    row_numbers = np.asarray(sheet.row_numbers)[positions]
    section = np.concatenate([np.full(len(b.positions), b.label, dtype=object) for b in blocks])
    text: dict[str, pd.Series] = {}
    for name in FIELDS:
        got = _column(frame, blocks, name)
        if got is not None:
            text[name] = got
    langs = set().union(*(b.langs for b in blocks))
    for t in TIME_FIELDS:
        zone_text = header_zone(columns[t])[1] if t in text else None
        if zone_text is not None:
            text[t] = _with_header_zone(text[t], zone_text)
            notes.append(f"{columns[t]}: times without their own zone read as {zone_text}, as the header says")
    notes.extend(_unused_time_columns(frame, main))

    # time texts of every time column, parsed once per distinct value
    time_fields = [t for t in TIME_FIELDS if t in text]
    scan: _TimeScan | None = None
    time_codes: dict[str, np.ndarray] = {}
    if time_fields:
        all_times = pd.concat([text[t] for t in time_fields], ignore_index=True)
        codes, uniq = _factorize(all_times)
        for i, t in enumerate(time_fields):
            time_codes[t] = codes[i * n : (i + 1) * n]
        scan = _scan_times(uniq)
        order = _date_order(scan, opts, sheet.file, langs, profile.platform)
        if order.note:
            notes.append(order.note)
        _resolve_times(scan, bool(order.day_first))
        if zone is not None:
            _reject_gaps(scan, zone, str(opts.timezone))
        date_order = None if order.day_first is None else ("day-first" if order.day_first else "month-first")
    else:
        date_order = None

    has_time = {t: scan.kind[time_codes[t]] != EMPTY for t in time_fields} if scan is not None else {}
    attended = _attended(text.get("attended"), n, notes)
    title, title_from = _titles(sheet, blocks)
    facts = Facts(
        n=n,
        section=section,
        text=text,
        attended=attended,
        has_time=has_time,
        duration=_positive_durations(text["duration"]) if "duration" in text else None,
        title=title,
    )
    decision = profile.rules(facts)
    state = decision.state
    if opts.state != "auto":
        state = state.copy()
        state[decision.reason == ""] = State(opts.state)
    state_source = _state_source(decision, opts.state, columns, title_from, profile)

    # which time each row uses: its state's column (a cancellation never takes the order date: with
    # no cancellation time it is the event's start)
    chosen = np.full(n, -1, dtype=np.int64)
    chosen_field = np.full(n, "", dtype=object)
    for st, t in ((State.ATTEND, "join_time"), (State.REGISTER, "registration_time"), (State.CANCEL, "cancel_time")):
        if t in time_codes:
            mask = state == st
            chosen[mask] = time_codes[t][mask]
            chosen_field[mask] = t
    if scan is not None:
        kinds = np.where(chosen >= 0, scan.kind[np.maximum(chosen, 0)], EMPTY)
    else:
        kinds = np.zeros(n, dtype=np.int8)
    # An attendee or a cancellation with a registration time also proves a registration at that time
    # (HubSpot keeps one participation per state); a forced --state means one participation per row.
    reg = np.full(n, -1, dtype=np.int64)
    if scan is not None and "registration_time" in time_codes and opts.state == "auto":
        second = (state == State.ATTEND) | (state == State.CANCEL)
        reg[second] = time_codes["registration_time"][second]
    reg_kinds = np.where(reg >= 0, scan.kind[np.maximum(reg, 0)], EMPTY) if scan is not None else kinds

    emails = _emails(text["email"]) if "email" in text else None
    if "vid" in text:
        vid, vid_bad, vid_none = _vids(text["vid"])
    else:
        vid, vid_bad, vid_none = np.full(n, None, dtype=object), np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    email = emails.email if emails is not None else np.full(n, None, dtype=object)

    outcome = np.full(n, None, dtype=object)
    reason = np.full(n, "", dtype=object)
    message = np.full(n, "", dtype=object)

    def who(i: int) -> str:
        if email[i]:
            return str(email[i])
        if emails is not None and not emails.empty[i]:
            return _show(emails.uniq_raw[int(emails.codes[i])].as_py(), 50)
        return _name_of(text, i) or "no email"

    def settle(mask: np.ndarray, result: Outcome, code: Reason | str, build: Callable[[int], str]) -> None:
        mask = mask & (outcome == None)  # noqa: E711 - element-wise comparison
        for i in np.flatnonzero(mask):
            outcome[i], reason[i] = result, str(code)
            message[i] = build(int(i))

    raw_status = text.get("state_text")
    settle(
        decision.reason != "",
        Outcome.SKIPPED,
        "",
        lambda i: str(decision.message[i]).format(
            row=row_numbers[i], who=who(i), status=raw_status.iloc[i] if raw_status is not None else ""
        ),
    )
    reason[outcome == Outcome.SKIPPED] = decision.reason[outcome == Outcome.SKIPPED]
    raw_vid = text.get("vid")
    if raw_vid is not None:
        settle(
            vid_bad & _lost_ids(raw_vid),
            Outcome.REJECTED,
            Reason.LOST_PRECISION_ID,
            lambda i: (
                f"Contact ID {_show(str(raw_vid.iloc[i]))} in row {row_numbers[i]} was shortened by Excel to "
                "scientific notation, so its last digits are lost and it cannot be trusted; format the column as "
                "Text (or Number with no decimals) in the original export and save it again, or clear the cell "
                "to match by email."
            ),
        )
    settle(
        vid_bad,
        Outcome.REJECTED,
        Reason.INVALID_VID,
        lambda i: (
            f"Contact ID {_show(str(raw_vid.iloc[i]) if raw_vid is not None else '')} in row {row_numbers[i]} "
            "is not a valid HubSpot record ID (a positive whole number); correct it or clear the cell."
        ),
    )
    if emails is not None:
        settle(
            emails.invalid,
            Outcome.REJECTED,
            Reason.INVALID_EMAIL,
            lambda i: (
                f"Email {_show(emails.uniq_raw[int(emails.codes[i])].as_py())} in row {row_numbers[i]} is not a valid "
                f"address ({_why_email(str(emails.uniq_clean[int(emails.codes[i])]))}); correct it in the file."
            ),
        )
    missing = (emails.empty | emails.invalid if emails is not None else np.ones(n, dtype=bool)) & vid_none
    settle(
        missing,
        Outcome.REJECTED,
        Reason.MISSING_EMAIL,
        lambda i: (
            f"Row {row_numbers[i]}{f' ({nm})' if (nm := _name_of(text, i)) else ''} has no email address or "
            "contact ID; "
            "add one in the file to record this person."
        ),
    )
    undecided = np.flatnonzero((outcome == None) & (state == None))  # noqa: E711 - element-wise comparison
    if scan is not None:
        settle(
            kinds == BAD,
            Outcome.REJECTED,
            Reason.BAD_TIME,
            lambda i: (
                f"Time {_show(scan.texts[int(chosen[i])].as_py())} in row {row_numbers[i]} "
                f"({columns.get(str(chosen_field[i]), chosen_field[i])}) "
                f"{scan.why.get(int(chosen[i]), 'could not be read as a date and time')}; "
                "correct it or clear the cell to use the event's start."
            ),
        )

    sendable = outcome == None  # noqa: E711 - element-wise comparison
    when = np.full(n, None, dtype=object)
    also = np.full(n, None, dtype=object)
    if scan is not None:
        naive_rows = sendable & (kinds == NAIVE)
        naive_reg = sendable & (reg_kinds == NAIVE)
        if (naive_rows.any() or naive_reg.any()) and zone is None:
            first = int(chosen[np.flatnonzero(naive_rows)[0]]) if naive_rows.any() else int(reg[naive_reg][0])
            example = scan.texts[first].as_py()
            raise InputError(
                f"{sheet.file} has times without a time zone (e.g. {_show(example)}); "
                "pass --timezone, e.g. --timezone America/New_York",
                hint="or set timezone in the config.",
            )
        utc_ms = scan.ms.copy()
        if zone is not None and (scan.kind == NAIVE).any():
            naive_u = np.flatnonzero(scan.kind == NAIVE)
            local, special = _localize(scan.ms[naive_u], zone)
            utc_ms[naive_u] = local
            used = np.isin(naive_u, np.concatenate([chosen[naive_rows], reg[naive_reg]])) & special
            if used.any():
                ex = ", ".join(_show(scan.texts[int(i)].as_py()) for i in naive_u[used][:3])
                notes.append(
                    f"{int(used.sum())} times fall in the hour {opts.timezone} repeats when the clocks go back "
                    f"(e.g. {ex}): each was read as the first of the two (summer time)"
                )
        timed = (chosen >= 0) & ((kinds == AWARE) | ((kinds == NAIVE) & (zone is not None)))
        ms = utc_ms[np.maximum(chosen, 0)]
        # one int object per distinct time, shared by the rows that have it (memory)
        as_objects = utc_ms.astype(object)
        when[timed] = as_objects[chosen[timed]]
        _registrations(also, sendable, reg, reg_kinds, as_objects, scan, zone is not None, row_numbers, columns)
        now = opts.now_ms if opts.now_ms is not None else int(time.time() * 1000)
        odd = np.flatnonzero(sendable & timed & ((ms < MS_2000) | (ms > now + DAY_MS)))
        if len(odd):
            notes.append(
                f"{len(odd)} rows have times before 2000 or more than a day in the future "
                f"(rows {_rows_list(row_numbers[odd].tolist())}); check the dates"
                + (" and --timezone" if zone is not None else "")
            )

    release_memory()  # the email, id and time temporaries, before the name columns become objects
    extras = _extras(text, n, frame, blocks, keep_raw=opts.keep_raw)
    if emails is not None and emails.invalid.any():
        # The report shows what the file had, so the marketer can find and fix the cell.
        bad_codes = emails.codes[emails.invalid]
        shown = {int(c): _show(str(emails.uniq_clean[int(c)]), 120)[1:-1] for c in np.unique(bad_codes)}
        email = email.copy()
        email[emails.invalid] = [shown[int(c)] for c in bad_codes]
    info = FileInfo(
        file=sheet.file,
        profile=profile.name,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        sheet=sheet.sheet_name,
        header_row=int(sheet.row_numbers[main.header_pos]),
        date_order=date_order,
        timezone=opts.timezone,
        columns=columns,
        notes=tuple(notes),
        data_rows=n,
        state_source=state_source,
        undecided=len(undecided),
        undecided_rows=tuple(row_numbers[undecided[:10]].tolist()),
    )
    cols = _RowColumns(
        row=row_numbers,
        email=email,
        vid=vid,
        state=state,
        when=when,
        outcome=outcome,
        reason=reason,
        message=message,
        extra=extras,
        also=also,
    )
    return info, cols


def _registrations(
    also: np.ndarray,
    sendable: np.ndarray,
    reg: np.ndarray,
    kinds: np.ndarray,
    utc_ms: np.ndarray,
    scan: _TimeScan,
    zoned: bool,
    row_numbers: np.ndarray,
    columns: Mapping[str, str],
) -> None:
    """Fill ``also`` with the registration each sendable attendee or cancellation row proves by its
    registration time; one that cannot be read is that participation's rejection, not the row's."""
    timed = sendable & ((kinds == AWARE) | ((kinds == NAIVE) & zoned))
    made: dict[int, Also] = {}  # one object per distinct time (memory)
    for i in np.flatnonzero(timed):
        code = int(reg[i])
        found = made.get(code)
        if found is None:
            found = made[code] = Also(State.REGISTER, utc_ms[code])
        also[i] = found
    header = columns.get("registration_time", "registration_time")
    for i in np.flatnonzero(sendable & (kinds == BAD)):
        code = int(reg[i])
        also[i] = Also(
            State.REGISTER,
            None,
            outcome=Outcome.REJECTED,
            reason=Reason.BAD_TIME.value,
            message=(
                f"Registration time {_show(scan.texts[code].as_py())} in row {row_numbers[i]} ({header}) "
                f"{scan.why.get(code, 'could not be read as a date and time')}; correct it or clear the cell "
                "(the attendance or cancellation is sent without it)."
            ),
        )


def _titles(sheet: SheetLike, blocks: Sequence[_Block]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the state its titles name and which title said it: the section label above its
    table, else the sheet name, the file's title lines, the file name (the first that names one)."""
    found: tuple[State, str] | None = None
    candidates = [(sheet.sheet_name or "", f"sheet name {sheet.sheet_name}")]
    first = min(b.header_pos for b in blocks)
    for line in sheet.frame.iloc[:first].itertuples(index=False, name=None):
        cells = [str(c) for c in line if c]
        if len(cells) == 1 and len(cells[0]) <= 80 and cells[0] != blocks[0].label_text:
            candidates.append((cells[0], f"title line {_show(cells[0])}"))
    candidates.append((sheet.path.name, f"file name {sheet.path.name}"))
    for text, where in candidates:
        said = title_state(text) if text else None
        if said is not None:
            found = (said, where)
            break
    parts_state, parts_from = [], []
    for b in blocks:
        said = title_state(b.label_text) if b.label_text else None
        kind = "section" if len(blocks) > 1 else "title line"
        got = (said, f"{kind} {_show(b.label_text)}") if said is not None else found
        states = np.empty(len(b.positions), dtype=object)
        states[:] = None if got is None else got[0]  # np.full would turn the enum into a plain str
        parts_state.append(states)
        parts_from.append(np.full(len(b.positions), "" if got is None else got[1], dtype=object))
    return np.concatenate(parts_state), np.concatenate(parts_from)


def _positive_durations(values: pd.Series) -> np.ndarray:
    """Rows whose duration is more than nothing ('68', '1:02:03', '45 min'; not '0', '00:00', '--')."""
    codes, uniq = pd.factorize(values)
    table = np.fromiter((bool(re.search(r"[1-9]", str(u))) for u in uniq), dtype=bool, count=len(uniq))
    return table[np.asarray(codes)] if len(uniq) else np.zeros(len(values), dtype=bool)


def _state_source(
    decision: Decision, forced: str, columns: Mapping[str, str], title_from: np.ndarray, profile: Profile
) -> str:
    """Where the rows' states come from, in words, most used first ('' when nothing says it)."""
    live = decision.reason == ""
    if forced != "auto":
        return f"--state {forced} (every row the rules do not skip)"
    what = {
        "attended": lambda: f"column {columns.get('attended', 'attended')} (Yes/No)",
        "state_text": lambda: f"column {columns.get('state_text', 'status')} (status words)",
        "join_time": lambda: f"column {columns.get('join_time', 'join time')} (a join time means attended)",
        "duration": lambda: f"column {columns.get('duration', 'duration')} (a duration means attended)",
        "registration_time": lambda: (
            f"column {columns.get('registration_time', 'registration time')} (a registration time means registered)"
        ),
        "layout": lambda: f"the {profile.name} layout's rules",
    }
    counts: dict[str, int] = {}
    for source, n in zip(*np.unique(decision.source[live].astype(str), return_counts=True), strict=True):
        if source == "title":
            for where, m in zip(
                *np.unique(title_from[live & (decision.source == "title")].astype(str), return_counts=True), strict=True
            ):
                counts[str(where)] = counts.get(str(where), 0) + int(m)
        elif source:
            counts[what[str(source)]()] = int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1:
        return ranked[0][0]
    return ", ".join(f"{text} ({n} rows)" for text, n in ranked)


def undecided_error(info: FileInfo) -> InputError:
    """Stop before sending: the file does not say who attended and who only registered."""
    where = info.file + (f" (sheet {info.sheet})" if info.sheet else "")
    shown = _rows_list(list(info.undecided_rows)) + (
        f" and {info.undecided - len(info.undecided_rows)} more" if info.undecided > len(info.undecided_rows) else ""
    )
    every = "its rows" if info.undecided == info.data_rows else f"{info.undecided} of its rows (rows {shown})"
    return InputError(
        f"{where} does not say whether the people in {every} attended or only registered: no Attended or "
        "status column, join or check-in time, or duration decides it, and no sheet name, title or file name "
        "says registrants or attendees. Nothing was sent.",
        hint="Say which with --state register or --state attend (it applies to every row the rules do not skip), "
        "or import the attendee report that has join times.",
    )


def _name_of(text: Mapping[str, pd.Series], i: int) -> str:
    """Row ``i``'s display name (first + last, else the name column) for a message."""
    first = str(text["first_name"].iloc[i]) if "first_name" in text else ""
    last = str(text["last_name"].iloc[i]) if "last_name" in text else ""
    full = f"{first} {last}".strip()
    if not full and "name" in text:
        full = str(_display_names(text["name"].iloc[i : i + 1]).iloc[0])
    return full


def _pairs(values: pd.Series, key: str) -> list[tuple[str, str]]:
    """Per row the ``(key, value)`` pair; rows with the same value share one tuple (memory)."""
    codes, uniq = _factorize(values)
    table = np.fromiter(zip(repeat(key), uniq.fill_null("").to_pylist()), dtype=object, count=len(uniq))
    pairs: list[tuple[str, str]] = table[codes].tolist()
    return pairs


def _extras(
    text: Mapping[str, pd.Series],
    n: int,
    frame: pd.DataFrame,
    blocks: Sequence[_Block],
    *,
    keep_raw: bool,
) -> list[tuple[tuple[str, str], ...]]:
    """Identifying columns for the report (first/last name or a display name); all columns with keep_raw."""
    out: list[tuple[tuple[str, str], ...]]
    named = _display_names(text["name"]) if "name" in text else None
    if "first_name" in text or "last_name" in text:
        columns: list[list[tuple[str, str]]] = []
        blank = np.ones(n, dtype=bool)
        for key in ("first_name", "last_name"):
            if key in text:
                columns.append(_pairs(text[key], key))
                blank &= (text[key] == "").to_numpy(dtype=bool)
            else:
                columns.append([(key, "")] * n)
        out = list(zip(*columns, strict=True))
        for i in np.flatnonzero(blank):
            nm = str(named.iloc[i]) if named is not None else ""
            out[i] = (("name", nm),) if nm else ()
    elif named is not None:
        out = [(pair,) for pair in _pairs(named, "name")]
        for i in np.flatnonzero((named == "").to_numpy(dtype=bool)):
            out[i] = ()
    else:
        out = [()] * n
    if not keep_raw:
        return out
    raw: list[tuple[tuple[str, str], ...]] = []
    for b in blocks:
        heads = [h or f"column {j + 1}" for j, h in enumerate(b.headers)]
        skip = {b.columns[f] for f in NAME_FIELDS if f in b.columns}
        cols = [j for j in range(len(heads)) if j not in skip]
        values = frame.iloc[b.positions, cols].to_numpy(dtype=object).tolist() if cols else [[]] * len(b.positions)
        raw.extend(tuple((heads[j], str(v)) for j, v in zip(cols, line, strict=True)) for line in values)
    return [x + r for x, r in zip(out, raw, strict=True)]
