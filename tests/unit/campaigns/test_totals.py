"""Campaign totals from pledge events in any order: each pledge's share is kept, the totals move by
differences (ADD, no version check on the hot item), donors are counted while they have a counted
donation, and the goal is reached by its own conditional update, once."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from campaigns import inbox, repository
from harambee.outbox import TransactionContended
from harambee.outbox import transact_write as write
from tests.unit.campaigns.conftest import outbox, stored
from tests.unit.campaigns.test_inbox import completed, counted, deliver, refunded


@pytest.mark.parametrize(
    ("refunds", "expected"),
    [
        ((40_000,), (0, 0, 0)),  # fully refunded: nothing is left of it
        ((10_000,), (30_000, 1, 1)),  # partly refunded: still a donation, net of the refund
        ((10_000, 30_000), (0, 0, 0)),  # two refunds, the second completes it (running total 40,000)
        ((10_000, 15_000), (15_000, 1, 1)),
    ],
)
def test_every_delivery_order_of_a_pledge_and_its_refunds_ends_at_the_same_totals(
    campaigns_table: str, refunds: tuple[int, ...], expected: tuple[int, int, int]
) -> None:
    running = list(itertools.accumulate(refunds))
    for order in itertools.permutations(range(len(refunds) + 1)):
        # Given a pledge and its refunds (running totals), delivered in this order, each twice
        campaign = stored()
        pledge = completed(campaign.campaign_id, 40_000, "u-a")
        events = [
            pledge,
            *(refunded(pledge, one, total=sum_) for one, sum_ in zip(refunds, running, strict=True)),
        ]
        for index in order:
            assert deliver(events[index], events[index]) == {"batchItemFailures": []}
        # Then the totals are the pledge's final share, whatever the order
        assert counted(campaign.campaign_id) == expected, order


def test_a_refund_before_its_completion_does_not_leave_the_pledge_counted(campaigns_table: str) -> None:
    campaign = stored()
    pledge = completed(campaign.campaign_id, 25_000, "u-a")
    deliver(refunded(pledge, 25_000))  # the refund overtook the completion
    assert counted(campaign.campaign_id) == (0, 0, 0)
    deliver(pledge)
    assert counted(campaign.campaign_id) == (0, 0, 0)
    assert repository.find_pledge(pledge.data["pledgeId"]) is not None


def test_a_donor_stops_counting_once_all_their_donations_are_refunded(campaigns_table: str) -> None:
    campaign = stored()
    first, second = (
        completed(campaign.campaign_id, 10_000, "u-a"),
        completed(campaign.campaign_id, 5_000, "u-a"),
    )
    other = completed(campaign.campaign_id, 7_000, "u-b")
    deliver(first, second, other)
    assert counted(campaign.campaign_id) == (22_000, 3, 2)
    deliver(refunded(first, 10_000))
    assert counted(campaign.campaign_id) == (12_000, 2, 2)  # u-a still has a counted donation
    deliver(refunded(second, 5_000))
    assert counted(campaign.campaign_id) == (7_000, 1, 1)
    deliver(completed(campaign.campaign_id, 1_000, "u-a"))  # and counts again when giving again
    assert counted(campaign.campaign_id) == (8_000, 2, 2)


def test_a_guest_donor_is_counted_by_email_whatever_its_case(campaigns_table: str) -> None:
    campaign = stored()
    one = completed(campaign.campaign_id, 1_000, None)
    two = completed(campaign.campaign_id, 2_000, None)
    two.data["donorEmail"] = one.data["donorEmail"].upper()
    deliver(one, two)
    assert counted(campaign.campaign_id) == (3_000, 2, 1)


def test_pledges_landing_together_all_count_without_a_retry(
    campaigns_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = stored()
    racing = [completed(campaign.campaign_id, 1_000 * n, f"u-{n}") for n in range(1, 4)]
    read = repository.find_pledge
    reads = {"n": 0}

    def crowded(pledge_id: str) -> Any:
        seen = read(pledge_id)
        reads["n"] += 1
        if reads["n"] == 1:
            for other in racing:  # other pledges to the same campaign commit between this read and write
                inbox.pledge_changed(other)
        return seen

    monkeypatch.setattr(repository, "find_pledge", crowded)
    assert deliver(completed(campaign.campaign_id, 10_000, "u-slow")) == {"batchItemFailures": []}
    # Then no version check on the totals refused the slow pledge: it read its record once
    assert reads["n"] == 1 + len(racing)
    assert counted(campaign.campaign_id) == (16_000, 4, 4)


def test_two_deliveries_racing_on_one_pledge_apply_its_difference_once(
    campaigns_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = stored()
    pledge = completed(campaign.campaign_id, 9_000, "u-a")
    deliver(pledge)
    partial, full = refunded(pledge, 3_000), refunded(pledge, 6_000, total=9_000)
    read = repository.find_pledge
    reads = {"n": 0}

    def stale(pledge_id: str) -> Any:
        seen = read(pledge_id)
        reads["n"] += 1
        if reads["n"] == 1:
            inbox.pledge_changed(full)  # the later refund commits between this read and its write
        return seen

    monkeypatch.setattr(repository, "find_pledge", stale)
    assert deliver(partial) == {"batchItemFailures": []}
    assert reads["n"] == 3  # refused on the pledge's version, re-read, then nothing new to apply
    assert counted(campaign.campaign_id) == (0, 0, 0)


def test_a_viral_campaign_reaches_its_goal_once(campaigns_table: str) -> None:
    campaign = stored(goal_amount=50_000)
    pledges = [completed(campaign.campaign_id, 1_000, f"u-{n}") for n in range(60)]
    for start in range(0, 60, 10):
        assert deliver(*pledges[start : start + 10]) == {"batchItemFailures": []}
    assert counted(campaign.campaign_id) == (60_000, 60, 60)
    [reached] = outbox(campaigns_table, "campaign.goal_reached")
    assert reached["data"]["raisedAmount"] == 50_000  # emitted by the pledge that reached it
    assert repository.find_totals(campaign.campaign_id).goal_reached_at == reached["data"]["reachedAt"]


def test_a_goal_missed_by_a_crash_after_the_totals_is_reached_on_redelivery(
    campaigns_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = stored(goal_amount=10_000)
    pledge = completed(campaign.campaign_id, 10_000, "u-a")
    reach = inbox.reach_goal_if_due

    def crash(campaign_id: str) -> bool:
        raise TransactionContended("the function timed out here")

    monkeypatch.setattr(inbox, "reach_goal_if_due", crash)
    assert deliver(pledge)["batchItemFailures"]  # the totals committed, the goal did not
    assert outbox(campaigns_table, "campaign.goal_reached") == []
    monkeypatch.setattr(inbox, "reach_goal_if_due", reach)
    assert deliver(pledge) == {"batchItemFailures": []}  # SQS redelivers: counted once, goal reached
    assert deliver(pledge) == {"batchItemFailures": []}
    assert counted(campaign.campaign_id) == (10_000, 1, 1)
    assert len(outbox(campaigns_table, "campaign.goal_reached")) == 1


def test_a_goal_raised_while_it_was_being_reached_is_not_reached(
    campaigns_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.campaigns.conftest import ADMIN, call

    campaign = stored(goal_amount=10_000)
    read = repository.find_with_totals
    reads = {"n": 0}

    def edited(campaign_id: str) -> Any:
        seen = read(campaign_id)
        reads["n"] += 1
        if reads["n"] == 2:  # the goal check's read: an admin raises the goal before it writes
            path = f"/api/campaigns/{campaign_id}"
            assert call("PUT", path, body={"goalAmount": 20_000}, caller=ADMIN).status == 200
        return seen

    monkeypatch.setattr(repository, "find_with_totals", edited)
    assert deliver(completed(campaign.campaign_id, 12_000, "u-a")) == {"batchItemFailures": []}
    assert outbox(campaigns_table, "campaign.goal_reached") == []
    assert repository.find_totals(campaign.campaign_id).goal_reached_at is None


@pytest.mark.parametrize(
    "bad",
    [
        {"pledgeId": None},
        {"donorId": None, "donorEmail": None},
        {"amount": 0},
    ],
)
def test_a_pledge_event_missing_what_counts_it_fails_its_message(
    campaigns_table: str, bad: dict[str, Any]
) -> None:
    campaign = stored()
    broken = completed(campaign.campaign_id, 1_000)
    broken.data.update(bad)
    assert deliver(broken) == {"batchItemFailures": [{"itemIdentifier": broken.event_id}]}
    assert counted(campaign.campaign_id) == (0, 0, 0)


def test_a_transaction_conflict_on_the_totals_is_retried_with_backoff_and_counts_once(
    campaigns_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = stored()
    refused = {"n": 0}

    def busy(items: Any, **kwargs: Any) -> None:
        # DynamoDB refuses a transaction while another one holds the same (hot) totals item
        if refused["n"] < 2:
            refused["n"] += 1
            raise TransactionContended("TransactionConflict on the totals item")
        write(items, **kwargs)

    monkeypatch.setattr("harambee.consumer.transact_write", busy)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    assert deliver(completed(campaign.campaign_id, 4_000, "u-a")) == {"batchItemFailures": []}
    assert (refused["n"], counted(campaign.campaign_id)) == (2, (4_000, 1, 1))
