"""The avatar inbox: S3 ObjectCreated notifications, delivered through SQS, point profiles at new avatars."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from profiles import service


def handle_avatar_notifications(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch of S3 notifications; a failing record is reported alone and retried."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
    return dict(response)


def _record(record: Any) -> None:
    notification = json.loads(record.body)
    if notification.get("Event") == "s3:TestEvent":
        return  # S3 sends one when the notification is configured
    for s3_record in notification.get("Records", []):
        if not str(s3_record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        bucket = s3_record["s3"]["bucket"]["name"]
        # S3 URL-encodes keys in notifications (spaces as +).
        key = unquote_plus(s3_record["s3"]["object"]["key"])
        service.avatar_landed(bucket, key)
