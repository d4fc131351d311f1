"""The sandbox's contact store on its own: ids by email, HubSpot's never-reused ids, the batch read."""

from __future__ import annotations

from importer.sandbox.contacts import Contacts


def test_an_email_keeps_its_id_whatever_its_case_and_spaces() -> None:
    store = Contacts(auto=False, born="2024-01-01T00:00:00.000Z")
    vid = store.ensure("Ann@Example.com ")
    assert store.ensure("ann@example.com") == vid
    assert 10_000_000_000 <= vid < 100_000_000_000
    assert store.email_of(vid) == "ann@example.com"
    assert vid in store and len(store) == 1


def test_a_deleted_contact_created_again_gets_a_new_id() -> None:
    store = Contacts(auto=False, born="2024-01-01T00:00:00.000Z")
    first = store.ensure("ann@example.com")
    assert store.delete("ANN@example.com") == first
    assert first not in store and store.delete("ann@example.com") is None
    again = store.ensure("ann@example.com")
    assert again != first


def test_the_batch_read_finds_by_email_or_id_and_names_what_it_did_not_find() -> None:
    store = Contacts(auto=False, born="2024-01-01T00:00:00.000Z")
    store.put("ann@example.com", 51)
    status, payload = store.batch_read(
        {
            "idProperty": "email",
            "propertiesWithHistory": [],
            "inputs": [{"id": "ANN@example.com"}, {"id": "bob@example.com"}],
        },
        207,
    )
    assert status == 207
    assert [r["id"] for r in payload["results"]] == ["51"]
    assert payload["results"][0]["properties"]["createdate"] == "2024-01-01T00:00:00.000Z"
    assert payload["errors"][0]["context"] == {"ids": ["bob@example.com"]}
    status, payload = store.batch_read({"propertiesWithHistory": [], "inputs": [{"id": "51"}]}, 207)
    assert status == 200 and payload["results"][0]["properties"]["email"] == "ann@example.com"


def test_auto_contacts_create_an_unknown_email_on_read() -> None:
    store = Contacts(auto=True, born="2024-01-01T00:00:00.000Z")
    status, payload = store.batch_read(
        {"idProperty": "email", "propertiesWithHistory": [], "inputs": [{"id": "new@example.com"}]}, 207
    )
    assert status == 200 and payload["results"][0]["properties"]["email"] == "new@example.com"
    assert store.by_email() == {"new@example.com": int(payload["results"][0]["id"])}
