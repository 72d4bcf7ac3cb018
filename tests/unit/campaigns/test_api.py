"""The campaigns and pots routes through the Lambda handler, as API Gateway delivers them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.campaigns.conftest import ADMIN, OTHER, OWNER, call, campaign_body, future, outbox


def create(caller: dict[str, str] = OWNER, **changes: Any) -> dict[str, Any]:
    reply = call("POST", "/api/campaigns", body=campaign_body(**changes), caller=caller)
    assert reply.status == 201, reply
    data: dict[str, Any] = reply.data
    return data


def approved(**changes: Any) -> dict[str, Any]:
    draft = create(**changes)
    reply = call("PATCH", f"/api/admin/campaigns/{draft['campaignId']}/approve", caller=ADMIN)
    assert reply.status == 200, reply
    data: dict[str, Any] = reply.data
    return data


def test_a_user_creates_a_draft_that_only_owner_and_admins_see(campaigns_table: str) -> None:
    draft = create()
    assert (draft["status"], draft["ownerId"], draft["goalAmount"], draft["currency"]) == (
        "draft",
        "u-owner",
        500_000,
        "BDT",
    )
    path = f"/api/campaigns/{draft['campaignId']}"
    assert call("GET", path).status == 404
    assert call("GET", path, caller=OTHER).status == 404
    assert call("GET", path, caller=OWNER).data["raisedAmount"] == 0
    assert call("GET", path, caller=ADMIN).status == 200
    [created] = outbox(campaigns_table, "campaign.created")
    assert created["data"]["campaignId"] == draft["campaignId"]
    assert created["data"]["autoCreated"] is False


@pytest.mark.parametrize(
    "body",
    [
        campaign_body(title="ab"),
        campaign_body(type="birthday"),
        campaign_body(type="charity"),
        campaign_body(goalAmount=0),
        campaign_body(goalAmount=12.5),
        campaign_body(goalAmount="1000"),
        campaign_body(endDate=future(0)),
        campaign_body(imageUrl="http://cdn.example.org/a.jpg"),
        campaign_body(documents=["not a url"]),
        campaign_body(raisedAmount=10),
        campaign_body(status="active"),
        campaign_body(ownerId="u-other"),
        campaign_body(currency="ZZZ"),
        campaign_body(startDate=future(-20), endDate=future(-1)),
        {"title": "Only a title"},
    ],
)
def test_given_invalid_campaign_fields_then_422_and_nothing_is_stored(
    campaigns_table: str, body: Any
) -> None:
    reply = call("POST", "/api/campaigns", body=body, caller=OWNER)
    assert reply.status == 422, reply
    assert outbox(campaigns_table) == []


def test_creating_needs_a_signed_in_user(campaigns_table: str) -> None:
    assert call("POST", "/api/campaigns", body=campaign_body()).status == 401


def test_an_admin_approves_a_draft_and_the_approval_is_audited(campaigns_table: str) -> None:
    draft = create()
    path = f"/api/admin/campaigns/{draft['campaignId']}/approve"
    assert call("PATCH", path, caller=OWNER).status == 403
    reply = call("PATCH", path, caller=ADMIN)
    assert reply.data["status"] == "active"
    assert call("PATCH", path, caller=ADMIN).status == 422
    [changed] = outbox(campaigns_table, "campaign.status_changed")
    audit = changed["data"]["audit"]
    assert changed["data"]["previousStatus"] == "draft"
    assert (audit["actorId"], audit["action"], audit["entityType"], audit["entityId"]) == (
        "u-admin",
        "approve_campaign",
        "campaign",
        draft["campaignId"],
    )
    assert (audit["before"]["status"], audit["after"]["status"], audit["ip"]) == (
        "draft",
        "active",
        "203.0.113.10",
    )


def test_public_listing_and_search_find_only_approved_campaigns(campaigns_table: str) -> None:
    live = approved(title="Clean water for Kibera", description="Wells and pumps", type="emergency")
    approved(title="School books", description="Books for a school in Kibera", type="education")
    create(title="Draft about Kibera water")
    listed = call("GET", "/api/campaigns").data
    assert {campaign["title"] for campaign in listed} == {"Clean water for Kibera", "School books"}
    found = call("GET", "/api/campaigns", query={"q": "kibera WATER"}).data
    assert [campaign["campaignId"] for campaign in found] == [live["campaignId"]]
    assert len(call("GET", "/api/campaigns", query={"q": "Kibera"}).data) == 2
    assert (
        call("GET", "/api/campaigns", query={"q": "kibera", "type": "education"}).data[0]["title"]
        == "School books"
    )
    assert call("GET", "/api/campaigns", query={"q": "nowhere"}).data == []
    assert call("GET", "/api/campaigns", query={"status": "draft"}).status == 422
    assert call("GET", "/api/campaigns", query={"type": "charity"}).status == 422


def test_the_public_listing_is_cursor_paged(campaigns_table: str) -> None:
    ids = {approved(title=f"Campaign number {n}")["campaignId"] for n in range(3)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"next": cursor} if cursor else {})}
        reply = call("GET", "/api/campaigns", query=query)
        seen += [campaign["campaignId"] for campaign in reply.data]
        cursor = reply.body["pagination"]["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert call("GET", "/api/campaigns", query={"next": "garbage"}).status == 400


def test_edits_follow_the_status_rules_and_refuse_unknown_fields(campaigns_table: str) -> None:
    live = approved()
    path = f"/api/campaigns/{live['campaignId']}"
    reply = call("PUT", path, body={"description": "Update: surgery scheduled"}, caller=OWNER)
    assert reply.data["description"] == "Update: surgery scheduled"
    assert call("PUT", path, body={"goalAmount": 1}, caller=OWNER).status == 422
    assert call("PUT", path, body={"status": "completed"}, caller=OWNER).status == 422
    assert call("PUT", path, body={"description": "mine now"}, caller=OTHER).status == 404
    assert call("PUT", path, body={"goalAmount": 900_000}, caller=ADMIN).data["goalAmount"] == 900_000
    updates = outbox(campaigns_table, "campaign.updated")
    assert [update["data"]["changes"] for update in updates] == [["description"], ["goalAmount"]]
    assert updates[1]["data"]["audit"]["before"] == {"goalAmount": 500_000}
    assert updates[1]["data"]["audit"]["actorId"] == "u-admin"


@pytest.mark.parametrize(
    "body", [{"title": None}, {"endDate": None}, {"documents": None}, {"goalAmount": None}]
)
def test_an_explicit_null_for_a_required_field_is_refused(campaigns_table: str, body: dict[str, Any]) -> None:
    draft = create()
    reply = call("PUT", f"/api/campaigns/{draft['campaignId']}", body=body, caller=OWNER)
    assert reply.status == 422, reply
    cleared = call("PUT", f"/api/campaigns/{draft['campaignId']}", body={"imageUrl": None}, caller=OWNER)
    assert cleared.data["imageUrl"] is None
    assert call("GET", f"/api/campaigns/{draft['campaignId']}", caller=OWNER).data["title"] == draft["title"]


def test_status_changes_are_admin_only_and_follow_the_machine(campaigns_table: str) -> None:
    live = approved()
    path = f"/api/campaigns/{live['campaignId']}/status"
    assert call("PATCH", path, body={"status": "completed"}, caller=OWNER).status == 403
    assert call("PATCH", path, body={"status": "draft"}, caller=ADMIN).status == 422
    assert call("PATCH", path, body={"status": "completed"}, caller=ADMIN).data["status"] == "completed"
    assert call("PATCH", path, body={"status": "active"}, caller=ADMIN).error["code"] == "INVALID_TRANSITION"
    assert (
        call("PATCH", "/api/campaigns/nope/status", body={"status": "completed"}, caller=ADMIN).status == 404
    )


def test_an_admin_delete_cancels_and_hides_the_campaign(campaigns_table: str) -> None:
    live = approved()
    path = f"/api/campaigns/{live['campaignId']}"
    assert call("DELETE", path, caller=OWNER).status == 403
    deleted = call("DELETE", path, caller=ADMIN).data
    assert (deleted["status"], deleted["deleted"]) == ("cancelled", True)
    assert call("GET", path).status == 404
    assert call("GET", path, caller=OWNER).status == 404
    assert call("GET", "/api/campaigns").data == []
    assert call("DELETE", path, caller=ADMIN).status == 200  # already deleted: no second event
    assert call("GET", "/api/campaigns/user/u-owner", caller=OWNER).data == []
    assert [c["deleted"] for c in call("GET", "/api/campaigns/user/u-owner", caller=ADMIN).data] == [True]
    [event] = [
        e
        for e in outbox(campaigns_table, "campaign.status_changed")
        if e["data"]["audit"]["action"] == "delete_campaign"
    ]
    assert event["data"]["audit"]["after"] == {"status": "cancelled", "deleted": True}


def test_a_users_list_shows_everything_to_them_and_only_public_ones_to_others(campaigns_table: str) -> None:
    live = approved()
    draft = create()
    path = "/api/campaigns/user/u-owner"
    assert {c["campaignId"] for c in call("GET", path, caller=OWNER).data} == {
        live["campaignId"],
        draft["campaignId"],
    }
    assert [c["campaignId"] for c in call("GET", path, caller=OTHER).data] == [live["campaignId"]]
    assert call("GET", path).status == 401


def test_the_admin_list_shows_drafts_awaiting_approval(campaigns_table: str) -> None:
    draft = create()
    approved()
    assert [c["campaignId"] for c in call("GET", "/api/admin/campaigns", caller=ADMIN).data] == [
        draft["campaignId"]
    ]
    assert len(call("GET", "/api/admin/campaigns", caller=ADMIN, query={"status": "active"}).data) == 1
    assert call("GET", "/api/admin/campaigns", caller=OWNER).status == 403


# ------------------------------------------------------------------ pots


def pot(caller: dict[str, str] = OWNER, **changes: Any) -> dict[str, Any]:
    body = {"birthday": future(20), "goalAmount": 50_000, **changes}
    reply = call("POST", "/api/pots", body=body, caller=caller)
    assert reply.status == 201, reply
    data: dict[str, Any] = reply.data
    return data


def test_a_pot_is_active_at_once_and_one_per_birthday_year(campaigns_table: str) -> None:
    opened = pot()
    assert (opened["type"], opened["status"], opened["visibility"], opened["currency"]) == (
        "birthday",
        "active",
        "unlisted",
        "XOF",
    )
    assert (
        opened["shareUrl"]
        == f"https://app.test.harambee.app/pots/{opened['campaignId']}?token={opened['shareToken']}"
    )
    again = call("POST", "/api/pots", body={"birthday": future(21)}, caller=OWNER)
    assert (again.status, again.error["code"]) == (409, "POT_EXISTS")
    assert [p["campaignId"] for p in call("GET", "/api/pots", caller=OWNER).data] == [opened["campaignId"]]
    assert call("GET", "/api/pots", caller=OTHER).data == []


def test_an_unlisted_pot_needs_its_share_token_and_rotation_revokes_the_old_one(campaigns_table: str) -> None:
    opened = pot()
    path, token = f"/api/pots/{opened['campaignId']}", opened["shareToken"]
    assert call("GET", path).status == 404
    shared = call("GET", path, query={"token": token})
    assert shared.status == 200
    assert "shareToken" not in shared.data
    assert call("GET", f"/api/campaigns/{opened['campaignId']}", query={"token": token}).status == 200
    rotated = call("PUT", path, body={"rotateShareToken": True}, caller=OWNER).data
    assert rotated["shareToken"] != token
    assert call("GET", path, query={"token": token}).status == 404
    assert call("GET", path, query={"token": rotated["shareToken"]}).status == 200
    assert call("GET", "/api/campaigns").data == []  # unlisted: never in the public listing


def test_pot_visibility_private_and_public(campaigns_table: str) -> None:
    opened = pot(visibility="private")
    path = f"/api/pots/{opened['campaignId']}"
    assert call("GET", path, query={"token": opened["shareToken"]}).status == 404
    assert call("GET", path, caller=OWNER).status == 200
    assert call("PUT", path, body={"visibility": "public"}, caller=OTHER).status == 404
    assert call("PUT", path, body={"visibility": "public"}, caller=OWNER).data["visibility"] == "public"
    assert call("GET", path).status == 200
    assert [c["campaignId"] for c in call("GET", "/api/campaigns", query={"type": "birthday"}).data] == [
        opened["campaignId"]
    ]
    assert call("PUT", path, body={"currency": "USD"}, caller=OWNER).status == 422
    assert (
        call("PUT", f"/api/campaigns/{opened['campaignId']}", body={"description": "x"}, caller=OWNER).status
        == 422
    )


@pytest.mark.parametrize(
    "body",
    [
        {"birthday": future(-1)},
        {"birthday": future(400)},
        {"birthday": future(5), "goalAmount": -1},
        {"birthday": future(5), "currency": "ZZZ"},
    ],
)
def test_invalid_pots_are_refused(campaigns_table: str, body: dict[str, Any]) -> None:
    assert call("POST", "/api/pots", body=body, caller=OWNER).status == 422


def test_a_filtered_list_stops_at_its_read_budget_and_resumes_from_the_cursor(
    campaigns_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from campaigns import repository

    live = approved(title="The only public one")
    for n in range(3):
        create(title=f"Draft number {n}")  # newer than the public one, filtered out for others
    monkeypatch.setattr(repository, "MAX_QUERY_ROUNDS", 1)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    cursors: list[str] = []
    while True:
        query = {"limit": "1", **({"next": cursor} if cursor else {})}
        reply = call("GET", "/api/campaigns/user/u-owner", caller=OTHER, query=query)
        assert reply.status == 200, reply
        seen += [c["campaignId"] for c in reply.data]
        cursor, pages = reply.body["pagination"]["next"], pages + 1
        if not cursor:
            break
        cursors.append(cursor)
    assert seen == [live["campaignId"]]
    assert pages > 1  # the first page ran out of budget on drafts and handed back a cursor
    # A cursor of one list is refused by another
    assert call("GET", "/api/campaigns", query={"next": cursors[0]}).status == 400
