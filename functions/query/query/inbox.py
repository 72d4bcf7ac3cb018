"""The query inbox: campaign snapshots and completed or refunded pledges, each applied exactly once.

Every effect commits with the event's processed marker. Effects that depend on what is stored
(a donor's first donation, a campaign leaving `active`) read first and write with a condition on
what they read; a lost race re-reads and tries again, so concurrent batches never double count.
After each batch the campaigns it touched are re-ranked once from their shards (see refresh_ranks).
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any

from harambee.consumer import EventConsumer, apply_once
from harambee.errors import Conflict
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger
from harambee.outbox import TransactionContended, WriteConflict
from query import repository
from query.domain.campaign import CampaignSnapshot
from query.domain.projection import CurrencyStatistics, Donation, contribution_of, shard_of

CONSUMER = "query"
KNOWN_SCHEMA_VERSION = 1
# Each retry re-reads; five lost races in a row on one donor or shard means real contention,
# better handed back to SQS (which redelivers later) than spun on here.
MAX_ATTEMPTS = 5


class ProjectionContended(Conflict):
    code = "PROJECTION_CONTENDED"


_touched: set[str] = set()


def _known(event: DomainEvent) -> None:
    if event.schema_version != KNOWN_SCHEMA_VERSION:
        raise InvalidEvent(f"{event.event_type} v{event.schema_version} is not a version this consumer knows")


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret


def apply_donation(event: DomainEvent) -> None:
    """pledge.completed and pledge.refunded: move every aggregate by the donation's change."""
    _known(event)
    incoming = Donation.from_event(event.data)
    may_move_last_donation = True
    for attempt in range(MAX_ATTEMPTS):
        state = repository.donor_state(incoming)
        before = state.donation
        after = incoming if before is None else before.merged_with(incoming)
        if before is not None and after == before:
            # A completion after its refund, or an older refund: nothing new, only remember the event.
            apply_once(event, CONSUMER, [])
            return
        change = after.contribution().minus(contribution_of(before))
        campaign_donors = state.of_campaign.joined_or_left(change.active)
        platform_donors = state.donor.joined_or_left(change.active)
        statistics = dict(state.statistics)
        current = statistics.get(after.currency) or CurrencyStatistics(currency=after.currency)
        statistics[after.currency] = current.after(change, campaign_donors, after.completed_at)
        newest = after.completed_at if before is None and may_move_last_donation else None
        items = [
            repository.put_donation(before, after),
            repository.put_donor_of_campaign(
                after, state.of_campaign, state.of_campaign.after(change.active)
            ),
            repository.put_donor(after, state.donor, state.donor.after(change.active), statistics),
            repository.add_to_campaign_shard(after, change, campaign_donors, last_donation_at=newest),
            repository.add_to_platform_shard(
                shard_of(after.pledge_id),
                {
                    f"raised#{after.currency}": change.net,
                    "donations": change.active,
                    "donors": platform_donors,
                },
            ),
        ]
        try:
            apply_once(event, CONSUMER, items)
        except WriteConflict as conflict:
            if conflict.failed_on(*repository.campaign_shard_failed(after.campaign_id, after.pledge_id)):
                # A later donation already stamped this shard: keep its lastDonationAt.
                may_move_last_donation = False
            continue
        except TransactionContended:
            _back_off(attempt)
            continue
        _touched.add(after.campaign_id)
        return
    raise ProjectionContended(
        f"Could not apply {event.event_type} {event.event_id} after {MAX_ATTEMPTS} tries"
    )


def apply_snapshot(event: DomainEvent) -> None:
    """campaign.created/updated/status_changed/expired: the newest snapshot wins, whatever the order."""
    _known(event)
    data: dict[str, Any] = dict(event.data)
    if event.event_type == "campaign.expired":
        data["status"] = data.get("status") or "expired"
    snapshot = CampaignSnapshot.from_event(data, event.timestamp)
    for attempt in range(MAX_ATTEMPTS):
        stored = repository.find_campaign(snapshot.campaign_id, consistent=True)
        read_at = repository.snapshot_at(stored)
        if read_at is not None and datetime.fromisoformat(read_at) >= snapshot.snapshot_at:
            logger.info("Older campaign snapshot ignored", extra={"campaignId": snapshot.campaign_id})
            apply_once(event, CONSUMER, [])
            return
        was_active = read_at is not None and (stored or {}).get("status", {}).get("S") == "active"
        counters: dict[str, int] = {}
        if read_at is None:
            counters["campaigns"] = 1
        if (moved := int(snapshot.is_active) - int(was_active)) != 0:
            counters["activeCampaigns"] = moved
        items = [repository.put_snapshot(snapshot, read_at)]
        if counters:
            items.append(repository.add_to_platform_shard(shard_of(snapshot.campaign_id), counters))
        try:
            apply_once(event, CONSUMER, items)
        except WriteConflict:
            continue
        except TransactionContended:
            _back_off(attempt)
            continue
        _touched.add(snapshot.campaign_id)
        return
    raise ProjectionContended(
        f"Could not apply {event.event_type} {event.event_id} after {MAX_ATTEMPTS} tries"
    )


def apply_goal_reached(event: DomainEvent) -> None:
    _known(event)
    try:
        campaign_id = str(event.data["campaignId"])
    except KeyError as error:
        raise InvalidEvent("campaign.goal_reached without campaignId") from error
    reached_at = str(event.data.get("reachedAt") or event.timestamp.isoformat())
    apply_once(event, CONSUMER, [repository.mark_goal_reached(campaign_id, reached_at)])


def refresh_ranks() -> int:
    """Re-rank each campaign the batch touched, once, from its shards: the ranking index is written at
    most once per campaign per batch, never on every donation. Returns how many ranks moved."""
    moved = 0
    while _touched:
        campaign_id = _touched.pop()
        try:
            moved += repository.refresh_rank(repository.campaign_totals(campaign_id, consistent=True))
        except Exception:
            # Derived and self-healing (the next batch or a rebuild re-ranks): never fail applied events.
            logger.exception("Could not refresh a campaign's rank", extra={"campaignId": campaign_id})
    return moved


_events = EventConsumer(
    CONSUMER,
    {
        "campaign.created": apply_snapshot,
        "campaign.updated": apply_snapshot,
        "campaign.status_changed": apply_snapshot,
        "campaign.expired": apply_snapshot,
        "campaign.goal_reached": apply_goal_reached,
        "pledge.completed": apply_donation,
        "pledge.refunded": apply_donation,
    },
)


def consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The SQS batch: each record applied exactly once, then the touched campaigns re-ranked."""
    _touched.clear()
    try:
        return _events(event, context)
    finally:
        refresh_ranks()
