"""Time cells: what the exports write (ISO, numeric day/month orders, month names in several
languages, Excel serials, offsets and zone abbreviations) read as epoch milliseconds.

Each distinct text is read once.  One regular expression per family finds a text's parts, since
the day/month order is decided for the whole file from them; the calendar is pandas' (it
assembles the parts into dates, refusing the 30th of February), offsets are read by
``datetime.strptime``'s ``%z`` and wall-clock times are placed in their zone by ``zoneinfo``
through pandas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError
from .mapper_values import bools, factorize, objects, shown
from .zones import offset_minutes

#: What a distinct time text turned out to be.
EMPTY, AWARE, NAIVE, BAD = 0, 1, 2, 3

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
#: Excel's serial day 0 (the 1900 system, with its phantom 29 February 1900 behind it); numpy's
#: datetime64 in milliseconds spans the serials' whole range (to 9999-12-31).
_EXCEL_EPOCH = np.datetime64("1899-12-30", "ms")
#: Two-digit years below this are 20xx, the others 19xx.
_PIVOT = 70

_MONTHS: dict[str, int] = {
    word: number
    for number, words in enumerate(
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
    )
    for word in words.split()
}

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


def zone_minutes(text: str) -> int | None:
    """Minutes east of UTC for an offset ('+01:00', 'UTC-5', 'GMT+5:30', read by
    :func:`zones.offset_minutes`) or a known abbreviation; None if unknown or past ±14 hours."""
    upper = text.upper()
    if upper in ZONE_ABBREVIATIONS:
        return ZONE_ABBREVIATIONS[upper]
    return offset_minutes(upper)


_HEADER_ZONE_RE = re.compile(r"\s*[(\[]?\s*((?:UTC|GMT)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?)\s*[)\]]?\s*$", re.IGNORECASE)


def header_zone(header: str) -> tuple[str, str | None]:
    """A header without the zone it names ('Join Time (UTC)', 'Registered at (GMT+2)', 'Time UTC+01:00')
    and that zone as a time suffix ('UTC', 'GMT+2'), or the header and ``None``."""
    m = _HEADER_ZONE_RE.search(header)
    if not m or m.start() == 0:
        return header, None
    zone = re.sub(r"\s+", "", m.group(1)).upper()
    if zone_minutes(zone) is None:
        return header, None
    return header[: m.start()], zone


def with_header_zone(values: pd.Series, zone: str) -> pd.Series:
    """Cells of a column whose header names a zone, with that zone written after each time that has
    none of its own as the reader finds it ('10:00 AM' has none: AM is no zone); Excel serial
    numbers and empty cells are left as they are."""
    codes, uniq = factorize(values)
    scan = scan_times(uniq)
    own = (scan.kind == AWARE) | (scan.kind == EMPTY) | (scan.zone != "") | ~np.isnan(scan.serial)
    bare = (codes >= 0) & ~own[np.maximum(codes, 0)]
    return values.where(~bare, values + " " + zone)


def _ints(st: pa.StructArray, name: str) -> np.ndarray:
    """An extracted group as int64, -1 where the group did not take part in the match."""
    col = st.field(name)
    col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    return np.asarray(pc.cast(col, pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _strs(st: pa.StructArray, name: str) -> np.ndarray:
    return np.asarray(st.field(name).to_numpy(zero_copy_only=False), dtype=object)


def _unset(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


@dataclass
class TimeScan:
    """Distinct time texts and their parts, before the day/month order is known.

    ``kind`` is EMPTY, AWARE, NAIVE or BAD once resolved; ``ms`` is UTC epoch ms for aware values
    and wall-clock ms (as if UTC) for naive ones; ``why`` says what is wrong with a BAD one when
    more than 'could not be read' can be said.
    """

    texts: pa.Array
    kind: np.ndarray = field(init=False)
    ms: np.ndarray = field(init=False)
    pending: np.ndarray = field(init=False)  # bool: needs resolving from its parts
    y: np.ndarray = field(init=False)
    mo: np.ndarray = field(init=False)
    d: np.ndarray = field(init=False)
    a: np.ndarray = field(init=False)  # the first and second number of a numeric date (day or month)
    b: np.ndarray = field(init=False)
    dotted: np.ndarray = field(init=False)
    hh: np.ndarray = field(init=False)
    mi: np.ndarray = field(init=False)
    ss: np.ndarray = field(init=False)
    frac: np.ndarray = field(init=False)
    ap: np.ndarray = field(init=False)  # 0 none, 1 AM, 2 PM
    zone: np.ndarray = field(init=False)  # object: zone text or ''
    serial: np.ndarray = field(init=False)  # float64, nan when not a serial
    why: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.texts)
        self.kind = np.full(n, BAD, dtype=np.int8)
        self.ms = np.zeros(n, dtype=np.int64)
        self.pending = np.zeros(n, dtype=bool)
        self.y, self.mo, self.d, self.a, self.b = _unset(n), _unset(n), _unset(n), _unset(n), _unset(n)
        self.hh, self.mi, self.ss, self.frac = _unset(n), _unset(n), _unset(n), _unset(n)
        self.dotted = np.zeros(n, dtype=bool)
        self.ap = np.zeros(n, dtype=np.int8)
        self.zone = np.full(n, "", dtype=object)
        self.serial = np.full(n, np.nan)

    def kinds(self, codes: np.ndarray) -> np.ndarray:
        """The kind per row for codes into the distinct texts (-1: no text, EMPTY)."""
        return np.where(codes >= 0, self.kind[np.maximum(codes, 0)], EMPTY).astype(np.int8)


def scan_times(texts: pa.Array) -> TimeScan:
    """Classify distinct time texts and pull out their parts (vectorised, one regex per family)."""
    scan = TimeScan(texts)
    todo = np.ones(len(texts), dtype=bool)
    _scan_iso(scan, todo)
    if not todo.any():
        return scan
    s = _normalised(texts, todo)
    empty = todo & bools(pc.is_in(pc.utf8_lower(s), value_set=pa.array(_NO_TIME)))
    scan.kind[empty] = EMPTY
    todo &= ~empty
    _scan_serials(scan, s, todo)
    for family, pattern in _PATTERNS.items():
        if not todo.any():
            break
        _scan_family(scan, s, todo, family, pattern)
    return scan


def _scan_iso(scan: TimeScan, todo: np.ndarray) -> None:
    """ISO 8601 texts (nearly all of a large file), parsed by pandas straight away."""
    for pattern, kind, utc in ((_ISO_AWARE, AWARE, True), (_ISO_NAIVE, NAIVE, False)):
        hit = todo & bools(pc.match_substring_regex(scan.texts, pattern))
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        texts = pd.Series(scan.texts.take(pa.array(idx)).to_numpy(zero_copy_only=False))
        parsed = pd.to_datetime(texts, format="ISO8601", utc=utc, errors="coerce")
        ok = (parsed.notna() & parsed.dt.year.between(1900, 2200)).to_numpy()  # as the other forms
        if utc:
            parsed = parsed.dt.tz_localize(None)
        values = parsed.to_numpy(dtype="datetime64[ms]").view(np.int64)
        scan.kind[idx[ok]] = kind
        scan.ms[idx[ok]] = values[ok]
        todo[idx[ok]] = False


def _normalised(texts: pa.Array, todo: np.ndarray) -> pa.Array:
    """The texts still to read with their spaces made plain and the German 'Uhr' after the clock
    dropped ('' elsewhere)."""
    rest = np.flatnonzero(todo)
    s = texts.take(pa.array(rest))
    s = pc.replace_substring_regex(s, r"[\s\x{00A0}\x{2007}\x{2009}\x{202F}]+", " ")
    s = pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r"(?i)\s*uhr\b", ""))
    full = np.full(len(texts), "", dtype=object)
    full[rest] = objects(s)
    return pa.array(full, type=pa.string())


def _scan_serials(scan: TimeScan, s: pa.Array, todo: np.ndarray) -> None:
    """Excel serial numbers (1900 system): in workbooks, and in the CSVs Excel saves ('45600.5')."""
    hit = todo & bools(pc.match_substring_regex(s, _SERIAL))
    if hit.any():
        idx = np.flatnonzero(hit)
        scan.serial[idx] = np.asarray(pc.cast(s.take(pa.array(idx)), pa.float64()).to_numpy(zero_copy_only=False))
        scan.pending[idx] = True
        todo[idx] = False


def _scan_family(scan: TimeScan, s: pa.Array, todo: np.ndarray, family: str, pattern: str) -> None:
    """The parts of the texts one family's pattern matches."""
    idx = np.flatnonzero(todo)
    st = pc.extract_regex(s.take(pa.array(idx)), pattern)
    ok = bools(st.is_valid())
    if not ok.any():
        return
    idx, st = idx[ok], st.filter(pa.array(ok))
    todo[idx] = False
    scan.pending[idx] = True
    y = _ints(st, "Y")
    two = np.asarray(pc.utf8_length(st.field("Y"))) == 2  # '24' is 2024 and '99' 1999; '0099' is the year 99
    scan.y[idx] = np.where(two, np.where(y < _PIVOT, 2000 + y, 1900 + y), y)
    if family == "num":
        scan.a[idx], scan.b[idx] = _ints(st, "A"), _ints(st, "B")
        scan.dotted[idx] = _strs(st, "sep") == "."
    elif family == "iso":
        scan.mo[idx], scan.d[idx] = _ints(st, "Mo"), _ints(st, "D")
    else:
        scan.d[idx] = _ints(st, "D")
        scan.mo[idx] = [_MONTHS.get(str(nm).lower().rstrip("."), 0) for nm in _strs(st, "MN")]
    scan.hh[idx], scan.mi[idx], scan.ss[idx] = _ints(st, "H"), _ints(st, "M"), _ints(st, "S")
    frac = pc.utf8_rpad(pc.utf8_slice_codeunits(st.field("F"), 0, 3), 3, "0")
    scan.frac[idx] = np.asarray(pc.cast(frac, pa.int64()).to_numpy(zero_copy_only=False))
    ap = [str(x).lower() for x in _strs(st, "AP")]
    scan.ap[idx] = [1 if x == "a" else 2 if x == "p" else 0 for x in ap]
    scan.zone[idx] = _strs(st, "Z")


def _clock(scan: TimeScan, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hours (AM/PM applied), minutes, seconds and whether they make a time of day; no clock is
    midnight."""
    hh, mi, ss, ap = scan.hh[idx].copy(), scan.mi[idx].copy(), scan.ss[idx].copy(), scan.ap[idx]
    no_clock = hh < 0
    hh[no_clock], mi[mi < 0], ss[ss < 0] = 0, 0, 0
    ok = (ap == 0) | ((hh >= 1) & (hh <= 12) & ~no_clock)
    hh = np.where(ap == 1, hh % 12, np.where(ap == 2, hh % 12 + 12, hh))
    return hh, mi, ss, ok & (hh <= 23) & (mi <= 59) & (ss <= 59)


def _dates(scan: TimeScan, idx: np.ndarray, day_first: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of the pending texts."""
    y, mo, d = scan.y[idx].copy(), scan.mo[idx].copy(), scan.d[idx].copy()
    numeric = scan.a[idx] >= 0
    first, second = scan.a[idx], scan.b[idx]
    mo[numeric] = (second if day_first else first)[numeric]
    d[numeric] = (first if day_first else second)[numeric]
    return y, mo, d


def _epoch_ms(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(stamps.to_numpy(dtype="datetime64[ms]")).view(np.int64)


def resolve_times(scan: TimeScan, day_first: bool) -> None:
    """Turn the pending parts into epoch ms (wall clock for naive values) and flag the impossible:
    pandas assembles the dates (a day the month does not have is no date), offsets and known
    abbreviations make a time aware."""
    idx = np.flatnonzero(scan.pending)
    if not len(idx):
        return
    y, mo, d = _dates(scan, idx, day_first)
    hh, mi, ss, ok = _clock(scan, idx)
    in_range = (y >= 1900) & (y <= 2200)
    parts = {"year": np.where(in_range, y, 1970), "month": mo, "day": d, "hour": hh, "minute": mi, "second": ss}
    stamps = pd.to_datetime(pd.DataFrame({**parts, "ms": np.maximum(scan.frac[idx], 0)}), errors="coerce")
    ok &= in_range & stamps.notna().to_numpy()
    ms = np.where(ok, _epoch_ms(stamps), 0)
    serial = scan.serial[idx]
    is_serial = ~np.isnan(serial)
    if is_serial.any():
        ok = np.where(is_serial, (serial >= 1) & (serial < 2958466), ok)
        days = np.round(np.where(is_serial & ok, serial, 0) * 86_400_000).astype("timedelta64[ms]")
        ms = np.where(is_serial, (_EXCEL_EPOCH + days).view(np.int64), ms)
    kind = np.where(ok, NAIVE, BAD).astype(np.int8)
    _apply_zones(scan, idx, ok, kind, ms)
    scan.kind[idx] = kind
    scan.ms[idx] = ms


def _apply_zones(scan: TimeScan, idx: np.ndarray, ok: np.ndarray, kind: np.ndarray, ms: np.ndarray) -> None:
    """Times written with an offset or a known abbreviation are aware: their UTC instant; an
    unknown abbreviation is a bad time that says so."""
    zones = scan.zone[idx]
    for zt in set(zones[ok & (zones != "")].tolist()):
        minutes = zone_minutes(str(zt))
        where = ok & (zones == zt)
        if minutes is None:
            kind[where] = BAD
            for i in idx[where]:
                scan.why[int(i)] = f"has a time zone abbreviation that is not known ({shown(str(zt))})"
        else:
            kind[where] = AWARE
            ms[where] -= minutes * 60_000


@dataclass(frozen=True)
class Order:
    """The file's day/month order (None: no numeric dates) and the note when it was a guess."""

    day_first: bool | None
    note: str = ""

    @property
    def words(self) -> str | None:
        return None if self.day_first is None else ("day-first" if self.day_first else "month-first")


def date_order(scan: TimeScan, forced: bool | None, file: str, day_first_headers: bool, platform: str) -> Order:
    """Decide day-first vs month-first for the whole file from its values, never mixing."""
    numeric = scan.a >= 0
    if not numeric.any():
        return Order(None)
    if forced is not None:
        return Order(forced)
    a, b = scan.a, scan.b
    says_day = numeric & (a > 12) & (a <= 31) & (b <= 12)
    says_month = numeric & (b > 12) & (b <= 31) & (a <= 12)
    if says_day.any() and says_month.any():
        ex_day = scan.texts[int(np.flatnonzero(says_day)[0])].as_py()
        ex_month = scan.texts[int(np.flatnonzero(says_month)[0])].as_py()
        raise InputError(
            f"{file} mixes day-first and month-first dates (e.g. {shown(ex_day)} and {shown(ex_month)}).",
            hint="Make the dates consistent in the file, or say which order is right: --day-first or --month-first.",
        )
    if says_day.any() or says_month.any():
        return Order(bool(says_day.any()))
    open_ = numeric & (a != b) & (a >= 1) & (b >= 1)
    if not open_.any():
        return Order(False)
    example = shown(scan.texts[int(np.flatnonzero(open_)[0])].as_py())
    if day_first_headers:
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
    return Order(day_first, note)


def reject_gaps(scan: TimeScan, zone: tzinfo, name: str) -> None:
    """Local times that never happened (the spring-forward gap) cannot be sent: which instant was
    meant is unknown, so the time is bad with a message naming the gap."""
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
        wall = pd.Timestamp(int(scan.ms[i]), unit="ms").to_pydatetime().replace(tzinfo=zone)
        length = wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) - wall.replace(tzinfo=None)
        start = before.tz_localize(None).ceil("min")
        end = start + pd.Timedelta(length)
        scan.kind[i] = BAD
        scan.why[int(i)] = (
            f"does not exist in {name}: on {end:%Y-%m-%d} the clocks jumped from {start:%H:%M} to "
            f"{end:%H:%M} (the spring-forward gap), so which moment was meant is unknown"
        )


def localize(wall_ms: np.ndarray, zone: tzinfo) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass(frozen=True)
class Times:
    """Every time column's texts read once per distinct value: per field, each row's code."""

    scan: TimeScan | None
    codes: Mapping[str, np.ndarray]
    order: Order
