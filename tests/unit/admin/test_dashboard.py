"""Dashboard figures kept from events: raised per currency by UTC day and month, donors, donations,
campaigns by status, failed payments, dead-letter depths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin import service
from harambee import aws
from harambee.events import DomainEvent
from harambee.settings import platform_settings
from tests.unit.admin.conftest import ADMIN, USER, call, deliver, event

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def completed(
    amount: int, currency: str = "BDT", *, donor: str | None = "u-donor", at: datetime = NOW, **extra: object
) -> DomainEvent:
    data = {
        "pledgeId": "pl-1",
        "campaignId": "c-1",
        "donorId": donor,
        "donorEmail": extra.pop("email", "donor@example.org"),
        "amount": amount,
        "currency": currency,
        "completedAt": at.isoformat(),
        **extra,
    }
    return event("pledge.completed", data, at=at)


def test_completed_pledges_add_to_today_this_month_and_totals_per_currency(admin: dict[str, str]) -> None:
    # Given two BDT pledges and one XOF pledge completed today
    assert deliver(completed(150_000), completed(50_000, donor="u-2"), completed(5_000, "XOF")) == {
        "batchItemFailures": []
    }
    # When the dashboard is read
    stats = service.dashboard(NOW)
    # Then each currency is summed on its own, today, this month and in total
    raised = [{"currency": "BDT", "amount": 200_000}, {"currency": "XOF", "amount": 5_000}]
    assert [r.model_dump() for r in stats.today.raised] == raised
    assert [r.model_dump() for r in stats.this_month.raised] == raised
    assert [r.model_dump() for r in stats.totals.raised] == raised
    assert (stats.today.donations, stats.this_month.donations, stats.totals.donations) == (3, 3, 3)
    # and the same registered donor giving twice is one donor
    assert stats.totals.donors == 2


def test_a_redelivered_pledge_is_counted_once(admin: dict[str, str]) -> None:
    pledge = completed(150_000)
    deliver(pledge)
    # When the same event arrives again (SQS at-least-once, or both of admin's rules)
    assert deliver(pledge) == {"batchItemFailures": []}
    stats = service.dashboard(NOW)
    assert stats.today.raised[0].amount == 150_000
    assert (stats.totals.donations, stats.totals.donors) == (1, 1)


def test_anonymous_donors_are_told_apart_by_email_whatever_its_case(admin: dict[str, str]) -> None:
    deliver(
        completed(100, donor=None, email="Anon@Example.org"),
        completed(100, donor=None, email="anon@example.org "),
        completed(100, donor=None, email="other@example.org"),
    )
    assert service.dashboard(NOW).totals.donors == 2


def test_days_and_months_are_utc_buckets(admin: dict[str, str]) -> None:
    # Given a pledge completed yesterday (same month), one last month, and one today
    deliver(
        completed(1_000, at=NOW - timedelta(days=1)),
        completed(20_000, at=datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)),
        completed(300, at=NOW),
    )
    stats = service.dashboard(NOW)
    assert stats.today.period == "2026-11-22"
    assert stats.today.raised[0].amount == 300
    assert stats.this_month.raised[0].amount == 1_300
    assert stats.totals.raised[0].amount == 21_300
    # A time with an offset counts in the UTC day it falls on: 00:30+01:00 is the day before in UTC
    deliver(completed(7, at=datetime.fromisoformat("2026-11-23T00:30:00+01:00")))
    assert service.dashboard(NOW).today.raised[0].amount == 307


def test_refunds_subtract_on_the_day_they_happen(admin: dict[str, str]) -> None:
    deliver(completed(150_000, at=NOW - timedelta(days=2)))
    refund = event(
        "pledge.refunded",
        {"pledgeId": "pl-1", "amount": 150_000, "refundAmount": 40_000, "refundedAmount": 40_000,
         "currency": "BDT", "refundedAt": NOW.isoformat()},
        at=NOW,
    )  # fmt: skip
    deliver(refund, refund)
    stats = service.dashboard(NOW)
    assert stats.today.raised[0].amount == -40_000
    assert stats.this_month.raised[0].amount == 110_000
    assert stats.totals.raised[0].amount == 110_000
    # A refund is not a donation less: the count stays
    assert stats.totals.donations == 1


def test_failed_payments_count_today_and_in_total(admin: dict[str, str]) -> None:
    failed = {"paymentId": "p-1", "amount": 100, "currency": "BDT", "status": "failed"}
    deliver(
        event("payment.failed", failed, at=NOW, source="harambee.payments"),
        event("payment.failed", failed, at=NOW - timedelta(days=3), source="harambee.payments"),
    )
    stats = service.dashboard(NOW)
    assert (stats.today.failed_payments, stats.totals.failed_payments) == (1, 2)


def campaign(event_type: str, status: str, at: datetime, campaign_id: str = "c-1") -> DomainEvent:
    return event(
        event_type, {"campaignId": campaign_id, "status": status}, at=at, source="harambee.campaigns"
    )


def test_drafts_are_pending_approvals_and_approval_makes_them_active(admin: dict[str, str]) -> None:
    deliver(campaign("campaign.created", "draft", NOW), campaign("campaign.created", "draft", NOW, "c-2"))
    assert service.dashboard(NOW).campaigns.pending_approvals == 2
    deliver(campaign("campaign.status_changed", "active", NOW + timedelta(minutes=1)))
    figures = service.dashboard(NOW).campaigns
    assert (figures.active, figures.pending_approvals) == (1, 1)
    deliver(campaign("campaign.expired", "active", NOW + timedelta(days=30)))
    figures = service.dashboard(NOW).campaigns
    assert (figures.active, figures.pending_approvals, figures.by_status) == (
        0,
        1,
        {"draft": 1, "expired": 1},
    )


def test_a_status_change_arriving_before_the_creation_wins(admin: dict[str, str]) -> None:
    # Given the approval is delivered before the creation it follows
    deliver(campaign("campaign.status_changed", "active", NOW + timedelta(minutes=1)))
    deliver(campaign("campaign.created", "draft", NOW))
    # Then the older event changes nothing: one active campaign, none pending
    figures = service.dashboard(NOW).campaigns
    assert (figures.active, figures.pending_approvals) == (1, 0)


@pytest.mark.parametrize(
    "money", [{"amount": 10.5, "currency": "BDT"}, {"amount": -100, "currency": "BDT"}, {"amount": 100}]
)
def test_a_malformed_money_event_is_reported_and_nothing_is_counted(
    admin: dict[str, str], money: dict[str, object]
) -> None:
    bad = event("pledge.completed", {"pledgeId": "pl-x", **money}, at=NOW)
    good = completed(100)
    # Only the bad message is reported back to SQS; the rest of the batch is applied
    assert deliver(bad, good) == {"batchItemFailures": [{"itemIdentifier": bad.event_id}]}
    assert service.dashboard(NOW).totals.donations == 1


def test_dead_letter_depths_are_read_from_every_queue(admin: dict[str, str]) -> None:
    aws.client("sqs").send_message(QueueUrl=admin["test-PaymentsDeadLetterQueue"], MessageBody="{}")
    depths = {d.queue: d.depth for d in service.dashboard(NOW).dead_letter_queues}
    assert depths == {"test-PaymentsDeadLetterQueue": 1, "test-AdminDeadLetterQueue": 0}


def test_an_unreadable_queue_is_shown_without_hiding_the_rest(admin: dict[str, str]) -> None:
    aws.client("sqs").delete_queue(QueueUrl=admin["test-AdminDeadLetterQueue"])
    depths = {d.queue: (d.depth, d.error) for d in service.dashboard(NOW).dead_letter_queues}
    assert depths["test-PaymentsDeadLetterQueue"] == (0, None)
    assert depths["test-AdminDeadLetterQueue"][0] is None
    assert depths["test-AdminDeadLetterQueue"][1]


def test_the_stats_route_answers_admins_only(admin: dict[str, str]) -> None:
    deliver(completed(150_000, at=datetime.now(UTC)))
    reply = call("GET", "/api/admin/dashboard/stats", caller=ADMIN)
    assert reply.status == 200, reply
    assert reply.data["today"]["raised"] == [{"currency": "BDT", "amount": 150_000}]
    assert reply.data["totals"]["donors"] == 1
    assert {"active", "pendingApprovals", "byStatus"} <= set(reply.data["campaigns"])
    assert {q["queue"] for q in reply.data["deadLetterQueues"]} == set(admin)
    assert call("GET", "/api/admin/dashboard/stats", caller=USER).status == 403
    assert call("GET", "/api/admin/dashboard/stats", caller=None).status == 401


# ------------------------------------------------------------------ what a donation writes


def _stored(pk: str) -> list[dict[str, object]]:
    found = aws.dynamodb().query(
        TableName=platform_settings().table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )
    return [{name: next(iter(value.values())) for name, value in item.items()} for item in found["Items"]]


def test_a_completed_pledge_moves_one_day_item_and_one_total_item(admin: dict[str, str]) -> None:
    # Given a first-time donor's pledge completed today
    pledge = completed(150_000)
    # When it is delivered (twice: a redelivery)
    deliver(pledge, pledge)
    # Then all of the day's figures sit in one item of the day's shard, all-time ones in one item
    day_items = _stored("STATS#MONTH#2026-11")
    assert len(day_items) == 1
    assert str(day_items[0]["sk"]).startswith("DAY#2026-11-22#")
    assert {k: v for k, v in day_items[0].items() if k not in ("pk", "sk")} == {
        "RAISED#BDT": "150000",
        "DONATIONS": "1",
    }
    total_items = _stored("STATS#TOTAL")
    assert len(total_items) == 1
    assert {k: v for k, v in total_items[0].items() if k not in ("pk", "sk")} == {
        "RAISED#BDT": "150000",
        "DONATIONS": "1",
        "DONORS": "1",
    }
    # and no per-month item is kept: the month is read from its days
    assert _stored("STATS#MONTH") == []


def test_a_donor_counted_meanwhile_by_another_pledge_is_not_counted_twice(
    admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from admin import repository

    # Given the donor's first pledge is counted
    deliver(completed(100))
    # and a second pledge of theirs reads the donor as new (it looked before the first one landed)
    monkeypatch.setattr(repository, "donor_counted", lambda key: False)
    # When it is delivered
    assert deliver(completed(200)) == {"batchItemFailures": []}
    # Then the donation counts and the donor does not count again
    stats = service.dashboard(NOW)
    assert (stats.totals.donations, stats.totals.donors, stats.today.raised[0].amount) == (2, 1, 300)


def test_a_month_sums_every_day_of_it_across_shards(admin: dict[str, str]) -> None:
    # Given a pledge on every day of December (31 days, spread over the shards) and one in January
    december = [completed(day, at=datetime(2026, 12, day, 12, tzinfo=UTC)) for day in range(1, 32)]
    for batch in (december[:10], december[10:20], december[20:30], december[30:]):
        assert deliver(*batch) == {"batchItemFailures": []}
    deliver(completed(1_000_000, at=datetime(2027, 1, 1, tzinfo=UTC)))
    # When December's dashboard is read on its last day
    stats = service.dashboard(datetime(2026, 12, 31, 18, tzinfo=UTC))
    # Then the month is the sum of its 31 days, today is the 31st alone, totals take January too
    assert stats.this_month.raised[0].amount == sum(range(1, 32))
    assert (stats.this_month.donations, stats.today.donations) == (31, 1)
    assert stats.today.raised[0].amount == 31
    assert stats.totals.raised[0].amount == sum(range(1, 32)) + 1_000_000
