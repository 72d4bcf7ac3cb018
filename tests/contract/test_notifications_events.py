"""The canonical notifications events (events/notifications/) drive its function as Lambda would."""

from __future__ import annotations

import json
from typing import Any

from tests.support.events import load_event
from tests.unit.notifications.conftest import (  # noqa: F401 - the fixture is used by name
    deliveries,
    invoke,
    notifications_table,
    sent_emails,
)


def _answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = invoke(request)
    return response["statusCode"], json.loads(response["body"])


def test_a_completed_anonymous_pledge_sends_a_french_receipt_and_notifies_the_known_owner(
    notifications_table: str,  # noqa: F811
) -> None:
    # Given the owner registered (identity's event), when the pledge completes, delivered twice
    assert invoke(load_event("notifications/sqs_account_registered")) == {"batchItemFailures": []}
    completed = load_event("notifications/sqs_pledge_completed")
    assert invoke(completed) == {"batchItemFailures": []}
    assert invoke(completed) == {"batchItemFailures": []}
    # Then the donor's address got one receipt in French, the owner one notice, plus the welcome
    subjects = sorted((tuple(e.destinations["ToAddresses"]), e.subject) for e in sent_emails())
    assert subjects == [
        (("anon@example.org",), "Reçu de votre don de 5\u202f000\xa0F\u202fCFA"),
        (("owner@example.org",), "New donation of F\u202fCFA5,000 to Toit de la clinique"),
        (("owner@example.org",), "Welcome to Harambee, Omar Sy"),
    ]
    assert {item["status"]["S"] for item in deliveries(notifications_table)} == {"sent"}
    # And the owner reads their log through the API sample
    status, body = _answer(load_event("notifications/api_list_mine"))
    assert status == 200
    assert [entry["template"] for entry in body["data"]] == ["new_donation", "welcome"]


def test_a_malformed_event_is_reported_as_a_batch_item_failure(notifications_table: str) -> None:  # noqa: F811
    delivery = load_event("notifications/sqs_pledge_created_malformed")
    failed = delivery["Records"][0]["messageId"]
    assert invoke(delivery) == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert deliveries(notifications_table) == []


def test_the_preferences_samples_save_switches_and_refuse_turning_transactional_off(
    notifications_table: str,  # noqa: F811
) -> None:
    status, body = _answer(load_event("notifications/api_preferences_put"))
    assert status == 200
    assert body["data"] == {
        "channels": {"email": True, "sms": True, "whatsapp": False, "push": False},
        "categories": {"transactional": True, "donations": True, "campaigns": True, "marketing": False},
    }
    status, body = _answer(load_event("notifications/api_preferences_put_transactional_off"))
    assert (status, body["error"]["code"]) == (422, "TRANSACTIONAL_REQUIRED")


def test_a_forged_unsubscribe_token_is_refused(notifications_table: str) -> None:  # noqa: F811
    status, body = _answer(load_event("notifications/api_unsubscribe_forged"))
    assert (status, body["error"]["code"]) == (400, "INVALID_UNSUBSCRIBE_TOKEN")


def test_the_internal_send_email_task_sends_once(notifications_table: str) -> None:  # noqa: F811
    task = load_event("notifications/task_send_email")
    first, again = invoke(task), invoke(task)
    assert first["status"] == again["status"] == "sent"
    assert first["notificationId"] == again["notificationId"]
    assert [e.subject for e in sent_emails()] == ["Daily report"]


def _as_birthday_pot(sample: dict[str, Any], owner_id: str, **data: Any) -> dict[str, Any]:
    """Campaigns' canonical campaign.created delivery, as the birthday schedule writes it for `owner_id`."""
    record = sample["Records"][0]
    body = json.loads(record["body"])
    body["detail"]["data"] |= {"ownerId": owner_id, **data}
    record["body"] = json.dumps(body)
    return sample


def test_a_scheduled_birthday_pot_without_a_goal_is_announced_not_dead_lettered(
    notifications_table: str,  # noqa: F811
) -> None:
    # Given the owner is known, and campaigns' campaign.created sample as an auto-created pot: no goal
    assert invoke(load_event("notifications/sqs_account_registered")) == {"batchItemFailures": []}
    pot = _as_birthday_pot(
        load_event("query/sqs_campaign_created"),
        "u-sample-owner",
        type="birthday",
        title="Omar turns 40",
        goalAmount=None,
        currency="XOF",
        visibility="unlisted",
        autoCreated=True,
    )
    # When it is delivered, Then the batch item succeeds (no retry, no DLQ) and the owner is told
    assert invoke(pot) == {"batchItemFailures": []}
    (email,) = [e for e in sent_emails() if e.subject == "Your birthday pot is open"]
    opened = "We opened a birthday pot for you: <strong>Omar turns 40</strong>, until December 31, 2026."
    assert opened in email.body
    assert "goal of" not in email.body
