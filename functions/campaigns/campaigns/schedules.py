"""The campaigns schedules: daily birthday pots, and the expiry run (with pots' closing-soon notices).

Both are safe to run twice or to overlap: a pot per user and year is a conditional item, an expiry
or a notice is a versioned save of the campaign with its event, so the second attempt changes nothing.
An optional `date` (YYYY-MM-DD) in the schedule input replays a missed day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from campaigns import repository, service
from campaigns.domain.birthdays import celebrated_on
from campaigns.domain.campaign import Campaign, CampaignStatus, check_transition
from campaigns.settings import campaigns_settings
from harambee.events import InvalidEvent, new_event
from harambee.observability import logger
from harambee.outbox import PendingWrite, WriteConflict

# The daily run also looks at the two days before its target, so a missed run is made up next time.
CATCH_UP_DAYS = 2


def _run_date(event: dict[str, Any]) -> date:
    given = event.get("date")
    if given is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(str(given))
    except ValueError as error:
        raise InvalidEvent("`date` must be YYYY-MM-DD", details={"date": given}) from error


def create_birthday_pots(event: dict[str, Any]) -> dict[str, int]:
    """A pot for everyone whose birthday is POT_LEAD_DAYS away: one per user and year, never two."""
    today = _run_date(event)
    lead = campaigns_settings().pot_lead_days
    created = existing = 0
    for offset in range(max(1, lead - CATCH_UP_DAYS), lead + 1):
        celebration = today + timedelta(days=offset)
        for key in celebrated_on(celebration):
            for person in repository.birthdays_on(key):
                try:
                    service.open_pot(
                        person.user_id,
                        celebration,
                        title=service.pot_title(person.name),
                        auto_created=True,
                    )
                except service.PotExists:
                    existing += 1
                else:
                    created += 1
    summary = {"potsCreated": created, "potsExisting": existing, "runDate": str(today)}
    logger.info("Birthday pots run", extra=summary)
    return {"created": created, "existing": existing}


def expire_campaigns(event: dict[str, Any]) -> dict[str, int]:
    """Active campaigns past their end date expire (with the final totals); pots ending soon are announced."""
    today = _run_date(event)
    expired = sum(_expire(campaign) for campaign in repository.active_ending(before=today))
    window = (today, today + timedelta(days=campaigns_settings().closing_soon_days))
    announced = sum(
        _closing_soon(pot, today)
        for pot in repository.active_ending(between=window)
        if pot.is_pot and pot.closing_soon_at is None
    )
    summary = {"expiredCount": expired, "closingSoonCount": announced, "runDate": str(today)}
    logger.info("Expiry run", extra=summary)
    return {"expired": expired, "closingSoon": announced}


def _commit(before: Campaign, after: Campaign, event_of: Any) -> bool:
    saved, items = repository.put_campaign(before, after)
    write = PendingWrite(items=items)
    write.emit(event_of(saved))
    try:
        write.commit()
    except WriteConflict:
        # Someone saved the campaign meanwhile; the next run sees it as it is now.
        logger.info(
            "Campaign changed during the run; left for the next run", extra={"campaignId": before.campaign_id}
        )
        return False
    return True


def _expire(campaign: Campaign) -> bool:
    check_transition(campaign.status, CampaignStatus.EXPIRED)
    totals = repository.find_totals(campaign.campaign_id)
    after = campaign.model_copy(update={"status": CampaignStatus.EXPIRED, "updated_at": datetime.now(UTC)})
    return _commit(
        campaign,
        after,
        lambda saved: new_event(
            "campaign.expired",
            {
                **saved.snapshot(),
                "raisedAmount": totals.raised,
                "donorCount": totals.donors,
                "donationCount": totals.donations,
            },
        ),
    )


def _closing_soon(pot: Campaign, today: date) -> bool:
    totals = repository.find_totals(pot.campaign_id)
    after = pot.model_copy(update={"closing_soon_at": datetime.now(UTC)})
    return _commit(
        pot,
        after,
        lambda saved: new_event(
            "pot.closing_soon",
            {
                "campaignId": saved.campaign_id,
                "ownerId": saved.owner_id,
                "title": saved.title,
                "endDate": saved.end_date.isoformat(),
                "raisedAmount": totals.raised,
                "currency": saved.currency,
                "daysLeft": (saved.end_date - today).days,
            },
        ),
    )
