"""Admin's inbox: the canary's heartbeat, the events behind the dashboard and system notifications,
and every audited change (AdminAuditRule routes any event whose data carries `audit`).

An event can arrive by both rules (an audited campaign.status_changed); both deliveries are safe:
the audit record is put-if-absent by event id and the other effects sit behind the processed marker.
"""

from __future__ import annotations

from collections.abc import Callable

from admin import service
from admin.canary import resume_canary
from admin.domain.notices import RAISED_BY
from admin.models import HEARTBEAT
from harambee.consumer import EventConsumer
from harambee.events import DomainEvent

EFFECTS: dict[str, Callable[[DomainEvent], None]] = {
    "pledge.completed": service.pledge_completed,
    "pledge.refunded": service.pledge_refunded,
    "payment.failed": service.payment_failed,
    "campaign.created": service.campaign_changed,
    "campaign.status_changed": service.campaign_changed,
    "campaign.expired": service.campaign_changed,
    **{event_type: service.raise_notice for event_type in RAISED_BY},
}


def on_event(event: DomainEvent) -> None:
    """Audit first (it is its own guard), then the event type's effect, if it has one."""
    service.record_audit(event)
    effect = EFFECTS.get(event.event_type)
    if effect is not None:
        effect(event)


consumer = EventConsumer(service.CONSUMER, {HEARTBEAT: resume_canary}, fallback=on_event)
