"""The internal send-email endpoint: a Lambda task other contexts invoke with IAM, never routed publicly.

`{"task": "notifications.send-email", "requestId": "...", "to": "...", "subject": "...", "text": "..."}`
The caller's requestId makes it idempotent: the same id never sends twice.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harambee.errors import BadRequest
from harambee.events import DomainEvent
from notifications import repository, service
from notifications.channels import SendFailure, send_email
from notifications.domain.catalog import Category, Channel
from notifications.domain.messages import delivery_id
from notifications.models import SendEmailTask
from notifications.rendering import Rendered

TEMPLATE = "direct_email"


def send_email_task(event: dict[str, Any]) -> dict[str, Any]:
    try:
        task = SendEmailTask.model_validate(event)
    except ValidationError as error:
        raise BadRequest("Not a valid send-email task", details=error.errors(include_url=False)) from error
    now = service.utcnow()
    request = DomainEvent(
        event_id=task.request_id,
        event_type="notification.requested",
        source="harambee.notifications",
        correlation_id=event.get("correlationId"),
        data={},
    )
    recipient = (task.user_id and f"user:{task.user_id}") or f"email:{task.to}"
    key = repository.DeliveryKey(
        delivery_id=delivery_id(task.request_id, recipient, Channel.EMAIL, TEMPLATE),
        event=request,
        user_id=task.user_id,
        channel=Channel.EMAIL,
        template=TEMPLATE,
        category=Category.TRANSACTIONAL,
    )
    delivery = repository.claim(key, now)
    if delivery is None:
        existing = repository.find_delivery(key.delivery_id)
        return {"notificationId": key.delivery_id, "status": existing.status.value if existing else "queued"}
    try:
        provider_id = send_email(str(task.to), Rendered(subject=task.subject, text=task.text, html=task.html))
    except SendFailure as error:
        repository.release_after_failure(key.delivery_id, str(error), now)
        # Surfaces to the caller (or a state machine's Retry) by class name.
        raise
    repository.mark_sent(key.delivery_id, provider_id, now)
    return {"notificationId": key.delivery_id, "status": "sent"}
