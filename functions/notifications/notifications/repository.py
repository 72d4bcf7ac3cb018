"""Notifications' storage in NotificationsTable (boto3; conditional writes do the deduplication).

Access patterns (pk / sk; indexes):
  a recipient's contact details   RECIPIENT#<userId> / CONTACT      (projection of account.* and profile.*)
  a recipient's preferences       RECIPIENT#<userId> / PREFERENCES  (flat ch_* and cat_* booleans)
  both at once                    query pk = RECIPIENT#<userId>
  a delivery                      DELIVERY#<deliveryId> / DELIVERY  (id = hash of event, recipient,
                                  channel, template: a redelivered event finds the same items)
  a user's delivery log           gsi1: USER#<userId> / <createdAt>#<deliveryId> (newest first)

gsi1 projects KEYS_ONLY. A message costs two item writes (the claim, then sent) and ONE index write:
the entry appears with the claim, and since no later update moves its keys, no later update writes
the index (with ALL, each update rewrote the entry). A log page reads a page of keys, then the
deliveries with one BatchGetItem: reads are a fifth of the price of writes and the log is read far
less often than messages are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harambee import aws
from harambee.dynamo import batch_get
from harambee.events import DomainEvent
from harambee.outbox import TransactItem, outbox_put, transact_write
from harambee.pagination import PageRequest, query_page
from harambee.settings import platform_settings
from notifications.domain.catalog import Category, Channel
from notifications.domain.delivery import Delivery, DeliveryStatus
from notifications.domain.preferences import CategorySettings, ChannelSettings, Preferences

Item = dict[str, Any]
# A send holds its delivery this long; a crashed send is picked up again after it (the queue's
# visibility timeout, 180 s, is longer, so a redelivery of the same message never races a live send).
LEASE_SECONDS = 120


def _table() -> str:
    return platform_settings().table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def recipient_pk(user_id: str) -> str:
    return f"RECIPIENT#{user_id}"


def delivery_key(delivery_id: str) -> Item:
    return {"pk": _s(f"DELIVERY#{delivery_id}"), "sk": _s("DELIVERY")}


# ------------------------------------------------------------------ directory


@dataclass(frozen=True)
class Contact:
    user_id: str
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    locale: str | None = None
    push_endpoint: str | None = None


def save_account_fields(user_id: str, fields: dict[str, str | None], at: datetime) -> None:
    """Account fields (email, name) from identity's events; an older event never overwrites a newer one."""
    _save_contact(user_id, fields, at, "accountAt")


def save_contact_fields(user_id: str, fields: dict[str, str | None], at: datetime) -> None:
    """Phone, locale and display name from profiles; guarded by their own timestamp."""
    _save_contact(user_id, fields, at, "contactAt")


def save_push_endpoint(user_id: str, endpoint_arn: str, at: datetime) -> None:
    _save_contact(user_id, {"pushEndpoint": endpoint_arn}, at, "pushAt")


def _save_contact(user_id: str, fields: dict[str, str | None], at: datetime, clock: str) -> None:
    from botocore.exceptions import ClientError

    names = {"#clock": clock}
    values: dict[str, Any] = {":at": _s(at.isoformat())}
    sets, removes = ["#clock = :at"], []
    for index, (name, value) in enumerate(sorted(fields.items())):
        names[f"#f{index}"] = name
        if value in (None, ""):
            removes.append(f"#f{index}")
        else:
            sets.append(f"#f{index} = :f{index}")
            values[f":f{index}"] = _s(str(value))
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    try:
        aws.dynamodb().update_item(
            TableName=_table(),
            Key={"pk": _s(recipient_pk(user_id)), "sk": _s("CONTACT")},
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(#clock) OR #clock <= :at",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def _text(item: Item, name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return str(value) if value else None


def recipient(user_id: str) -> tuple[Contact | None, Preferences]:
    """The user's contact details (None if never heard of) and preferences (defaults if never set)."""
    answer = aws.dynamodb().query(
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": _s(recipient_pk(user_id))},
        ConsistentRead=True,
    )
    contact: Contact | None = None
    preferences = Preferences()
    for item in answer.get("Items", []):
        if item["sk"]["S"] == "CONTACT":
            contact = Contact(
                user_id=user_id,
                email=_text(item, "email"),
                name=_text(item, "displayName") or _text(item, "name"),
                phone=_text(item, "phone"),
                locale=_text(item, "locale"),
                push_endpoint=_text(item, "pushEndpoint"),
            )
        elif item["sk"]["S"] == "PREFERENCES":
            preferences = _preferences_of(item)
    return contact, preferences


def _preferences_of(item: Item) -> Preferences:
    channels = {
        name: item[f"ch_{name}"]["BOOL"] for name in ChannelSettings.model_fields if f"ch_{name}" in item
    }
    categories = {
        name: item[f"cat_{name}"]["BOOL"] for name in CategorySettings.model_fields if f"cat_{name}" in item
    }
    return Preferences(channels=ChannelSettings(**channels), categories=CategorySettings(**categories))


def save_preferences(
    user_id: str, switches: dict[str, bool], at: datetime, *, only_if_newer: bool = False
) -> bool:
    """Set some switches (`ch_<channel>` / `cat_<category>`) atomically, leaving the others as they are.

    Channels have two writers: this context's PUT and profiles' preferences event. Both stamp
    `channelsAt`; an event (`only_if_newer`) older than the last change is ignored (False).
    """
    from botocore.exceptions import ClientError

    names = {f"#s{index}": name for index, name in enumerate(sorted(switches))}
    values: dict[str, Any] = {
        f":s{index}": {"BOOL": switches[name]} for index, name in enumerate(sorted(switches))
    }
    values[":at"] = _s(at.isoformat())
    sets = [f"#s{index} = :s{index}" for index in range(len(switches))] + ["updatedAt = :at"]
    if any(name.startswith("ch_") for name in switches):
        sets.append("channelsAt = :at")
    request: dict[str, Any] = {
        "TableName": _table(),
        "Key": {"pk": _s(recipient_pk(user_id)), "sk": _s("PREFERENCES")},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if only_if_newer:
        request["ConditionExpression"] = "attribute_not_exists(channelsAt) OR channelsAt <= :at"
    try:
        aws.dynamodb().update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def preference_switches(preferences: Preferences) -> dict[str, bool]:
    return {
        **{f"ch_{name}": value for name, value in preferences.channels.model_dump().items()},
        **{f"cat_{name}": value for name, value in preferences.categories.model_dump().items()},
    }


# ------------------------------------------------------------------ deliveries


@dataclass(frozen=True)
class DeliveryKey:
    delivery_id: str
    event: DomainEvent
    user_id: str | None
    channel: Channel
    template: str
    category: Category


def _delivery_attributes(key: DeliveryKey, now: datetime) -> Item:
    attributes: Item = {
        "eventId": _s(key.event.event_id),
        "eventType": _s(key.event.event_type),
        "channel": _s(key.channel.value),
        "template": _s(key.template),
        "category": _s(key.category.value),
        "createdAt": _s(now.isoformat()),
    }
    if key.user_id:
        attributes["userId"] = _s(key.user_id)
        attributes["gsi1pk"] = _s(f"USER#{key.user_id}")
        attributes["gsi1sk"] = _s(f"{now.isoformat()}#{key.delivery_id}")
    return attributes


def record_suppressed(key: DeliveryKey, reason: str, now: datetime) -> bool:
    """Log an opted-out channel once; False when this delivery was already logged."""
    from botocore.exceptions import ClientError

    item = {
        **delivery_key(key.delivery_id),
        **_delivery_attributes(key, now),
        "status": _s(DeliveryStatus.SUPPRESSED.value),
        "attempts": {"N": "0"},
        "updatedAt": _s(now.isoformat()),
        "reason": _s(reason),
    }
    try:
        aws.dynamodb().put_item(TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def claim(key: DeliveryKey, now: datetime) -> Delivery | None:
    """Take the delivery for one send attempt (created queued on first sight); None when it is already
    sent or suppressed, or another delivery of the same event holds it right now. A failed delivery
    is taken again only when its event comes back (a redrive from the DLQ after a fix)."""
    from botocore.exceptions import ClientError

    attributes = _delivery_attributes(key, now)
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":queued": _s(DeliveryStatus.QUEUED.value),
        ":failed": _s(DeliveryStatus.FAILED.value),
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
        ":now": _s(now.isoformat()),
        ":lease": {"N": str(int(now.timestamp()) + LEASE_SECONDS)},
        ":epoch": {"N": str(int(now.timestamp()))},
    }
    sets = [
        "#status = :queued",
        "attempts = if_not_exists(attempts, :zero) + :one",
        "leaseUntil = :lease",
        "updatedAt = :now",
    ]
    for index, (name, value) in enumerate(attributes.items()):
        names[f"#a{index}"] = name
        values[f":a{index}"] = value
        sets.append(f"#a{index} = if_not_exists(#a{index}, :a{index})")
    try:
        answer = aws.dynamodb().update_item(
            TableName=_table(),
            Key=delivery_key(key.delivery_id),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=(
                "attribute_not_exists(pk) OR "
                "(#status IN (:queued, :failed) AND "
                "(attribute_not_exists(leaseUntil) OR leaseUntil < :epoch))"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    return delivery_of(answer["Attributes"])


def mark_sent(delivery_id: str, provider_id: str, now: datetime) -> None:
    aws.dynamodb().update_item(
        TableName=_table(),
        Key=delivery_key(delivery_id),
        UpdateExpression="SET #status = :sent, sentAt = :now, updatedAt = :now, providerMessageId = :id "
        "REMOVE leaseUntil, lastError",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":sent": _s(DeliveryStatus.SENT.value),
            ":now": _s(now.isoformat()),
            ":id": _s(provider_id),
        },
    )


def release_after_failure(delivery_id: str, error: str, now: datetime) -> None:
    """The attempt failed and will be retried: the delivery stays queued, without its lease."""
    aws.dynamodb().update_item(
        TableName=_table(),
        Key=delivery_key(delivery_id),
        UpdateExpression="SET lastError = :error, updatedAt = :now REMOVE leaseUntil",
        ExpressionAttributeValues={":error": _s(error[:500]), ":now": _s(now.isoformat())},
    )


def mark_failed(delivery: Delivery, error: str, now: datetime, failed_event: DomainEvent) -> None:
    """The last attempt failed: the delivery is failed and `notification.failed` leaves in one transaction."""
    update: TransactItem = {
        "Update": {
            "TableName": _table(),
            "Key": delivery_key(delivery.notification_id),
            "UpdateExpression": (
                "SET #status = :failed, lastError = :error, updatedAt = :now REMOVE leaseUntil"
            ),
            "ConditionExpression": "#status = :queued",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":failed": _s(DeliveryStatus.FAILED.value),
                ":queued": _s(DeliveryStatus.QUEUED.value),
                ":error": _s(error[:500]),
                ":now": _s(now.isoformat()),
            },
        }
    }
    transact_write([update, outbox_put(failed_event)])


def delivery_of(item: Item) -> Delivery:
    def text(name: str) -> str | None:
        return _text(item, name)

    return Delivery(
        notification_id=item["pk"]["S"].removeprefix("DELIVERY#"),
        user_id=text("userId"),
        event_id=text("eventId") or "",
        event_type=text("eventType") or "",
        channel=text("channel") or "",
        template=text("template") or "",
        category=text("category") or "",
        status=DeliveryStatus(text("status") or DeliveryStatus.QUEUED.value),
        attempts=int(item.get("attempts", {}).get("N", "0")),
        created_at=datetime.fromisoformat(text("createdAt") or text("updatedAt") or ""),
        updated_at=datetime.fromisoformat(text("updatedAt") or text("createdAt") or ""),
        sent_at=datetime.fromisoformat(sent) if (sent := text("sentAt")) else None,
        error=text("lastError"),
        reason=text("reason"),
    )


def find_delivery(delivery_id: str) -> Delivery | None:
    found = aws.dynamodb().get_item(TableName=_table(), Key=delivery_key(delivery_id), ConsistentRead=True)
    item = found.get("Item")
    return delivery_of(item) if item else None


def _batch_get_deliveries(keys: list[Item]) -> list[Delivery]:
    """The deliveries of index keys, in the keys' order."""
    # Deliveries are never deleted, so every key the index lists has its item.
    items = batch_get(_table(), [{"pk": key["pk"], "sk": key["sk"]} for key in keys])
    return [delivery_of(item) for item in items]


def deliveries_of(user_id: str, page: PageRequest) -> tuple[list[Delivery], str | None]:
    """The user's delivery log, newest first, one page: its keys from gsi1, then the items."""
    partition = f"USER#{user_id}"
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :partition",
        "ExpressionAttributeValues": {":partition": _s(partition)},
        "ScanIndexForward": False,
    }
    kept, cursor = query_page(
        request, page, ("pk", "sk", "gsi1pk", "gsi1sk"), partition={"gsi1pk": partition}
    )
    return (_batch_get_deliveries(kept) if kept else []), cursor
