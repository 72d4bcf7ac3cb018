"""What the template promises the code: the queue's last attempt, and a route for every consumed event."""

from __future__ import annotations

from devstack.template import Template
from tests.unit.notifications.conftest import DONOR, call, deliver, event, register

TEMPLATE = Template()


def test_the_last_attempt_the_function_knows_is_the_queues_max_receive_count() -> None:
    function = TEMPLATE.functions["NotificationsFunction"]
    queue = TEMPLATE.resources["NotificationsQueue"]["Properties"]
    assert int(function.environment["INBOX_MAX_RECEIVE_COUNT"]) == queue["RedrivePolicy"]["maxReceiveCount"]
    assert queue["VisibilityTimeout"] > 120  # longer than a delivery's lease (repository.LEASE_SECONDS)


def test_the_subscription_rule_selects_exactly_the_events_the_inbox_handles() -> None:
    from notifications.inbox import consumer

    pattern = TEMPLATE.resources["NotificationsSubscriptionRule"]["Properties"]["EventPattern"]
    assert set(pattern["detail-type"]) == set(consumer._handlers)


def test_the_delivery_log_pages_with_a_cursor(notifications_table: str) -> None:
    register("u-donor", "donor@example.org", "Awa")
    for number in range(3):
        pledge = {
            "pledgeId": f"pl-{number}",
            "campaignId": "c-1",
            "donorId": "u-donor",
            "amount": 100,
            "currency": "USD",
        }
        assert deliver(event("pledge.created", pledge)) == {"batchItemFailures": []}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"next": cursor} if cursor else {})}
        status, body = call("GET", "/api/notifications", caller=DONOR, query=query)
        assert status == 200
        seen += [entry["notificationId"] for entry in body["data"]]
        cursor = body["pagination"]["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4  # three confirmations and the welcome
    status, body = call("GET", "/api/notifications", caller=DONOR, query={"next": "bm90LWEtY3Vyc29y"})
    assert (status, body["error"]["code"]) == (400, "INVALID_CURSOR")
