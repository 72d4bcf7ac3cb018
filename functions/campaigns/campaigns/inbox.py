"""Campaigns' inbox: pledge totals (raised, donations, donors; goal reached once) and the people
projection (names and birthdays) that birthday pots are made from.

Every effect commits with the processed marker (harambee.consumer.apply_once). A pledge event turns
the pledge's record into its new state and ADDs the difference to the campaign's totals in the same
transaction; the record's version condition (not one on the hot totals item) makes the difference
apply once, so any number of pledges to one campaign commit side by side. The goal is then reached
by its own conditional update (`attribute_not_exists(goalReachedAt) AND raisedAmount >= goal`),
which carries `campaign.goal_reached` in its transaction: emitted once per campaign.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from campaigns import repository, service
from campaigns.domain.campaign import Campaign
from campaigns.domain.tally import PledgeTally, joined_or_left, share_of
from campaigns.repository import Person, Totals
from harambee.consumer import EventConsumer, apply_once
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger
from harambee.outbox import TransactionContended, TransactItem, WriteConflict, outbox_put, transact_write

CONSUMER = "campaigns"
# Optimistic retries before the message goes back to the queue (and, much later, to the DLQ).
MAX_ATTEMPTS = 5


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret


def _campaign_for(event: DomainEvent) -> tuple[Campaign, Totals]:
    campaign_id = str(event.data.get("campaignId") or "")
    campaign, totals = repository.find_with_totals(campaign_id)
    if campaign is None:
        raise InvalidEvent(
            f"{event.event_type} names an unknown campaign", details={"campaignId": campaign_id}
        )
    if str(event.data.get("currency", "")).upper() != campaign.currency:
        raise InvalidEvent(
            f"{event.event_type} is not in the campaign's currency",
            details={"currency": event.data.get("currency"), "campaignCurrency": campaign.currency},
        )
    return campaign, totals


def _apply_with_retries(event: DomainEvent, attempt: Any) -> None:
    """Run `attempt()` (which reads, then returns TransactItems) until its writes commit once."""
    for tries in range(MAX_ATTEMPTS):
        try:
            apply_once(event, CONSUMER, attempt())
            return
        except WriteConflict:
            logger.info("Read state changed meanwhile; retrying", extra={"eventId": event.event_id})
        except TransactionContended:
            _back_off(tries)
    raise TransactionContended("The writes stayed contended; the message will be retried")


def pledge_changed(event: DomainEvent) -> None:
    """pledge.completed and pledge.refunded: move the totals by the pledge's change, in any order."""
    incoming = PledgeTally.from_event(event.data)
    _campaign_for(event)  # an unknown campaign or a foreign currency fails the message, writing nothing

    def attempt() -> list[TransactItem]:
        before = repository.find_pledge(incoming.pledge_id)
        if before is not None and before.campaign_id != incoming.campaign_id:
            raise InvalidEvent(
                f"{event.event_type} moves a pledge to another campaign",
                details={"pledgeId": incoming.pledge_id, "campaignId": incoming.campaign_id},
            )
        after = incoming if before is None else before.merged_with(incoming)
        if after == before:
            return []  # a completion after its refund, or an older refund: only the marker
        change = after.share().minus(share_of(before))
        items = [repository.put_pledge(before, after)]
        donors = 0
        if change.donations:
            active = repository.donor_active(after.campaign_id, after.donor)
            items.append(
                repository.put_donor(after.campaign_id, after.donor, active, (active or 0) + change.donations)
            )
            donors = joined_or_left(active or 0, change.donations)
        if change.raised or change.donations or donors:
            items.append(repository.add_to_totals(after.campaign_id, change, donors))
        return items

    _apply_with_retries(event, attempt)
    # Also on a redelivery: a crash after the totals committed must not lose the goal.
    reach_goal_if_due(incoming.campaign_id)


def reach_goal_if_due(campaign_id: str) -> bool:
    """Stamp the goal reached and emit `campaign.goal_reached` if raised >= goal; True when it did."""
    for tries in range(MAX_ATTEMPTS):
        campaign, totals = repository.find_with_totals(campaign_id)
        goal = campaign.goal_amount if campaign else None
        if campaign is None or goal is None or totals.goal_reached_at or totals.raised < goal:
            return False
        reached = replace(totals, goal_reached_at=datetime.now(UTC).isoformat(timespec="milliseconds"))
        try:
            transact_write(
                [
                    repository.campaign_unchanged(campaign),
                    repository.reach_goal(campaign_id, goal, str(reached.goal_reached_at)),
                    outbox_put(service.goal_reached_event(campaign, reached)),
                ]
            )
            return True
        except WriteConflict:
            continue  # reached by someone else, refunded below, or the goal edited: read again
        except TransactionContended:
            _back_off(tries)
    raise TransactionContended("Could not record the goal reached; the message will be retried")


# ------------------------------------------------------------------ people and birthdays


def _user_id(event: DomainEvent) -> str:
    user_id = event.data.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidEvent(f"{event.event_type} has no userId")
    return user_id


def _person_change(event: DomainEvent, change: Any) -> None:
    """Apply `change(before) -> after | None` to the person; None (stale or erased) writes only the marker."""
    user_id = _user_id(event)

    def attempt() -> list[TransactItem]:
        before = repository.find_person(user_id)
        after = change(before)
        if after is None:
            return []
        return [repository.put_person(after, read_as=before), *repository.birthday_changes(before, after)]

    _apply_with_retries(event, attempt)


def birthdate_changed(event: DomainEvent) -> None:
    raw = event.data.get("dateOfBirth")
    try:
        born = date.fromisoformat(raw) if raw else None
    except (TypeError, ValueError) as error:
        raise InvalidEvent("dateOfBirth is not an ISO date", details={"dateOfBirth": raw}) from error
    at = event.to_envelope()["timestamp"]

    def change(before: Person) -> Person | None:
        # An older change delivered late must not overwrite a newer one.
        if before.deleted or (before.birthdate_at is not None and before.birthdate_at >= at):
            return None
        return replace(before, date_of_birth=born, birthdate_at=at)

    _person_change(event, change)


def account_registered(event: DomainEvent) -> None:
    name = str(event.data.get("name") or "").strip() or None

    def change(before: Person) -> Person | None:
        return None if before.deleted or before.name == name else replace(before, name=name)

    _person_change(event, change)


def account_deleted(event: DomainEvent) -> None:
    """An erased account gets no more birthday pots; its name and birthday are forgotten here."""

    def change(before: Person) -> Person | None:
        if before.deleted:
            return None
        return Person(before.user_id, deleted=True, birthdate_at=before.birthdate_at, exists=before.exists)

    _person_change(event, change)


consumer = EventConsumer(
    CONSUMER,
    {
        "pledge.completed": pledge_changed,
        "pledge.refunded": pledge_changed,
        "profile.birthdate_changed": birthdate_changed,
        "account.registered": account_registered,
        "account.deleted": account_deleted,
    },
)
