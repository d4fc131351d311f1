"""The sheet choice as a table: what each set of sheets yields, with its note or its refusal."""

from __future__ import annotations

import pytest

from importer.errors import InputError
from importer.loader_sheets import SheetLook, choose_sheets

EMAILS = ("Email", "jane@example.com")


def look(name: str, texts: tuple[str, ...] = (), filled: bool | None = None) -> SheetLook:
    return SheetLook(name, texts, bool(texts) if filled is None else filled)


@pytest.mark.parametrize(
    ("looks", "want", "note"),
    [
        ([look("Summary", ("Webinar",)), look("Sheet2", EMAILS)], ["Sheet2"], "sheet 'Sheet2' chosen among 2 sheets"),
        # Nothing lists people: a name that says attendees first, then the first sheet with anything in it.
        ([look("Data", ("Name",)), look("Guests", ("Name",))], ["Guests"], "used 'Guests' among 2 sheets"),
        ([look("Blank"), look("Data", ("Name",)), look("More", ("x",))], ["Data"], "used 'Data' among 3 sheets"),
        ([look("Blank"), look("Numbers", filled=True)], ["Numbers"], "no sheet looks like a list of attendees"),
        # Emails win over a name that says attendees.
        ([look("Attendees", ("Name",)), look("Sheet2", EMAILS)], ["Sheet2"], "sheet 'Sheet2' chosen among 2"),
        (
            [look("Registrants", EMAILS), look("Panelists", EMAILS), look("Attendees", EMAILS)],
            ["Registrants", "Attendees"],
            "read sheet 'Registrants' as the registrants and sheet 'Attendees' as the attendees; "
            "left out 'Panelists' (panelists/hosts)",
        ),
        (
            [look("Hosts", EMAILS), look("Sheet1", EMAILS), look("Poll", EMAILS)],
            ["Sheet1"],
            "sheet 'Sheet1' chosen among 3 sheets that list people; left out 'Hosts' (panelists/hosts), 'Poll'",
        ),
    ],
)
def test_the_sheets_chosen_and_the_note(looks: list[SheetLook], want: list[str], note: str) -> None:
    notes: list[str] = []
    assert choose_sheets("book.xlsx", looks, notes) == want
    assert len(notes) == 1 and note in notes[0] and "--sheet" in notes[0]


@pytest.mark.parametrize(
    ("looks", "says"),
    [
        ([look("A"), look("B")], "has no data in any of its 2 sheets"),
        ([look("Sheet1", EMAILS), look("Sheet2", EMAILS)], "'Sheet1' (people), 'Sheet2' (people)"),
        ([look("Attendees", EMAILS), look("Attendees (2)", EMAILS)], "lists people on several sheets"),
        ([look("Registrants", EMAILS), look("Sheet2", EMAILS)], "lists people on several sheets"),
        ([look("Hosts", EMAILS), look("Summary", EMAILS)], "'Hosts' (panelists/hosts), 'Summary' (summary/info)"),
    ],
)
def test_what_the_choice_refuses(looks: list[SheetLook], says: str) -> None:
    with pytest.raises(InputError) as err:
        choose_sheets("book.xlsx", looks, [])
    assert says in str(err.value) and "book.xlsx" in str(err.value)
