"""The --contacts map: email -> contact id from a HubSpot export, conflicts never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter
from test_mapper import grid

from importer.contacts import contacts_from_sheet, load_contacts_map
from importer.errors import InputError

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def test_sample_export() -> None:
    cmap = load_contacts_map(SAMPLES / "hubspot_contacts_export.csv")
    assert cmap.rows == 11
    assert cmap.by_email["ahmed.khan@example.com"] == 1204  # normalised from Ahmed.Khan@
    assert cmap.by_email["jane.doe@example.com"] == 1202
    assert cmap.conflicts == {"omar.haddad@example.org": (1209, 1219)}
    assert "omar.haddad@example.org" not in cmap.by_email
    assert any("without a valid email" in n for n in cmap.notes)


def test_same_id_twice_is_no_conflict() -> None:
    cmap = contacts_from_sheet(
        grid("Record ID,Email\n5,a@example.com\n5,A@Example.com\n6,bad@@example.com\nx,c@example.com\n")
    )
    assert cmap.by_email == {"a@example.com": 5} and cmap.conflicts == {}


def test_workbook_export(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Contacts")
    ws.write_row(0, 0, ["Contact ID", "Email", "First Name"])
    ws.write_row(1, 0, [1001, "ann@example.com", "Ann"])
    ws.write_row(2, 0, [1002, "bob@example.net", "Bob"])
    wb.close()
    cmap = load_contacts_map(path)
    assert cmap.by_email == {"ann@example.com": 1001, "bob@example.net": 1002}


def test_needs_both_columns() -> None:
    with pytest.raises(InputError, match="needs both an Email and a Record ID column"):
        contacts_from_sheet(grid("Email,Name\na@example.com,A\n"))


def test_addresses_keep_the_order_they_first_appear_in_and_several_ids_are_each_named_once() -> None:
    cmap = contacts_from_sheet(
        grid(
            "Record ID,Email\n9,z@example.com\n3,b@example.com\n7,c@example.com\n5,B@example.com\n"
            "9,Z@example.com\n2,b@example.com\n3,b@example.com\n1,a@example.com\n"
        )
    )
    assert list(cmap.by_email.items()) == [("z@example.com", 9), ("c@example.com", 7), ("a@example.com", 1)]
    assert list(cmap.conflicts.items()) == [("b@example.com", (2, 3, 5))]
    assert cmap.rows == 8


def test_a_file_without_one_usable_row_maps_nothing() -> None:
    cmap = contacts_from_sheet(grid("Record ID,Email\nx,a@example.com\n5,not an email\n"))
    assert cmap.by_email == {} and cmap.conflicts == {} and cmap.rows == 2
