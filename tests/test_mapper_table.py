"""The mapper's rows table: the declared schema, a line per data row, the names in ``extra``, a
row's second participation in the ``also_`` columns, and the id boundaries as the table holds them."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pyarrow as pa
import pytest
from test_mapper import NOW, grid, ms

from importer import mapper_rows
from importer.mapper import MapOptions, map_sheet
from importer.mapper_states import per_block
from importer.models import ROWS, State

NY = "America/New_York"


def table(text: str, **opts: object):  # noqa: ANN201 - a pyarrow Table
    return map_sheet(grid(text), MapOptions(**{"now_ms": NOW, "timezone": NY, **opts})).table  # type: ignore[arg-type]


def test_the_table_has_the_declared_schema_and_a_line_per_data_row() -> None:
    t = table("Email,Join Time\na@example.com,2024-11-05 10:00\n\nb@example.com,2024-11-05 11:00\n")
    assert t.schema == ROWS
    assert t.column("file").to_pylist() == ["t.csv", "t.csv"]
    assert t.column("row").to_pylist() == [2, 4]  # spreadsheet row numbers, the blank line counted
    assert t.column("when_ms").to_pylist() == [ms("2024-11-05T15:00:00Z"), ms("2024-11-05T16:00:00Z")]
    assert t.column("state").to_pylist() == ["attend", "attend"]
    assert t.column("outcome").to_pylist() == [None, None]  # still sendable
    assert t.column("time_source").to_pylist() == ["file", "file"]
    assert t.column("created_contact").to_pylist() == [False, False]
    assert t.column("merged_file").null_count == 2 and t.column("also_state").null_count == 2


@pytest.mark.parametrize(
    ("cell", "vid", "reason"),
    [
        ("1", 1, ""),
        ("0001", 1, ""),
        ("007", 7, ""),
        ("9223372036854775807", 2**63 - 1, ""),
        ("09223372036854775807", 2**63 - 1, ""),
        ("9223372036854775808", None, "invalid_vid"),
        ("0", None, "invalid_vid"),
        ("1.5E+10", None, "lost_precision_id"),
    ],
)
def test_contact_ids_at_their_bounds(cell: str, vid: int | None, reason: str) -> None:
    t = table(f"Email,Record ID,Join Time\na@example.com,{cell},2024-11-05 10:00\n")
    assert t.column("vid").to_pylist() == [vid]
    assert t.column("reason").to_pylist() == [reason]
    assert t.column("outcome").to_pylist() == [None if not reason else "rejected"]


@pytest.mark.parametrize("slice_rows", [1, 2, 3, 1 << 16])
def test_extra_holds_the_names_and_with_keep_raw_every_other_column(
    slice_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same maps whatever the slices they are gathered in (rows with and without names across a slice's end)."""
    monkeypatch.setattr(mapper_rows, "_MAP_ROWS", slice_rows)
    text = (
        "Email,First Name,Last Name,Name,Join Time,Company\n"
        "a@example.com,Ann,Lee,,2024-11-05 10:00,Acme\n"
        "b@example.com,,,Bo (Guest),2024-11-05 10:00,\n"
        "c@example.com,,,,2024-11-05 10:00,Initech\n"
        "d@example.com,,Dee,,2024-11-05 10:00,\n"
    )
    assert table(text).column("extra").to_pylist() == [
        [("first_name", "Ann"), ("last_name", "Lee")],
        [("name", "Bo")],  # a blank first and last name: the display name, without Teams' mark
        [],
        [("first_name", ""), ("last_name", "Dee")],
    ]
    raw = table(text, keep_raw=True).column("extra").to_pylist()
    assert raw[0] == [
        ("first_name", "Ann"),
        ("last_name", "Lee"),
        ("Email", "a@example.com"),
        ("Join Time", "2024-11-05 10:00"),
        ("Company", "Acme"),
    ]
    assert raw[2] == [("Email", "c@example.com"), ("Join Time", "2024-11-05 10:00"), ("Company", "Initech")]


def test_extra_names_take_two_bytes_an_entry_however_long_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is a number into the few distinct names (a million rows' two names as text took 27 MiB)."""
    monkeypatch.setattr(mapper_rows, "_MAP_ROWS", 333)  # gathered in slices that end between rows
    n = 2000
    body = "".join(f"u{i}@example.com,First{i},Last{i},2024-11-05 10:00\n" for i in range(n))
    maps = table("Email,First Name,Last Name,Join Time\n" + body).column("extra").combine_chunks()
    assert [maps[i].as_py() for i in (7, 332, 333, 1999)] == [
        [("first_name", f"First{i}"), ("last_name", f"Last{i}")] for i in (7, 332, 333, 1999)
    ]
    names = maps.keys
    assert len(names) == 2 * n and names.nbytes <= 2 * len(names) + 64


def test_the_file_states_and_time_sources_are_a_number_a_row_into_their_few_texts() -> None:
    """A million rows' file name, state and time source took 28 MiB as text, 12 coded."""
    n = 2000
    body = "".join(f"u{i}@example.com,2024-11-05 10:00,2024-11-01 09:00\n" for i in range(n))
    t = table("Email,Join Time,Registration Time\n" + body)
    for name in ("file", "state", "time_source", "also_state", "also_time_source"):
        column = t.column(name).combine_chunks()
        assert column.indices.nbytes <= 4 * n and len(column.dictionary) == 1, name
    assert t.slice(1234, 1).select(["file", "state", "time_source", "also_state"]).to_pylist() == [
        {"file": "t.csv", "state": "attend", "time_source": "file", "also_state": "register"}
    ]


def test_extra_keeps_the_names_of_a_thousand_columns_apart_with_keep_raw() -> None:
    """More source columns than a byte numbers (the loader takes up to 1,000): each keeps its own name."""
    headers = ["Email", "Join Time", *(f"Q{j}" for j in range(300))]
    line = ["a@example.com", "2024-11-05 10:00", *(f"v{j}" for j in range(300))]
    raw = table(",".join(headers) + "\n" + ",".join(line) + "\n", keep_raw=True).column("extra").to_pylist()[0]
    assert raw == list(zip(headers, line, strict=True))


def test_a_registration_time_is_the_second_participation_and_a_bad_one_is_rejected_alone() -> None:
    t = table(
        "Email,Join Time,Registration Time,Attended\n"
        "a@example.com,2024-11-05 10:00,2024-11-01 09:00,Yes\n"
        "b@example.com,2024-11-05 10:00,soon,Yes\n"
        "c@example.com,,2024-11-02 09:00,No\n"
    )
    assert t.column("state").to_pylist() == ["attend", "attend", "register"]
    assert t.column("also_state").to_pylist() == ["register", "register", None]
    assert t.column("also_when_ms").to_pylist() == [ms("2024-11-01T13:00:00Z"), None, None]
    assert t.column("also_outcome").to_pylist() == [None, "rejected", None]
    assert t.column("also_reason").to_pylist() == ["", "bad_time", None]
    assert t.column("also_time_source").to_pylist() == ["file", "file", None]
    assert t.column("also_batch_id").to_pylist() == ["", "", None]
    message = t.column("also_message").to_pylist()
    assert message[0] == "" and message[2] is None
    assert message[1].startswith("Registration time 'soon' in row 3 (Registration Time) could not be read")
    assert t.column("outcome").to_pylist() == [None, None, None]  # the attendance is sent without it


def test_an_invalid_email_shows_what_the_file_had() -> None:
    t = table("Email,Join Time\n Bad@@Example.com ,2024-11-05 10:00\n,2024-11-05 10:00\n")
    assert t.column("email").to_pylist() == ["bad@@example.com", None]
    assert t.column("reason").to_pylist() == ["invalid_email", "missing_email"]


def _in_blocks(sheet, size: int):  # noqa: ANN001, ANN202 - a loader Sheet
    """The same grid with every column in blocks of ``size`` cells, as the CSV parser gives a large file."""
    frame = pd.DataFrame(
        {
            j: pd.Series(
                pd.arrays.ArrowExtensionArray(
                    pa.chunked_array([cells[k : k + size] for k in range(0, len(cells), size)], pa.string())
                )
                if len(cells := pa.array(sheet.frame[j].tolist(), pa.string())) > size
                else cells.to_pylist(),
                dtype="str",
            )
            for j in sheet.frame.columns
        }
    )
    return dataclasses.replace(sheet, frame=frame)


@pytest.mark.parametrize("keep_raw", [False, True])
def test_columns_in_blocks_map_as_one_column_does(keep_raw: bool) -> None:
    """Emails, ids and names are read where the loader's blocks hold them (no copy): bad cells in
    any block, and rows that straddle a block's end, come out as from a column in one piece."""
    lines = [
        "Email,Record ID,First Name,Last Name,Join Time",
        "a@example.com,101,Ann,Lee,2024-11-05 10:00",
        "  B@Example.com ,0042,Bo,,2024-11-05 10:01",
        "not an email,103,Cy,Ray,2024-11-05 10:02",
        ",104,,,2024-11-05 10:03",
        "Dee <dee@example.com>,1.5E+10,Dee,Doe,2024-11-05 10:04",
        "e@xn--mller-kva.de,'106,Eve,,2024-11-05 10:05",
        "f@example.com,12a,Fay,Fox,2024-11-05 10:06",
        "g@example.com,,Gus,,2024-11-05 10:07",
    ]
    sheet = grid("\n".join(lines) + "\n")
    opts = MapOptions(now_ms=NOW, timezone=NY, keep_raw=keep_raw)
    whole = map_sheet(sheet, opts).table
    for size in (1, 2, 3, 5):
        blocked = map_sheet(_in_blocks(sheet, size), opts).table
        assert blocked.schema == ROWS
        assert blocked.to_pylist() == whole.to_pylist()


def test_a_value_per_table_is_one_value_for_one_table_and_each_its_own_for_several() -> None:
    one = per_block([(State.ATTEND, 4)])
    assert one.tolist() == [State.ATTEND] * 4 and all(type(v) is State for v in one)  # the enum, not its text
    assert one.strides == (0,) and not one.flags.writeable  # a view of the one value: no memory per row
    several = per_block([("panelists", 2), (None, 1), ("", 3)])
    assert several.tolist() == ["panelists", "panelists", None, "", "", ""]
    assert per_block([("x", 0)]).tolist() == []


def test_bad_times_name_the_column_their_state_reads_them_from() -> None:
    t = table(
        "Email,Registration Time,Join Time,Attended\n"
        "a@example.com,2024-11-01 09:00,not a time,Yes\n"
        "b@example.com,someday,2024-11-05 10:00,No\n"
    )
    assert t.column("reason").to_pylist() == ["bad_time", "bad_time"]
    messages = t.column("message").to_pylist()
    assert "(Join Time)" in messages[0] and "(Registration Time)" in messages[1]


def test_an_email_column_in_capitals_and_in_blocks_maps_as_one_column_does() -> None:
    """Every address needs lower-casing (and one the full rules): read in place, block by block."""
    cells = ["Ann@Example.com", "BO@EXAMPLE.COM", "Cy.Ray@Example.com", "Dee <DEE@Example.com>", "Eve@Example.COM"]
    sheet = grid("Email,Join Time\n" + "".join(f"{c},2024-11-05 10:0{i}\n" for i, c in enumerate(cells)))
    opts = MapOptions(now_ms=NOW, timezone=NY)
    whole = map_sheet(sheet, opts).table
    assert whole.column("email").to_pylist() == [
        "ann@example.com", "bo@example.com", "cy.ray@example.com", "dee@example.com", "eve@example.com",
    ]  # fmt: skip
    for size in (1, 2, 4):
        assert map_sheet(_in_blocks(sheet, size), opts).table.to_pylist() == whole.to_pylist()
