"""The loader's fast paths say exactly what the plain way says: a cell stripped only where it may be
padded, UTF-8 checked in place, the CSV parser's blocks kept as they are."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.loader import STRIP_CHARS, load
from importer.loader_grid import finish, maybe_padded, stripped
from importer.loader_text import is_utf8

#: Ordinary text, non-ASCII letters whose UTF-8 shares lead or trail bytes with strip characters
#: ("…" and "€" begin with 0xE2 like U+2000-U+2060, "Ā" ends with 0x80 like U+3000), and every strip character.
ORDINARY = "ab@.-,é…€Āあ😀"
CELL = st.text(alphabet=ORDINARY + STRIP_CHARS, max_size=6) | st.text(alphabet=ORDINARY, max_size=6)
CELLS = st.lists(CELL, max_size=30)


def plain(cells: pa.Array | pa.ChunkedArray) -> list[str]:
    return pc.utf8_trim(cells, characters=STRIP_CHARS).to_pylist()


@given(CELLS, st.integers(0, 5), st.integers(0, 5))
def test_stripped_is_the_plain_trim_on_any_cells_and_slices(cells: list[str], start: int, cut: int) -> None:
    arr = pa.array(cells, type=pa.string())
    piece = arr.slice(min(start, len(arr)), max(len(arr) - start - cut, 0))
    assert stripped(arr).to_pylist() == plain(arr)
    assert stripped(piece).to_pylist() == plain(piece)


@given(st.lists(CELLS, max_size=4))
def test_stripped_is_the_plain_trim_block_by_block(blocks: list[list[str]]) -> None:
    column = pa.chunked_array([pa.array(b, type=pa.string()) for b in blocks], type=pa.string())
    out = stripped(column)
    assert isinstance(out, pa.ChunkedArray) and out.to_pylist() == plain(column)


@settings(max_examples=300)
@given(st.text(alphabet=ORDINARY, min_size=1, max_size=4), st.sampled_from(STRIP_CHARS), st.booleans())
def test_a_cell_padded_at_either_end_is_seen(text: str, pad: str, left: bool) -> None:
    cell = pad + text if left else text + pad
    assert maybe_padded(pa.array(["ok", cell, ""], type=pa.string()))


def test_clean_cells_are_not_copied() -> None:
    arr = pa.array(["user@x.com", "", "Ann Lee", "é…€"], type=pa.string())
    assert not maybe_padded(arr)
    assert stripped(arr) is arr
    empty = pa.array(["", ""], type=pa.string())
    assert not maybe_padded(empty) and stripped(empty) is empty
    column = pa.chunked_array([arr, pa.array([" pad "], type=pa.string())])
    out = stripped(column)
    assert out.chunk(0).buffers()[2].address == arr.buffers()[2].address  # the same cells, not a copy
    assert out.chunk(1).to_pylist() == ["pad"]


def test_cells_with_nulls_or_of_another_type_take_the_plain_trim() -> None:
    with_null = pa.array([" a ", None, "b"], type=pa.string())
    assert maybe_padded(pa.array(["a", None], type=pa.string()))
    assert stripped(with_null).to_pylist() == ["a", None, "b"]
    large = pa.array(["a", "\u3000b\ufeff"], type=pa.large_string())
    assert maybe_padded(pa.array(["a"], type=pa.large_string()))
    assert stripped(large).to_pylist() == ["a", "b"]


def test_finish_takes_blocks_and_single_arrays_alike() -> None:
    columns = [["Email", "", " a@x.com\u00a0", "\u200b"], ["Name", "", "Ann", ""], ["", "", "", ""]]
    arrays = [pa.array(c, type=pa.string()) for c in columns]
    blocks = [pa.chunked_array([a.slice(0, 1), a.slice(1, 2), a.slice(3)]) for a in arrays]
    for given_columns in (arrays, blocks):
        frame, numbers = finish(list(given_columns))
        assert frame.values.tolist() == [["Email", "Name"], ["a@x.com", "Ann"]]
        assert numbers.tolist() == [1, 3]


@settings(max_examples=500)
@given(
    st.binary(max_size=12)
    | st.text(max_size=8).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.tuples(st.text(min_size=1, max_size=6), st.integers(0, 30), st.integers(0, 255)).map(
        lambda t: (lambda b: b[: t[1] % len(b)] + bytes([t[2]]) + b[t[1] % len(b) + 1 :])(t[0].encode())
    )
)
def test_is_utf8_is_as_strict_as_pythons_decoder(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert is_utf8(raw) is valid


def test_surrogates_overlong_forms_and_code_points_beyond_unicode_are_not_utf8() -> None:
    for raw in (b"\xed\xa0\x80", b"\xc0\x80", b"\xe0\x80\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"a\xc3"):
        assert not is_utf8(raw)
    assert is_utf8("é€😀\U0010ffff".encode()) and is_utf8(b"") and is_utf8(b"plain")


def test_a_big_csv_padded_in_one_block_only(tmp_path: Path) -> None:
    """The parser's blocks of a file of a few MB: only the block with padded cells is stripped, and
    the grid is the same as with every cell stripped."""
    lines = ["Email,Name"] + [f"u{i}@x.com,N{i}" for i in range(150_000)]
    lines[120_000] = "\u00a0late@x.com , Late\u3000"
    lines[5] = '"\ufeffearly@x.com",\t'
    p = tmp_path / "big.csv"
    p.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    s = load(p)
    assert s.frame.shape == (150_001, 2)
    assert s.frame.iloc[120_000].tolist() == ["late@x.com", "Late"]
    assert s.frame.iloc[5].tolist() == ["early@x.com", ""]
    assert s.frame.iloc[-1].tolist() == ["u149999@x.com", "N149999"]
    assert s.row_numbers[-1] == 150_001


def test_a_big_cp1252_file_and_a_big_utf8_file_with_letters_beyond_ascii(tmp_path: Path) -> None:
    lines = ["Email,Name"] + [f"u{i}@x.com,Jos\u00e9 {i}" for i in range(20_000)]
    text = "\r\n".join(lines) + "\r\n"
    (tmp_path / "u.csv").write_bytes(text.encode())
    utf8 = load(tmp_path / "u.csv")
    cp = tmp_path / "c.csv"
    cp.write_bytes(text.encode("cp1252"))
    latin = load(cp)
    assert utf8.encoding == "utf-8" and latin.encoding == "cp1252"
    assert utf8.frame.values.tolist() == latin.frame.values.tolist()
    assert utf8.frame.iloc[-1].tolist() == ["u19999@x.com", "José 19999"]
