"""Notifications' use cases: turn an event into deliveries, send them once, keep preferences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from harambee import aws
from harambee.errors import Unprocessable
from harambee.events import DomainEvent, new_event
from harambee.observability import logger
from notifications import repository
from notifications.channels import Address, PermanentSendFailure
from notifications.domain.catalog import Category, Channel
from notifications.domain.delivery import Delivery, is_last_attempt
from notifications.domain.messages import Intent, RecipientRef, delivery_id, intents_of
from notifications.domain.preferences import Preferences
from notifications.repository import Contact, DeliveryKey
from notifications.settings import notifications_settings


def utcnow() -> datetime:
    return datetime.now(UTC)


class RetryLater(Exception):
    """Some sends of this event failed and may succeed later: the SQS message is retried."""


@dataclass
class Outcome:
    sent: int = 0
    suppressed: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: list[str] = field(default_factory=list)


def _addresses(contact: Contact | None, ref: RecipientRef) -> dict[Channel, str]:
    """Every channel the recipient can be reached on (preferences are applied afterwards)."""
    email = (contact.email if contact else None) or ref.email
    found: dict[Channel, str] = {}
    if email:
        found[Channel.EMAIL] = email
    if contact and contact.phone:
        found[Channel.SMS] = contact.phone
        # A stage without a WhatsApp Business number simply has no WhatsApp channel.
        if notifications_settings().whatsapp_phone_number_id:
            found[Channel.WHATSAPP] = contact.phone
    if contact and contact.push_endpoint:
        found[Channel.PUSH] = contact.push_endpoint
    return found


def unsubscribe_url(user_id: str, category: Category) -> str:
    from notifications import tokens

    base = notifications_settings().public_base_url.rstrip("/")
    return f"{base}/api/notifications/unsubscribe?{urlencode({'token': tokens.issue(user_id, category)})}"


def deliver(event: DomainEvent, receive_count: int = 1, *, now: datetime | None = None) -> Outcome:
    """Send every message `event` asks for on every allowed channel, each at most once.

    Raises RetryLater when a send failed and attempts remain; on the last attempt the failed
    deliveries are marked failed and `notification.failed` is emitted for each.
    """
    now = now or utcnow()
    outcome = Outcome()
    for intent in intents_of(event):
        _deliver_intent(event, intent, receive_count, now, outcome)
    if outcome.retrying:
        raise RetryLater(f"{len(outcome.retrying)} send(s) will be retried: {'; '.join(outcome.retrying)}")
    return outcome


def _deliver_intent(
    event: DomainEvent, intent: Intent, receive_count: int, now: datetime, outcome: Outcome
) -> None:
    ref = intent.recipient
    contact, preferences = repository.recipient(ref.user_id) if ref.user_id else (None, Preferences())
    addresses = _addresses(contact, ref)
    if not addresses:
        logger.warning(
            "Recipient has no known address; nothing sent",
            extra={"template": intent.template, "recipient": ref.key},
        )
        return
    locale = (contact.locale if contact else None) or ref.locale
    name = (contact.name if contact else None) or ref.name
    for channel in intent.kind.channels:
        address = addresses.get(channel)
        if address is None:
            continue
        key = DeliveryKey(
            delivery_id=delivery_id(event.event_id, ref.key, channel, intent.template),
            event=event,
            user_id=ref.user_id,
            channel=channel,
            template=intent.template,
            category=intent.kind.category,
        )
        # Anonymous donors have no preferences to consult: they asked for this one message.
        if ref.user_id and not preferences.allows(channel, intent.kind.category):
            reason = "channel_off" if not getattr(preferences.channels, channel.value) else "category_off"
            if repository.record_suppressed(key, reason, now):
                outcome.suppressed += 1
            continue
        _send_once(
            key,
            intent,
            address=address,
            locale=locale,
            name=name,
            receive_count=receive_count,
            now=now,
            outcome=outcome,
        )


def _send_once(
    key: DeliveryKey,
    intent: Intent,
    *,
    address: str,
    locale: str | None,
    name: str | None,
    receive_count: int,
    now: datetime,
    outcome: Outcome,
) -> None:
    from notifications import channels
    from notifications.rendering import render

    delivery = repository.claim(key, now)
    if delivery is None:
        outcome.skipped += 1
        return
    try:
        variables = {**intent.variables, "name": name, "unsubscribeUrl": None}
        if intent.sealed:
            from harambee.sealed import unseal

            variables.update({var: unseal(sealed) for var, sealed in intent.sealed.items()})
        link = None
        if key.channel is Channel.EMAIL and key.user_id and key.category is not Category.TRANSACTIONAL:
            link = variables["unsubscribeUrl"] = unsubscribe_url(key.user_id, key.category)
        rendered = render(intent.template, key.channel, locale, variables)
        provider_id = channels.send(Address(key.channel, address, link), rendered)
    except Exception as error:
        _failed(key, delivery, error=error, receive_count=receive_count, now=now, outcome=outcome)
        return
    repository.mark_sent(key.delivery_id, provider_id, now)
    outcome.sent += 1


def _failed(
    key: DeliveryKey,
    delivery: Delivery,
    *,
    error: Exception,
    receive_count: int,
    now: datetime,
    outcome: Outcome,
) -> None:
    message = f"{type(error).__name__}: {error}"
    # Unknown errors (a KMS throttle, a bug fixed by a redeploy) are retried like provider failures.
    permanent = isinstance(error, PermanentSendFailure)
    if permanent or is_last_attempt(receive_count, notifications_settings().max_receive_count):
        logger.error("Delivery failed for good", extra={"notificationId": key.delivery_id, "error": message})
        failed = new_event(
            "notification.failed",
            {
                "notificationId": key.delivery_id,
                "userId": key.user_id,
                "channel": key.channel.value,
                "template": key.template,
                "attempts": delivery.attempts,
                "error": message[:500],
                "eventId": key.event.event_id,
            },
        )
        repository.mark_failed(delivery, message, now, failed)
        outcome.failed += 1
        if not permanent:
            # The message itself still goes to the DLQ, so an operator can redrive after a fix.
            outcome.retrying.append(f"{key.channel}/{key.template} (last attempt)")
        return
    logger.warning(
        "Delivery attempt failed; will retry", extra={"notificationId": key.delivery_id, "error": message}
    )
    repository.release_after_failure(key.delivery_id, message, now)
    outcome.retrying.append(f"{key.channel}/{key.template}")


class PushUnavailable(Unprocessable):
    code = "PUSH_UNAVAILABLE"


def register_device(user_id: str, platform: str, token: str, *, now: datetime | None = None) -> None:
    """Make (or find: SNS returns the same endpoint for the same token) the device's push endpoint."""
    from botocore.exceptions import ClientError

    settings = notifications_settings()
    application = {
        "android": settings.push_android_application_arn,
        "ios": settings.push_ios_application_arn,
    }.get(platform, "")
    if not application:
        raise PushUnavailable(f"Push notifications to {platform} devices are not set up on this stage")
    try:
        endpoint = aws.client("sns").create_platform_endpoint(
            PlatformApplicationArn=application, Token=token, CustomUserData=user_id
        )["EndpointArn"]
        # A token that moved between accounts or was disabled by the provider is made current again.
        aws.client("sns").set_endpoint_attributes(
            EndpointArn=endpoint, Attributes={"Enabled": "true", "CustomUserData": user_id}
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidParameter":
            raise Unprocessable("The push token was refused", code="INVALID_PUSH_TOKEN") from error
        raise
    repository.save_push_endpoint(user_id, str(endpoint), now or utcnow())
