"""Notifications through the local stack as a client sees them: a completed donation produces a
receipt to the donor and a notice to the owner, on every channel they allowed; an opted-out channel
is suppressed; the unsubscribe link in the owner's email works without login."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.e2e.conftest import eventually, http
from tests.support.fake_whatsapp import FakeWhatsApp

PASSWORD = "a long and uncommon passphrase"


def _send(stack: Any, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http(method, f"{stack.url}{path}", headers, None if body is None else json.dumps(body).encode())


def _register(stack: Any, email: str) -> tuple[str, str]:
    status, answer = _send(stack, "POST", "/api/auth/register", {"email": email, "password": PASSWORD})
    assert status == 201, answer
    return answer["data"]["user"]["userId"], answer["data"]["tokens"]["accessToken"]


def _publish(stack: Any, event_type: str, source: str, data: dict[str, Any]) -> None:
    """What the donations context will publish; until it exists, the test puts it on the bus."""
    envelope = {
        "eventId": str(uuid.uuid4()),
        "eventType": event_type,
        "schemaVersion": 1,
        "timestamp": "2026-11-22T09:05:00.000Z",
        "source": source,
        "correlationId": None,
        "data": data,
    }
    stack.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": event_type,
                "Detail": json.dumps(envelope),
                "EventBusName": stack.physical_name("EventBus"),
            }
        ]
    )


def _log(stack: Any, token: str) -> list[tuple[str, str, str]]:
    status, answer = _send(stack, "GET", "/api/notifications?limit=50", token=token)
    assert status == 200, answer
    return [(entry["template"], entry["channel"], entry["status"]) for entry in answer["data"]]


def _sent_emails() -> list[Any]:
    # moto's server runs in this process: its SES and SNS backends are what the stack sent through.
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def _sent_sms() -> list[tuple[str, str]]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values())


def test_a_completed_donation_reaches_donor_and_owner_on_their_channels(
    stack: Any, whatsapp: FakeWhatsApp
) -> None:
    token_parameter = "/harambee/local/notifications/whatsapp-token"
    stored = stack.client("ssm").get_parameter(Name=token_parameter, WithDecryption=True)
    whatsapp.token = stored["Parameter"]["Value"]
    suffix = uuid.uuid4().hex[:8]
    # Given a donor with a phone, in French, who turned SMS and WhatsApp on
    donor_id, donor = _register(stack, f"donor-{suffix}@example.org")
    assert (
        _send(stack, "PUT", "/api/profile", {"firstName": "Awa", "phoneNumber": "+221770000001"}, donor)[0]
        == 200
    )
    assert _send(stack, "PUT", "/api/profile/preferences", {"language": "fr"}, donor)[0] == 200
    wanted = {"channels": {"sms": True, "whatsapp": True}}
    assert _send(stack, "PUT", "/api/notifications/preferences", wanted, donor)[0] == 200
    # And a campaign owner with a phone who left SMS off (the default)
    owner_id, owner = _register(stack, f"owner-{suffix}@example.org")
    assert (
        _send(stack, "PUT", "/api/profile", {"firstName": "Omar", "phoneNumber": "+221770000002"}, owner)[0]
        == 200
    )

    def directory_ready() -> bool:
        # A barrier, not an assertion: profiles' contact event reaches notifications through the
        # outbox, the bus and the inbox, in no guaranteed order with the pledge published next.
        table = stack.physical_name("NotificationsTable")
        for user_id in (donor_id, owner_id):
            key = {"pk": {"S": f"RECIPIENT#{user_id}"}, "sk": {"S": "CONTACT"}}
            item = stack.client("dynamodb").get_item(TableName=table, Key=key).get("Item") or {}
            if "phone" not in item:
                return False
        return True

    eventually(directory_ready, timeout=30)

    # When the donor's pledge completes
    pledge = f"pl-{suffix}"
    _publish(
        stack,
        "pledge.completed",
        "harambee.donations",
        {
            "pledgeId": pledge,
            "campaignId": f"c-{suffix}",
            "donorId": donor_id,
            "donorEmail": f"donor-{suffix}@example.org",
            "donorName": "Awa",
            "isAnonymous": False,
            "amount": 5_000,
            "currency": "XOF",
            "message": None,
            "locale": "fr",
            "createdAt": "2026-11-22T09:00:00+00:00",
            "paymentId": f"pay-{suffix}",
            "campaignTitle": "Toit de la clinique",
            "campaignOwnerId": owner_id,
            "campaignType": "medical",
            "completedAt": "2026-11-22T09:05:00+00:00",
        },
    )

    # Then the donor's log shows the receipt sent by email, SMS and WhatsApp
    def receipt_sent() -> list[tuple[str, str, str]] | None:
        log = [entry for entry in _log(stack, donor) if entry[0] == "receipt"]
        return log if len(log) == 3 and all(status == "sent" for _, _, status in log) else None

    try:
        eventually(receipt_sent, timeout=30)
    except AssertionError:
        raise AssertionError(f"donor log: {_log(stack, donor)}") from None
    assert sorted(receipt_sent() or []) == [
        ("receipt", "email", "sent"),
        ("receipt", "sms", "sent"),
        ("receipt", "whatsapp", "sent"),
    ]

    # And the owner's shows the notice by email, with SMS and WhatsApp (left off) suppressed
    def notice_logged() -> list[tuple[str, str, str]] | None:
        notice = [entry for entry in _log(stack, owner) if entry[0] == "new_donation"]
        return notice if len(notice) == 3 else None

    try:
        notice = eventually(notice_logged, timeout=30)
    except AssertionError:
        raise AssertionError(f"owner log: {_log(stack, owner)}") from None
    assert sorted(notice) == [
        ("new_donation", "email", "sent"),
        ("new_donation", "sms", "suppressed"),
        ("new_donation", "whatsapp", "suppressed"),
    ]
    # And the providers got them: SES (French, XOF without decimals), SNS SMS, WhatsApp's fake
    receipts = [e for e in _sent_emails() if e.destinations["ToAddresses"] == [f"donor-{suffix}@example.org"]]
    assert "Reçu de votre don de 5\u202f000\xa0F\u202fCFA" in [e.subject for e in receipts]
    assert (
        "+221770000001",
        f"Reçu Harambee : 5\u202f000\xa0F\u202fCFA pour Toit de la clinique, paiement pay-{suffix}. Merci !",
    ) in _sent_sms()
    assert [m["to"] for m in whatsapp.sent if f"pay-{suffix}" in m["body"]] == ["221770000001"]
    assert "+221770000002" not in [phone for phone, _ in _sent_sms()]

    # When the owner follows the unsubscribe link of the notice, without signing in
    [email] = [
        e
        for e in _sent_emails()
        if e.destinations["ToAddresses"] == [f"owner-{suffix}@example.org"] and "Toit" in e.subject
    ]
    link = email.body.split('href="')[-1].split('"')[0].replace("&amp;", "&")
    assert link.startswith(f"{stack.url}/api/notifications/unsubscribe?token=")
    status, answer = http("GET", link)
    # Then donations are off for the owner, and another user's log stays private
    assert (status, answer["data"]["unsubscribed"]) == (200, "donations")
    status, preferences = _send(stack, "GET", "/api/notifications/preferences", token=owner)
    assert preferences["data"]["categories"]["donations"] is False
    assert _send(stack, "GET", f"/api/notifications/user/{owner_id}", token=donor)[0] == 404
