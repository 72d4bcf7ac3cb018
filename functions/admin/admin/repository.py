"""Admin's storage: counters and notices in AdminTable, the audit log in its own AuditLogTable.

AdminTable access patterns (pk / sk; indexes):
  a day's figures, a shard   STATS#MONTH#<yyyy-mm> / DAY#<yyyy-mm-dd>#<shard>  (one numeric attribute per
                             metric: RAISED#<currency>, DONATIONS, FAILED_PAYMENTS; ADD)
  a month's and today's      query pk = STATS#MONTH#<yyyy-mm> (at most 31 days x SHARDS items)
  all-time figures, a shard  STATS#TOTAL / SHARD#<shard>  (also DONORS, CAMPAIGNS#<status>; query pk)
  a donor already counted    DONOR#<donor key> / DONOR                    (put-if-absent)
  a campaign's last status   CAMPAIGN#<campaignId> / STATUS               (status, asOf: newest event wins)
  a dead-letter queue depth  DEADLETTER#<queue name> / DEPTH              (last seen by the 5-minute watch)
  a system notification      NOTICE#<id> / NOTICE
  notifications, newest      gsi1: NOTICES / <createdAt>#<id>
  by severity, newest        gsi2: NOTICES#<severity> / <createdAt>#<id>
  unread, newest             gsi3: UNREAD / <createdAt>#<id>             (sparse: removed when read)

AuditLogTable (append only: this function may PutItem, GetItem and Query it, nothing else):
  a record by event id       pk = AUDIT#<eventId>                          (put-if-absent)
  by actor, newest           gsi1: ACTOR#<actorId> / <at>#<eventId>
  by entity, newest          gsi2: ENTITY#<entityType>#<entityId> / <at>#<eventId>
  all records, newest        gsi3: AUDIT / <at>#<eventId>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from admin.domain.audit import AuditRecord, sort_time
from admin.domain.notices import Severity, SystemNotification
from admin.domain.stats import DAY_PREFIX, TOTAL, Increment, shard_of
from admin.settings import admin_settings
from harambee import aws
from harambee.errors import NotFound
from harambee.outbox import TransactItem
from harambee.pagination import InvalidCursor, PageRequest, encode_cursor
from harambee.settings import platform_settings

Item = dict[str, Any]
# A filtered list reads at most this many index pages for one response, then hands back a cursor.
MAX_READS_PER_PAGE = 10
MONTH_PK_PREFIX = "STATS#MONTH#"
TOTAL_PK = "STATS#TOTAL"


def _table() -> str:
    return platform_settings().table_name


def _audit_table() -> str:
    return admin_settings().audit_table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


# ------------------------------------------------------------------ counters


def _counter_key(scope: str, shard: int) -> dict[str, dict[str, str]]:
    if scope == TOTAL:
        return {"pk": _s(TOTAL_PK), "sk": _s(f"SHARD#{shard}")}
    day = scope.removeprefix(DAY_PREFIX)
    if day == scope or len(day) != len("yyyy-mm-dd"):
        raise ValueError(f"Not a counter scope: {scope!r}")
    return {"pk": _s(f"{MONTH_PK_PREFIX}{day[:7]}"), "sk": _s(f"{DAY_PREFIX}{day}#{shard}")}


def counter_updates(increments: Sequence[Increment], event_id: str) -> list[TransactItem]:
    """One update per scope on the event's shard item, ADDing every metric the event moves."""
    shard = shard_of(event_id)
    merged: dict[str, dict[str, int]] = {}
    for increment in increments:
        metrics = merged.setdefault(increment.scope, {})
        metrics[increment.metric] = metrics.get(increment.metric, 0) + increment.delta
    updates: list[TransactItem] = []
    for scope, metrics in merged.items():
        moved = {metric: delta for metric, delta in sorted(metrics.items()) if delta}
        if not moved:
            continue
        updates.append(
            {
                "Update": {
                    "TableName": _table(),
                    "Key": _counter_key(scope, shard),
                    "UpdateExpression": "ADD "
                    + ", ".join(f"#m{index} :d{index}" for index in range(len(moved))),
                    "ExpressionAttributeNames": {f"#m{index}": name for index, name in enumerate(moved)},
                    "ExpressionAttributeValues": {
                        f":d{index}": _n(delta) for index, delta in enumerate(moved.values())
                    },
                }
            }
        )
    return updates


def _figures(item: Item) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


def _shard_items(pk: str) -> list[Item]:
    request: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": _s(pk)},
    }
    items: list[Item] = []
    while True:
        response = aws.dynamodb().query(**request)
        items.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def month_figures(month: str) -> list[tuple[str, dict[str, int]]]:
    """Every (day, shard) item of a UTC month (yyyy-mm), as (yyyy-mm-dd, figures)."""
    return [
        (item["sk"]["S"].removeprefix(DAY_PREFIX).rpartition("#")[0], _figures(item))
        for item in _shard_items(f"{MONTH_PK_PREFIX}{month}")
    ]


def total_figures() -> list[dict[str, int]]:
    """The all-time figures of every shard."""
    return [_figures(item) for item in _shard_items(TOTAL_PK)]


def donor_counted(donor_key: str) -> bool:
    """Whether the donor was counted already; a stale answer is caught by the put's condition."""
    found = aws.dynamodb().get_item(
        TableName=_table(),
        Key={"pk": _s(f"DONOR#{donor_key}"), "sk": _s("DONOR")},
        ProjectionExpression="pk",
    )
    return "Item" in found


def new_donor_put(donor_key: str, first_event_id: str, at: datetime) -> TransactItem:
    return {
        "Put": {
            "TableName": _table(),
            "Item": {
                "pk": _s(f"DONOR#{donor_key}"),
                "sk": _s("DONOR"),
                "firstEventId": _s(first_event_id),
                "firstSeenAt": _s(at.isoformat()),
            },
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


# ------------------------------------------------------------------ campaign statuses


@dataclass(frozen=True)
class CampaignStatus:
    status: str
    as_of: str


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def campaign_status(campaign_id: str) -> CampaignStatus | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"pk": _s(campaign_pk(campaign_id)), "sk": _s("STATUS")}, ConsistentRead=True
    )
    item = found.get("Item")
    if item is None:
        return None
    return CampaignStatus(status=item["status"]["S"], as_of=item["asOf"]["S"])


def put_campaign_status(
    campaign_id: str, status: str, as_of: str, seen: CampaignStatus | None
) -> TransactItem:
    """The campaign's new status, only if nobody moved it since we read it (the counters move with it)."""
    put: dict[str, Any] = {
        "TableName": _table(),
        "Item": {
            "pk": _s(campaign_pk(campaign_id)),
            "sk": _s("STATUS"),
            "status": _s(status),
            "asOf": _s(as_of),
        },
    }
    if seen is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "asOf = :seen"
        put["ExpressionAttributeValues"] = {":seen": _s(seen.as_of)}
    return {"Put": put}


# ------------------------------------------------------------------ dead-letter depths


def last_depth(queue: str) -> int | None:
    found = aws.dynamodb().get_item(
        TableName=_table(), Key={"pk": _s(f"DEADLETTER#{queue}"), "sk": _s("DEPTH")}, ConsistentRead=True
    )
    item = found.get("Item")
    return int(item["depth"]["N"]) if item else None


def put_depth(queue: str, depth: int, checked_at: datetime, seen: int | None) -> TransactItem:
    put: dict[str, Any] = {
        "TableName": _table(),
        "Item": {
            "pk": _s(f"DEADLETTER#{queue}"),
            "sk": _s("DEPTH"),
            "depth": _n(depth),
            "checkedAt": _s(checked_at.isoformat()),
        },
    }
    # Two overlapping watches must not both report the same growth: the second one's write fails.
    if seen is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "#depth = :seen"
        put["ExpressionAttributeNames"] = {"#depth": "depth"}
        put["ExpressionAttributeValues"] = {":seen": _n(seen)}
    return {"Put": put}


# ------------------------------------------------------------------ system notifications


def notice_pk(notification_id: str) -> str:
    return f"NOTICE#{notification_id}"


def notice_item(notice: SystemNotification) -> Item:
    order = f"{sort_time(notice.created_at)}#{notice.notification_id}"
    item: Item = {
        "pk": _s(notice_pk(notice.notification_id)),
        "sk": _s("NOTICE"),
        "document": _s(notice.model_dump_json(by_alias=True, exclude={"read_at", "read_by"})),
        "severity": _s(str(notice.severity)),
        "gsi1pk": _s("NOTICES"),
        "gsi1sk": _s(order),
        "gsi2pk": _s(f"NOTICES#{notice.severity}"),
        "gsi2sk": _s(order),
        "gsi3pk": _s("UNREAD"),
        "gsi3sk": _s(order),
    }
    return item


def put_new_notice(notice: SystemNotification) -> TransactItem:
    return {
        "Put": {
            "TableName": _table(),
            "Item": notice_item(notice),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _notice_of(item: Item) -> SystemNotification:
    notice = SystemNotification.model_validate_json(item["document"]["S"])
    if "readAt" not in item:
        return notice
    return notice.model_copy(
        update={
            "read_at": datetime.fromisoformat(item["readAt"]["S"]),
            "read_by": item.get("readBy", {}).get("S"),
        }
    )


def mark_read(notification_id: str, reader: str, at: datetime) -> SystemNotification:
    """Mark a notice read; a second call keeps the first reader and time. No such notice: NotFound."""
    from botocore.exceptions import ClientError

    try:
        updated = aws.dynamodb().update_item(
            TableName=_table(),
            Key={"pk": _s(notice_pk(notification_id)), "sk": _s("NOTICE")},
            UpdateExpression="SET readAt = if_not_exists(readAt, :at), "
            "readBy = if_not_exists(readBy, :reader) REMOVE gsi3pk, gsi3sk",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":at": _s(at.isoformat()), ":reader": _s(reader)},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise NotFound(
                "No such system notification", details={"notificationId": notification_id}
            ) from error
        raise
    return _notice_of(updated["Attributes"])


def notices(
    page: PageRequest, *, unread: bool | None, severity: Severity | None
) -> tuple[list[SystemNotification], str | None]:
    """Newest first; the most selective index for the filters, the rest as a filter expression."""
    filters: list[str] = []
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    if unread:
        index, partition = "gsi3", "UNREAD"
        if severity is not None:
            filters.append("severity = :severity")
            values[":severity"] = _s(str(severity))
    elif severity is not None:
        index, partition = "gsi2", f"NOTICES#{severity}"
    else:
        index, partition = "gsi1", "NOTICES"
    if unread is False:
        filters.append("attribute_exists(readAt)")
    items, cursor = query_page(
        _table(), index, partition, page, filters=filters, values=values, names=names, key_names=("pk", "sk")
    )
    return [_notice_of(item) for item in items], cursor


# ------------------------------------------------------------------ audit log


def audit_item(record: AuditRecord) -> Item:
    order = f"{record.at_key}#{record.event_id}"
    item: Item = {
        "pk": _s(f"AUDIT#{record.event_id}"),
        "document": _s(record.model_dump_json(by_alias=True)),
        "actorId": _s(record.actor_id),
        "gsi1pk": _s(f"ACTOR#{record.actor_id}"),
        "gsi1sk": _s(order),
        "gsi3pk": _s("AUDIT"),
        "gsi3sk": _s(order),
    }
    if record.entity_id is not None:
        item["gsi2pk"] = _s(f"ENTITY#{record.entity_type}#{record.entity_id}")
        item["gsi2sk"] = _s(order)
    return item


def append_audit(record: AuditRecord) -> bool:
    """Append a record; False when it is already there (a redelivery), which is left untouched."""
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().put_item(
            TableName=_audit_table(), Item=audit_item(record), ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_audit(event_id: str) -> AuditRecord | None:
    found = aws.dynamodb().get_item(TableName=_audit_table(), Key={"pk": _s(f"AUDIT#{event_id}")})
    item = found.get("Item")
    return AuditRecord.model_validate_json(item["document"]["S"]) if item else None


@dataclass(frozen=True)
class AuditFilter:
    actor_id: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_records(page: PageRequest, wanted: AuditFilter) -> tuple[list[AuditRecord], str | None]:
    """Newest first: the entity index when asked (actor then filters), else the actor's, else all."""
    filters: list[str] = []
    values: dict[str, Any] = {}
    if wanted.entity_id is not None:
        index, partition = "gsi2", f"ENTITY#{wanted.entity_type}#{wanted.entity_id}"
        if wanted.actor_id is not None:
            filters.append("actorId = :actor")
            values[":actor"] = _s(wanted.actor_id)
    elif wanted.actor_id is not None:
        index, partition = "gsi1", f"ACTOR#{wanted.actor_id}"
    else:
        index, partition = "gsi3", "AUDIT"
    # Sort keys start with the UTC time: a date range is a key condition, not a filter.
    low = sort_time(wanted.since) if wanted.since else None
    # "~" sorts after the "#<eventId>" that follows the time, so `until` itself is included.
    high = f"{sort_time(wanted.until)}~" if wanted.until else None
    items, cursor = query_page(
        _audit_table(),
        index,
        partition,
        page,
        filters=filters,
        values=values,
        low=low,
        high=high,
        key_names=("pk",),
    )
    return [AuditRecord.model_validate_json(item["document"]["S"]) for item in items], cursor


# ------------------------------------------------------------------ paging


def query_page(
    table: str,
    index: str,
    partition: str,
    page: PageRequest,
    *,
    key_names: tuple[str, ...],
    filters: Sequence[str] = (),
    values: dict[str, Any] | None = None,
    names: dict[str, str] | None = None,
    low: str | None = None,
    high: str | None = None,
) -> tuple[list[Item], str | None]:
    """One newest-first page of an index partition; filtered lists read on until the page is full."""
    hash_name, range_name = f"{index}pk", f"{index}sk"
    condition = f"{hash_name} = :partition"
    all_values: dict[str, Any] = {":partition": _s(partition), **(values or {})}
    if low is not None and high is not None:
        condition += f" AND {range_name} BETWEEN :low AND :high"
        all_values.update({":low": _s(low), ":high": _s(high)})
    elif low is not None:
        condition += f" AND {range_name} >= :low"
        all_values[":low"] = _s(low)
    elif high is not None:
        condition += f" AND {range_name} <= :high"
        all_values[":high"] = _s(high)
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": all_values,
        "ScanIndexForward": False,
        "Limit": page.limit + 1,
    }
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
    if names:
        request["ExpressionAttributeNames"] = names
    start = page.start_key_bound_to(**{hash_name: partition})
    if start is not None:
        request["ExclusiveStartKey"] = start
    items: list[Item] = []
    last: dict[str, Any] | None = None
    for _ in range(MAX_READS_PER_PAGE):
        response = _query(request, resumed=start is not None)
        items.extend(response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last or len(items) > page.limit:
            break
        request["ExclusiveStartKey"] = last
    if len(items) > page.limit:
        kept = items[: page.limit]
        edge = kept[-1]
        cursor_key = {name: edge[name] for name in (*key_names, hash_name, range_name)}
        return kept, encode_cursor(cursor_key)
    # Fewer than a page after the read budget: resume where the reading stopped.
    return items, encode_cursor(last) if last else None


def _query(request: dict[str, Any], *, resumed: bool) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        return dict(aws.dynamodb().query(**request))
    except ClientError as error:
        # A cursor of the same partition but another date range lies outside the key condition.
        if resumed and error.response.get("Error", {}).get("Code") == "ValidationException":
            raise InvalidCursor("The `next` cursor does not belong to this list") from error
        raise
