"""WOLO's donate: the pledge's payment, started synchronously by payments' `payments.initiate-pledge` task.

Donations owns the pledge, so it hands payments the payable itself (IAM lets only this function
invoke that task); payments answers the payment, or the domain error it refused with.
"""

from __future__ import annotations

import json
from typing import Any

from donations.domain.pledge import Pledge
from harambee import aws
from harambee.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
)
from harambee.observability import correlation_id

_BY_STATUS: dict[int, type[DomainError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
}


class PaymentsUnavailable(DomainError):
    """Payments could not be reached, or failed: the pledge stands and may be paid later."""

    status = 502
    code = "PAYMENTS_UNAVAILABLE"


def initiate_payment(pledge: Pledge, provider: str, method: str) -> dict[str, Any]:
    """The started payment (with checkout URL and access token), or the error payments refused with."""
    from donations.settings import donations_settings

    task = {
        "task": "payments.initiate-pledge",
        "correlationId": correlation_id(),
        "pledge": {
            "pledgeId": pledge.pledge_id,
            "campaignId": pledge.campaign_id,
            "donorId": pledge.donor_id,
            "amount": pledge.amount,
            "currency": pledge.currency,
        },
        "provider": provider,
        "method": method,
    }
    answer = aws.client("lambda").invoke(
        FunctionName=donations_settings().payments_function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(task).encode(),
    )
    body = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not isinstance(body, dict):
        raise PaymentsUnavailable("Payments could not start the payment; the pledge is kept", details=body)
    refused = body.get("error")
    if isinstance(refused, dict):
        status = int(refused.get("status", 502))
        error_type = _BY_STATUS.get(status, PaymentsUnavailable)
        raise error_type(
            str(refused.get("message", "Payment refused")),
            details=refused.get("details"),
            code=str(refused.get("code", error_type.code)),
        )
    payment: dict[str, Any] = body["payment"]
    return payment
