"""The campaigns inbox: totals from completed and refunded pledges (goal reached once), and the
people projection the birthday pots are made from; every event applies once under redelivery."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from campaigns import repository
from harambee.events import DomainEvent
from tests.unit.campaigns.conftest import call, invoke, outbox, stored
from tests.unit.kernel import harness


def event(event_type: str, data: dict[str, Any], source: str = "harambee.donations") -> DomainEvent:
    return DomainEvent(event_id=str(uuid.uuid4()), event_type=event_type, source=source, data=data)


def completed(
    campaign_id: str, amount: int, donor: str | None = "u-donor", currency: str = "BDT"
) -> DomainEvent:
    data = {
        "pledgeId": f"pl-{uuid.uuid4().hex[:8]}",
        "campaignId": campaign_id,
        "donorId": donor,
        "donorEmail": f"{donor or 'anon'}@example.org",
        "amount": amount,
        "currency": currency,
    }
    return event("pledge.completed", data)


def refunded(pledge: DomainEvent, refund: int, *, total: int | None = None) -> DomainEvent:
    """`pledge.refunded` of a completed pledge: its fields, this refund and the running total."""
    running = refund if total is None else total
    data = {
        **pledge.data,
        "refundAmount": refund,
        "refundedAmount": running,
        "fullyRefunded": running >= pledge.data["amount"],
    }
    return event("pledge.refunded", data)


def counted(campaign_id: str) -> tuple[int, int, int]:
    totals = repository.find_totals(campaign_id)
    return totals.raised, totals.donations, totals.donors


def deliver(*events: DomainEvent) -> dict[str, Any]:
    result: dict[str, Any] = invoke(harness.deliveries(*events))
    return result


def test_completed_pledges_add_up_and_a_redelivery_adds_nothing(campaigns_table: str) -> None:
    campaign = stored(goal_amount=1_000_000)
    first, second, third = (
        completed(campaign.campaign_id, 100_000, "u-a"),
        completed(campaign.campaign_id, 50_000, "u-b"),
        completed(campaign.campaign_id, 25_000, "u-a"),
    )
    assert deliver(first, second, third) == {"batchItemFailures": []}
    assert deliver(first, third) == {"batchItemFailures": []}
    totals = repository.find_totals(campaign.campaign_id)
    assert (totals.raised, totals.donations, totals.donors) == (175_000, 3, 2)
    assert outbox(campaigns_table, "campaign.goal_reached") == []
    [card] = call("GET", "/api/campaigns").data  # list cards carry the totals too
    assert (card["raisedAmount"], card["donorCount"], card["goalReached"]) == (175_000, 2, False)


def test_the_goal_is_reached_once_even_with_redeliveries_and_later_refunds(campaigns_table: str) -> None:
    campaign = stored(goal_amount=100_000)
    reaching = completed(campaign.campaign_id, 100_000)
    first = completed(campaign.campaign_id, 60_000, "u-a")
    deliver(first)
    deliver(reaching, reaching)
    deliver(reaching)
    deliver(refunded(first, 60_000))
    deliver(completed(campaign.campaign_id, 70_000, "u-c"))  # back above the goal
    [reached] = outbox(campaigns_table, "campaign.goal_reached")
    assert (
        reached["data"]["raisedAmount"],
        reached["data"]["goalAmount"],
        reached["data"]["donorCount"],
    ) == (
        160_000,
        100_000,
        2,
    )
    totals = repository.find_totals(campaign.campaign_id)
    assert (totals.raised, totals.donations, totals.goal_reached_at is not None) == (170_000, 2, True)
    shown = call("GET", f"/api/campaigns/{campaign.campaign_id}").data
    assert (shown["raisedAmount"], shown["goalReached"]) == (170_000, True)


def test_a_partial_refund_lowers_raised_but_keeps_the_donation(campaigns_table: str) -> None:
    campaign = stored()
    pledge = completed(campaign.campaign_id, 40_000)
    deliver(pledge)
    refund = refunded(pledge, 10_000)
    deliver(refund, refund)
    totals = repository.find_totals(campaign.campaign_id)
    assert (totals.raised, totals.donations) == (30_000, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"currency": "USD"},
        {"campaignId": "no-such-campaign"},
        {"amount": -5},
        {"amount": 10.5},
    ],
)
def test_a_pledge_the_campaign_cannot_count_fails_its_message(
    campaigns_table: str, bad: dict[str, Any]
) -> None:
    campaign = stored()
    good = completed(campaign.campaign_id, 1_000)
    broken = event("pledge.completed", {**good.data, **bad})
    assert deliver(broken) == {"batchItemFailures": [{"itemIdentifier": broken.event_id}]}
    assert repository.find_totals(campaign.campaign_id).raised == 0


def profile(user_id: str, born: str | None) -> DomainEvent:
    return event("profile.birthdate_changed", {"userId": user_id, "dateOfBirth": born}, "harambee.profiles")


def birthday_users(day: str) -> list[tuple[str, str | None]]:
    return [(person.user_id, person.name) for person in repository.birthdays_on(day)]


def test_birthdays_follow_the_profile_and_a_late_older_change_is_ignored(campaigns_table: str) -> None:
    registered = event(
        "account.registered", {"userId": "u-awa", "email": "a@x.org", "name": "Awa"}, "harambee.identity"
    )
    older, newer = profile("u-awa", "1990-05-01"), profile("u-awa", "1990-06-15")
    deliver(registered)
    deliver(newer)
    deliver(older)  # arrives late: must not move the birthday back
    assert birthday_users("05-01") == []
    assert birthday_users("06-15") == [("u-awa", "Awa")]
    deliver(profile("u-awa", None))
    assert birthday_users("06-15") == []


def test_a_deleted_account_is_forgotten_and_not_resurrected(campaigns_table: str) -> None:
    deliver(profile("u-gone", "1985-03-03"))
    deleted = event("account.deleted", {"userId": "u-gone"}, "harambee.profiles")
    deliver(deleted, deleted)
    deliver(profile("u-gone", "1985-03-04"))
    assert birthday_users("03-03") == birthday_users("03-04") == []
    assert repository.find_person("u-gone").deleted


def test_a_birthday_event_without_a_user_or_with_a_bad_date_fails(campaigns_table: str) -> None:
    broken = [profile("u-x", "not-a-date"), event("profile.birthdate_changed", {"dateOfBirth": "1990-01-01"})]
    assert len(deliver(*broken)["batchItemFailures"]) == 2


def test_an_admin_lowering_the_goal_below_what_was_raised_reaches_it_at_once(campaigns_table: str) -> None:
    from tests.unit.campaigns.conftest import ADMIN

    campaign = stored(goal_amount=100_000)
    deliver(completed(campaign.campaign_id, 60_000))
    path = f"/api/campaigns/{campaign.campaign_id}"
    assert call("PUT", path, body={"goalAmount": 70_000}, caller=ADMIN).status == 200
    assert outbox(campaigns_table, "campaign.goal_reached") == []
    assert call("PUT", path, body={"goalAmount": 50_000}, caller=ADMIN).status == 200
    deliver(completed(campaign.campaign_id, 1_000))  # and a later pledge does not reach it again
    [reached] = outbox(campaigns_table, "campaign.goal_reached")
    assert (reached["data"]["goalAmount"], reached["data"]["raisedAmount"]) == (50_000, 60_000)
    assert call("GET", path).data["goalReached"] is True
