"""Admin through the local stack as a client: an identity admin action lands in the audit log with
before and after; the dashboard and system notifications answer admins only."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, eventually, http

PASSWORD = "a long and uncommon passphrase"
ADMIN_ROUTES = [
    ("GET", "/api/admin/dashboard/stats"),
    ("GET", "/api/admin/audit-logs"),
    ("GET", "/api/admin/notifications"),
    ("PATCH", "/api/admin/notifications/n-1/read"),
]


def call(stack, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http(
        method, f"{stack.url}{path}", headers, json.dumps(body).encode() if body is not None else None
    )


def sign_in(stack, email: str, password: str) -> str:
    status, body = call(stack, "POST", "/api/auth/login", body={"email": email, "password": password})
    assert status == 200, body
    return str(body["data"]["tokens"]["accessToken"])


def register(stack, email: str) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD, "name": "Kofi"}
    status, registered = call(stack, "POST", "/api/auth/register", body=body)
    assert status == 201, registered
    return dict(registered["data"])


def test_an_admin_suspension_appears_in_the_audit_log_with_before_and_after(stack) -> None:
    admin = sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    user_id = register(stack, "audited@example.org")["user"]["userId"]
    # When the admin suspends the account
    status, changed = call(
        stack, "PATCH", f"/api/admin/users/{user_id}/status", admin, {"status": "suspended"}
    )
    assert status == 200, changed

    # Then the change travels identity's outbox, the bus and AdminAuditRule into the audit log
    def audited() -> list[dict[str, Any]] | None:
        path = f"/api/admin/audit-logs?entityType=account&entityId={user_id}"
        code, listed = call(stack, "GET", path, admin)
        assert code == 200, listed
        return listed["data"] or None

    (record,) = eventually(audited)
    assert record["action"] == "account.status_changed"
    assert record["before"]["status"] == "active"
    assert record["after"]["status"] == "suspended"
    assert record["sourceContext"] == "identity"
    assert record["ip"]
    assert record["requestId"]
    # and the actor's own view of the log lists it too
    actor = record["actorId"]
    status, by_actor = call(stack, "GET", f"/api/admin/audit-logs?actorId={actor}&limit=100", admin)
    assert status == 200
    assert record["eventId"] in [entry["eventId"] for entry in by_actor["data"]]


def test_admin_routes_refuse_users_and_anonymous_callers(stack) -> None:
    user = register(stack, "not-an-admin@example.org")["tokens"]["accessToken"]
    for method, path in ADMIN_ROUTES:
        status, answer = call(stack, method, path, user)
        assert (status, answer["error"]["code"]) == (403, "FORBIDDEN"), (method, path)
        assert call(stack, method, path)[0] == 401, (method, path)


def test_the_dashboard_reads_every_dead_letter_queue_and_the_watch_reports_growth(stack) -> None:
    admin = sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    status, stats = call(stack, "GET", "/api/admin/dashboard/stats", admin)
    assert status == 200, stats
    depths = {queue["queue"]: queue["depth"] for queue in stats["data"]["deadLetterQueues"]}
    dead_letters = stack.physical_name("AdminDeadLetterQueue")
    admin_dlq = dead_letters.rsplit("/", 1)[-1]
    assert admin_dlq in depths
    assert all(isinstance(depth, int) for depth in depths.values()), depths

    # Given the watch has looked once, When a message is dead-lettered, Then the next look raises a notice
    assert stack.invoke("AdminFunction", {"schedule": "watch-dead-letters"}).error is False
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=dead_letters, MessageBody='{"poison": true}')
    try:
        watched = stack.invoke("AdminFunction", {"schedule": "watch-dead-letters"})
        assert watched.error is False, watched.payload
        assert len(watched.payload["raised"]) >= 1
        status, notices = call(stack, "GET", "/api/admin/notifications?unread=true&severity=high", admin)
        assert status == 200
        grown = [n for n in notices["data"] if n["metadata"].get("queue") == admin_dlq]
        assert grown
        # Marking it read is idempotent and takes it out of the unread list
        path = f"/api/admin/notifications/{grown[0]['notificationId']}/read"
        first, again = call(stack, "PATCH", path, admin), call(stack, "PATCH", path, admin)
        assert first[0] == again[0] == 200
        assert first[1]["data"]["readAt"] == again[1]["data"]["readAt"]
        _, unread = call(stack, "GET", "/api/admin/notifications?unread=true", admin)
        assert grown[0]["notificationId"] not in [n["notificationId"] for n in unread["data"]]
    finally:
        for message in sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=message["ReceiptHandle"])
