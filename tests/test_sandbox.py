"""The sandbox answers like HubSpot over real HTTP (httpx against a started server on 127.0.0.1)."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.sandbox import ALL_SCOPES, DEFAULT_TOKEN, Fault, Sandbox, serve

EVENT = "123"
CREATE = f"/marketing/v3/marketing-events/{EVENT}/attendance/attend/create"
EMAIL_CREATE = f"/marketing/v3/marketing-events/{EVENT}/attendance/register/email-create"
READ = "/crm/v3/objects/contacts/batch/read"
BREAKDOWN = f"/marketing/v3/marketing-events/participations/{EVENT}/breakdown"
COUNTERS = f"/marketing/v3/marketing-events/participations/{EVENT}"
RL_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
)
CONTACTS = {"a@example.com": 1501, "b@example.com": 1502, "c@example.com": 1503}


#: One TLS context for every client: building one per client costs ~40 ms (plain HTTP here anyway).
_TLS = ssl.create_default_context()


class FakeClock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def subscribers(*vids: Any, when: Any = 1730818683000) -> dict[str, Any]:
    return {"inputs": [{"vid": vid, "interactionDateTime": when, "properties": {}} for vid in vids]}


def lookup(*emails: str) -> dict[str, Any]:
    """A contacts batch read by email, shaped as the contract requires."""
    return {
        "idProperty": "email",
        "inputs": [{"id": e} for e in emails],
        "properties": ["email"],
        "propertiesWithHistory": [],
    }


def client(sb: Sandbox, token: str | None = DEFAULT_TOKEN, **kwargs: Any) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("verify", _TLS)
    return httpx.Client(base_url=sb.base_url, headers=headers, **kwargs)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(events=[EVENT], contacts=CONTACTS) as sandbox:
        yield sandbox


@pytest.fixture
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    with client(sb) as c:
        yield c


# ---------------------------------------------------------------- auth and scopes


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_unknown_token_is_401_and_not_counted(sb: Sandbox, token: str | None) -> None:
    with client(sb, token) as c:
        r = c.get(f"/marketing/v3/marketing-events/{EVENT}")
    assert r.status_code == 401
    body = r.json()
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert all(name in r.headers for name in RL_HEADERS)
    assert [(log.status, log.token_ok) for log in sb.requests] == [(401, False)]


def test_revoked_token_answers_401(sb: Sandbox, api: httpx.Client) -> None:
    assert api.get(f"/marketing/v3/marketing-events/{EVENT}").status_code == 200
    sb.revoke(DEFAULT_TOKEN)
    r = api.post(CREATE, json=subscribers(1501))
    assert r.status_code == 401
    assert r.json()["category"] == "INVALID_AUTHENTICATION"
    assert sb.participations(EVENT) == []


def test_missing_scope_is_403_naming_the_scope() -> None:
    with Sandbox(events=[EVENT], tokens={"reader": frozenset({"crm.objects.contacts.read"})}, contacts=CONTACTS) as sb:
        with client(sb, "reader") as c:
            r = c.post(CREATE, json=subscribers(1501))
            ok = c.post(READ, json=lookup("a@example.com"))
    assert r.status_code == 403
    body = r.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.marketing_events.write"]
    assert ok.status_code == 200
    assert sb.participations(EVENT) == []


def test_all_scopes_and_default_token() -> None:
    assert DEFAULT_TOKEN == "sandbox-token"
    assert ALL_SCOPES == {
        "crm.objects.marketing_events.read",
        "crm.objects.marketing_events.write",
        "crm.objects.contacts.read",
    }


# ---------------------------------------------------------------- events and attendance create


def test_only_created_events_exist_on_every_endpoint() -> None:
    sb = Sandbox(contacts=CONTACTS, events={"7": {"eventName": "Seeded"}})
    sb.add_event("42", name="Launch webinar", start="2024-11-05T15:00:00Z")
    email = {"inputs": [{"email": "a@example.com", "interactionDateTime": 1}]}
    with sb, client(sb) as c:
        known = c.get("/marketing/v3/marketing-events/42")
        seeded = c.get("/marketing/v3/marketing-events/7")
        answers = {
            "event": c.get("/marketing/v3/marketing-events/43"),
            "counters": c.get("/marketing/v3/marketing-events/participations/43"),
            "breakdown": c.get("/marketing/v3/marketing-events/participations/43/breakdown"),
            "create": c.post("/marketing/v3/marketing-events/43/attendance/attend/create", json=subscribers(1501)),
            "email-create": c.post("/marketing/v3/marketing-events/43/attendance/attend/email-create", json=email),
            "dated": c.get("/marketing/marketing-events/2026-09/participations/43"),
        }
    assert known.status_code == 200
    assert known.json()["eventName"] == "Launch webinar"
    assert known.json()["endDateTime"] == "2024-11-05T16:00:00Z"
    assert seeded.json()["eventName"] == "Seeded"
    assert {name: (r.status_code, r.json()["category"]) for name, r in answers.items()} == {
        name: (404, "OBJECT_NOT_FOUND") for name in answers
    }
    assert sb.participations("43") == []
    assert "a@example.com" in sb.contacts and len(sb.contacts) == len(CONTACTS)


def test_events_given_as_ids_get_a_default_name_and_bad_ids_are_refused() -> None:
    with Sandbox(events=["1001", "1002"]) as sb, client(sb) as c:
        names = [c.get(f"/marketing/v3/marketing-events/{i}").json()["eventName"] for i in ("1001", "1002")]
    assert names == ["Sandbox event 1001", "Sandbox event 1002"]
    for bad in ("abc", str(2**63)):
        with pytest.raises(ValueError):
            Sandbox(events=[bad])


def test_event_ids_past_int64_are_400_where_the_contract_says_int64(api: httpx.Client) -> None:
    too_big = str(2**63)
    assert api.get(f"/marketing/v3/marketing-events/participations/{too_big}").status_code == 400
    assert api.get(f"/marketing/v3/marketing-events/participations/{too_big}/breakdown").status_code == 400
    assert api.get("/marketing/v3/marketing-events/participations/abc").status_code == 400
    assert api.get(f"/marketing/v3/marketing-events/{too_big}").status_code == 404


def test_create_records_and_answers_200(sb: Sandbox, api: httpx.Client) -> None:
    r = api.post(CREATE, json=subscribers(1501, 1502))
    assert r.status_code == 200
    assert sorted(item["vid"] for item in r.json()["results"]) == [1501, 1502]
    assert "errors" not in r.json()
    assert sb.participations(EVENT) == [
        {"vid": 1501, "email": "a@example.com", "state": "attend", "occurred_at": 1730818683000},
        {"vid": 1502, "email": "b@example.com", "state": "attend", "occurred_at": 1730818683000},
    ]
    assert sb.requests[-1].inputs == 2


def test_more_than_100_inputs_is_400_and_nothing_recorded(sb: Sandbox, api: httpx.Client) -> None:
    r = api.post(CREATE, json=subscribers(*([1501] * 101)))
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    assert sb.participations(EVENT) == []


@pytest.mark.parametrize(
    "body",
    [
        subscribers(1501, "1502"),
        subscribers(1501, -3),
        subscribers(1501, True),
        subscribers(1501, when="2024-11-05"),
        subscribers(1501, 2**63),
        {"inputs": [{"vid": 1501, "interactionDateTime": 1, "properties": {"note": 3}}]},
        {"inputs": [{"vid": 1501}]},
        {"nope": []},
    ],
)
def test_invalid_input_rejects_the_whole_batch(sb: Sandbox, api: httpx.Client, body: dict[str, Any]) -> None:
    r = api.post(CREATE, json=body)
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    assert sb.participations(EVENT) == []


def test_bad_json_body_is_400(api: httpx.Client) -> None:
    r = api.post(CREATE, content=b"{not json", headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["category"]) == (400, "VALIDATION_ERROR")


def test_bad_state_in_path_is_400(api: httpx.Client) -> None:
    r = api.post(f"/marketing/v3/marketing-events/{EVENT}/attendance/attended/create", json=subscribers(1501))
    assert r.status_code == 400


def test_inputs_without_properties_are_accepted(sb: Sandbox, api: httpx.Client) -> None:
    by_vid = api.post(CREATE, json={"inputs": [{"vid": 1501, "interactionDateTime": 1}]})
    by_email = api.post(EMAIL_CREATE, json={"inputs": [{"email": "b@example.com", "interactionDateTime": 2}]})
    assert (by_vid.status_code, by_email.status_code) == (200, 200)
    assert {(p["vid"], p["state"]) for p in sb.participations(EVENT)} == {(1501, "attend"), (1502, "register")}


def test_unknown_vids_give_partial_success_with_ids_as_the_contract_declares(sb: Sandbox, api: httpx.Client) -> None:
    r = api.post(CREATE, json=subscribers(1501, 999, 998))
    assert r.status_code == 200
    body = r.json()
    assert [item["vid"] for item in body["results"]] == [1501]
    assert body["numErrors"] == len(body["errors"]) == 1
    ids = [i for error in body["errors"] for i in error["context"]["ids"]]
    assert sorted(ids) == ["998", "999"]
    assert [p["vid"] for p in sb.participations(EVENT)] == [1501]


def test_partial_207_fault_answers_multi_status_and_still_applies(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("partial_207", path_contains="/attendance/"))
    partial = api.post(CREATE, json=subscribers(1501, 999))
    sb.inject(Fault("partial_207", path_contains="/attendance/"))
    complete = api.post(CREATE, json=subscribers(1502))
    assert partial.status_code == 207
    assert partial.json()["errors"][0]["context"]["ids"] == ["999"]
    assert complete.status_code == 200
    assert [p["vid"] for p in sb.participations(EVENT)] == [1501, 1502]


def test_one_malformed_email_fails_alone(sb: Sandbox, api: httpx.Client) -> None:
    inputs = [{"email": e, "interactionDateTime": 5} for e in ("a@example.com", "not-an-email", "x@y")]
    r = api.post(EMAIL_CREATE, json={"inputs": inputs})
    assert r.status_code == 200
    body = r.json()
    assert [item["email"] for item in body["results"]] == ["a@example.com"]
    assert body["errors"][0]["context"]["ids"] == ["not-an-email", "x@y"]
    assert [p["email"] for p in sb.participations(EVENT)] == ["a@example.com"]
    bad_props = [{"email": "b@example.com", "interactionDateTime": 5, "contactProperties": {"n": 1}}]
    assert api.post(EMAIL_CREATE, json={"inputs": bad_props}).status_code == 400


def test_rewrites_are_counted_and_keep_the_last_time(sb: Sandbox, api: httpx.Client) -> None:
    api.post(CREATE, json=subscribers(1501, when=1))
    api.post(CREATE, json=subscribers(1501, when=2))
    api.post(f"/marketing/v3/marketing-events/{EVENT}/attendance/register/create", json=subscribers(1501))
    assert sb.write_counts(EVENT) == {(1501, "attend"): 2, (1501, "register"): 1}
    attend = [p for p in sb.participations(EVENT) if p["state"] == "attend"]
    assert attend[0]["occurred_at"] == 2


def test_poison_vid_fails_the_whole_batch_without_naming_it() -> None:
    with Sandbox(events=[EVENT], contacts=CONTACTS, poison_vids=[1502]) as sb, client(sb) as c:
        bad = c.post(CREATE, json=subscribers(1501, 1502))
        good = c.post(CREATE, json=subscribers(1501, 1503))
    assert bad.status_code == 400
    assert "1502" not in bad.text
    assert good.status_code == 200
    assert [p["vid"] for p in sb.participations(EVENT)] == [1501, 1503]


def test_lose_participation_forgets_it(sb: Sandbox, api: httpx.Client) -> None:
    api.post(CREATE, json=subscribers(1501, 1502))
    sb.lose_participation(EVENT, 1501)
    assert [p["vid"] for p in sb.participations(EVENT)] == [1502]
    assert api.get(COUNTERS).json()["attended"] == 1


# ---------------------------------------------------------------- contacts


def test_batch_read_by_email_all_found_is_200(api: httpx.Client) -> None:
    r = api.post(READ, json=lookup("A@Example.com", "b@example.com"))
    assert r.status_code == 200
    found = {item["properties"]["email"]: item["id"] for item in r.json()["results"]}
    assert found == {"a@example.com": "1501", "b@example.com": "1502"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (READ, 207),
        ("/crm/objects/2026-03/contacts/batch/read", 207),
        ("/crm/objects/2026-09/contacts/batch/read", 200),
    ],
)
def test_batch_read_unknown_email_is_partial_and_not_created(
    sb: Sandbox, api: httpx.Client, path: str, status: int
) -> None:
    """207 where the version's contract declares it (v3, 2026-03); 2026-09 declares only 200."""
    r = api.post(path, json=lookup("a@example.com", "nobody@example.com"))
    assert r.status_code == status
    assert r.json()["errors"][0]["context"]["ids"] == ["nobody@example.com"]
    assert r.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert "nobody@example.com" not in sb.contacts


@pytest.mark.parametrize(
    "change",
    [
        {"propertiesWithHistory": None},
        {"propertiesWithHistory": ["email"], "inputs": [{"id": f"p{i}@example.com"} for i in range(51)]},
        {"properties": "email"},
    ],
)
def test_batch_read_refuses_what_hubspot_refuses(api: httpx.Client, change: dict[str, Any]) -> None:
    body = lookup("a@example.com") | change
    if body["propertiesWithHistory"] is None:
        del body["propertiesWithHistory"]
    assert (api.post(READ, json=body).json()["category"]) == "VALIDATION_ERROR"
    fifty = lookup(*[f"p{i}@example.com" for i in range(50)]) | {"propertiesWithHistory": ["email"]}
    assert api.post(READ, json=fifty).status_code == 207


def test_batch_read_by_id_when_no_id_property(api: httpx.Client) -> None:
    r = api.post(
        READ, json={"inputs": [{"id": "1503"}, {"id": "77"}], "properties": ["email"], "propertiesWithHistory": []}
    )
    assert r.status_code == 207
    assert [item["properties"]["email"] for item in r.json()["results"]] == ["c@example.com"]
    assert r.json()["errors"][0]["context"]["ids"] == ["77"]


def test_batch_read_over_100_is_400(api: httpx.Client) -> None:
    assert api.post(READ, json=lookup(*[f"p{i}@example.com" for i in range(101)])).status_code == 400


def test_auto_contacts_makes_every_email_exist_with_a_stable_vid() -> None:
    body = lookup("new@example.com")
    vids = []
    for _ in range(2):
        with Sandbox(events=[EVENT], auto_contacts=True) as sb, client(sb) as c:
            first = c.post(READ, json=body).json()["results"][0]["id"]
            again = c.post(READ, json=body).json()["results"][0]["id"]
            assert first == again
            assert c.post(CREATE, json=subscribers(int(first))).status_code == 200
            vids.append(first)
    assert vids[0] == vids[1]
    assert 2**32 < int(vids[0]) < 2**63, "ids of the size real portals issue, so an int32 mistake shows"


def test_email_create_creates_missing_contacts(sb: Sandbox, api: httpx.Client) -> None:
    inputs: list[dict[str, Any]] = [
        {"email": email, "interactionDateTime": 5, "properties": {}, "contactProperties": {}}
        for email in ("a@example.com", "Fresh@Example.com")
    ]
    r = api.post(EMAIL_CREATE, json={"inputs": inputs})
    assert r.status_code == 200
    results = {item["email"]: item["vid"] for item in r.json()["results"]}
    assert results["a@example.com"] == 1501
    assert sb.contacts["fresh@example.com"] == results["fresh@example.com"]
    assert {(p["email"], p["state"]) for p in sb.participations(EVENT)} == {
        ("a@example.com", "register"),
        ("fresh@example.com", "register"),
    }


def test_add_contacts_keeps_existing_vids(sb: Sandbox) -> None:
    added = sb.add_contacts(["A@example.com", "z@example.com"])
    assert added["A@example.com"] == 1501
    assert added["z@example.com"] not in CONTACTS.values()


# ---------------------------------------------------------------- participations read side


def test_breakdown_pages_and_filters(sb: Sandbox, api: httpx.Client) -> None:
    sb.add_contacts([f"p{i}@example.com" for i in range(12)])
    vids = sorted(sb.contacts.values())
    api.post(CREATE, json=subscribers(*vids))
    api.post(f"/marketing/v3/marketing-events/{EVENT}/attendance/register/create", json=subscribers(1501))

    first = api.get(BREAKDOWN).json()
    assert (first["total"], len(first["results"])) == (16, 10)
    seen = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 6} | ({"after": after} if after else {})
        page = api.get(BREAKDOWN, params=params).json()
        seen += [
            (item["associations"]["contact"]["contactId"], item["properties"]["attendanceState"])
            for item in page["results"]
        ]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert not after.isdigit(), "cursors are opaque strings, as HubSpot's are"
    assert len(seen) == len(set(seen)) == 16

    registered = api.get(BREAKDOWN, params={"state": "REGISTERED"}).json()
    assert [r["associations"]["contact"]["contactId"] for r in registered["results"]] == ["1501"]
    by_email = api.get(BREAKDOWN, params={"contactIdentifier": "A@example.com", "limit": 100}).json()
    assert {r["properties"]["attendanceState"] for r in by_email["results"]} == {"REGISTERED", "ATTENDED"}
    by_id = api.get(BREAKDOWN, params={"contactIdentifier": "1502"}).json()
    assert by_id["total"] == 1
    assert by_id["results"][0]["properties"]["occurredAt"] == 1730818683000
    assert len(api.get(BREAKDOWN, params={"limit": 100}).json()["results"]) == 16
    assert api.get(BREAKDOWN, params={"limit": 101}).status_code == 400
    assert api.get(BREAKDOWN, params={"after": "17"}).status_code == 400
    assert api.get(BREAKDOWN, params={"state": "SLEEPING"}).status_code == 400

    counters = api.get(COUNTERS).json()
    assert counters == {"attended": 15, "registered": 1, "cancelled": 0, "noShows": 0}


@settings(max_examples=10, deadline=None)
@given(count=st.integers(min_value=0, max_value=25), limit=st.integers(min_value=1, max_value=12))
def test_breakdown_paging_returns_everything_once(count: int, limit: int) -> None:
    with Sandbox(events=[EVENT]) as sb, client(sb) as c:
        vids = list(sb.add_contacts([f"x{i}@example.com" for i in range(count)]).values())
        if vids:
            c.post(CREATE, json=subscribers(*vids))
        seen: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        while True:
            page = c.get(BREAKDOWN, params=params).json()
            seen += [r["associations"]["contact"]["contactId"] for r in page["results"]]
            if "paging" not in page:
                break
            params = {"limit": limit, "after": page["paging"]["next"]["after"]}
    assert sorted(seen) == sorted(str(v) for v in vids)


# ---------------------------------------------------------------- limits


def test_ten_secondly_limit_with_headers_and_window_slide() -> None:
    clock = FakeClock()
    with Sandbox(events=[EVENT], rate_limit_max=5, rate_limit_interval_ms=500, clock=clock) as sb, client(sb) as c:
        answers = [c.get(f"/marketing/v3/marketing-events/{EVENT}") for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in answers[:5]] == ["4", "3", "2", "1", "0"]
        limited = answers[-1]
        assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert limited.json()["errorType"] == "RATE_LIMIT"
        assert limited.headers["X-HubSpot-RateLimit-Max"] == "5"
        assert limited.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "500"
        assert "Retry-After" not in limited.headers
        clock.now += 0.6
        assert c.get(f"/marketing/v3/marketing-events/{EVENT}").status_code == 200
        assert sb.state()["http_429"] == 1


def test_limit_is_per_token_and_errors_count() -> None:
    tokens = {"one": ALL_SCOPES, "two": ALL_SCOPES}
    with Sandbox(events=[EVENT], tokens=tokens, rate_limit_max=2, clock=FakeClock()) as sb:
        with client(sb, "one") as one, client(sb, "two") as two:
            assert one.post(CREATE, json=subscribers(999999)).status_code == 200
            assert one.get("/marketing/v3/marketing-events/abc").status_code == 404
            assert one.get(COUNTERS).status_code == 429
            assert two.get(COUNTERS).status_code == 200


def test_external_load_and_retry_after() -> None:
    clock = FakeClock()
    with (
        Sandbox(events=[EVENT], rate_limit_max=10, external_load=8, retry_after=True, clock=clock) as sb,
        client(sb) as c,
    ):
        first = c.get(COUNTERS)
        assert first.headers["X-HubSpot-RateLimit-Remaining"] == "1"
        c.get(COUNTERS)
        limited = c.get(COUNTERS)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "10"


def test_daily_headers_can_be_left_out_as_for_oauth_tokens() -> None:
    with Sandbox(events=[EVENT], daily_limit=2, daily_headers=False) as sb, client(sb) as c:
        answers = [c.get(COUNTERS) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].json()["policyName"] == "DAILY"
    assert all("X-HubSpot-RateLimit-Max" in r.headers for r in answers)
    assert not any(h.startswith("x-hubspot-ratelimit-daily") for r in answers for h in r.headers)


def test_daily_limit() -> None:
    with Sandbox(events=[EVENT], daily_limit=3) as sb, client(sb) as c:
        answers = [c.get(COUNTERS) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[2].headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert answers[3].json()["policyName"] == "DAILY"


# ---------------------------------------------------------------- faults


def test_status_fault_json_and_html(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("status", path_contains="/attendance/", status=500))
    sb.inject(Fault("status", path_contains="/attendance/", status=503))
    first = api.post(CREATE, json=subscribers(1501))
    second = api.post(CREATE, json=subscribers(1501))
    third = api.post(CREATE, json=subscribers(1501))
    assert (first.status_code, first.json()["status"]) == (500, "error")
    assert second.status_code == 503
    assert second.headers["Content-Type"].startswith("text/html")
    assert third.status_code == 200
    assert sb.write_counts(EVENT) == {(1501, "attend"): 1}


def test_fault_after_times_and_path(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("status", path_contains="/breakdown", after=1, times=2, status=502))
    codes = [api.get(BREAKDOWN).status_code for _ in range(4)]
    assert api.get(COUNTERS).status_code == 200
    assert codes == [200, 502, 502, 200]


def test_disconnect_is_not_applied(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("disconnect"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(CREATE, json=subscribers(1501))
    assert sb.participations(EVENT) == []
    assert sb.requests[-1].status == 0
    assert api.post(CREATE, json=subscribers(1501)).status_code == 200


def test_disconnect_mid_body_is_applied(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("disconnect_mid"))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(CREATE, json=subscribers(1501))
    assert [p["vid"] for p in sb.participations(EVENT)] == [1501]


def test_slow_is_applied_even_when_the_client_gives_up(sb: Sandbox) -> None:
    sb.inject(Fault("slow", delay_s=0.5))
    with client(sb, timeout=httpx.Timeout(5, read=0.1)) as c, pytest.raises(httpx.ReadTimeout):
        c.post(CREATE, json=subscribers(1501))
    assert [p["vid"] for p in sb.participations(EVENT)] == [1501]
    sb.inject(Fault("slow", delay_s=0.2))
    with client(sb) as c:
        started = time.monotonic()
        assert c.get(COUNTERS).json()["attended"] == 1
        assert time.monotonic() - started >= 0.2


def test_bad_json_is_not_applied(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("bad_json"))
    r = api.post(CREATE, json=subscribers(1501))
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()
    assert sb.participations(EVENT) == []


def test_no_results_is_applied(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("no_results"))
    r = api.post(CREATE, json=subscribers(1501, 999))
    assert r.status_code == 200
    assert "results" not in r.json()
    assert [p["vid"] for p in sb.participations(EVENT)] == [1501]


def test_rate_limit_faults(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("rate_limit"))
    sb.inject(Fault("rate_limit_retry_after", retry_after=2))
    sb.inject(Fault("daily"))
    plain, timed, daily = (api.post(CREATE, json=subscribers(1501)) for _ in range(3))
    assert plain.status_code == timed.status_code == daily.status_code == 429
    assert plain.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert not any(name.lower().startswith("x-hubspot-ratelimit") for name in plain.headers)
    assert "Retry-After" not in plain.headers
    assert timed.headers["Retry-After"] == "2"
    assert daily.json()["policyName"] == "DAILY"
    assert sb.participations(EVENT) == []


def test_unauthorized_and_bad_batch_faults(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("unauthorized"))
    sb.inject(Fault("bad_batch"))
    unauthorized = api.post(CREATE, json=subscribers(1501))
    bad = api.post(CREATE, json=subscribers(1501, 1502))
    assert unauthorized.status_code == 401
    assert unauthorized.json()["category"] == "INVALID_AUTHENTICATION"
    assert (bad.status_code, bad.json()["category"]) == (400, "VALIDATION_ERROR")
    assert "1501" not in bad.text and "1502" not in bad.text
    assert sb.participations(EVENT) == []


def test_drop_one_silently_loses_the_first(sb: Sandbox, api: httpx.Client) -> None:
    sb.inject(Fault("drop_one"))
    r = api.post(CREATE, json=subscribers(1501, 1502))
    assert r.status_code == 200
    assert [item["vid"] for item in r.json()["results"]] == [1502]
    assert "errors" not in r.json()
    assert [p["vid"] for p in sb.participations(EVENT)] == [1502]


def test_fault_rejects_bad_fields() -> None:
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault("status", times=0)


# ---------------------------------------------------------------- control endpoints and lifecycle


def test_control_endpoints_drive_a_sandbox_without_auth(sb: Sandbox) -> None:
    with httpx.Client(base_url=sb.base_url, timeout=5, verify=_TLS) as control, client(sb) as api:
        added = control.post("/_sandbox/contacts", json={"emails": ["new@example.com"]}).json()["contacts"]
        assert control.post("/_sandbox/faults", json={"kind": "status", "status": 504}).status_code == 201
        assert control.post("/_sandbox/faults", json={"kind": "nope"}).status_code == 400
        assert control.post("/_sandbox/events", json={"objectId": "77", "eventName": "Demo"}).status_code == 201
        assert api.get(COUNTERS).status_code == 504
        assert api.get("/marketing/v3/marketing-events/77").json()["eventName"] == "Demo"
        assert api.post(CREATE, json=subscribers(added["new@example.com"])).status_code == 200
        assert api.get(COUNTERS, headers={"Authorization": "Bearer wrong"}).status_code == 401
        state = control.get("/_sandbox/state").json()
    assert state["participations"][EVENT][0]["email"] == "new@example.com"
    assert state["events"]["77"]["eventName"] == "Demo" and EVENT in state["events"]
    assert state["write_counts"][EVENT] == [{"vid": added["new@example.com"], "state": "attend", "count": 1}]
    assert state["requests"] == 4
    assert state["http_429"] == 0
    assert len(sb.requests) == 4


def test_a_deleted_contact_is_gone_and_created_again_under_a_new_id(sb: Sandbox, api: httpx.Client) -> None:
    """As in HubSpot: a deleted contact's id is unknown to every endpoint and never issued again."""
    assert api.post(CREATE, json=subscribers(1501)).status_code == 200
    with httpx.Client(base_url=sb.base_url, timeout=5, verify=_TLS) as control:
        deleted = control.request("DELETE", "/_sandbox/contacts", json={"emails": ["A@example.com", "x@example.com"]})
    assert deleted.json() == {"deleted": {"a@example.com": 1501}}
    assert sb.participations(EVENT) == []
    read = api.post(READ, json=lookup("a@example.com"))
    assert (read.status_code, read.json()["results"]) == (207, [])
    answer = api.post(CREATE, json=subscribers(1501, 1502))
    assert answer.status_code == 200
    body = answer.json()
    assert [item["vid"] for item in body["results"]] == [1502]
    assert body["numErrors"] == 1
    assert (body["errors"][0]["category"], body["errors"][0]["context"]["ids"]) == ("OBJECT_NOT_FOUND", ["1501"])
    again = sb.add_contacts(["a@example.com"])["a@example.com"]
    assert again != 1501
    assert [item["id"] for item in api.post(READ, json=lookup("a@example.com")).json()["results"]] == [str(again)]


def test_concurrent_writes_are_all_counted(sb: Sandbox) -> None:
    def hammer() -> None:
        with client(sb) as c:
            for _ in range(10):
                assert c.post(CREATE, json=subscribers(1501, 1502)).status_code == 200

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sb.write_counts(EVENT) == {(1501, "attend"): 60, (1502, "attend"): 60}


def test_stop_cuts_kept_alive_connections_quickly() -> None:
    sb = Sandbox(events=[EVENT])
    sb.start()
    with client(sb) as c:
        assert c.get(COUNTERS).status_code == 200
        started = time.monotonic()
        sb.stop()
        sb.stop()
        assert time.monotonic() - started < 1
        with pytest.raises(httpx.TransportError):
            c.get(COUNTERS)


def test_serve_main_rejects_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve.main(["--rate-limit", "fast"])
    assert exit_info.value.code == 2
    bad = tmp_path / "contacts.csv"
    bad.write_text("email,vid\na@example.com,12\nb@example.com,oops\n")
    assert serve.main(["--contacts-file", str(bad), "--port", "0"]) == 2
    assert "contacts file" in capsys.readouterr().err


def test_serve_main_refuses_bad_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve.main(["--event", "spring"])
    assert exit_info.value.code == 2
    bad = tmp_path / "events.csv"
    bad.write_text("objectId,eventName\n1001,Autumn\nspring,Oops\n")
    assert serve.main(["--events-file", str(bad), "--port", "0"]) == 2
    assert "events file" in capsys.readouterr().err
    times = tmp_path / "times.csv"
    times.write_text("1001,Autumn,next tuesday\n")
    assert serve.main(["--events-file", str(times), "--port", "0"]) == 2
    assert "ISO 8601" in capsys.readouterr().err


def test_serve_runs_until_sigterm(tmp_path: Path) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("email,vid\nA@example.com,4242\n")
    events = tmp_path / "events.csv"
    events.write_text("objectId,eventName,startDateTime\n1003,Winter summit,2025-01-20T09:00:00Z\n")
    args = ["--port", "0", "--rate-limit", "20/2000", "--contacts-file", str(contacts), "--token", "tok"]
    args += ["--event", "1001", "--event", "1002=Spring webinar", "--events-file", str(events), "--no-daily-headers"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer.sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        token = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert token == "tok"
        r = httpx.post(
            base_url + READ, json=lookup("a@example.com"), headers={"Authorization": "Bearer tok"}, timeout=5
        )
        assert r.json()["results"][0]["id"] == "4242"
        assert r.headers["X-HubSpot-RateLimit-Max"] == "20"
        assert "X-HubSpot-RateLimit-Daily" not in r.headers
        auth = {"Authorization": "Bearer tok"}
        names = {
            i: httpx.get(f"{base_url}/marketing/v3/marketing-events/{i}", headers=auth, timeout=5)
            .json()
            .get("eventName")
            for i in ("1001", "1002", "1003", "1004")
        }
        assert names == {"1001": "Sandbox event 1001", "1002": "Spring webinar", "1003": "Winter summit", "1004": None}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert proc.stdout.read() == ""
        assert proc.stderr is not None
        assert "1002 (Spring webinar)" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
