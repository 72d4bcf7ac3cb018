"""Notifications in moto, driven through its Lambda handler: SES, SNS, KMS and SSM are moto's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from harambee import aws
from harambee.events import DomainEvent
from tests.support.events import FakeLambdaContext, api_event
from tests.support.fake_whatsapp import ACCESS_TOKEN, PHONE_NUMBER_ID
from tests.unit.kernel import harness

SENDER = "no-reply@harambee.test"
UNSUBSCRIBE_KEY = "unsubscribe-test-key-0123456789abcdef0123456789"
DONOR = {"principalId": "u-donor", "userId": "u-donor", "email": "donor@example.org", "role": "USER"}
OWNER = {"principalId": "u-owner", "userId": "u-owner", "email": "owner@example.org", "role": "USER"}
ADMIN = {"principalId": "u-admin", "userId": "u-admin", "email": "admin@example.org", "role": "ADMIN"}


def invoke(event: dict[str, Any]) -> Any:
    from notifications.handler import handler
    from tests.unit.payments.conftest import ensure_event_loop

    ensure_event_loop()
    return handler(event, FakeLambdaContext())


def call(
    method: str,
    path: str,
    *,
    caller: dict[str, str] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = None if body is None else json.dumps(body)
    response = invoke(api_event(method, path, body=raw, authorizer=caller, query=query))
    return response["statusCode"], json.loads(response["body"])


def event(
    event_type: str, data: dict[str, Any], *, source: str = "harambee.donations", event_id: str | None = None
) -> DomainEvent:
    return DomainEvent(
        event_id=event_id or str(uuid.uuid4()), event_type=event_type, source=source, data=data
    )


def deliver(*events: DomainEvent, receive_count: int = 1) -> dict[str, Any]:
    batch = harness.deliveries(*events)
    for record in batch["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    result: dict[str, Any] = invoke(batch)
    return result


def sent_emails() -> list[Any]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def sent_sms() -> list[Any]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def register(user_id: str, email: str, name: str, **contact: str) -> None:
    """What identity (and profiles, for phone and locale) tell this context about a user."""
    assert deliver(
        event(
            "account.registered",
            {"userId": user_id, "email": email, "name": name, "role": "USER"},
            source="harambee.identity",
        )
    ) == {"batchItemFailures": []}
    if contact:
        data = {
            "userId": user_id,
            "phone": contact.get("phone"),
            "locale": contact.get("locale"),
            "displayName": contact.get("displayName"),
        }
        assert deliver(event("profile.contact_changed", data, source="harambee.profiles")) == {
            "batchItemFailures": []
        }


def deliveries(table: str) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("DELIVERY#")]


@pytest.fixture
def notifications_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from notifications import rendering, settings, whatsapp

    with mock_aws(), harness.fresh_caches():
        name = harness.context_table("NotificationsTable")
        harness.use_context(monkeypatch, "notifications", name)
        aws.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        key = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]
        ssm = aws.client("ssm")
        ssm.put_parameter(
            Name="/harambee/test/notifications/unsubscribe-key", Value=UNSUBSCRIBE_KEY, Type="SecureString"
        )
        ssm.put_parameter(
            Name="/harambee/test/notifications/whatsapp-token", Value=ACCESS_TOKEN, Type="SecureString"
        )
        for variable, value in {
            "SENDER_EMAIL": SENDER,
            "MESSAGE_SECRETS_KEY_ID": key,
            "PUBLIC_BASE_URL": "https://api.harambee.test",
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_URL": "http://127.0.0.1:9",
            "RETRY_BASE_SECONDS": "0",
        }.items():
            monkeypatch.setenv(variable, value)
        settings.notifications_settings.cache_clear()
        rendering._environment.cache_clear()
        monkeypatch.setattr(whatsapp, "transport", None)
        yield name
        settings.notifications_settings.cache_clear()
