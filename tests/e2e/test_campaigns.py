"""Campaigns and pots as clients use them through the local gateway: a user starts a campaign, an
admin approves it, the public finds it by listing and by search; pots keep their visibility; the
birthday and expiry schedules run against the real wiring (profile event -> bus -> inbox -> pot)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, eventually, http

PASSWORD = "a long and uncommon passphrase"


def call(stack, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http(
        method, f"{stack.url}{path}", headers, json.dumps(body).encode() if body is not None else None
    )


def register(stack, name: str) -> tuple[str, str]:
    body = {"email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org", "password": PASSWORD, "name": name}
    status, registered = call(stack, "POST", "/api/auth/register", body=body)
    assert status == 201, registered
    return registered["data"]["user"]["userId"], registered["data"]["tokens"]["accessToken"]


def admin_token(stack) -> str:
    status, body = call(
        stack, "POST", "/api/auth/login", body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert status == 200, body
    return str(body["data"]["tokens"]["accessToken"])


def today() -> date:
    return datetime.now(UTC).date()


def test_a_campaign_goes_from_draft_to_public_and_search_finds_it(stack) -> None:
    owner_id, owner = register(stack, "Amina")
    _, stranger = register(stack, "Stranger")
    admin = admin_token(stack)
    marker = f"zq{uuid.uuid4().hex[:10]}"
    campaign = {
        "title": f"Clean water {marker}",
        "description": "Wells and hand pumps for the village school",
        "type": "emergency",
        "goalAmount": 2_000_000,
        "currency": "BDT",
        "startDate": today().isoformat(),
        "endDate": (today() + timedelta(days=60)).isoformat(),
        "beneficiaryName": "Village school committee",
    }
    # Given a user's new campaign: a draft nobody else sees
    status, created = call(stack, "POST", "/api/campaigns", owner, campaign)
    assert status == 201, created
    campaign_id = created["data"]["campaignId"]
    assert created["data"]["status"] == "draft"
    assert call(stack, "GET", f"/api/campaigns/{campaign_id}")[0] == 404
    assert call(stack, "GET", f"/api/campaigns/{campaign_id}", owner)[0] == 200
    # A USER token is refused on every admin route
    for method, path, body in [
        ("GET", "/api/admin/campaigns", None),
        ("PATCH", f"/api/admin/campaigns/{campaign_id}/approve", None),
        ("PATCH", f"/api/campaigns/{campaign_id}/status", {"status": "cancelled"}),
        ("DELETE", f"/api/campaigns/{campaign_id}", None),
    ]:
        assert call(stack, method, path, stranger, body)[0] == 403, (method, path)
    status, drafts = call(stack, "GET", "/api/admin/campaigns?status=draft&limit=100", admin)
    assert campaign_id in {c["campaignId"] for c in drafts["data"]}

    # When an admin approves it
    status, approved = call(stack, "PATCH", f"/api/admin/campaigns/{campaign_id}/approve", admin)
    assert (status, approved["data"]["status"]) == (200, "active")

    # Then the public sees it, lists it and finds it by words of its title and description
    assert call(stack, "GET", f"/api/campaigns/{campaign_id}")[1]["data"]["raisedAmount"] == 0
    status, listed = call(stack, "GET", "/api/campaigns?type=emergency&limit=100")
    assert campaign_id in {c["campaignId"] for c in listed["data"]}
    status, found = call(stack, "GET", f"/api/campaigns?q=village%20{marker}")
    assert [c["campaignId"] for c in found["data"]] == [campaign_id]
    assert (
        call(stack, "GET", f"/api/campaigns/user/{owner_id}", stranger)[1]["data"][0]["campaignId"]
        == campaign_id
    )
    # and the owner may not rewrite the goal of a live campaign
    assert call(stack, "PUT", f"/api/campaigns/{campaign_id}", owner, {"goalAmount": 1})[0] == 422


def test_a_pots_visibility_and_share_link(stack) -> None:
    _, celebrant = register(stack, "Awa")
    _, friend = register(stack, "Friend")
    birthday = (today() + timedelta(days=20)).isoformat()
    body = {"birthday": birthday, "goalAmount": 50_000, "title": "Awa turns 30"}
    status, pot = call(stack, "POST", "/api/pots", celebrant, body)
    assert status == 201, pot
    pot_id, share = pot["data"]["campaignId"], pot["data"]["shareToken"]
    assert (pot["data"]["title"], pot["data"]["visibility"]) == ("Awa turns 30", "unlisted")
    assert call(stack, "POST", "/api/pots", celebrant, {"birthday": birthday})[0] == 409
    assert call(stack, "GET", f"/api/pots/{pot_id}")[0] == 404
    assert call(stack, "GET", f"/api/pots/{pot_id}", friend)[0] == 404
    status, shared = call(stack, "GET", f"/api/pots/{pot_id}?token={share}")
    assert (status, "shareToken" in shared["data"]) == (200, False)
    call(stack, "PUT", f"/api/pots/{pot_id}", celebrant, {"visibility": "private"})
    assert call(stack, "GET", f"/api/pots/{pot_id}?token={share}")[0] == 404
    assert [p["campaignId"] for p in call(stack, "GET", "/api/pots", celebrant)[1]["data"]] == [pot_id]


def test_the_birthday_schedule_opens_a_pot_from_the_profile_event(stack) -> None:
    user_id, token = register(stack, "Kofi")
    birthday = today() + timedelta(days=30)
    born = (
        date(1992, birthday.month, birthday.day)
        if (birthday.month, birthday.day) != (2, 29)
        else date(1992, 2, 29)
    )
    # Given a profile whose birthday is 30 days away (profiles -> bus -> the campaigns inbox)
    status, body = call(stack, "PUT", "/api/profile", token, {"dateOfBirth": born.isoformat()})
    assert status == 200, body

    def opened() -> list[dict[str, Any]] | None:
        stack.fire("CampaignsFunction.CreateBirthdayPots")
        pots = call(stack, "GET", "/api/pots", token)[1]["data"]
        return pots or None

    # When the daily schedule fires, then the pot is there, once, however often it fires
    pots = eventually(opened, timeout=30, interval=1.0)
    stack.fire("CampaignsFunction.CreateBirthdayPots")
    pots = call(stack, "GET", "/api/pots", token)[1]["data"]
    assert len(pots) == 1
    assert (pots[0]["endDate"], pots[0]["autoCreated"], pots[0]["ownerId"]) == (
        birthday.isoformat(),
        True,
        user_id,
    )
    # The expiry schedule runs through its wiring too
    result = stack.invoke("CampaignsFunction", {"schedule": "expire-campaigns"})
    assert not result.error, result.payload
