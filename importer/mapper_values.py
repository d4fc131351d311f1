"""Cell values the mapper reads: text columns as Arrow strings, email addresses and contact ids.

Column-wise (pyarrow compute over the distinct values where they repeat); a value that cannot be
used is a mask and a reason in words, never an exception.  The ``--contacts`` map reads its
columns with the same functions, so an address or id means the same there as in an attendee file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: The largest contact id HubSpot's 64-bit ids can hold.
MAX_VID = 2**63 - 1


def shown(text: str, limit: int = 60) -> str:
    """A cell value quoted for a message: control characters escaped, long values shortened."""
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)
    if len(safe) > limit:
        safe = safe[: limit - 1] + "…"
    return f"'{safe}'"


def rows_list(rows: Sequence[int], limit: int = 10) -> str:
    """Row numbers for a message, the first ``limit`` of them."""
    listed = ", ".join(str(r) for r in rows[:limit])
    return listed + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def arrow_text(values: pd.Series | pd.Index) -> pa.Array:
    """Text values as one Arrow string array, empty text for missing ones."""
    arr = arrow_cells(values)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def arrow_cells(values: pd.Series | pd.Index) -> pa.Array | pa.ChunkedArray:
    """Text values as Arrow strings, empty text for missing ones, in the loader's blocks as they
    are (no copy: a column read a row at a time needs no single buffer)."""
    try:
        arr = pa.array(values.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array([None if pd.isna(v) else str(v) for v in values.tolist()], type=pa.string())
    return arr.fill_null("") if arr.null_count else arr


def factorize(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes per row and the distinct values as an Arrow string array."""
    codes, uniq = pd.factorize(values)
    return np.asarray(codes), arrow_text(uniq)


def objects(arr: pa.Array) -> np.ndarray:
    """An Arrow array as a NumPy object array."""
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def bools(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean array as NumPy, null read as False."""
    return np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


# --- emails -------------------------------------------------------------------------------------

_INVISIBLE = r"[\x00\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}]"
_ODD_SPACE = r"[\x{00A0}\x{2007}\x{2009}\x{202F}]"
_QUOTES = r"^['\"`]+|['\"`]+$"
_LOCAL_CHARS = r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?"
EMAIL_RE = rf"^{_LOCAL_CHARS}+(?:\.{_LOCAL_CHARS}+)*@(?:{_LABEL}\.)+(?:\p{{L}}{{2,63}}|xn--[a-z0-9-]{{1,59}})$"

_PLAIN_EMAIL = r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$"


def _fits(arr: pa.Array) -> pa.Array:
    """At most 254 characters, at most 64 before the @ (RFC 5321's limits)."""
    return pc.and_(pc.less_equal(pc.utf8_length(arr), 254), pc.less_equal(pc.find_substring(arr, "@"), 64))


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Addresses already as clean as the rules would make them (lower-case ASCII, no punycode)."""
    return pc.and_(
        pc.and_(pc.match_substring_regex(arr, _PLAIN_EMAIL), pc.invert(pc.match_substring(arr, "xn--"))), _fits(arr)
    )


def clean_email_texts(arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray, np.ndarray]:
    """Cleaned, lower-cased addresses plus ``valid`` and ``empty`` masks.
    Addresses that are already clean (nearly all) skip the cleaning steps and stay as they are:
    no Python string per address, and no copy of the column when every one is clean.  An ASCII
    address that is clean once lower-cased (``Ann.Lee@Example.com``, as many exports write them)
    is only lower-cased: the cleaning steps would change nothing else."""
    valid = bools(_plain(arr))
    empty = np.zeros(len(arr), dtype=bool)
    rest = np.flatnonzero(~valid)
    if not len(rest):
        return arr, valid, empty
    whole = len(rest) == len(arr)  # every address needs something (a file written in capitals)
    taken = arr if whole else arr.take(pa.array(rest))
    if not whole and isinstance(taken, pa.ChunkedArray):
        taken = taken.combine_chunks()  # a few rows: the replacements must be one array
    lowered = pc.ascii_lower(taken)
    easy = bools(_plain(lowered))  # only ASCII is plain, and ASCII lower-cases alone
    hard = np.flatnonzero(~easy)
    ok, blank = easy.copy(), np.zeros(len(rest), dtype=bool)
    clean = lowered
    if len(hard):
        hit = taken.take(pa.array(hard))
        slow, ok[hard], blank[hard] = _clean_email_slow(
            hit.combine_chunks() if isinstance(hit, pa.ChunkedArray) else hit
        )
        clean = pc.replace_with_mask(lowered, pa.array(~easy), slow.cast(lowered.type))
    del taken, lowered
    cleaned = pa.array(~valid)
    valid[rest], empty[rest] = ok, blank
    if whole:
        return clean.cast(arr.type), valid, empty
    return pc.replace_with_mask(arr, cleaned, clean.cast(arr.type)), valid, empty


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
    valid = pc.and_(pc.match_substring_regex(s, EMAIL_RE), _fits(s))
    return s, bools(valid), bools(pc.equal(s, ""))


def _unicode_domain(address: str) -> str:
    local, at, domain = address.rpartition("@")
    labels = []
    for label in domain.split("."):
        try:
            labels.append(label.encode("ascii").decode("idna") if label.startswith("xn--") else label)
        except UnicodeError:
            labels.append(label)
    return f"{local}{at}{'.'.join(labels)}"


def _unicode_domains(arr: pa.Array) -> pa.Array:
    """Punycode domain labels (``xn--mller-kva.de``) as the Unicode they stand for (``müller.de``),
    so an IDN address and its ASCII form are one address; a label that does not decode stays."""
    hit = np.flatnonzero(bools(pc.match_substring(arr, "xn--")))
    if not len(hit):
        return arr
    out = objects(arr)
    out[hit] = [_unicode_domain(str(out[i])) for i in hit]
    return pa.array(out, type=pa.string())


def normalize_email(text: str) -> str | None:
    """One address cleaned and lower-cased, or ``None`` when empty or not a valid address."""
    s, valid, _ = clean_email_texts(pa.array([text], type=pa.string()))
    return str(s[0].as_py()) if valid[0] else None


def why_email(clean: str) -> str:
    """Which rule an invalid address breaks, in words."""
    local, _, domain = clean.partition("@")
    checks = (
        (len(clean) > 254, "it is longer than 254 characters"),
        (any(ord(c) < 32 or ord(c) == 127 for c in clean), "it contains control characters"),
        ("@" not in clean, "it has no @"),
        ("@" in domain, "it has more than one @"),
        (any(c.isspace() for c in clean), "it contains a space"),
        (not local, "nothing comes before the @"),
        ("." not in domain, "its domain has no dot"),
        (len(local) > 64, "the part before the @ is longer than 64 characters"),
        (".." in clean, "it has two dots in a row"),
    )
    return next((why for broken, why in checks if broken), "it contains characters an address cannot have")


@dataclass(frozen=True)
class Emails:
    """An email column read, per row: the text as written, its cleaned form and whether that is a
    valid address or empty.  Per row, not per distinct text: nearly every address in an attendee
    list is distinct, so finding the distinct ones first would cost more than it saves."""

    raw: pa.Array | pa.ChunkedArray  # the texts as written
    clean: pa.Array | pa.ChunkedArray  # each text cleaned and lower-cased
    valid: np.ndarray  # bool
    empty: np.ndarray  # bool: nothing there

    @property
    def address(self) -> np.ndarray:
        """Per row the normalised address, ``None`` when empty or invalid (object array)."""
        return objects(pc.if_else(pa.array(self.valid), self.clean, pa.scalar(None, self.clean.type)))

    @property
    def invalid(self) -> np.ndarray:
        """Per row: a text that is not a valid address."""
        return ~self.valid & ~self.empty

    def for_report(self) -> pa.Array | pa.ChunkedArray:
        """Per row what the report shows: the address, an invalid one as cleaned (escaped so the
        marketer can find and fix the cell), null when empty.  A column of valid addresses is the
        cleaned column itself (no copy)."""
        if self.valid.all():
            return self.clean.cast(pa.string())
        bad = self.invalid
        out = pc.if_else(pa.array(self.valid), self.clean, pa.scalar(None, self.clean.type)).cast(pa.string())
        if bad.any():
            said = [shown(str(text), 120)[1:-1] for text in self.clean.filter(pa.array(bad)).to_pylist()]
            out = pc.replace_with_mask(out, pa.array(bad), pa.array(said, pa.string()))
        return out


def read_emails(values: pd.Series) -> Emails:
    """Read an email column (see :class:`Emails`)."""
    raw = arrow_cells(values)
    clean, valid, empty = clean_email_texts(raw)
    return Emails(raw, clean, valid, empty)


# --- contact ids --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactIds:
    """A contact id column read: per row the id (null when empty or not an id), whether the cell
    holds something that is not an id, and whether the row has no usable id."""

    vid: pa.Array  # int64
    bad: np.ndarray
    none: np.ndarray


def _digits(text: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Which cells are a whole number (``'0042'``, ``'42.0'``) and their digits without the
    leading zeros and decimals."""
    shaped = bools(pc.match_substring_regex(text, r"^\d+(\.0+)?$"))
    digits = pc.replace_substring_regex(text, r"\.0+$", "")
    return shaped, pc.replace_substring_regex(digits, r"^0+(\d)", r"\1")


def read_contact_ids(values: pd.Series) -> ContactIds:
    """Read a contact id column (see :class:`ContactIds`): a positive whole number that fits
    HubSpot's 64-bit ids.  Arrow compute over the whole column: ids rarely repeat (a contacts
    export holds a million distinct ones), so finding the distinct values first would cost more
    than it saves.  Plain ids (digits, no leading zero, at most 18 of them: nearly every cell) are
    cast at once; only the other cells go through the rules of :func:`_read_ids_slow`."""
    text = arrow_cells(values)
    plain = bools(
        pc.and_(
            pc.and_(pc.ascii_is_decimal(text), pc.invert(pc.starts_with(text, "0"))),
            pc.less_equal(pc.binary_length(text), 18),
        )
    )
    if plain.all():
        vid = pc.cast(text, pa.int64())
        none = np.zeros(len(text), dtype=bool)
        return ContactIds(vid.combine_chunks() if isinstance(vid, pa.ChunkedArray) else vid, none, none)
    parsed = np.zeros(len(text), dtype=np.int64)
    ok, empty = plain.copy(), np.zeros(len(text), dtype=bool)
    if plain.any():
        parsed[plain] = pc.cast(text.filter(pa.array(plain)), pa.int64()).to_numpy()
    rest = np.flatnonzero(~plain)
    taken = text.take(pa.array(rest))
    parsed[rest], ok[rest], empty[rest] = _read_ids_slow(
        taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken
    )
    return ContactIds(pa.array(parsed, mask=~ok), ~empty & ~ok, ~ok)


def _read_ids_slow(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's id (0 where there is none), whether it is one, and whether the cell is empty."""
    # Excel's leading apostrophe keeps a long id as text: '51234598694 is the id 51234598694
    text = pc.replace_substring_regex(pc.utf8_trim_whitespace(text), r"^'+\s*", "")
    shaped, digits = _digits(text)
    length = np.asarray(pc.utf8_length(digits))
    # 19 digits may still fit in 63 bits: compared as text, as digits of one length compare
    fits = shaped & ((length < 19) | ((length == 19) & bools(pc.less_equal(digits, str(MAX_VID)))))
    parsed = np.zeros(len(text), dtype=np.int64)
    if fits.any():
        parsed[fits] = pc.cast(pc.filter(digits, pa.array(fits)), pa.int64()).to_numpy()
    return parsed, fits & (parsed > 0), bools(pc.equal(pc.utf8_length(text), 0))


def lost_ids(values: pd.Series) -> np.ndarray:
    """Cells Excel turned into scientific notation (1.2345E+10): the id's last digits are gone."""
    text = pc.utf8_trim_whitespace(arrow_text(values))
    return bools(pc.match_substring_regex(text, r"^'?\d(?:[.,]\d+)?[eE]\+?\d+$"))
