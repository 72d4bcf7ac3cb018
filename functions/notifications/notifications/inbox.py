"""Notifications' inbox: the recipient directory's projections and the events that send messages.

Every message's delivery is claimed with a conditional write, so a redelivered event never sends
twice. A failed send leaves the SQS message for retry (a batch item failure) after pushing its next
receive out with ChangeMessageVisibility (exponential backoff by receive count).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

from harambee import aws
from harambee.consumer import EventConsumer
from harambee.events import DomainEvent, InvalidEvent
from harambee.observability import logger
from notifications import repository, service
from notifications.domain.delivery import backoff_seconds
from notifications.domain.messages import INTENTS
from notifications.settings import notifications_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

CONSUMER = "notifications"
_receive_count: ContextVar[int] = ContextVar("receive_count", default=1)

ACCOUNT_EVENTS = (
    "account.registered",
    "account.verification_requested",
    "account.email_verified",
    "account.password_reset_requested",
    "account.password_changed",
    "account.status_changed",
    "account.role_changed",
    "account.google_linked",
)


def _user_id(event: DomainEvent) -> str:
    user_id = event.data.get("userId")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidEvent(f"{event.event_type} has no userId")
    return user_id


def _at(event: DomainEvent) -> datetime:
    return event.timestamp


def remember_account(event: DomainEvent) -> None:
    """Account fields (email, name) from any account.* event, newest event winning."""
    data = event.data
    fields: dict[str, str | None] = {name: data.get(name) for name in ("email", "name") if name in data}
    if fields:
        repository.save_account_fields(_user_id(event), fields, _at(event))


def remember_contact(event: DomainEvent) -> None:
    """profile.contact_changed: phone, locale and display name (null clears)."""
    data = event.data
    fields = {
        "phone": data.get("phone"),
        "locale": data.get("locale"),
        "displayName": data.get("displayName"),
    }
    repository.save_contact_fields(_user_id(event), fields, _at(event))


def remember_channels(event: DomainEvent) -> None:
    """profile.preferences_changed carries the channel switches a user set on their profile."""
    preferences: Any = event.data.get("preferences")
    channels = preferences.get("notifications") if isinstance(preferences, dict) else None
    if isinstance(channels, dict):
        switches = {
            f"ch_{name}": bool(value)
            for name, value in channels.items()
            if name in ("email", "sms", "whatsapp", "push")
        }
        if switches:
            repository.save_preferences(_user_id(event), switches, _at(event), only_if_newer=True)


def forget(event: DomainEvent) -> None:
    """account.deleted: the directory forgets the person's addresses (the delivery log keeps no address)."""
    repository.save_account_fields(_user_id(event), {"email": None, "name": None}, _at(event))
    repository.save_contact_fields(
        _user_id(event), {"phone": None, "locale": None, "displayName": None}, _at(event)
    )
    repository.save_push_endpoint(_user_id(event), "", _at(event))


def notify(event: DomainEvent) -> None:
    if event.event_type in ACCOUNT_EVENTS:
        remember_account(event)
    service.deliver(event, _receive_count.get())


class NotificationsConsumer(EventConsumer):
    """The kernel's consumer, plus what retries need: the record's receive count and its queue."""

    def handle_record(self, record: SQSRecord) -> str:
        count = int(record.attributes.approximate_receive_count or 1)
        token = _receive_count.set(count)
        try:
            return super().handle_record(record)
        except service.RetryLater:
            _back_off(record, count)
            raise
        finally:
            _receive_count.reset(token)


def _back_off(record: SQSRecord, receive_count: int) -> None:
    """Keep the failed message out of sight for longer after each attempt (best effort)."""
    from botocore.exceptions import BotoCoreError, ClientError

    seconds = backoff_seconds(receive_count, notifications_settings().retry_base_seconds)
    try:
        _, _, _, _, account, name = record.event_source_arn.split(":", 5)
        sqs = aws.sqs()
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
        )
    except (ValueError, ClientError, BotoCoreError) as error:
        # The queue's own visibility timeout still delays the retry; log and move on.
        logger.warning("Could not back off the failed message", extra={"error": str(error)})


consumer = NotificationsConsumer(
    CONSUMER,
    {
        **dict.fromkeys(ACCOUNT_EVENTS, notify),
        **dict.fromkeys(INTENTS, notify),
        "profile.contact_changed": remember_contact,
        "profile.preferences_changed": remember_channels,
        "account.deleted": forget,
    },
)
