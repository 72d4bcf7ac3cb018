"""The giving journey of issues 5 and 6, as clients make it through the local stack, checked across
every context it touches: campaigns (approval), donations and the saga, payments (sandbox webhooks
duplicated and shuffled), query (totals, history, statistics), notifications (receipt and owner
notice in the delivery log) and admin (the approval in the audit log, the dashboard)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, eventually, http

pytestmark = pytest.mark.e2e
PASSWORD = "a long and uncommon passphrase"
SETTLED = 120  # seconds: generous for two shared cores; a healthy donation settles in a few


class Client:
    """One person using the API: their bearer token (or none) on every call."""

    def __init__(self, stack: Any, token: str | None = None, user_id: str | None = None) -> None:
        self.stack, self.token, self.user_id = stack, token, user_id

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        raw = json.dumps(body).encode() if body is not None else None
        return http(method, f"{self.stack.url}{path}", sent, raw)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **headers: str) -> Any:
        answer_status, answer = self.call(method, path, body, **headers)
        assert answer_status == status, (method, path, answer_status, answer)
        return answer["data"]


def person(stack: Any, name: str) -> Client:
    body = {"email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org", "password": PASSWORD, "name": name}
    registered = Client(stack).ok("POST", "/api/auth/register", body, status=201)
    return Client(stack, registered["tokens"]["accessToken"], registered["user"]["userId"])


def administrator(stack: Any) -> Client:
    tokens = Client(stack).ok("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    return Client(stack, tokens["tokens"]["accessToken"])


def pay(client: Client, pledge_id: str, outcome: str) -> str:
    """Initiate the pledge's sandbox payment once payments has heard of it; the sandbox settles it."""

    def initiated() -> str | None:
        status, answer = client.call(
            "POST",
            "/api/payments/initiate",
            {"pledgeId": pledge_id, "provider": "sandbox", "method": "bkash"},
            Idempotency_Key=f"pay-{pledge_id}",
        )
        return str(answer["data"]["paymentId"]) if status == 201 else None

    payment_id = eventually(initiated, timeout=30)
    settle(client, payment_id, outcome)
    return payment_id


def settle(client: Client, payment_id: str, outcome: str) -> None:
    body = {"outcome": outcome, "duplicates": 3, "shuffle": True}
    Client(client.stack).ok("POST", f"/api/payments/sandbox/{payment_id}/complete", body)


def pledge_status(client: Client, pledge_id: str, access_token: str | None = None) -> str:
    headers = {"X_Pledge_Token": access_token} if access_token else {}
    return str(client.ok("GET", f"/api/pledges/{pledge_id}", **headers)["status"])


def test_a_campaign_is_approved_funded_by_two_donors_and_refunded_and_every_view_agrees(stack) -> None:
    admin = administrator(stack)
    owner, donor = person(stack, "Owner"), person(stack, "Fatima")
    public = Client(stack)
    today = datetime.now(UTC).date()

    # Given a campaign its owner created and an admin approved
    draft = {
        "title": f"Dialysis for Karim {uuid.uuid4().hex[:6]}",
        "description": "Three months of dialysis sessions",
        "type": "medical",
        "goalAmount": 5_000_000,
        "currency": "BDT",
        "startDate": today.isoformat(),
        "endDate": (today + timedelta(days=45)).isoformat(),
        "beneficiaryName": "Karim",
    }
    campaign_id = owner.ok("POST", "/api/campaigns", draft, status=201)["campaignId"]
    assert admin.ok("PATCH", f"/api/admin/campaigns/{campaign_id}/approve")["status"] == "active"

    # When an anonymous donor pledges 1,000.00 BDT and pays, every webhook sent 3 times, shuffled
    anonymous = public.ok(
        "POST",
        "/api/pledges",
        {
            "campaignId": campaign_id,
            "amount": 100_000,
            "currency": "BDT",
            "donorEmail": "kind.stranger@example.org",
            "donorName": "Kind Stranger",
            "isAnonymous": True,
        },
        status=201,
        Idempotency_Key=f"anon-{uuid.uuid4()}",
    )
    pay(public, anonymous["pledgeId"], "success")
    # And a signed-in donor gives 2,500.00 BDT in one call and pays the same way
    donated = donor.ok(
        "POST",
        "/api/payments/donate",
        {
            "campaignId": campaign_id,
            "amount": 250_000,
            "currency": "BDT",
            "provider": "sandbox",
            "method": "card",
        },
        status=201,
        Idempotency_Key=f"donate-{uuid.uuid4()}",
    )
    donor_pledge, donor_payment = donated["pledge"]["pledgeId"], donated["payment"]["paymentId"]
    settle(donor, donor_payment, "success")
    # And a third pledge's payment fails
    failing = donor.ok(
        "POST",
        "/api/pledges",
        {"campaignId": campaign_id, "amount": 70_000, "currency": "BDT"},
        status=201,
        Idempotency_Key=f"fail-{uuid.uuid4()}",
    )
    pay(donor, failing["pledgeId"], "failure")

    # Then both paid pledges complete, the failed one fails, each for its reader only
    eventually(
        lambda: pledge_status(public, anonymous["pledgeId"], anonymous["accessToken"]) == "completed", SETTLED
    )
    eventually(lambda: pledge_status(donor, donor_pledge) == "completed", SETTLED)
    eventually(lambda: pledge_status(donor, failing["pledgeId"]) == "failed", SETTLED)
    assert public.call("GET", f"/api/pledges/{donor_pledge}")[0] == 404
    assert owner.call("GET", f"/api/pledges/{anonymous['pledgeId']}")[0] == 404

    # And the read model counts each completed donation once, and the failed one not at all
    def totals() -> dict[str, Any]:
        return dict(public.ok("GET", f"/api/query/campaigns/{campaign_id}/totals"))

    counted = eventually(lambda: (t := totals())["donationCount"] == 2 and t, SETTLED)
    assert (counted["raisedAmount"], counted["donorCount"], counted["currency"]) == (350_000, 2, "BDT")
    assert counted["progressPercentage"] == pytest.approx(7.0)
    history = public.ok("GET", f"/api/query/campaigns/{campaign_id}/donations")
    assert sorted(entry["amount"] for entry in history) == [100_000, 250_000]
    hidden = next(entry for entry in history if entry["pledgeId"] == anonymous["pledgeId"])
    assert hidden["donorName"] != "Kind Stranger"
    assert "kind.stranger@example.org" not in json.dumps(history)
    mine = donor.ok("GET", f"/api/query/users/{donor.user_id}/donations")
    assert [entry["pledgeId"] for entry in mine["donations"]] == [donor_pledge]
    assert [(s["currency"], s["donationCount"]) for s in mine["statistics"]] == [("BDT", 1)]
    assert owner.call("GET", f"/api/query/users/{donor.user_id}/donations")[0] == 403
    platform = public.ok("GET", "/api/query/statistics/platform")
    assert platform["totalDonations"] >= 2
    assert platform["activeCampaigns"] >= 1

    # And the donor has a receipt, the owner a new-donation notice, in their delivery logs
    def delivered(client: Client, template: str) -> bool:
        log = client.ok("GET", "/api/notifications?limit=50")
        return any(entry["template"] == template and entry["status"] == "sent" for entry in log)

    eventually(lambda: delivered(donor, "receipt"), SETTLED)
    eventually(lambda: delivered(owner, "new_donation"), SETTLED)

    # And the approval is in the audit log with before and after; the dashboard counts today's gifts
    def approval() -> dict[str, Any] | None:
        records = admin.ok("GET", f"/api/admin/audit-logs?entityType=campaign&entityId={campaign_id}")
        return next((r for r in records if r["action"] == "approve_campaign"), None)

    approved = eventually(approval, SETTLED)
    assert (approved["before"]["status"], approved["after"]["status"]) == ("draft", "active")
    stats = admin.ok("GET", "/api/admin/dashboard/stats")
    assert stats["today"]["donations"] >= 2  # the suite's other donations count too

    # When an admin refunds the signed-in donor's payment in full
    admin.ok(
        "POST",
        f"/api/payments/{donor_payment}/refund",
        {"reason": "donor asked"},
        status=201,
        Idempotency_Key=f"refund-{donor_payment}",
    )

    # Then the pledge is refunded and the totals drop by exactly that donation
    eventually(lambda: pledge_status(donor, donor_pledge) == "refunded", SETTLED)
    lowered = eventually(lambda: (t := totals())["raisedAmount"] == 100_000 and t, SETTLED)
    assert lowered["donationCount"] == 1
    # And the operators' check agrees: the totals equal the sum of the completed pledges
    check = stack.invoke("QueryFunction", {"task": "query.check-totals", "campaignId": campaign_id})
    assert not check.error, check.payload
    assert (check.payload["checked"], check.payload["mismatches"]) == (1, [])


def test_a_payment_that_times_out_leaves_the_totals_unchanged(stack) -> None:
    admin = administrator(stack)
    owner, donor = person(stack, "Owner"), person(stack, "Slow")
    today = datetime.now(UTC).date()
    draft = {
        "title": f"School roof {uuid.uuid4().hex[:6]}",
        "description": "Before the rains",
        "type": "education",
        "goalAmount": 1_000_000,
        "currency": "BDT",
        "startDate": today.isoformat(),
        "endDate": (today + timedelta(days=30)).isoformat(),
        "beneficiaryName": "The school",
    }
    campaign_id = owner.ok("POST", "/api/campaigns", draft, status=201)["campaignId"]
    admin.ok("PATCH", f"/api/admin/campaigns/{campaign_id}/approve")
    # Given a paid donation, counted
    paid = donor.ok(
        "POST",
        "/api/pledges",
        {"campaignId": campaign_id, "amount": 40_000, "currency": "BDT"},
        status=201,
        Idempotency_Key=f"paid-{uuid.uuid4()}",
    )
    pay(donor, paid["pledgeId"], "success")
    totals_path = f"/api/query/campaigns/{campaign_id}/totals"
    eventually(lambda: Client(stack).ok("GET", totals_path)["donationCount"] == 1, SETTLED)

    # When another donation's payment never comes: the saga is started with a 3-second wait (the
    # relay is paused so its own start, with the stage's 30 minutes, is the refused duplicate)
    stack.pause("DonationsFunction")
    try:
        slow = donor.ok(
            "POST",
            "/api/payments/donate",
            {
                "campaignId": campaign_id,
                "amount": 9_000,
                "currency": "BDT",
                "provider": "sandbox",
                "method": "card",
            },
            status=201,
            Idempotency_Key=f"slow-{uuid.uuid4()}",
        )
        pledge_id = slow["pledge"]["pledgeId"]
        stack.client("stepfunctions").start_execution(
            stateMachineArn=stack.physical_name("DonationSagaStateMachine"),
            name=pledge_id,
            input=json.dumps(
                {
                    "pledgeId": pledge_id,
                    "campaignId": campaign_id,
                    "amount": 9_000,
                    "currency": "BDT",
                    "donorId": donor.user_id,
                    "paymentTimeoutSeconds": 3,
                    "correlationId": None,
                }
            ),
        )
    finally:
        stack.resume("DonationsFunction")

    # Then the pledge fails for the timeout, and the totals still count only the paid donation
    eventually(lambda: pledge_status(donor, pledge_id) == "failed", SETTLED)
    totals = Client(stack).ok("GET", totals_path)
    assert (totals["donationCount"], totals["raisedAmount"]) == (1, 40_000)
