"""The projection's arithmetic, without AWS: contributions, refunds in any order, shards, donors."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from harambee.events import InvalidEvent
from query.domain.projection import (
    NOTHING,
    SHARD_COUNT,
    Contribution,
    Counted,
    CurrencyStatistics,
    Donation,
    contribution_of,
    donor_key,
    progress_percentage,
    shard_of,
)
from tests.unit.query.conftest import pledge_data


def test_a_pledge_always_lands_on_the_same_shard_and_pledges_spread_over_all_of_them() -> None:
    assert shard_of("pl-42") == shard_of("pl-42")
    spread = Counter(shard_of(f"pl-{n}") for n in range(2_000))
    assert set(spread) == set(range(SHARD_COUNT))
    # Even enough that no shard takes much more than its share of a viral campaign's writes.
    assert max(spread.values()) < 2_000 / SHARD_COUNT * 1.3


def test_anonymous_donors_are_counted_by_a_hash_of_their_address_never_the_address() -> None:
    key = donor_key(None, "  Donor@Example.org ")
    assert key == donor_key(None, "donor@example.org")
    assert "example" not in key
    assert key.startswith("email:")
    assert donor_key("u-1", "donor@example.org") == "user:u-1"
    with pytest.raises(InvalidEvent):
        donor_key(None, None)


def test_a_hidden_name_is_never_kept_even_when_the_event_carries_it() -> None:
    data = pledge_data("pl-1", name="Secret Name")
    data["isAnonymous"] = True
    assert Donation.from_event(data).donor_name is None


def test_a_refund_that_arrives_before_its_completion_describes_the_same_donation() -> None:
    data = pledge_data("pl-1", amount=10_000)
    refund = Donation.from_event({**data, "refundedAmount": 4_000, "fullyRefunded": False})
    completion = Donation.from_event(data)
    # Whichever arrives first, merging the other changes nothing or only grows the refund.
    assert refund.merged_with(completion) == refund
    assert completion.merged_with(refund) == refund
    assert refund.contribution() == Contribution(net=6_000, active=1)


def test_a_full_refund_takes_the_donation_out_of_the_counts_and_refunds_never_shrink() -> None:
    data = pledge_data("pl-1", amount=10_000)
    full = Donation.from_event({**data, "refundedAmount": 10_000, "fullyRefunded": True})
    partial = Donation.from_event({**data, "refundedAmount": 3_000})
    assert full.contribution() == Contribution(net=0, active=0)
    assert full.status == "refunded"
    assert partial.status == "partially_refunded"
    assert full.merged_with(partial) == full
    change = full.contribution().minus(contribution_of(partial))
    assert change == Contribution(net=-7_000, active=-1)
    assert contribution_of(None) == NOTHING


def test_a_refund_larger_than_the_amount_is_clamped_to_it() -> None:
    data = pledge_data("pl-1", amount=10_000)
    donation = Donation.from_event({**data, "refundedAmount": 99_999})
    assert (donation.refunded_amount, donation.fully_refunded, donation.net_amount) == (10_000, True, 0)


@pytest.mark.parametrize(
    "broken",
    [
        {"amount": None},
        {"amount": 0},
        {"campaignId": None},
        {"currency": "TAKA"},
        {"currency": "XYZ"},
        {"refundedAmount": -5},
        {"completedAt": "yesterday"},
        {"donorId": None, "donorEmail": None},
    ],
)
def test_an_event_that_does_not_describe_a_donation_is_invalid(broken: dict[str, object]) -> None:
    data = {**pledge_data("pl-1"), **broken}
    if broken.get("campaignId", 1) is None:
        del data["campaignId"]
    with pytest.raises(InvalidEvent):
        Donation.from_event(data)


def test_distinct_membership_joins_on_the_first_donation_and_leaves_on_the_last() -> None:
    member = Counted()
    assert member.joined_or_left(+1) == 1
    member = member.after(+1)
    assert member.joined_or_left(+1) == 0
    member = member.after(+1)
    assert (member.joined_or_left(-1), member.after(-1).joined_or_left(-1)) == (0, -1)
    assert member.version == 2


def test_statistics_keep_first_and_last_donation_and_sum_the_changes() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    stats = CurrencyStatistics(currency="BDT").after(Contribution(net=500, active=1), 1, late)
    stats = stats.after(Contribution(net=200, active=1), 0, early)
    stats = stats.after(Contribution(net=-200, active=-1), 0, early)
    assert (stats.total_donated, stats.donation_count, stats.campaigns_supported) == (500, 1, 1)
    assert (stats.first_donation_at, stats.last_donation_at) == (early, late)
    assert stats.model_dump(by_alias=True)["totalDonated"] == 500


def test_progress_is_integer_maths_to_two_decimals() -> None:
    assert progress_percentage(333_333, 1_000_000) == 33.33
    assert progress_percentage(2_000_000, 1_000_000) == 200.0
    assert progress_percentage(10, 0) == 0.0
    assert progress_percentage(10, None) == 0.0
