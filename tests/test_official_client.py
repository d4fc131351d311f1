"""HubSpot's own Python client (hubspot-api-client) against the sandbox: every operation the
importer uses, its success and each documented error, parsed into the client's typed models.

The client is generated from HubSpot's published contracts, so an answer it cannot parse (or one it
parses into ``None``, as it does for a status the contract does not declare) is an answer real
HubSpot would not give.  Its paths are the legacy v3 ones; the date-based versions' answers are
parsed by the same models through the client's deserializer.  Requests the importer sends are
checked the same way, as the client's request models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import hubspot
import pytest
from hubspot.crm import contacts as crm_contacts
from hubspot.marketing import events as me

from importer.config import Config
from importer.hubspot import HubSpot
from importer.hubspot_paths import ApiPaths
from importer.models import Batch, Participation, RowRef, State
from importer.sandbox import ALL_SCOPES, DEFAULT_TOKEN, Fault, Sandbox

EVENT = "1001"
BIG = 86097279137  # a contact id of the size real portals issue, past 2^31
KNOWN = {"alice@example.com": BIG, "bob@example.com": BIG + 1}
READER = "contacts-reader"
WHEN = 1730818683000


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    tokens = {DEFAULT_TOKEN: ALL_SCOPES, READER: frozenset({"crm.objects.contacts.read"})}
    with Sandbox(events={EVENT: {"eventName": "Autumn webinar"}}, contacts=KNOWN, tokens=tokens) as sb:
        yield sb


@pytest.fixture(params=[False, True], ids=["lenient", "client_side_validation"])
def validation(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def official(box: Sandbox, validation: bool, token: str = DEFAULT_TOKEN) -> Any:
    """The official client pointed at the sandbox, without retries (each answer is seen as sent)."""
    return hubspot.Client.create(access_token=token, host=box.base_url, retry=0, client_side_validation=validation)


def subscribers(*vids: int) -> Any:
    return me.BatchInputMarketingEventSubscriber(
        inputs=[me.MarketingEventSubscriber(vid=v, interaction_date_time=WHEN, properties={}) for v in vids]
    )


def by_email(*emails: str) -> Any:
    return me.BatchInputMarketingEventEmailSubscriber(
        inputs=[
            me.MarketingEventEmailSubscriber(email=e, interaction_date_time=WHEN, properties={}, contact_properties={})
            for e in emails
        ]
    )


def lookup(*emails: str) -> Any:
    return crm_contacts.BatchReadInputSimplePublicObjectId(
        id_property="email",
        inputs=[crm_contacts.SimplePublicObjectId(id=e) for e in emails],
        properties=["email"],
        properties_with_history=[],
    )


# ---------------------------------------------------------------- success, typed


def test_get_event_parses(box: Sandbox, validation: bool) -> None:
    event = official(box, validation).marketing.events.basic_api.get_by_object_id(EVENT)
    assert isinstance(event, me.MarketingEventPublicReadResponseV2)
    assert (event.object_id, event.event_name) == (EVENT, "Autumn webinar")
    assert event.start_date_time is not None and event.custom_properties == []


def test_the_list_of_events_parses_and_pages(validation: bool) -> None:
    """``importer run --event-name`` reads this list (the official client's ``get_all``)."""
    events = {str(2000 + i): {"eventName": f"Webinar {i}"} for i in range(3)}
    with Sandbox(events=events) as sb:
        api = official(sb, validation).marketing.events.basic_api
        first = api.get_all(limit=2)
        assert isinstance(first, me.CollectionResponseMarketingEventPublicReadResponseV2ForwardPaging)
        assert [(e.object_id, e.event_name) for e in first.results] == [("2000", "Webinar 0"), ("2001", "Webinar 1")]
        rest = api.get_all(limit=2, after=first.paging.next.after)
        assert [e.object_id for e in rest.results] == ["2002"] and rest.paging is None


def test_contacts_batch_read_parses_found_and_partial(box: Sandbox, validation: bool) -> None:
    api = official(box, validation).crm.contacts.batch_api
    found = api.read(lookup("alice@example.com", "bob@example.com"))
    assert isinstance(found, crm_contacts.BatchResponseSimplePublicObject)
    assert {c.properties["email"]: c.id for c in found.results} == {e: str(v) for e, v in KNOWN.items()}
    partial = api.read(lookup("alice@example.com", "nobody@example.com"))
    assert isinstance(partial, crm_contacts.BatchResponseSimplePublicObjectWithErrors)
    assert [c.id for c in partial.results] == [str(BIG)]
    assert partial.num_errors == 1 and partial.errors[0].context == {"ids": ["nobody@example.com"]}


def test_record_by_vid_parses_success_and_partial_failure(box: Sandbox, validation: bool) -> None:
    api = official(box, validation).marketing.events.add_event_attendees_api
    done = api.record_by_contact_id(EVENT, "attend", subscribers(BIG))
    assert isinstance(done, me.BatchResponseSubscriberVidResponse)
    assert [r.vid for r in done.results] == [BIG]
    partial = api.record_by_contact_id(EVENT, "register", subscribers(BIG + 1, 999))
    assert isinstance(partial, me.BatchResponseSubscriberVidResponse), "a partial failure must not be lost"
    assert [r.vid for r in partial.results] == [BIG + 1]
    assert partial.num_errors == 1
    assert isinstance(partial.errors[0], me.StandardError) and partial.errors[0].context == {"ids": ["999"]}


def test_a_207_is_what_the_client_drops(box: Sandbox) -> None:
    """Why the sandbox answers partial failures 200: the contract declares nothing else, and the
    client returns None for a 207 (the body and its errors are lost)."""
    box.inject(Fault("partial_207", path_contains="/attendance/"))
    api = official(box, False).marketing.events.add_event_attendees_api
    assert api.record_by_contact_id(EVENT, "attend", subscribers(BIG, 999)) is None


def test_record_by_email_parses_and_a_bad_address_fails_alone(box: Sandbox, validation: bool) -> None:
    api = official(box, validation).marketing.events.add_event_attendees_api
    done = api.record_by_email(EVENT, "attend", by_email("Alice@Example.com", "fresh@example.com", "no-at-sign"))
    assert isinstance(done, me.BatchResponseSubscriberEmailResponse)
    assert {r.email for r in done.results} == {"alice@example.com", "fresh@example.com"}
    assert all(r.vid > 2**32 for r in done.results)
    assert done.errors[0].context == {"ids": ["no-at-sign"]}


def test_counters_and_breakdown_parse_and_page(box: Sandbox, validation: bool) -> None:
    box.add_contacts([f"p{i}@example.com" for i in range(12)])
    client = official(box, validation)
    vids = sorted(box.contacts.values())
    client.marketing.events.add_event_attendees_api.record_by_contact_id(EVENT, "attend", subscribers(*vids))
    state = client.marketing.events.retrieve_participant_state_api
    counters = state.get_participations_counters_by_marketing_event_id(int(EVENT))
    assert isinstance(counters, me.AttendanceCounters) and counters.attended == len(vids)
    seen: list[str] = []
    after: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": 5} | ({"after": after} if after else {})
        page = state.get_participations_breakdown_by_marketing_event_id(int(EVENT), **kwargs)
        assert isinstance(page, me.CollectionResponseWithTotalParticipationBreakdownForwardPaging)
        assert all(isinstance(item, me.ParticipationBreakdown) for item in page.results)
        seen += [
            item.associations.contact.contact_id
            for item in page.results
            if item.properties.attendance_state == "ATTENDED"
        ]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert sorted(seen) == sorted(str(v) for v in vids)


# ---------------------------------------------------------------- documented errors, typed


def error_of(exc: Exception, validation: bool) -> Any:
    """The error body parsed into the client's ``Error`` model."""
    assert isinstance(exc, me.ApiException)
    client = me.ApiClient(me.Configuration())
    client.configuration.client_side_validation = validation
    return client.deserialize(type("Response", (), {"data": exc.body})(), "Error")


def test_401_unknown_token(box: Sandbox, validation: bool) -> None:
    api = official(box, validation, token="nobody").marketing.events.basic_api
    with pytest.raises(me.exceptions.UnauthorizedException) as err:
        api.get_by_object_id(EVENT)
    error = error_of(err.value, validation)
    assert isinstance(error, me.Error) and error.category == "INVALID_AUTHENTICATION" and error.correlation_id


def test_403_names_the_missing_scope(box: Sandbox, validation: bool) -> None:
    api = official(box, validation, token=READER).marketing.events.add_event_attendees_api
    with pytest.raises(me.exceptions.ForbiddenException) as err:
        api.record_by_contact_id(EVENT, "attend", subscribers(BIG))
    error = error_of(err.value, validation)
    assert error.category == "MISSING_SCOPES"
    assert error.errors[0].context == {"requiredGranularScopes": ["crm.objects.marketing_events.write"]}


@pytest.mark.parametrize("operation", ["event", "counters", "breakdown", "create", "email-create"])
def test_404_unknown_event_on_every_endpoint(box: Sandbox, validation: bool, operation: str) -> None:
    events = official(box, validation).marketing.events
    calls = {
        "event": lambda: events.basic_api.get_by_object_id("4242"),
        "counters": lambda: events.retrieve_participant_state_api.get_participations_counters_by_marketing_event_id(
            4242
        ),
        "breakdown": lambda: events.retrieve_participant_state_api.get_participations_breakdown_by_marketing_event_id(
            4242
        ),
        "create": lambda: events.add_event_attendees_api.record_by_contact_id("4242", "attend", subscribers(BIG)),
        "email-create": lambda: events.add_event_attendees_api.record_by_email("4242", "attend", by_email("a@b.co")),
    }
    with pytest.raises(me.exceptions.NotFoundException) as err:
        calls[operation]()
    assert error_of(err.value, validation).category == "OBJECT_NOT_FOUND"


def test_400_over_100_inputs(box: Sandbox, validation: bool) -> None:
    api = official(box, validation).marketing.events.add_event_attendees_api
    with pytest.raises(me.ApiException) as err:
        api.record_by_contact_id(EVENT, "attend", subscribers(*([BIG] * 101)))
    assert err.value.status == 400
    error = error_of(err.value, validation)
    assert error.category == "VALIDATION_ERROR" and "100" in error.message
    with pytest.raises(crm_contacts.ApiException) as read_err:
        official(box, validation).crm.contacts.batch_api.read(lookup(*[f"x{i}@example.com" for i in range(101)]))
    assert read_err.value.status == 400


@pytest.mark.parametrize(("kind", "policy"), [("rate_limit", "TEN_SECONDLY_ROLLING"), ("daily", "DAILY")])
def test_429_names_its_policy(box: Sandbox, validation: bool, kind: str, policy: str) -> None:
    """HubSpot's 429 body is its own shape (errorType, policyName), not the contract's Error."""
    box.inject(Fault(kind, path_contains=f"/participations/{EVENT}"))
    api = official(box, validation).marketing.events.retrieve_participant_state_api
    with pytest.raises(me.ApiException) as err:
        api.get_participations_counters_by_marketing_event_id(int(EVENT))
    assert err.value.status == 429
    body = json.loads(err.value.body)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", policy)
    assert body["correlationId"] == err.value.headers["X-HubSpot-Correlation-Id"]


# ---------------------------------------------------------------- date-based versions, same models


@pytest.mark.parametrize("version", ["2026-03", "2026-09"])
def test_date_based_answers_parse_into_the_same_models(box: Sandbox, validation: bool, version: str) -> None:
    paths = ApiPaths(version)
    parser = me.ApiClient(me.Configuration())
    parser.configuration.client_side_validation = validation
    contacts_parser = crm_contacts.ApiClient(crm_contacts.Configuration())
    contacts_parser.configuration.client_side_validation = validation

    def parsed(client: Any, response: httpx.Response, model: str) -> Any:
        return client.deserialize(type("Response", (), {"data": response.text})(), model)

    auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    with httpx.Client(base_url=box.base_url, headers=auth, timeout=5) as http:
        event = http.get(paths.event(EVENT))
        create = http.post(
            paths.attendance(EVENT, "cancel", by_email=False),
            json={
                "inputs": [
                    {"vid": BIG, "interactionDateTime": WHEN, "properties": {}},
                    {"vid": 5, "interactionDateTime": WHEN},
                ]
            },
        )
        email = http.post(
            paths.attendance(EVENT, "cancel", by_email=True),
            json={"inputs": [{"email": "bob@example.com", "interactionDateTime": WHEN}]},
        )
        counters = http.get(paths.counters(EVENT))
        breakdown = http.get(paths.breakdown(EVENT), params={"limit": 2})
        read = http.post(paths.contacts_batch_read, json=lookup_json("alice@example.com", "nobody@example.com"))
    assert [r.status_code for r in (event, create, email, counters, breakdown)] == [200] * 5
    assert parsed(parser, event, "MarketingEventPublicReadResponseV2").object_id == EVENT
    recorded = parsed(parser, create, "BatchResponseSubscriberVidResponse")
    assert [r.vid for r in recorded.results] == [BIG] and recorded.errors[0].context == {"ids": ["5"]}
    assert parsed(parser, email, "BatchResponseSubscriberEmailResponse").results[0].vid == BIG + 1
    assert parsed(parser, counters, "AttendanceCounters").cancelled >= 1
    page = parsed(parser, breakdown, "CollectionResponseWithTotalParticipationBreakdownForwardPaging")
    assert len(page.results) == 2 and page.paging.next.after
    model = (
        "BatchResponseSimplePublicObjectWithErrors" if read.status_code == 207 else "BatchResponseSimplePublicObject"
    )
    contacts = parsed(contacts_parser, read, model)
    assert [c.id for c in contacts.results] == [str(BIG)]
    assert read.status_code == (200 if version == "2026-09" else 207)


def lookup_json(*emails: str) -> dict[str, Any]:
    return {
        "idProperty": "email",
        "inputs": [{"id": e} for e in emails],
        "properties": ["email"],
        "propertiesWithHistory": [],
    }


# ---------------------------------------------------------------- what the importer sends


class Recording(httpx.BaseTransport):
    """A real HTTP transport that keeps each request body."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.url.path, body))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("version", ["v3", "2026-03", "2026-09"])
def test_every_request_the_importer_sends_fits_the_clients_request_models(box: Sandbox, version: str) -> None:
    recording = Recording()
    cfg = replace(Config(token=DEFAULT_TOKEN, base_url=box.base_url), api_version=version)
    items = [
        Participation(EVENT, State.REGISTER, BIG, "alice@example.com", WHEN, (RowRef("a.csv", 2),)),
        Participation(EVENT, State.REGISTER, None, "new-person@example.com", WHEN, (RowRef("a.csv", 3),)),
    ]
    with HubSpot(cfg, transport=recording) as client:
        client.read_contacts(["alice@example.com"])
        assert client.record(Batch("b1", EVENT, State.REGISTER, False, (items[0],))).recorded
        assert client.record(Batch("b2", EVENT, State.REGISTER, True, (items[1],))).recorded
    models = {"read": (crm_contacts, "BatchReadInputSimplePublicObjectId"),
              "create": (me, "BatchInputMarketingEventSubscriber"),
              "email-create": (me, "BatchInputMarketingEventEmailSubscriber")}  # fmt: skip
    checked = set()
    for path, body in recording.sent:
        package, model = models[path.rsplit("/", 1)[-1]]
        parser = package.ApiClient(package.Configuration())
        parser.configuration.client_side_validation = True
        parsed = parser.deserialize(type("Response", (), {"data": json.dumps(body)})(), model)
        assert parser.sanitize_for_serialization(parsed) == body
        checked.add(model)
    assert checked == {m for _, m in models.values()}
