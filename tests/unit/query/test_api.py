"""The read routes as a client sees them: envelopes, paging, hidden names, ownership, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.unit.query.conftest import (
    ADMIN,
    DONOR,
    OTHER,
    OWNER,
    T0,
    campaign_event,
    completed,
    deliver,
    get,
    refunded,
)

OK: dict[str, list[Any]] = {"batchItemFailures": []}


def test_totals_of_a_campaign_nobody_heard_of_are_404(query_table: str) -> None:
    reply = get("/api/query/campaigns/c-missing/totals")
    assert (reply.status, reply.error["code"]) == (404, "CAMPAIGN_NOT_FOUND")


def test_history_is_newest_first_paged_and_never_shows_a_hidden_name_or_an_email(query_table: str) -> None:
    assert (
        deliver(
            campaign_event("c-1"),
            *[completed(f"pl-{n}", amount=1_000 + n, minutes=n) for n in range(5)],
            completed(
                "pl-hidden", amount=9_000, minutes=10, donor=None, anonymous=True, email="shy@example.org"
            ),
        )
        == OK
    )
    first = get("/api/query/campaigns/c-1/donations", query={"limit": "4"})
    assert first.status == 200
    assert [d["pledgeId"] for d in first.data] == ["pl-hidden", "pl-4", "pl-3", "pl-2"]
    assert first.pagination["hasMore"] is True
    second = get("/api/query/campaigns/c-1/donations", query={"limit": "4", "next": first.pagination["next"]})
    assert [d["pledgeId"] for d in second.data] == ["pl-1", "pl-0"]
    assert second.pagination == {"limit": 4, "next": None, "hasMore": False}
    hidden = first.data[0]
    assert (hidden["donorName"], hidden["isAnonymous"]) == (None, True)
    assert "example.org" not in str(first.body) + str(second.body)


def test_a_cursor_from_another_campaign_or_a_made_up_one_is_400(query_table: str) -> None:
    assert (
        deliver(
            campaign_event("c-1"), campaign_event("c-2"), *[completed(f"pl-{n}", minutes=n) for n in range(3)]
        )
        == OK
    )
    cursor = get("/api/query/campaigns/c-1/donations", query={"limit": "1"}).pagination["next"]
    other = get("/api/query/campaigns/c-2/donations", query={"next": cursor})
    assert (other.status, other.error["code"]) == (400, "INVALID_CURSOR")
    assert get("/api/query/campaigns/c-1/donations", query={"next": "not-a-cursor"}).status == 400
    assert get("/api/query/campaigns/c-1/donations", query={"limit": "0"}).status in (400, 422)


def test_a_user_reads_their_own_donations_and_statistics_an_admin_any_others_none(query_table: str) -> None:
    assert (
        deliver(
            campaign_event("c-1"),
            campaign_event("c-2", title="School books", currency="BDT"),
            completed("pl-1", amount=10_000, minutes=1),
            completed("pl-2", "c-2", amount=5_000, minutes=2, anonymous=True),
            completed("pl-3", amount=2_000, minutes=3, donor="u-other", email="other@example.org"),
        )
        == OK
    )
    mine = get("/api/query/users/u-donor/donations", caller=DONOR)
    assert mine.status == 200
    assert [d["pledgeId"] for d in mine.data["donations"]] == ["pl-2", "pl-1"]
    (statistics,) = mine.data["statistics"]
    assert statistics["currency"] == "BDT"
    assert (statistics["totalDonated"], statistics["donationCount"], statistics["campaignsSupported"]) == (
        15_000,
        2,
        2,
    )
    assert get("/api/query/users/u-donor/donations", caller=ADMIN).data == mine.data
    denied = get("/api/query/users/u-donor/donations", caller=OTHER)
    assert (denied.status, denied.error["code"]) == (403, "FORBIDDEN")
    assert get("/api/query/users/u-donor/donations").status == 401


def test_a_user_with_no_donations_gets_an_empty_history(query_table: str) -> None:
    reply = get("/api/query/users/u-donor/donations", caller=DONOR)
    assert reply.status == 200
    assert reply.data == {"userId": "u-donor", "statistics": [], "donations": []}


def test_a_private_pot_is_404_to_strangers_and_visible_to_its_celebrant_and_admins(query_table: str) -> None:
    assert deliver(campaign_event("pot-1", visibility="private"), completed("pl-1", "pot-1")) == OK
    for path in ("/api/query/campaigns/pot-1/totals", "/api/query/campaigns/pot-1/donations"):
        assert get(path).status == 404
        assert get(path, caller=OTHER).status == 404
        assert get(path, caller=OWNER).status == 200
        assert get(path, caller=ADMIN).status == 200


def test_top_campaigns_rank_public_campaigns_by_net_raised_per_currency(query_table: str) -> None:
    assert (
        deliver(
            campaign_event("c-small"),
            campaign_event("c-big"),
            campaign_event("c-private", visibility="private"),
            campaign_event("c-draft", status="draft"),
            campaign_event("c-usd", currency="USD"),
            completed("pl-1", "c-small", amount=5_000),
            completed("pl-2", "c-big", amount=9_000),
            completed("pl-3", "c-private", amount=50_000),
            completed("pl-4", "c-draft", amount=50_000),
            completed("pl-5", "c-usd", amount=100, currency="USD"),
        )
        == OK
    )
    top = get("/api/query/campaigns/top")
    assert [(c["campaignId"], c["raisedAmount"]) for c in top.data] == [("c-big", 9_000), ("c-small", 5_000)]
    # A refund re-ranks the campaign after its batch
    assert deliver(refunded("pl-2", "c-big", amount=9_000, refund=6_000)) == OK
    assert [c["campaignId"] for c in get("/api/query/campaigns/top").data] == ["c-small", "c-big"]
    usd = get("/api/query/campaigns/top", query={"currency": "usd"})
    assert [c["campaignId"] for c in usd.data] == ["c-usd"]
    paged = get("/api/query/campaigns/top", query={"limit": "1"})
    assert len(paged.data) == 1
    assert paged.pagination["hasMore"] is True
    assert get("/api/query/campaigns/top", query={"currency": "taka"}).status in (400, 422)


def test_platform_statistics_start_at_zero(query_table: str) -> None:
    reply = get("/api/query/statistics/platform")
    assert reply.status == 200
    assert reply.data == {
        "totalRaised": [],
        "totalDonations": 0,
        "totalDonors": 0,
        "totalCampaigns": 0,
        "activeCampaigns": 0,
    }


def _readers(path: str) -> dict[str, int]:
    return {name: get(path, caller=who).status for name, who in READERS.items()}


READERS = {"anonymous": None, "other": OTHER, "owner": OWNER, "admin": ADMIN}
ROUTES = ("/api/query/campaigns/{id}/totals", "/api/query/campaigns/{id}/donations")
OWNER_AND_ADMIN = {"anonymous": 404, "other": 404, "owner": 200, "admin": 200}
EVERYONE = dict.fromkeys(READERS, 200)


def test_an_unlisted_pots_donors_and_totals_are_its_celebrants_and_admins_only(query_table: str) -> None:
    # Given an unlisted pot (its share link opens the pot page in campaigns, not the donor list)
    assert deliver(campaign_event("pot-1", visibility="unlisted"), completed("pl-1", "pot-1")) == OK
    for route in ROUTES:
        assert _readers(route.format(id="pot-1")) == OWNER_AND_ADMIN, route


def test_a_visibility_change_opens_or_closes_the_donor_list_and_a_late_older_one_is_ignored(
    query_table: str,
) -> None:
    assert deliver(campaign_event("pot-1", visibility="private"), completed("pl-1", "pot-1")) == OK
    public = campaign_event(
        "pot-1", event_type="campaign.updated", visibility="public", at=T0 + timedelta(hours=1)
    )
    unlisted = campaign_event(
        "pot-1", event_type="campaign.updated", visibility="unlisted", at=T0 + timedelta(hours=2)
    )
    # When the celebrant makes the pot public, everyone may read its donors
    assert deliver(public) == OK
    for route in ROUTES:
        assert _readers(route.format(id="pot-1")) == EVERYONE, route
    # When they make it unlisted again, and the older "public" update is redelivered late
    assert deliver(unlisted) == OK
    assert deliver(public) == OK
    for route in ROUTES:
        assert _readers(route.format(id="pot-1")) == OWNER_AND_ADMIN, route


def test_a_draft_is_its_owners_a_deleted_campaign_only_admins(query_table: str) -> None:
    deleted = campaign_event("c-gone", event_type="campaign.status_changed", status="cancelled", deleted=True)
    assert deliver(campaign_event("c-draft", status="draft"), deleted) == OK
    for route in ROUTES:
        assert _readers(route.format(id="c-draft")) == OWNER_AND_ADMIN, route
        assert _readers(route.format(id="c-gone")) == {**OWNER_AND_ADMIN, "owner": 404}, route


def test_pledges_before_the_campaign_is_known_are_shown_to_admins_until_its_snapshot_arrives(
    query_table: str,
) -> None:
    assert deliver(completed("pl-1", "c-early")) == OK
    for route in ROUTES:
        # Nobody knows yet whether it is a private pot: closed to all but admins
        assert _readers(route.format(id="c-early")) == {**OWNER_AND_ADMIN, "owner": 404}, route
    assert deliver(campaign_event("c-early")) == OK
    for route in ROUTES:
        assert _readers(route.format(id="c-early")) == EVERYONE, route


def test_a_campaign_deleted_by_an_admin_leaves_the_top_campaigns(query_table: str) -> None:
    assert deliver(campaign_event("c-1", status="completed"), completed("pl-1", "c-1", amount=5_000)) == OK
    assert [c["campaignId"] for c in get("/api/query/campaigns/top").data] == ["c-1"]
    removed = campaign_event(
        "c-1",
        event_type="campaign.status_changed",
        status="completed",
        deleted=True,
        at=T0 + timedelta(hours=1),
    )
    assert deliver(removed) == OK
    assert get("/api/query/campaigns/top").data == []
