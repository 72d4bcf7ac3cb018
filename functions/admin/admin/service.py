"""Admin's use cases: the effects of consumed events, the dashboard, the audit log, notices."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from admin import repository
from admin.domain import notices, stats
from admin.domain.audit import AuditRecord, record_of
from admin.domain.notices import Severity, SystemNotification
from admin.repository import AuditFilter
from admin.settings import admin_settings
from harambee import aws
from harambee.consumer import apply_once
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger, metrics
from harambee.outbox import WriteConflict, transact_write
from harambee.pagination import PageRequest

CONSUMER = "admin"


# ------------------------------------------------------------------ consumed events


def record_audit(event: DomainEvent) -> AuditRecord | None:
    """Append the event's audit record, once; the log is never updated, so a redelivery writes nothing."""
    record = record_of(event)
    if record is None:
        return None
    if repository.append_audit(record):
        logger.info("Audit record appended", extra={"action": record.action, "entity": record.entity_type})
    return record


def _amount(event: DomainEvent, field: str) -> tuple[int, str]:
    amount, currency = event.data.get(field), event.data.get("currency")
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not isinstance(currency, str)
        or not currency
    ):
        # Retrying cannot fix a malformed event: it goes to the DLQ after its receives.
        raise InvalidEvent(f"{event.event_type} needs an integer {field} and a currency")
    if amount <= 0:
        raise InvalidEvent(f"{event.event_type} needs a positive {field}", details={field: amount})
    return amount, currency.upper()


def donor_key(event: DomainEvent) -> str | None:
    """Who gave, for the distinct donor count: the account, else a hash of the anonymous donor's email."""
    donor_id = event.data.get("donorId")
    if isinstance(donor_id, str) and donor_id:
        return f"user:{donor_id}"
    email = event.data.get("donorEmail")
    if isinstance(email, str) and email.strip():
        return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return None


def pledge_completed(event: DomainEvent) -> None:
    """The donation, and the donor when first seen, in one transaction with the marker."""
    amount, currency = _amount(event, "amount")
    completed_at = stats.moment_of(event.data.get("completedAt"), event.timestamp)
    donation = stats.donation_completed(amount, currency, completed_at)
    key = donor_key(event)
    if key is None or repository.donor_counted(key):
        apply_once(event, CONSUMER, repository.counter_updates(donation, event.event_id))
        return
    try:
        apply_once(
            event,
            CONSUMER,
            [
                *repository.counter_updates([*donation, *stats.new_donor()], event.event_id),
                repository.new_donor_put(key, event.event_id, event.timestamp),
            ],
        )
    except WriteConflict as conflict:
        if not conflict.failed_on(f"DONOR#{key}", "DONOR"):
            raise
        # Another pledge of the same donor was counted since we looked: this one is a donation only.
        apply_once(event, CONSUMER, repository.counter_updates(donation, event.event_id))


def pledge_refunded(event: DomainEvent) -> None:
    refund, currency = _amount(event, "refundAmount")
    refunded_at = stats.moment_of(event.data.get("refundedAt"), event.timestamp)
    apply_once(
        event,
        CONSUMER,
        repository.counter_updates(stats.donation_refunded(refund, currency, refunded_at), event.event_id),
    )


def payment_failed(event: DomainEvent) -> None:
    apply_once(
        event, CONSUMER, repository.counter_updates(stats.payment_failed(event.timestamp), event.event_id)
    )


def campaign_changed(event: DomainEvent) -> None:
    """Move the campaign between status counts; an event older than the last one applied changes nothing."""
    campaign_id = event.data.get("campaignId")
    # campaign.expired means the campaign is expired, whatever its snapshot was taken with.
    status = stats.EXPIRED if event.event_type == "campaign.expired" else event.data.get("status")
    if not isinstance(campaign_id, str) or not campaign_id or not isinstance(status, str) or not status:
        raise InvalidEvent(f"{event.event_type} needs campaignId and status")
    as_of = f"{event.timestamp.isoformat()}#{event.event_id}"
    seen = repository.campaign_status(campaign_id)
    if seen is not None and seen.as_of >= as_of:
        # Delivered out of order: a newer status is already counted.
        apply_once(event, CONSUMER, [])
        return
    moves = stats.campaign_moved(seen.status if seen else None, status)
    # A concurrent change of the same campaign fails the condition; SQS redelivers and we re-read.
    apply_once(
        event,
        CONSUMER,
        [
            repository.put_campaign_status(campaign_id, status, as_of, seen),
            *repository.counter_updates(moves, event.event_id),
        ],
    )


def raise_notice(event: DomainEvent) -> None:
    notice = notices.notice_for(event)
    if notice is None:
        return
    if apply_once(event, CONSUMER, [repository.put_new_notice(notice)]):
        metrics.add_metric(name="SystemNotificationRaised", unit="Count", value=1)
        logger.warning(
            "System notification raised", extra={"severity": str(notice.severity), "title": notice.title}
        )


# ------------------------------------------------------------------ dead-letter queues


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def dead_letter_depths() -> list[stats.DeadLetterDepth]:
    """Messages waiting in every dead-letter queue of the template, read now."""
    from botocore.exceptions import BotoCoreError, ClientError

    depths: list[stats.DeadLetterDepth] = []
    for url in admin_settings().dead_letter_queues:
        name = queue_name(url)
        try:
            attributes = aws.sqs().get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
        except (ClientError, BotoCoreError) as error:
            # One unreadable queue must not hide the others (or the rest of the dashboard).
            logger.warning("Dead-letter queue depth unavailable", extra={"queue": name, "error": str(error)})
            depths.append(stats.DeadLetterDepth(queue=name, depth=None, error=type(error).__name__))
            continue
        depths.append(
            stats.DeadLetterDepth(
                queue=name, depth=int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            )
        )
    return depths


def watch_dead_letters(now: datetime | None = None) -> list[SystemNotification]:
    """Compare each DLQ's depth with the last one seen; one notice per queue that grew."""
    checked_at = now or datetime.now(UTC)
    raised: list[SystemNotification] = []
    for depth in dead_letter_depths():
        if depth.depth is None:
            continue
        seen = repository.last_depth(depth.queue)
        previous = seen or 0
        items = [repository.put_depth(depth.queue, depth.depth, checked_at, seen)]
        notice = None
        if depth.depth > previous:
            notice = notices.dead_letters_grew(depth.queue, previous, depth.depth, checked_at)
            items.append(repository.put_new_notice(notice))
        elif seen == depth.depth:
            continue
        try:
            transact_write(items)
        except WriteConflict:
            # Another watch recorded this queue meanwhile; it raised the notice if one was due.
            continue
        if notice is not None:
            metrics.add_metric(name="DeadLetterQueueGrew", unit="Count", value=1)
            logger.warning("Dead-letter queue grew", extra={"queue": depth.queue, "depth": depth.depth})
            raised.append(notice)
    return raised


# ------------------------------------------------------------------ reads and commands


def dashboard(now: datetime | None = None) -> stats.DashboardStats:
    """Two Queries: the month's day items (today is among them) and the all-time shards."""
    moment = now or datetime.now(UTC)
    month = repository.month_figures(stats.month_of(moment))
    today = stats.day_scope(moment).removeprefix(stats.DAY_PREFIX)
    return stats.dashboard(
        moment,
        stats.summed(figures for day, figures in month if day == today),
        stats.summed(figures for _, figures in month),
        stats.summed(repository.total_figures()),
        dead_letter_depths(),
    )


def audit_log(page: PageRequest, wanted: AuditFilter) -> tuple[list[AuditRecord], str | None]:
    return repository.audit_records(page, wanted)


def system_notifications(
    page: PageRequest, *, unread: bool | None, severity: Severity | None
) -> tuple[list[SystemNotification], str | None]:
    return repository.notices(page, unread=unread, severity=severity)


def mark_read(notification_id: str, reader: str) -> SystemNotification:
    return repository.mark_read(notification_id, reader, datetime.now(UTC))
