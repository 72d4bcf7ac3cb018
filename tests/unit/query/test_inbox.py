"""The inbox applies each event exactly once, in any order, and the totals stay one small read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from query.domain.projection import SHARD_COUNT
from tests.unit.query.conftest import (
    T0,
    campaign_event,
    completed,
    deliver,
    event,
    get,
    items,
    platform,
    refunded,
    totals,
)

OK: dict[str, list[Any]] = {"batchItemFailures": []}


def test_a_completed_pledge_shows_in_totals_history_and_statistics(query_table: str) -> None:
    # Given an active campaign
    assert deliver(campaign_event("c-1", goal=200_000)) == OK
    # When a registered donor's pledge completes
    assert deliver(completed("pl-1", amount=50_000)) == OK
    # Then the totals, the history and both statistics count it
    figures = totals("c-1")
    assert figures["raisedAmount"] == 50_000
    assert (figures["donationCount"], figures["donorCount"]) == (1, 1)
    assert figures["progressPercentage"] == 25.0
    assert figures["title"] == "Clean water for Sylhet"
    assert figures["status"] == "active"
    assert figures["lastDonationAt"] == (T0 + timedelta(seconds=30)).isoformat()
    history = get("/api/query/campaigns/c-1/donations").data
    assert [(d["pledgeId"], d["donorName"], d["netAmount"]) for d in history] == [
        ("pl-1", "Amina Rahman", 50_000)
    ]
    assert platform() == {
        "totalRaised": [{"currency": "BDT", "amount": 50_000}],
        "totalDonations": 1,
        "totalDonors": 1,
        "totalCampaigns": 1,
        "activeCampaigns": 1,
    }


def test_a_redelivered_or_replayed_event_changes_nothing(query_table: str) -> None:
    first = completed("pl-1", amount=50_000)
    refund = refunded("pl-2", amount=30_000, refund=10_000)
    created = campaign_event("c-1")
    assert deliver(created, first, completed("pl-2", amount=30_000), refund) == OK
    before = (
        totals("c-1"),
        platform(),
        get(
            "/api/query/users/u-donor/donations", caller={"userId": "u-donor", "principalId": "u-donor"}
        ).data,
    )
    # When SQS delivers the same messages again, alone and in one batch with duplicates
    assert deliver(first) == OK
    assert deliver(refund, refund, created, first) == OK
    after = (
        totals("c-1"),
        platform(),
        get(
            "/api/query/users/u-donor/donations", caller={"userId": "u-donor", "principalId": "u-donor"}
        ).data,
    )
    assert after == before
    assert before[0]["raisedAmount"] == 70_000


def test_a_pledge_before_its_campaign_still_counts_and_the_campaign_fills_in_later(query_table: str) -> None:
    assert deliver(completed("pl-1", amount=40_000)) == OK
    early = totals("c-1")
    assert (early["raisedAmount"], early["title"], early["currency"]) == (40_000, None, "BDT")
    assert deliver(campaign_event("c-1", goal=80_000)) == OK
    late = totals("c-1")
    assert (late["raisedAmount"], late["title"], late["progressPercentage"]) == (
        40_000,
        "Clean water for Sylhet",
        50.0,
    )
    assert platform()["totalCampaigns"] == 1


def test_an_older_snapshot_arriving_late_does_not_undo_a_newer_one(query_table: str) -> None:
    # Given the campaign completed (newer) arrives before it was created (older)
    later = campaign_event(
        "c-1", event_type="campaign.status_changed", status="completed", at=T0 + timedelta(hours=2)
    )
    earlier = campaign_event("c-1", status="active", at=T0)
    assert deliver(later) == OK
    assert deliver(earlier) == OK
    # Then the campaign shows completed, counted once and not as active
    assert totals("c-1")["status"] == "completed"
    assert (platform()["totalCampaigns"], platform()["activeCampaigns"]) == (1, 0)


def test_active_campaigns_follow_status_changes(query_table: str) -> None:
    assert deliver(campaign_event("c-1", status="draft"), campaign_event("c-2", status="active")) == OK
    assert platform()["activeCampaigns"] == 1
    approved = campaign_event(
        "c-1", event_type="campaign.status_changed", status="active", at=T0 + timedelta(minutes=1)
    )
    assert deliver(approved) == OK
    assert platform()["activeCampaigns"] == 2
    expired = campaign_event(
        "c-2", event_type="campaign.expired", status="expired", at=T0 + timedelta(days=40)
    )
    assert deliver(expired) == OK
    assert (platform()["activeCampaigns"], platform()["totalCampaigns"]) == (1, 2)
    assert totals("c-2")["status"] == "expired"


def test_donors_are_counted_once_however_often_they_give(query_table: str) -> None:
    anonymous: dict[str, Any] = {"donor": None, "anonymous": True}
    assert (
        deliver(
            campaign_event("c-1"),
            completed("pl-1", amount=10_000),
            completed("pl-2", amount=20_000),
            completed("pl-3", amount=5_000, email="Guest@Example.org", **anonymous),
            completed("pl-4", amount=5_000, email="guest@example.org ", **anonymous),
            completed("pl-5", amount=5_000, email="someone@example.org", **anonymous),
        )
        == OK
    )
    figures = totals("c-1")
    assert (figures["raisedAmount"], figures["donationCount"], figures["donorCount"]) == (45_000, 5, 3)
    assert platform()["totalDonors"] == 3


def test_refunds_lower_the_totals_and_a_full_refund_of_the_only_donation_lowers_donors(
    query_table: str,
) -> None:
    assert (
        deliver(
            campaign_event("c-1"),
            completed("pl-1", amount=10_000),
            completed("pl-2", amount=8_000, donor="u-other"),
        )
        == OK
    )
    # A partial refund lowers the amount, not the counts
    assert deliver(refunded("pl-1", amount=10_000, refund=4_000)) == OK
    figures = totals("c-1")
    assert (figures["raisedAmount"], figures["donationCount"], figures["donorCount"]) == (14_000, 2, 2)
    # The rest of it, then the other donor's only donation in full
    assert deliver(refunded("pl-1", amount=10_000, refund=6_000, total=10_000)) == OK
    assert deliver(refunded("pl-2", amount=8_000, donor="u-other", refund=8_000)) == OK
    figures = totals("c-1")
    assert (figures["raisedAmount"], figures["donationCount"], figures["donorCount"]) == (0, 0, 0)
    assert (platform()["totalDonors"], platform()["totalDonations"]) == (0, 0)
    history = {d["pledgeId"]: d for d in get("/api/query/campaigns/c-1/donations").data}
    assert (history["pl-1"]["status"], history["pl-1"]["refundedAmount"]) == ("refunded", 10_000)


def test_refunds_out_of_order_and_before_the_completion_count_once(query_table: str) -> None:
    # The running total of 7,000 arrives before the 3,000 one, and both before the completion
    assert deliver(refunded("pl-1", amount=10_000, refund=4_000, total=7_000)) == OK
    assert deliver(refunded("pl-1", amount=10_000, refund=3_000, total=3_000)) == OK
    assert deliver(completed("pl-1", amount=10_000)) == OK
    figures = totals("c-1")
    assert (figures["raisedAmount"], figures["donationCount"], figures["donorCount"]) == (3_000, 1, 1)


def test_the_last_donation_time_never_moves_back_when_an_older_pledge_arrives_late(query_table: str) -> None:
    pledges = [completed(f"pl-{n}", amount=1_000, minutes=n) for n in range(16)]
    assert deliver(*reversed(pledges[6:])) == OK
    assert deliver(*pledges[:6]) == OK
    figures = totals("c-1")
    assert figures["lastDonationAt"] == (T0 + timedelta(minutes=15, seconds=30)).isoformat()
    assert (figures["raisedAmount"], figures["donationCount"]) == (16_000, 16)


def test_a_viral_campaign_spreads_over_shards_and_totals_stay_one_small_query(query_table: str) -> None:
    from query import repository

    assert deliver(campaign_event("c-1")) == OK
    # (moto copies the whole table for every transaction, so the test keeps the table small.)
    for batch in range(4):
        assert deliver(*[completed(f"pl-{batch}-{n}", amount=100, donor=f"u-{n}") for n in range(10)]) == OK
    shards = [item for item in items(query_table, "CAMPAIGN#c-1") if item["sk"]["S"].startswith("SHARD#")]
    assert len(shards) == SHARD_COUNT
    read = repository.campaign_totals("c-1")
    assert (read.raised, read.donations, read.donors) == (4_000, 40, 10)
    assert read.shards == SHARD_COUNT


def test_a_concurrent_writer_between_read_and_write_makes_the_projection_retry(
    query_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from query import inbox, repository

    assert deliver(campaign_event("c-1"), completed("pl-1", amount=1_000)) == OK
    real_state = repository.donor_state
    raced: list[str] = []

    def racing_state(incoming: Any) -> Any:
        state = real_state(incoming)
        if not raced:
            # Another batch lands the same donor's other pledge after this one read the counts.
            raced.append(incoming.pledge_id)
            inbox.apply_donation(completed("pl-2", amount=2_000))
        return state

    monkeypatch.setattr(repository, "donor_state", racing_state)
    assert deliver(completed("pl-3", amount=3_000)) == OK
    figures = totals("c-1")
    assert (figures["raisedAmount"], figures["donationCount"], figures["donorCount"]) == (6_000, 3, 1)


def test_a_malformed_event_or_unknown_version_fails_only_its_own_message(query_table: str) -> None:
    broken = event("pledge.completed", {"pledgeId": "pl-x"})
    future = completed("pl-future")
    future = future.model_copy(update={"schema_version": 2})
    good = completed("pl-1", amount=1_000)
    response = deliver(broken, future, good)
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(
        [broken.event_id, future.event_id]
    )
    assert totals("c-1")["raisedAmount"] == 1_000


def test_goal_reached_is_recorded_once(query_table: str) -> None:
    reached = event(
        "campaign.goal_reached",
        {
            "campaignId": "c-1",
            "goalAmount": 1_000,
            "raisedAmount": 1_000,
            "currency": "BDT",
            "reachedAt": "2026-11-23T10:00:00+00:00",
        },
    )
    again = event(
        "campaign.goal_reached",
        {
            "campaignId": "c-1",
            "goalAmount": 1_000,
            "raisedAmount": 1_000,
            "currency": "BDT",
            "reachedAt": "2026-11-24T10:00:00+00:00",
        },
    )
    assert deliver(campaign_event("c-1"), reached) == OK
    assert deliver(again) == OK
    assert totals("c-1")["goalReachedAt"] == "2026-11-23T10:00:00+00:00"
