"""One Idempotency-Key sent 1,000 times at once: one payment, the rest replays or 409, never a 5xx."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from devstack.atomic_dynamodb import serialized_backend
from tests.unit.payments.conftest import initiate, items, pledge

REQUESTS = 1000
THREADS = 32


def test_a_thousand_concurrent_initiates_with_one_key_create_one_payment(payments_table: str) -> None:
    # Given an anonymous pledge and one client retrying one Idempotency-Key from many connections
    pledge("pl-rush")
    initiate("pl-warmup-missing")  # warms imports so the race starts hot (a 404: nothing stored)

    # When 1,000 identical initiates arrive concurrently (moto's in-process backend is not atomic
    # across threads, DynamoDB is: each request is served whole, as the local stack does)
    started = time.perf_counter()
    with serialized_backend(), ThreadPoolExecutor(max_workers=THREADS) as pool:
        replies = list(pool.map(lambda _: initiate("pl-rush", key="rush-key-0001"), range(REQUESTS)))
    elapsed = time.perf_counter() - started

    # Then exactly one payment exists; every reply is the first 201 (or its replay) or a 409
    created = [
        reply for reply in replies if reply.status == 201 and "idempotent-replayed" not in reply.headers
    ]
    replays = [reply for reply in replies if reply.headers.get("idempotent-replayed") == "true"]
    statuses = Counter(reply.status for reply in replies)
    payments = items(payments_table, "PAYMENT#")
    figures = {
        "created": len(created),
        "replays": len(replays),
        "conflicts": statuses[409],
        "server_errors": sum(count for status, count in statuses.items() if status >= 500),
        "payments": len([item for item in payments if item["sk"]["S"] == "PAYMENT"]),
        "seconds": round(elapsed, 2),
    }
    print(f"\nconcurrent initiate figures: {figures}")
    assert figures["server_errors"] == 0, statuses
    assert set(statuses) <= {201, 409}, statuses
    assert figures["created"] == 1
    assert figures["payments"] == 1
    assert {reply.data["paymentId"] for reply in created + replays} == {created[0].data["paymentId"]}
    assert all(reply.error["code"] == "IDEMPOTENCY_IN_FLIGHT" for reply in replies if reply.status == 409)
