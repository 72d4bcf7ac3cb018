"""Notifications: events become messages on the allowed channels, once, in the recipient's language."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harambee.money import Money
from tests.support.fake_whatsapp import ACCESS_TOKEN, running_whatsapp
from tests.unit.kernel import harness
from tests.unit.notifications.conftest import (
    ADMIN,
    DONOR,
    OWNER,
    call,
    deliver,
    deliveries,
    event,
    register,
    sent_emails,
    sent_sms,
)

PLEDGE = {
    "pledgeId": "pl-1",
    "campaignId": "c-1",
    "donorId": "u-donor",
    "donorEmail": "donor@example.org",
    "donorName": "Awa Diop",
    "isAnonymous": False,
    "amount": 150_000,
    "currency": "BDT",
    "message": "For the clinic <3",
    "locale": "en",
    "createdAt": "2026-11-22T09:00:00+00:00",
}
COMPLETED = {
    **PLEDGE,
    "paymentId": "pay-1",
    "campaignTitle": "Clinic roof",
    "campaignOwnerId": "u-owner",
    "campaignType": "medical",
    "completedAt": "2026-11-22T09:05:00+00:00",
}


def statuses(table: str) -> list[tuple[str, str, str]]:
    return sorted(
        (item["template"]["S"], item["channel"]["S"], item["status"]["S"]) for item in deliveries(table)
    )


# ------------------------------------------------------------------ rendering


@pytest.mark.parametrize(
    ("locale", "money", "expected"),
    [
        ("en", Money(amount=150_000, currency="BDT"), "BDT1,500.00"),
        ("fr", Money(amount=150_000, currency="BDT"), "1\u202f500,00\xa0BDT"),
        ("fr", Money(amount=5_000, currency="XOF"), "5\u202f000\xa0F\u202fCFA"),
        ("en", Money(amount=1_999, currency="USD"), "$19.99"),
    ],
)
def test_amounts_are_formatted_for_the_locale_with_the_currency_exponent(
    locale: str, money: Money, expected: str
) -> None:
    from notifications.rendering import format_money

    assert format_money(money, locale) == expected


def test_a_receipt_renders_in_french_with_escaped_html_and_plain_text() -> None:
    from notifications.domain.catalog import Channel
    from notifications.rendering import render

    variables = {
        "name": "Awa <b>",
        "amount": Money(amount=5_000, currency="XOF"),
        "campaignTitle": "Toit & clinique",
        "pledgeId": "pl-1",
        "paymentId": "pay-1",
        "completedAt": "2026-11-22T09:05:00+00:00",
        "unsubscribeUrl": None,
    }
    email = render("receipt", Channel.EMAIL, "fr-SN", variables)
    assert email.subject == "Reçu de votre don de 5\u202f000\xa0F\u202fCFA"
    html = email.html or ""
    assert "Awa &lt;b&gt;" in html
    assert "Toit &amp; clinique" in html
    assert "Toit & clinique" in email.text
    assert "22 novembre 2026" in email.text
    # No German templates: the words are English, the amount is still formatted the German way
    sms = render("receipt", Channel.SMS, "de-DE", variables)
    assert sms.text.startswith("Harambee receipt: 5.000\xa0F\u202fCFA to Toit & clinique")
    assert len(sms.text) <= 320


# ------------------------------------------------------------------ events -> messages


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        ("pledge.created", PLEDGE, [("pledge_created", "user:u-donor")]),
        ("pledge.completed", COMPLETED, [("receipt", "user:u-donor"), ("new_donation", "user:u-owner")]),
        (
            "campaign.goal_reached",
            {
                "campaignId": "c-1",
                "ownerId": "u-owner",
                "title": "Roof",
                "goalAmount": 100,
                "raisedAmount": 120,
                "currency": "USD",
                "donorCount": 3,
            },
            [("goal_reached", "user:u-owner")],
        ),
        (
            "campaign.expired",
            {
                "campaignId": "c-1",
                "ownerId": "u-owner",
                "title": "Roof",
                "goalAmount": 100,
                "raisedAmount": 20,
                "currency": "USD",
                "donorCount": 1,
            },
            [("final_report", "user:u-owner")],
        ),
        (
            "campaign.created",
            {
                "campaignId": "c-2",
                "ownerId": "u-owner",
                "title": "Awa turns 30",
                "type": "birthday",
                "goalAmount": 50_000,
                "currency": "XOF",
                "endDate": "2026-12-22",
            },
            [("pot_created", "user:u-owner")],
        ),
        (
            "campaign.created",
            {
                "campaignId": "c-3",
                "ownerId": "u-owner",
                "title": "Roof",
                "type": "medical",
                "goalAmount": 100,
                "currency": "USD",
            },
            [],
        ),
        (
            "pot.closing_soon",
            {
                "campaignId": "c-2",
                "ownerId": "u-owner",
                "title": "Pot",
                "endDate": "2026-12-22",
                "raisedAmount": 10_000,
                "currency": "XOF",
                "daysLeft": 3,
            },
            [("pot_closing", "user:u-owner")],
        ),
        ("account.registered", {"userId": "u-1", "email": "a@b.org", "name": "A"}, [("welcome", "user:u-1")]),
        ("pledge.failed", {**PLEDGE, "reason": "payment_timeout"}, [("pledge_failed", "user:u-donor")]),
        (
            "pledge.refunded",
            {**COMPLETED, "refundAmount": 50_000, "refundedAmount": 50_000, "fullyRefunded": False},
            [("refund", "user:u-donor")],
        ),
    ],
)
def test_each_event_asks_for_its_messages(event_type: str, data: dict[str, Any], expected: list[Any]) -> None:
    from notifications.domain.messages import intents_of

    intents = intents_of(event(event_type, data))
    assert [(intent.template, intent.recipient.key) for intent in intents] == expected


def test_an_anonymous_pledge_is_confirmed_to_the_address_it_carries(notifications_table: str) -> None:
    anonymous = {
        **PLEDGE,
        "donorId": None,
        "donorName": None,
        "isAnonymous": True,
        "donorEmail": "anon@example.org",
    }
    assert deliver(event("pledge.created", anonymous)) == {"batchItemFailures": []}
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["anon@example.org"]
    assert "BDT1,500.00" in email.subject


# ------------------------------------------------------------------ the inbox end to end (moto)


def test_a_completed_donation_sends_a_receipt_to_the_donor_and_a_notice_to_the_owner(
    notifications_table: str,
) -> None:
    # Given a donor with a phone who turned SMS on, and an owner with email only
    register("u-donor", "donor@example.org", "Awa", phone="+221771234567", locale="fr-SN")
    register("u-owner", "owner@example.org", "Omar")
    assert (
        call("PUT", "/api/notifications/preferences", caller=DONOR, body={"channels": {"sms": True}})[0]
        == 200
    )
    # When the pledge completes
    assert deliver(event("pledge.completed", COMPLETED)) == {"batchItemFailures": []}
    # Then the donor gets a French receipt by email and SMS, the owner a notice by email
    emails = {
        tuple(e.destinations["ToAddresses"]): e for e in sent_emails() if "welcome" not in e.subject.lower()
    }
    assert emails[("donor@example.org",)].subject == "Reçu de votre don de 1\u202f500,00\xa0BDT"
    assert "Awa Diop" in emails[("owner@example.org",)].body
    assert [phone for phone, _ in sent_sms()] == ["+221771234567"]
    log = statuses(notifications_table)
    assert ("receipt", "email", "sent") in log
    assert ("receipt", "sms", "sent") in log
    assert ("receipt", "whatsapp", "suppressed") in log
    assert ("new_donation", "email", "sent") in log
    # And the owner's log shows the notice, the donor cannot read the owner's log
    status, body = call("GET", "/api/notifications", caller=OWNER)
    assert status == 200
    assert [(n["template"], n["channel"], n["status"], n["attempts"]) for n in body["data"]] == [
        ("new_donation", "email", "sent", 1),
        ("welcome", "email", "sent", 1),
    ]
    assert body["pagination"]["hasMore"] is False
    assert call("GET", "/api/notifications/user/u-owner", caller=DONOR)[0] == 404
    assert call("GET", "/api/notifications/user/u-owner", caller=ADMIN)[0] == 200


def test_the_same_event_delivered_twice_sends_each_message_once(notifications_table: str) -> None:
    register("u-donor", "donor@example.org", "Awa")
    once = event("pledge.created", PLEDGE)
    welcome_count = len(sent_emails())
    assert deliver(once) == {"batchItemFailures": []}
    assert deliver(once, receive_count=2) == {"batchItemFailures": []}
    assert len(sent_emails()) == welcome_count + 1
    assert statuses(notifications_table).count(("pledge_created", "email", "sent")) == 1


def test_an_opted_out_category_is_suppressed_but_a_receipt_still_goes(notifications_table: str) -> None:
    register("u-donor", "donor@example.org", "Awa")
    body = {"categories": {"donations": False}}
    assert call("PUT", "/api/notifications/preferences", caller=DONOR, body=body)[0] == 200
    assert deliver(event("pledge.created", PLEDGE), event("pledge.completed", COMPLETED)) == {
        "batchItemFailures": []
    }
    log = statuses(notifications_table)
    assert ("pledge_created", "email", "suppressed") in log
    assert ("receipt", "email", "sent") in log


def test_transactional_messages_cannot_be_turned_off_and_unknown_switches_are_refused(
    notifications_table: str,
) -> None:
    status, body = call(
        "PUT", "/api/notifications/preferences", caller=DONOR, body={"categories": {"transactional": False}}
    )
    assert (status, body["error"]["code"]) == (422, "TRANSACTIONAL_REQUIRED")
    status, body = call(
        "PUT", "/api/notifications/preferences", caller=DONOR, body={"channels": {"pigeon": True}}
    )
    assert (status, body["error"]["code"]) == (422, "UNKNOWN_PREFERENCE")
    assert call("GET", "/api/notifications/preferences")[0] == 401
    status, body = call("GET", "/api/notifications/preferences", caller=DONOR)
    assert body["data"]["categories"]["transactional"] is True
    assert body["data"]["channels"]["email"] is True


def test_the_unsubscribe_link_in_a_campaign_email_works_without_login(notifications_table: str) -> None:
    from notifications import tokens
    from notifications.domain.catalog import Category

    register("u-owner", "owner@example.org", "Omar")
    goal = {
        "campaignId": "c-1",
        "ownerId": "u-owner",
        "title": "Roof",
        "goalAmount": 100,
        "raisedAmount": 120,
        "currency": "USD",
        "donorCount": 3,
    }
    deliver(event("campaign.goal_reached", goal, source="harambee.campaigns"))
    email = next(e for e in sent_emails() if "goal" in e.subject)
    link = email.body.split('href="')[-1].split('"')[0].replace("&amp;", "&")
    token = link.split("token=")[1]
    # When the owner follows it (no Authorization header), campaigns are off for them
    status, body = call("GET", "/api/notifications/unsubscribe", query={"token": token})
    assert (status, body["data"]["unsubscribed"]) == (200, "campaigns")
    assert call("POST", "/api/notifications/unsubscribe", query={"token": token})[0] == 200
    assert (
        call("GET", "/api/notifications/preferences", caller=OWNER)[1]["data"]["categories"]["campaigns"]
        is False
    )
    # A forged or expired token is refused
    forged = tokens.issue("u-owner", Category.MARKETING)[:-4] + "AAAA"
    assert call("GET", "/api/notifications/unsubscribe", query={"token": forged})[1]["error"]["code"] == (
        "INVALID_UNSUBSCRIBE_TOKEN"
    )
    old = tokens.issue("u-owner", Category.MARKETING, now=datetime.now(UTC) - timedelta(days=90))
    status, body = call("GET", "/api/notifications/unsubscribe", query={"token": old})
    assert (status, body["error"]["message"]) == (400, "This unsubscribe link has expired")


def test_a_failing_send_is_retried_then_failed_on_the_last_attempt(
    notifications_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifications import channels

    register("u-donor", "donor@example.org", "Awa")

    def ses_down(*args: Any, **kwargs: Any) -> str:
        raise channels.SendFailure("email failed: Throttling")

    monkeypatch.setattr(channels, "send_email", ses_down)
    pledged = event("pledge.created", PLEDGE)
    # Attempts 1-4 leave the message for retry and the delivery queued
    for attempt in range(1, 5):
        assert deliver(pledged, receive_count=attempt) == {
            "batchItemFailures": [{"itemIdentifier": pledged.event_id}]
        }
    assert [s for s in statuses(notifications_table) if s[0] == "pledge_created"] == [
        ("pledge_created", "email", "queued")
    ]
    # The fifth (maxReceiveCount) marks it failed, emits notification.failed; the message goes to the DLQ
    assert deliver(pledged, receive_count=5) == {"batchItemFailures": [{"itemIdentifier": pledged.event_id}]}
    [item] = [d for d in deliveries(notifications_table) if d["template"]["S"] == "pledge_created"]
    assert (item["status"]["S"], item["attempts"]["N"]) == ("failed", "5")
    [failed] = harness.outbox_events(notifications_table, "notification.failed")
    assert (failed["data"]["attempts"], failed["data"]["template"]) == (5, "pledge_created")


def test_a_verification_email_carries_the_unsealed_link(notifications_table: str) -> None:
    from harambee.sealed import seal

    link = "https://app.harambee.test/verify/abc123"
    data = {
        "userId": "u-1",
        "email": "new@example.org",
        "name": "New",
        "verificationUrl": seal(link, purpose="email_verification"),
        "expiresAt": "2026-11-23T09:00:00+00:00",
    }
    assert deliver(event("account.verification_requested", data, source="harambee.identity")) == {
        "batchItemFailures": []
    }
    email = next(
        e
        for e in sent_emails()
        if e.destinations["ToAddresses"] == ["new@example.org"] and "Confirm" in e.subject
    )
    assert link in email.body


def test_the_internal_send_email_task_sends_once_per_request_id(notifications_table: str) -> None:
    from tests.unit.notifications.conftest import invoke

    task = {
        "task": "notifications.send-email",
        "requestId": "req-12345678",
        "to": "ops@example.org",
        "subject": "Hello",
        "text": "Plain",
    }
    assert invoke(task)["status"] == "sent"
    assert invoke(task)["status"] == "sent"
    assert len([e for e in sent_emails() if e.subject == "Hello"]) == 1


# ------------------------------------------------------------------ WhatsApp against its fake


def _whatsapp_env(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    from notifications import settings

    monkeypatch.setenv("WHATSAPP_API_URL", base_url)
    monkeypatch.setenv("WHATSAPP_TIMEOUT_SECONDS", "0.3")
    settings.notifications_settings.cache_clear()


def test_whatsapp_sends_and_classifies_failures(
    notifications_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifications import whatsapp
    from notifications.channels import PermanentSendFailure, SendFailure

    with running_whatsapp() as fake:
        _whatsapp_env(monkeypatch, fake.base_url)
        assert whatsapp.send_text("+221771234567", "Merci !").startswith("wamid.")
        assert fake.sent[-1]["to"] == "221771234567"
        fake.fail_next.append(503)
        with pytest.raises(SendFailure) as retryable:
            whatsapp.send_text("+221771234567", "again")
        assert not isinstance(retryable.value, PermanentSendFailure)
        fake.token = "rotated"
        with pytest.raises(PermanentSendFailure, match="401"):
            whatsapp.send_text("+221771234567", "bad token")
        fake.token = ACCESS_TOKEN
        fake.delay = 1.0
        with pytest.raises(SendFailure, match="timed out"):
            whatsapp.send_text("+221771234567", "slow")


def test_a_whatsapp_outage_retries_the_event_and_a_later_attempt_sends_it(
    notifications_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    register("u-donor", "donor@example.org", "Awa", phone="+221771234567", locale="fr")
    call("PUT", "/api/notifications/preferences", caller=DONOR, body={"channels": {"whatsapp": True}})
    with running_whatsapp() as fake:
        _whatsapp_env(monkeypatch, fake.base_url)
        fake.fail_next.append(500)
        pledged = event("pledge.created", PLEDGE)
        assert deliver(pledged)["batchItemFailures"] == [{"itemIdentifier": pledged.event_id}]
        assert deliver(pledged, receive_count=2) == {"batchItemFailures": []}
        [message] = fake.sent
        assert "1\u202f500,00\xa0BDT" in message["body"]
    log = statuses(notifications_table)
    assert ("pledge_created", "whatsapp", "sent") in log
    assert ("pledge_created", "email", "sent") in log
    assert len([e for e in sent_emails() if "promesse" in e.subject]) == 1


def test_a_late_profile_preferences_event_does_not_undo_a_newer_channel_choice(
    notifications_table: str,
) -> None:
    # Given the user turned SMS on here after an older profile change was made
    older = event(
        "profile.preferences_changed",
        {"userId": "u-donor", "preferences": {"notifications": {"email": True, "sms": False}}},
        source="harambee.profiles",
    )
    assert (
        call("PUT", "/api/notifications/preferences", caller=DONOR, body={"channels": {"sms": True}})[0]
        == 200
    )
    # When the older profile event arrives late
    assert deliver(older) == {"batchItemFailures": []}
    # Then SMS stays on; a newer profile event does apply
    assert call("GET", "/api/notifications/preferences", caller=DONOR)[1]["data"]["channels"]["sms"] is True
    newer = older.model_copy(update={"timestamp": datetime.now(UTC) + timedelta(seconds=5)})
    assert deliver(newer) == {"batchItemFailures": []}
    assert call("GET", "/api/notifications/preferences", caller=DONOR)[1]["data"]["channels"]["sms"] is False


def test_a_registered_device_gets_the_owner_notice_by_push(
    notifications_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    from harambee import aws
    from notifications import settings

    # Without a platform application the stage has no push: a clear 422
    body = {"platform": "android", "token": "fcm-token-0123456789"}
    status, answer = call("PUT", "/api/notifications/devices", caller=OWNER, body=body)
    assert (status, answer["error"]["code"]) == (422, "PUSH_UNAVAILABLE")
    # Given an FCM application, an owner who registered a device and turned push on
    application = aws.client("sns").create_platform_application(
        Name="harambee-fcm", Platform="GCM", Attributes={"PlatformCredential": "fcm-server-key"}
    )["PlatformApplicationArn"]
    monkeypatch.setenv("PUSH_ANDROID_APPLICATION_ARN", application)
    settings.notifications_settings.cache_clear()
    register("u-owner", "owner@example.org", "Omar")
    assert call("PUT", "/api/notifications/devices", caller=OWNER, body=body)[0] == 200
    assert (
        call("PUT", "/api/notifications/preferences", caller=OWNER, body={"channels": {"push": True}})[0]
        == 200
    )
    # When a donation completes
    assert deliver(event("pledge.completed", COMPLETED)) == {"batchItemFailures": []}
    # Then the device's endpoint received the notice
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    [endpoint] = backend.platform_endpoints.values()
    [pushed] = [json.loads(message) for message in endpoint.messages.values()]
    assert pushed["default"] == "Awa Diop gave BDT1,500.00."
    assert json.loads(pushed["GCM"])["notification"]["title"] == "New donation"
    assert ("new_donation", "push", "sent") in statuses(notifications_table)


def test_a_partial_refund_sends_a_refund_receipt_even_with_donations_off(notifications_table: str) -> None:
    register("u-donor", "donor@example.org", "Awa")
    assert (
        call(
            "PUT", "/api/notifications/preferences", caller=DONOR, body={"categories": {"donations": False}}
        )[0]
        == 200
    )
    refunded = {
        **COMPLETED,
        "refundAmount": 50_000,
        "refundedAmount": 50_000,
        "fullyRefunded": False,
        "reason": "requested_by_donor",
        "refundedAt": "2026-11-23T10:00:00+00:00",
    }
    assert deliver(event("pledge.refunded", refunded)) == {"batchItemFailures": []}
    [email] = [e for e in sent_emails() if "Refund" in e.subject]
    assert email.subject == "Refund of BDT500.00 for your donation"
    assert "Refunded so far: BDT500.00." in email.body
    assert "unsubscribe" not in email.body.lower()  # transactional: no opt-out link


def test_a_failed_message_is_kept_out_of_sight_longer_after_each_attempt(
    notifications_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harambee import aws
    from notifications import channels, settings
    from notifications.domain.delivery import backoff_seconds

    # Given the inbox queue holding one pledge.created, and SES failing
    monkeypatch.setenv("RETRY_BASE_SECONDS", "30")
    settings.notifications_settings.cache_clear()
    register("u-donor", "donor@example.org", "Awa")

    def ses_down(*args: Any, **kwargs: Any) -> str:
        raise channels.SendFailure("email failed: ServiceUnavailable")

    monkeypatch.setattr(channels, "send_email", ses_down)
    sqs = aws.client("sqs")
    url = sqs.create_queue(
        QueueName="harambee-test-NotificationsQueue", Attributes={"VisibilityTimeout": "0"}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pledged = event("pledge.created", PLEDGE)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(harness.bus_event(pledged)))
    # When the function fails it
    batch = harness.sqs_event(harness.receive(url), queue_arn=arn)
    from tests.unit.notifications.conftest import invoke

    assert invoke(batch) == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    # Then the message stays invisible (the queue alone would show it again at once)
    assert harness.receive(url) == []
    assert [backoff_seconds(n, 30) for n in (1, 2, 3, 4, 5, 9)] == [30, 60, 120, 240, 480, 900]
