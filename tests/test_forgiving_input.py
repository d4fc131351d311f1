"""Forgiving input: a pasted event URL, typos in options and zone names, Apple Numbers files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from importer.cli import main
from importer.config import event_id_from
from importer.errors import InputError
from importer.sandbox import DEFAULT_TOKEN, Sandbox
from importer.zones import zone_suggestions


@pytest.mark.parametrize(
    ("pasted", "event"),
    [
        ("987654321", "987654321"),
        (" 987654321 ", "987654321"),
        ("https://app.hubspot.com/marketing-events/12345678/details/987654321", "987654321"),
        ("https://app.hubspot.com/marketing-events/12345678/details/987654321/overview?tab=1", "987654321"),
        ("https://app-eu1.hubspot.com/contacts/12345678/record/0-54/987654321", "987654321"),
        ("https://app.hubspot.com/contacts/12345678/record/0-54/987654321/view/1", "987654321"),
        ("https://app-eu1.hubspot.com/marketing-events/12345678/details/987654321", "987654321"),
        ("https://app-na2.hubspot.com/contacts/12345678/record/0-54/987654321/", "987654321"),
        ("http://app.hubspot.com/contacts/12345678/record/0-54/987654321#activity", "987654321"),
    ],
)
def test_the_event_id_is_taken_from_a_pasted_url_never_the_portal(pasted: str, event: str) -> None:
    assert event_id_from(pasted) == event


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("https://app.hubspot.com/marketing-events/12345678", "names only the account 12345678"),
        ("https://app.hubspot.com/marketing-events/", "does not name a marketing event"),
        ("https://example.com/marketing-events/1/details/2", "is not a HubSpot address"),
        ("https://app.hubspot.com.evil.example/marketing-events/1/details/2", "is not a HubSpot address"),
        # pages that carry two numbers but are not one marketing event: never read as an event id
        ("https://app.hubspot.com/contacts/12345678/record/0-1/987654321", "object type 0-1, not 0-54"),
        ("https://app-eu1.hubspot.com/contacts/12345678/record/0-3/987654321", "object type 0-3, not 0-54"),
        ("https://app.hubspot.com/contacts/12345678/contact/987654321", "a contact's page"),
        ("https://app.hubspot.com/contacts/12345678/objects/0-54/views/4455667/list", "a list of records"),
        ("https://app.hubspot.com/contacts/12345678/objects/0-54/views/all/list/987654321", "a list of records"),
        ("https://app-eu1.hubspot.com/events/12345678/manage/987654321/overview", "custom behavioral events"),
        ("https://events.hubspot.com/events/details/hubspot-london-presents-ops/", "HubSpot's events site"),
        ("https://app.hubspot.com/reports-dashboard/12345678/view/987654321", "does not name a marketing event"),
    ],
)
def test_a_url_without_an_event_says_what_to_copy(pasted: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        event_id_from(pasted)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("Eastern", "America/New_York"),
        ("eastern time", "America/New_York"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("Pacific", "America/Los_Angeles"),
        ("Berlin", "Europe/Berlin"),
        ("Europe/Berln", "Europe/Berlin"),
    ],
)
def test_zone_names_people_type_get_iana_suggestions(typed: str, first: str) -> None:
    assert zone_suggestions(typed)[0] == first


def test_nothing_close_suggests_nothing() -> None:
    assert zone_suggestions("Narnia") == []


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["run", "a.csv", "--dryrun"], "Did you mean --dry-run?"),
        (["run", "a.csv", "--time-zone", "UTC"], "Did you mean --timezone?"),
        (["run", "a.csv", "--evnt", "1"], "Did you mean --event?"),
        (["run", "a.csv", "--timezone", "New York", "--event", "1"], "Did you mean America/New_York?"),
    ],
)
def test_typos_get_did_you_mean(argv: list[str], suggestion: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv, environ={}) == 2
    assert suggestion in capsys.readouterr().err


def test_an_apple_numbers_file_says_how_to_export_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "attendees.numbers"
    with zipfile.ZipFile(doc, "w") as zf:
        zf.writestr("Index/Document.iwa", b"\x00\x01")
        zf.writestr("Metadata/Properties.plist", b"<plist/>")
    package = tmp_path / "package.numbers"
    (package / "Index").mkdir(parents=True)
    for name in (doc, package):
        assert main(["run", str(name), "--event", "1"], environ={}) == 2
        err = capsys.readouterr().err
        assert "Apple Numbers" in err and "Export To > CSV" in err


def test_a_pasted_url_imports_into_the_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("Email,Join Time\nalice@example.com,2024-11-05T15:58:03Z\n", encoding="utf-8")
    with Sandbox(events=["987654321"], contacts={"alice@example.com": 101}) as sb:
        url = "https://app.hubspot.com/marketing-events/12345678/details/987654321"
        env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url}
        assert main(["run", "a.csv", "--event", url], environ=env) == 0
        assert [p["vid"] for p in sb.participations("987654321")] == [101]
