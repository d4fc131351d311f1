"""Contact ids and email addresses at their limits, read the way the mapper and the ``--contacts``
map read them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.mapper_values import (
    MAX_VID,
    _clean_email_slow,
    arrow_text,
    clean_email_texts,
    lost_ids,
    normalize_email,
    read_contact_ids,
    read_emails,
    rows_list,
    shown,
    why_email,
)


def ids(*cells: str) -> list[tuple[int | None, bool, bool]]:
    got = read_contact_ids(pd.Series(list(cells), dtype="str"))
    return list(zip(got.vid.to_pylist(), got.bad.tolist(), got.none.tolist(), strict=True))


@pytest.mark.parametrize(
    ("cell", "vid"),
    [
        ("1", 1),
        ("01", 1),
        ("0042", 42),
        ("42.0", 42),
        ("42.000", 42),
        (" 7 ", 7),
        ("'51234598694", 51234598694),
        ("''7", 7),
        ("' 7", 7),
        ("999999999999999999", 999_999_999_999_999_999),  # 18 digits
        ("1000000000000000000", 10**18),  # 19 digits, below the bound
        ("9223372036854775807", MAX_VID),  # the bound itself
        ("09223372036854775807", MAX_VID),  # 20 characters, 19 digits
        ("0009223372036854775807.0", MAX_VID),
    ],
)
def test_a_contact_id(cell: str, vid: int) -> None:
    assert ids(cell) == [(vid, False, False)]


@pytest.mark.parametrize(
    "cell",
    [
        "0",
        "00",
        "0.0",
        "-5",
        "+5",
        "42.5",
        "4 2",
        "abc",
        "1e5",
        "9223372036854775808",  # one past the bound
        "9999999999999999999",  # 19 digits, above it
        "10000000000000000000",  # 20 digits
        "١٢٣",  # digits, but not ASCII ones
    ],
)
def test_not_a_contact_id(cell: str) -> None:
    assert ids(cell) == [(None, True, True)]


def test_an_empty_id_cell_is_no_id_but_not_a_bad_one() -> None:
    assert ids("", "  ", "'") == [(None, False, True)] * 3


@given(st.integers(1, MAX_VID), st.integers(0, 3))
def test_any_id_with_leading_zeros(vid: int, zeros: int) -> None:
    assert ids("0" * zeros + str(vid)) == [(vid, False, False)]


_ID_CELLS = st.one_of(
    st.integers(0, 2**64).map(str),
    st.sampled_from(["", " 7 ", "'42", "0042", "42.0", "-5", "1e5", "abc", "١٢٣", "9223372036854775808"]),
    st.text(alphabet="0123456789 .'+-e", max_size=22),
)


@given(st.lists(_ID_CELLS, min_size=1, max_size=30))
def test_a_column_reads_each_id_cell_as_it_reads_alone(cells: list[str]) -> None:
    """Plain ids take a shortcut and the rest the full rules; in one column each cell still reads
    as it does alone."""
    assert ids(*cells) == [ids(cell)[0] for cell in cells]


@given(st.integers(1, 10**18 - 1))
def test_a_plain_id_is_its_number(vid: int) -> None:
    assert ids(str(vid), "") == [(vid, False, False), (None, False, True)]


@pytest.mark.parametrize(
    ("cell", "lost"),
    [("1.2345E+10", True), ("1e10", True), ("'5.1E10", True), ("1,5E+10", True), ("12345", False), ("E10", False)],
)
def test_scientific_notation_lost_the_id(cell: str, lost: bool) -> None:
    assert lost_ids(pd.Series([cell], dtype="str")).tolist() == [lost]


LOCAL_64 = "a" * 64
DOMAIN = "example.com"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("a@b.co", "a@b.co"),
        (f"{LOCAL_64}@{DOMAIN}", f"{LOCAL_64}@{DOMAIN}"),  # the longest part before the @
        (f"{LOCAL_64}a@{DOMAIN}", None),
        ("x@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + "." + "g" * 57 + ".com", None),  # 255 characters
        (
            "x@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + "." + "g" * 56 + ".com",
            "x@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + "." + "g" * 56 + ".com",
        ),  # 254
        ("a@b.c", None),  # a one-letter top-level domain
        ("a..b@example.com", None),
        (".a@example.com", None),
        ("a.@example.com", None),
        ("a@-example.com", None),
        ("a@example-.com", None),
        ("a@example", None),
        ("", None),
        ("A.B+tag@Example.COM", "a.b+tag@example.com"),
        ("a@xn--mller-kva.de", "a@müller.de"),
        ("a@mail.xn--mller-kva.de", "a@mail.müller.de"),  # a punycode label after the first
        ("a@xn--zz-zzzzzzzzzzzzzz.com", "a@xn--zz-zzzzzzzzzzzzzz.com"),  # not punycode after all: kept
        ("a@müller.de", "a@müller.de"),
        ("Jane <JANE@example.com>", "jane@example.com"),
        ("`jane@example.com`", "jane@example.com"),
        ("jane@example.com\u200b", "jane@example.com"),
    ],
)
def test_an_address_at_its_limits(text: str, address: str | None) -> None:
    assert normalize_email(text) == address


def test_read_emails_per_row() -> None:
    got = read_emails(pd.Series(["A@x.org", "", "bad@@x.org", "a@x.org"], dtype="str"))
    assert got.address.tolist() == ["a@x.org", None, None, "a@x.org"]
    assert got.invalid.tolist() == [False, False, True, False]
    assert got.empty.tolist() == [False, True, False, False]
    assert got.for_report().to_pylist() == ["a@x.org", None, "bad@@x.org", "a@x.org"]


@pytest.mark.parametrize(
    ("clean", "why"),
    [
        ("a" * 250 + "@x.org", "it is longer than 254 characters"),
        ("a\x01@x.org", "it contains control characters"),
        ("ax.org", "it has no @"),
        ("a@b@x.org", "it has more than one @"),
        ("a b@x.org", "it contains a space"),
        ("@x.org", "nothing comes before the @"),
        ("a@xorg", "its domain has no dot"),
        ("a" * 65 + "@x.org", "the part before the @ is longer than 64 characters"),
        ("a..b@x.org", "it has two dots in a row"),
        ("a(b)@x.org", "it contains characters an address cannot have"),
    ],
)
def test_why_an_address_is_invalid(clean: str, why: str) -> None:
    assert why_email(clean) == why


# --- The edges mutation testing found untested (mutmut): the quoting of a cell in a message, the
# --- list of row numbers, the exact limits each reason names, and an invalid address as reported.


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("x" * 60, "'" + "x" * 60 + "'"),  # as long as a message shows
        ("x" * 61, "'" + "x" * 59 + "…'"),  # one more: cut, the cut said
        ("a\x01b", "'a\\x01b'"),
        ("a\x7f\x85b", "'a\\x7f\\x85b'"),  # DEL and a C1 control: escaped in two hex digits
        ("a\u200bb\u2028", "'a\\u200bb\\u2028'"),  # invisible beyond Latin-1: four hex digits
        ("zoë ✓", "'zoë ✓'"),  # printable text stays as written
    ],
)
def test_a_cell_quoted_in_a_message(text: str, quoted: str) -> None:
    assert shown(text) == quoted


def test_a_cell_quoted_with_its_own_limit() -> None:
    assert shown("abcdef", 5) == "'abcd…'" and shown("abcde", 5) == "'abcde'"


@pytest.mark.parametrize(
    ("rows", "listed"),
    [
        ([], ""),
        ([7], "7"),
        (list(range(1, 11)), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"),  # ten: all of them
        (list(range(1, 12)), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 1 more"),
        (list(range(1, 26)), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 15 more"),
    ],
)
def test_row_numbers_in_a_message(rows: list[int], listed: str) -> None:
    assert rows_list(rows) == listed


@pytest.mark.parametrize(
    ("clean", "why"),
    [
        ("a" * 64 + "@" + "b" * 185 + ".org", "it contains characters an address cannot have"),  # 254, 64: in bounds
        ("a" * 63 + "@" + "b" * 187 + ".org", "it is longer than 254 characters"),  # 255
        ("a" * 64 + "@x.org", "it contains characters an address cannot have"),
        ("a\x7f@x.org", "it contains control characters"),
        ("a\x1f@x.org", "it contains control characters"),
        ("a\x80@x.org", "it contains characters an address cannot have"),  # past DEL: no control of ASCII
    ],
)
def test_why_an_address_is_invalid_at_the_limits(clean: str, why: str) -> None:
    assert why_email(clean) == why


def test_an_invalid_address_is_reported_as_cleaned_with_its_domain_in_unicode() -> None:
    """The report shows what the cell became, so the marketer finds it: the domain is the one after
    the last @ (decoded from punycode), control characters are escaped."""
    got = read_emails(pd.Series(["a@b@xn--mller-kva.de", "Jane <a\x01b@x.org>", "b@xn--mller-kva.de"], dtype="str"))
    assert got.for_report().to_pylist() == ["a@b@müller.de", "a\\x01b@x.org", "b@müller.de"]
    assert got.invalid.tolist() == [True, True, False]


def test_a_long_invalid_address_is_reported_cut_at_120_characters_and_quotes_inside_brackets_go() -> None:
    got = read_emails(pd.Series(["x" * 130 + "@@x.org", 'Jane <"jane@example.com">'], dtype="str"))
    assert got.for_report().to_pylist() == ["x" * 119 + "…", "jane@example.com"]


def test_cells_that_are_not_text_are_read_as_their_text() -> None:
    """Workbooks hand numbers and mixed columns over as Python objects: each is its text, a missing
    one empty text."""
    assert arrow_text(pd.Series([42, None, 7], dtype=object)).to_pylist() == ["42", "", "7"]
    assert arrow_text(pd.Series([1, "a", None], dtype=object)).to_pylist() == ["1", "a", ""]
    assert arrow_text(pd.Series([1, "a", pd.NA, np.nan], dtype=object)).to_pylist() == ["1", "a", "", ""]  # not '<NA>'
    assert arrow_text(pd.Series([1.5, np.nan], dtype=object)).to_pylist() == ["1.5", ""]  # not 'nan'
    assert arrow_text(pd.Index(["a", None])).to_pylist() == ["a", ""]
    assert arrow_text(pd.Series([None, None], dtype=object)).to_pylist() == ["", ""]  # a column of nothing
    assert arrow_text(pd.Series(["x", None], dtype="string[pyarrow]")).to_pylist() == ["x", ""]


def test_an_email_column_with_nothing_in_it_is_still_a_text_column() -> None:
    got = read_emails(pd.Series(["", ""], dtype="str"))
    assert got.for_report().type == pa.string() and got.for_report().to_pylist() == [None, None]


_EMAILISH = st.lists(
    st.sampled_from(
        ["a", "Z", "ann", "LEE", ".", "@", "@", "-", "_", "+", "'", '"', " ", "xn--", "XN--", "Mailto:", "<", ">",
         "\u212a", "\u00e9", "e\u0301", "\u00a0", "\u200b", "com", "DE", "1", "%", "é.de"]
    ),
    max_size=12,
).map("".join)  # fmt: skip


@settings(max_examples=30, deadline=None)  # many texts per example: each one compiles the regular expressions
@given(st.lists(_EMAILISH, min_size=1, max_size=120))
def test_the_shortcuts_clean_every_address_as_the_full_rules_do(texts: list[str]) -> None:
    """Clean addresses kept as they are and ASCII ones only lower-cased: each comes out exactly
    as every cleaning step would make it (the Kelvin sign K is not ASCII, so it takes the steps)."""
    arr = pa.array(texts, pa.string())
    clean, valid, empty = clean_email_texts(arr)
    full, full_valid, full_empty = _clean_email_slow(arr)
    assert clean.to_pylist() == full.to_pylist()
    assert valid.tolist() == full_valid.tolist() and empty.tolist() == full_empty.tolist()


def test_an_address_in_capitals_is_only_lower_cased() -> None:
    clean, valid, empty = clean_email_texts(pa.array(["Ann.Lee@Example.COM", "ann@example.com", "B@XN--MLLER-KVA.DE"]))
    assert clean.to_pylist() == ["ann.lee@example.com", "ann@example.com", "b@müller.de"]
    assert valid.tolist() == [True, True, True] and not empty.any()
