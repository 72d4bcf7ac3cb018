"""Campaign commands and queries: each change commits with its events (the outbox) in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from campaigns import repository
from campaigns.domain.campaign import (
    LISTABLE_STATUSES,
    TRANSITIONS,
    Campaign,
    CampaignStatus,
    CampaignType,
    Visibility,
    apply_changes,
    changed_fields,
    check_transition,
    new_share_token,
    visible_to,
)
from campaigns.domain.search import query_words
from campaigns.models import CampaignChanges, NewCampaign, NewPot, PotChanges
from campaigns.repository import Totals
from campaigns.settings import campaigns_settings
from harambee.auth import Caller
from harambee.errors import Conflict, InvalidTransition, NotFound, Unprocessable
from harambee.events import DomainEvent, new_event
from harambee.money import MAX_MAJOR_DIGITS, InvalidAmount, Money
from harambee.outbox import PendingWrite, TransactItem, WriteConflict
from harambee.pagination import Page, PageRequest


@dataclass(frozen=True)
class Audit:
    """Who made a change and from where: becomes the `audit` object of the change's event."""

    actor: Caller
    request_id: str
    ip: str | None
    user_agent: str | None

    def record(
        self, action: str, campaign_id: str, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "actorId": self.actor.user_id,
            "action": action,
            "entityType": "campaign",
            "entityId": campaign_id,
            "before": before,
            "after": after,
            "requestId": self.request_id,
            "ip": self.ip,
            "userAgent": self.user_agent,
        }


class PotExists(Conflict):
    code = "POT_EXISTS"


class CampaignChanged(Conflict):
    code = "CAMPAIGN_CHANGED"


def _now() -> datetime:
    return datetime.now(UTC)


def checked_money(amount: int, currency: str) -> Money:
    """A positive amount in a real ISO 4217 currency, below the platform's bound (InvalidAmount: 422)."""
    money = Money(amount=amount, currency=currency).require_positive()
    if money.amount >= 10 ** (MAX_MAJOR_DIGITS + money.exponent):
        raise InvalidAmount("Amount is too large", details={"amount": amount})
    return money


# ------------------------------------------------------------------ reads


def _not_found(campaign_id: str) -> NotFound:
    return NotFound("Campaign not found", details={"campaignId": campaign_id})


def read(
    campaign_id: str, viewer: Caller | None, share_token: str | None = None, *, pot: bool | None = None
) -> tuple[Campaign, Totals]:
    """The campaign with its totals, or 404 when it does not exist or is not for this viewer's eyes."""
    campaign, totals = repository.find_with_totals(campaign_id)
    if campaign is None or (pot is not None and campaign.is_pot != pot):
        raise _not_found(campaign_id)
    viewer_id = viewer.user_id if viewer else None
    if not visible_to(
        campaign, viewer_id, is_admin=bool(viewer and viewer.is_admin), share_token=share_token
    ):
        raise _not_found(campaign_id)
    return campaign, totals


def _owned(campaign_id: str, caller: Caller) -> Campaign:
    """The campaign for a change by its owner or an admin; others get 404 for what they cannot see."""
    campaign = repository.find_campaign(campaign_id)
    if (
        campaign is None
        or not caller.can_access(campaign.owner_id)
        or (campaign.deleted and not caller.is_admin)
    ):
        raise _not_found(campaign_id)
    return campaign


def public_list(
    status: CampaignStatus, campaign_type: CampaignType | None, q: str | None, page: PageRequest
) -> Page[Campaign]:
    if status not in LISTABLE_STATUSES:
        raise Unprocessable(
            f"Only {', '.join(sorted(LISTABLE_STATUSES))} campaigns are listed publicly",
            details={"status": str(status)},
        )
    if q is not None and q.strip():
        found = query_words(q)
        if not found:
            return Page[Campaign](items=[], next=None, limit=page.limit)
        items, cursor = repository.search(found, status, campaign_type, page)
    else:
        items, cursor = repository.public_listing(status, campaign_type, page)
    return Page[Campaign](items=items, next=cursor, limit=page.limit)


def owner_list(
    owner_id: str, viewer: Caller, page: PageRequest, *, pots_only: bool = False
) -> Page[Campaign]:
    """Admins see all of an owner's campaigns, the owner all but deleted ones, others the listable ones."""
    shown = "all" if viewer.is_admin else "undeleted" if viewer.user_id == owner_id else "listed"
    items, cursor = repository.campaigns_of_owner(owner_id, page, shown=shown, pots_only=pots_only)
    return Page[Campaign](items=items, next=cursor, limit=page.limit)


def totals_of(campaigns: Sequence[Campaign]) -> dict[str, Totals]:
    return repository.totals_of([campaign.campaign_id for campaign in campaigns])


def admin_list(status: CampaignStatus, page: PageRequest) -> Page[Campaign]:
    items, cursor = repository.campaigns_by_status(status, page)
    return Page[Campaign](items=items, next=cursor, limit=page.limit)


# ------------------------------------------------------------------ changes


def _save(
    before: Campaign, after: Campaign, *events_of_saved: Any, also: Sequence[TransactItem] = ()
) -> Campaign:
    """Save (with `also`) and the events built from the saved campaign; a concurrent save is a 409."""
    saved, items = repository.put_campaign(before, after)
    write = PendingWrite(items=[*items, *also])
    for build in events_of_saved:
        write.emit(build(saved))
    try:
        write.commit()
    except WriteConflict as conflict:
        if conflict.failed_on(repository.campaign_pk(before.campaign_id), repository.CAMPAIGN_SK):
            raise CampaignChanged("The campaign changed meanwhile; read it again and retry") from conflict
        raise
    return saved


def create_campaign(owner: Caller, body: NewCampaign) -> Campaign:
    money = checked_money(body.goal_amount, body.currency)
    if body.end_date < _now().date():
        raise Unprocessable("endDate is in the past", details={"field": "endDate"})
    now = _now()
    campaign = Campaign(
        campaign_id=str(uuid.uuid4()),
        owner_id=owner.user_id,
        type=body.type,
        status=CampaignStatus.DRAFT,
        title=body.title,
        description=body.description,
        goal_amount=money.amount,
        currency=money.currency,
        start_date=body.start_date,
        end_date=body.end_date,
        beneficiary_name=body.beneficiary_name,
        beneficiary_details=body.beneficiary_details,
        image_url=str(body.image_url) if body.image_url else None,
        documents=[str(url) for url in body.documents],
        visibility=Visibility.PUBLIC,
        created_at=now,
        updated_at=now,
    )
    write = PendingWrite(items=repository.put_new_campaign(campaign))
    write.emit(new_event("campaign.created", campaign.snapshot()))
    write.commit()
    return campaign


def update_campaign(campaign_id: str, caller: Caller, body: CampaignChanges, audit: Audit) -> Campaign:
    campaign = _owned(campaign_id, caller)
    if campaign.is_pot:
        raise Unprocessable("Pots are edited through /api/pots/{potId}", details={"campaignId": campaign_id})
    changes = body.given()
    if "goal_amount" in changes or "currency" in changes:
        goal = changes.get("goal_amount", campaign.goal_amount) or 0
        money = checked_money(goal, changes.get("currency") or campaign.currency)
        if "currency" in changes:
            changes["currency"] = money.currency
    updated = apply_changes(campaign, changes, by_admin=caller.is_admin, today=_now().date(), now=_now())
    return _changed(campaign, updated, audit, "update_campaign")


def _changed(before: Campaign, after: Campaign, audit: Audit, action: str) -> Campaign:
    fields = changed_fields(before, after)
    if not fields:
        return before  # nothing changed: no write, no event

    def updated(saved: Campaign) -> DomainEvent:
        old = {name: value for name, value in before.snapshot().items() if name in fields}
        new = {name: value for name, value in saved.snapshot().items() if name in fields}
        record = audit.record(action, saved.campaign_id, old, new)
        return new_event("campaign.updated", {**saved.snapshot(), "changes": fields, "audit": record})

    if "goalAmount" not in fields:
        return _save(before, after, updated)
    # A goal lowered to what is already raised is reached now, not at the next pledge.
    totals = repository.find_totals(after.campaign_id)
    goal = after.goal_amount
    if (
        after.status is not CampaignStatus.ACTIVE
        or goal is None
        or totals.goal_reached_at
        or totals.raised < goal
    ):
        return _save(before, after, updated)
    reached = replace(totals, goal_reached_at=_now().isoformat(timespec="milliseconds"))
    also = [repository.reach_goal(after.campaign_id, goal, str(reached.goal_reached_at))]
    try:
        return _save(before, after, updated, lambda saved: goal_reached_event(saved, reached), also=also)
    except WriteConflict as conflict:
        if not conflict.failed_on(repository.campaign_pk(after.campaign_id), repository.TOTALS_SK):
            raise
        # A pledge reached it first, or a refund took raised below the new goal: the edit still stands.
        return _save(before, after, updated)


def goal_reached_event(campaign: Campaign, totals: Totals) -> DomainEvent:
    return new_event(
        "campaign.goal_reached",
        {
            "campaignId": campaign.campaign_id,
            "ownerId": campaign.owner_id,
            "title": campaign.title,
            "type": str(campaign.type),
            "goalAmount": campaign.goal_amount,
            "raisedAmount": totals.raised,
            "currency": campaign.currency,
            "donorCount": totals.donors,
            "reachedAt": totals.goal_reached_at,
        },
    )


def change_status(
    campaign_id: str, target: CampaignStatus, audit: Audit, *, action: str = "change_campaign_status"
) -> Campaign:
    campaign = repository.find_campaign(campaign_id)
    if campaign is None:
        raise _not_found(campaign_id)
    check_transition(campaign.status, target)
    if target is CampaignStatus.ACTIVE and campaign.end_date < _now().date():
        raise Unprocessable(
            "The campaign's end date has passed; change it before approving",
            details={"endDate": campaign.end_date.isoformat()},
        )
    after = campaign.model_copy(update={"status": target, "updated_at": _now()})
    return _save(campaign, after, _status_event(campaign, audit, action))


def approve(campaign_id: str, audit: Audit) -> Campaign:
    campaign = repository.find_campaign(campaign_id)
    if campaign is None:
        raise _not_found(campaign_id)
    if campaign.status is not CampaignStatus.DRAFT:
        raise InvalidTransition(
            f"Only drafts are approved; this campaign is {campaign.status}",
            details={"from": str(campaign.status), "to": str(CampaignStatus.ACTIVE)},
        )
    return change_status(campaign_id, CampaignStatus.ACTIVE, audit, action="approve_campaign")


def delete(campaign_id: str, audit: Audit) -> Campaign:
    """Soft delete: drafts and active campaigns are cancelled; deleted ones are shown to admins only."""
    campaign = repository.find_campaign(campaign_id)
    if campaign is None:
        raise _not_found(campaign_id)
    if campaign.deleted:
        return campaign  # already deleted: nothing more to do
    # Final statuses keep their status (a completed campaign stays completed in the books).
    status = (
        CampaignStatus.CANCELLED
        if CampaignStatus.CANCELLED in TRANSITIONS[campaign.status]
        else campaign.status
    )
    after = campaign.model_copy(update={"status": status, "deleted": True, "updated_at": _now()})
    return _save(campaign, after, _status_event(campaign, audit, "delete_campaign"))


def _status_event(before: Campaign, audit: Audit, action: str) -> Any:
    def build(saved: Campaign) -> DomainEvent:
        old = {"status": str(before.status), "deleted": before.deleted}
        new = {"status": str(saved.status), "deleted": saved.deleted}
        record = audit.record(action, saved.campaign_id, old, new)
        data = {**saved.snapshot(), "previousStatus": str(before.status), "audit": record}
        return new_event("campaign.status_changed", data)

    return build


# ------------------------------------------------------------------ pots


def open_pot(
    owner_id: str,
    birthday: date,
    *,
    title: str,
    description: str = "",
    goal_amount: int | None = None,
    currency: str | None = None,
    visibility: Visibility = Visibility.UNLISTED,
    image_url: str | None = None,
    auto_created: bool = False,
) -> Campaign:
    """An active birthday pot ending on `birthday`; a second pot for the same user and year is PotExists."""
    code = (currency or campaigns_settings().pot_currency).upper()
    goal = checked_money(goal_amount, code).amount if goal_amount is not None else None
    if goal is None:
        Money(amount=0, currency=code)  # still refuse an unknown currency
    now = _now()
    pot = Campaign(
        campaign_id=str(uuid.uuid4()),
        owner_id=owner_id,
        type=CampaignType.BIRTHDAY,
        status=CampaignStatus.ACTIVE,
        title=title,
        description=description,
        goal_amount=goal,
        currency=code,
        start_date=min(now.date(), birthday - timedelta(days=1)),
        end_date=birthday,
        visibility=visibility,
        share_token=new_share_token(),
        image_url=image_url,
        auto_created=auto_created,
        created_at=now,
        updated_at=now,
    )
    write = PendingWrite(
        items=[
            repository.pot_year_put(owner_id, birthday.year, pot.campaign_id),
            *repository.put_new_campaign(pot),
        ]
    )
    write.emit(new_event("campaign.created", pot.snapshot()))
    try:
        write.commit()
    except WriteConflict as conflict:
        if conflict.failed_on(repository.pot_year_pk(owner_id, birthday.year)):
            raise PotExists(
                f"There is already a pot for the {birthday.year} birthday", details={"year": birthday.year}
            ) from conflict
        raise
    return pot


def pot_title(name: str | None) -> str:
    return f"{name}'s birthday pot" if name else "Birthday pot"


def create_pot(caller: Caller, body: NewPot) -> Campaign:
    today = _now().date()
    if not today <= body.birthday <= today + timedelta(days=366):
        raise Unprocessable("The birthday must be within the coming year", details={"field": "birthday"})
    person = repository.find_person(caller.user_id)
    return open_pot(
        caller.user_id,
        body.birthday,
        title=body.title or pot_title(person.name),
        description=body.description,
        goal_amount=body.goal_amount,
        currency=body.currency,
        visibility=body.visibility,
        image_url=str(body.image_url) if body.image_url else None,
    )


def update_pot(pot_id: str, caller: Caller, body: PotChanges, audit: Audit) -> Campaign:
    pot = repository.find_campaign(pot_id)
    if pot is None or not pot.is_pot or pot.owner_id != caller.user_id or pot.deleted:
        raise NotFound("Pot not found", details={"potId": pot_id})
    changes = body.given()
    if changes.get("goal_amount") is not None:
        changes["goal_amount"] = checked_money(changes["goal_amount"], pot.currency).amount
    updated = apply_changes(pot, changes, by_admin=False, today=_now().date(), now=_now())
    if body.rotate_share_token:
        updated = updated.model_copy(update={"share_token": new_share_token(), "updated_at": _now()})
        if not changed_fields(pot, updated):
            return _save(pot, updated)
    return _changed(pot, updated, audit, "update_pot")
