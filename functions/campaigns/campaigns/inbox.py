"""Campaigns' inbox: pledge totals (raised, donations, donors; goal reached once) and the people
projection (names and birthdays) that birthday pots are made from.

Every effect commits with the processed marker (harambee.consumer.apply_once). Totals are written
with a version check, so two pledges for one campaign in parallel never lose an increment: the
loser re-reads and retries. `campaign.goal_reached` is emitted in the same transaction that first
records raised >= goal, and `goalReachedAt` is never cleared, so it is emitted once per campaign.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from campaigns import repository, service
from campaigns.domain.campaign import Campaign
from campaigns.repository import Person, Totals
from harambee.consumer import EventConsumer, apply_once
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger
from harambee.outbox import TransactionContended, TransactItem, WriteConflict, outbox_put

CONSUMER = "campaigns"
# Optimistic retries before the message goes back to the queue (and, much later, to the DLQ).
MAX_ATTEMPTS = 5


def _amount(data: dict[str, Any], field: str) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidEvent(f"`{field}` must be a positive integer of minor units", details={field: value})
    return value


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
    for _ in range(MAX_ATTEMPTS):
        try:
            apply_once(event, CONSUMER, attempt())
            return
        except (WriteConflict, TransactionContended):
            logger.info("Totals changed meanwhile; retrying", extra={"eventId": event.event_id})
    raise TransactionContended("Campaign totals stayed contended; the message will be retried")


def pledge_completed(event: DomainEvent) -> None:
    amount = _amount(event.data, "amount")
    donor = str(event.data.get("donorId") or event.data.get("donorEmail") or event.data.get("pledgeId") or "")

    def attempt() -> list[TransactItem]:
        campaign, totals = _campaign_for(event)
        new_donor = bool(donor) and not repository.donor_known(campaign.campaign_id, donor)
        after = replace(
            totals,
            raised=totals.raised + amount,
            donations=totals.donations + 1,
            donors=totals.donors + int(new_donor),
        )
        items: list[TransactItem] = []
        goal = campaign.goal_amount
        if goal is not None and totals.goal_reached_at is None and after.raised >= goal:
            after = replace(after, goal_reached_at=datetime.now(UTC).isoformat(timespec="milliseconds"))
            items.append(outbox_put(service.goal_reached_event(campaign, after)))
        items.append(repository.put_totals(campaign.campaign_id, totals, after))
        if new_donor:
            items.append(repository.put_new_donor(campaign.campaign_id, donor))
        return items

    _apply_with_retries(event, attempt)


def pledge_refunded(event: DomainEvent) -> None:
    """A refund lowers what was raised (never below zero) but never takes back a reached goal."""
    refund = _amount(event.data, "refundAmount")
    fully = bool(event.data.get("fullyRefunded"))

    def attempt() -> list[TransactItem]:
        campaign, totals = _campaign_for(event)
        after = replace(
            totals,
            raised=max(0, totals.raised - refund),
            donations=max(0, totals.donations - 1) if fully else totals.donations,
        )
        return [repository.put_totals(campaign.campaign_id, totals, after)]

    _apply_with_retries(event, attempt)


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
        "pledge.completed": pledge_completed,
        "pledge.refunded": pledge_refunded,
        "profile.birthdate_changed": birthdate_changed,
        "account.registered": account_registered,
        "account.deleted": account_deleted,
    },
)
