"""Pledges through the routes: signed-in and anonymous donors, access tokens, idempotency, reads."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from harambee import aws
from tests.unit.donations.conftest import ADMIN, DONOR, OTHER, call, complete, create_pledge, pledge_body
from tests.unit.kernel import harness


def test_given_a_signed_in_donor_when_pledging_then_a_pending_pledge_and_its_event_are_stored(
    donations_table: str,
) -> None:
    reply = create_pledge(message="Get well soon", donorName="Rahim")

    pledge = reply.data
    assert (pledge["status"], pledge["amount"], pledge["currency"]) == ("pending", 150_000, "BDT")
    assert (pledge["donorId"], pledge["donorEmail"], pledge["accessToken"]) == (
        "u-donor",
        "donor@example.org",
        None,
    )
    assert reply.headers["location"] == f"/api/pledges/{pledge['pledgeId']}"
    [event] = harness.outbox_events(donations_table, "pledge.created")
    assert event["data"] == {
        "pledgeId": pledge["pledgeId"],
        "campaignId": "c-1",
        "donorId": "u-donor",
        "donorEmail": "donor@example.org",
        "donorName": "Rahim",
        "isAnonymous": False,
        "amount": 150_000,
        "currency": "BDT",
        "message": "Get well soon",
        "locale": None,
        "createdAt": event["data"]["createdAt"],
    }
    assert datetime.fromisoformat(event["data"]["createdAt"]) == datetime.fromisoformat(pledge["createdAt"])


def test_given_an_anonymous_donor_when_pledging_then_only_their_token_reads_it_back(
    donations_table: str,
) -> None:
    reply = create_pledge(caller=None, donorName="Karim", isAnonymous=True)
    pledge_id, token = reply.data["pledgeId"], reply.data["accessToken"]
    assert token
    assert reply.data["donorId"] is None

    with_token = call("GET", f"/api/pledges/{pledge_id}", headers={"X-Pledge-Token": token})
    wrong_token = call("GET", f"/api/pledges/{pledge_id}", headers={"X-Pledge-Token": "not-the-token"})
    no_token = call("GET", f"/api/pledges/{pledge_id}")
    someone = call("GET", f"/api/pledges/{pledge_id}", caller=OTHER)
    admin = call("GET", f"/api/pledges/{pledge_id}", caller=ADMIN)

    assert (with_token.status, with_token.data["donorEmail"]) == (200, "anon@example.org")
    assert "accessToken" not in with_token.data
    assert "accessTokenHash" not in with_token.data
    assert (wrong_token.status, no_token.status, someone.status, admin.status) == (404, 404, 404, 200)
    [event] = harness.outbox_events(donations_table, "pledge.created")
    assert (event["data"]["donorName"], event["data"]["isAnonymous"]) == (None, True)


def test_given_a_signed_in_pledge_then_its_donor_and_admins_read_it_and_others_get_404(
    donations_table: str,
) -> None:
    pledge_id = create_pledge().data["pledgeId"]

    assert call("GET", f"/api/pledges/{pledge_id}", caller=DONOR).status == 200
    assert call("GET", f"/api/pledges/{pledge_id}", caller=ADMIN).status == 200
    assert call("GET", f"/api/pledges/{pledge_id}", caller=OTHER).error["code"] == "PLEDGE_NOT_FOUND"
    assert call("GET", "/api/pledges/no-such-pledge", caller=ADMIN).status == 404


def test_given_the_same_key_and_body_then_the_first_pledge_is_replayed_and_another_body_is_422(
    donations_table: str,
) -> None:
    key = f"key-{uuid.uuid4()}"
    first = create_pledge(key=key)

    again = call("POST", "/api/pledges", body=pledge_body(), caller=DONOR, key=key)
    changed = call("POST", "/api/pledges", body=pledge_body(amount=1), caller=DONOR, key=key)

    assert (again.status, again.data["pledgeId"], again.headers.get("idempotent-replayed")) == (
        201,
        first.data["pledgeId"],
        "true",
    )
    assert (changed.status, changed.error["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(harness.outbox_events(donations_table, "pledge.created")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (pledge_body(amount=0), 422, "INVALID_AMOUNT"),
        (pledge_body(amount=-5), 422, "INVALID_AMOUNT"),
        (pledge_body(amount=12.5), 422, "VALIDATION_FAILED"),
        (pledge_body(currency="XYZ"), 422, "INVALID_AMOUNT"),
        (pledge_body(campaignId=""), 422, "VALIDATION_FAILED"),
        (pledge_body(donorEmail="not-an-email"), 422, "VALIDATION_FAILED"),
        (pledge_body(status="completed"), 422, "VALIDATION_FAILED"),
        ("{not json", 400, "MALFORMED_JSON"),
    ],
    ids=[
        "zero",
        "negative",
        "float",
        "unknown-currency",
        "no-campaign",
        "bad-email",
        "mass-assignment",
        "malformed",
    ],
)
def test_given_bad_input_then_a_clear_error_and_nothing_stored(
    donations_table: str, body: object, status: int, code: str
) -> None:
    reply = call("POST", "/api/pledges", body=body, caller=DONOR, key=f"key-{uuid.uuid4()}")

    assert (reply.status, reply.error["code"]) == (status, code)
    assert harness.outbox_events(donations_table) == []


def test_an_anonymous_pledge_needs_an_email_and_every_pledge_needs_a_key(donations_table: str) -> None:
    no_email = call("POST", "/api/pledges", body=pledge_body(), key=f"key-{uuid.uuid4()}")
    no_key = call("POST", "/api/pledges", body=pledge_body(), caller=DONOR)

    assert (no_email.status, no_email.error["code"]) == (422, "DONOR_EMAIL_REQUIRED")
    assert (no_key.status, no_key.error["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")


def test_a_users_pledges_are_theirs_and_admins_to_list_in_pages(donations_table: str) -> None:
    ids = [create_pledge().data["pledgeId"] for _ in range(3)]
    create_pledge(caller=OTHER)

    first = call("GET", "/api/pledges/user/u-donor", caller=DONOR, query={"limit": "2"})
    second = call(
        "GET",
        "/api/pledges/user/u-donor",
        caller=DONOR,
        query={"limit": "2", "next": first.body["pagination"]["next"]},
    )
    admin = call("GET", "/api/pledges/user/u-donor", caller=ADMIN)
    nosy = call("GET", "/api/pledges/user/u-donor", caller=OTHER)

    listed = [pledge["pledgeId"] for pledge in first.data + second.data]
    assert sorted(listed) == sorted(ids)
    assert len(first.data) == 2
    assert second.body["pagination"]["hasMore"] is False
    assert len(admin.data) == 3
    assert (nosy.status, nosy.error["code"]) == (403, "FORBIDDEN")
    assert call("GET", "/api/pledges/user/u-donor").status == 401


def test_a_campaigns_public_list_shows_completed_pledges_only_with_hidden_names_and_no_email(
    donations_table: str,
) -> None:
    shown = create_pledge(donorName="Rahim").data["pledgeId"]
    hidden = create_pledge(caller=None, donorName="Karim", isAnonymous=True).data["pledgeId"]
    create_pledge()  # still pending: not listed
    complete(shown)
    complete(hidden, payment_id="pay-2")

    reply = call("GET", "/api/pledges/campaign/c-1")

    assert reply.status == 200
    by_id = {pledge["pledgeId"]: pledge for pledge in reply.data}
    assert set(by_id) == {shown, hidden}
    assert (by_id[shown]["donorName"], by_id[hidden]["donorName"]) == ("Rahim", None)
    assert all("donorEmail" not in pledge and "donorId" not in pledge for pledge in reply.data)
    assert call("GET", "/api/pledges/campaign/c-1", query={"next": "garbage"}).status == 400


def test_the_lists_read_keys_from_the_indexes_and_answer_whole_pledges_in_order(donations_table: str) -> None:
    # Given three completed pledges of one donor (gsi1 projects keys, gsi2 keys and the sums' fields)
    ids = [create_pledge(donorName=f"Donor {n}", amount=1_000 * (n + 1)).data["pledgeId"] for n in range(3)]
    for n, pledge_id in enumerate(ids):
        complete(pledge_id, payment_id=f"pay-{n}", amount=1_000 * (n + 1))
    donor_rows = aws.dynamodb().query(
        TableName=donations_table,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :donor",
        ExpressionAttributeValues={":donor": {"S": "DONOR#u-donor"}},
    )["Items"]
    assert {frozenset(row) for row in donor_rows} == {frozenset({"pk", "sk", "gsi1pk", "gsi1sk"})}
    campaign_rows = aws.dynamodb().query(
        TableName=donations_table,
        IndexName="gsi2",
        KeyConditionExpression="gsi2pk = :campaign",
        ExpressionAttributeValues={":campaign": {"S": "CAMPAIGN#c-1#COMPLETED"}},
    )["Items"]
    assert {frozenset(row) for row in campaign_rows} == {
        frozenset({"pk", "sk", "gsi2pk", "gsi2sk", "campaignId", "currency", "netAmount"})
    }

    # When the donor and the public list them
    mine = call("GET", "/api/pledges/user/u-donor", caller=DONOR).data
    public = call("GET", "/api/pledges/campaign/c-1").data

    # Then each row is the whole pledge, newest first
    for listed in (mine, public):
        assert [pledge["pledgeId"] for pledge in listed] == ids[::-1]
        assert [pledge["amount"] for pledge in listed] == [3_000, 2_000, 1_000]
    assert {pledge["status"] for pledge in mine} == {"completed"}
    assert [pledge["donorName"] for pledge in public] == ["Donor 2", "Donor 1", "Donor 0"]
    assert all(pledge["paymentId"] == f"pay-{2 - n}" for n, pledge in enumerate(mine))
