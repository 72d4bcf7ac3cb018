"""Opaque cursor pagination: limit and next, round trips, and tampered cursors refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from harambee.http import create_app, ok
from harambee.pagination import (
    InvalidCursor,
    Page,
    PageRequest,
    Pagination,
    decode_cursor,
    encode_cursor,
    paginate,
)
from harambee.runtime import LambdaEntry
from harambee.settings import TableMeta
from tests.support.events import FakeLambdaContext, api_event


class Expense(Model):
    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    label = UnicodeAttribute()


@pytest.fixture
def handler(table: str) -> LambdaEntry:
    with Expense.batch_write() as batch:
        for number in range(45):
            batch.save(Expense(pk="USER#amina", sk=f"EXPENSE#{number:03d}", label=f"expense {number}"))
        batch.save(Expense(pk="USER#baraka", sk="EXPENSE#000", label="not Amina's"))

    app = create_app("probe")

    @app.get("/api/expenses")
    def expenses(request: Request, page: Pagination) -> JSONResponse:
        results = Expense.query("USER#amina", **page.query_options(bound_to={"pk": "USER#amina"}))
        listed: Page[str] = paginate(results, page, lambda expense: expense.label)
        return ok(request, listed.items, pagination=listed.pagination())

    return LambdaEntry(app)


def _list(handler: LambdaEntry, **query: str) -> tuple[int, dict[str, Any]]:
    response = handler(api_event("GET", "/api/expenses", query=query or None), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_given_45_items_when_paged_by_20_then_every_item_comes_once_and_the_last_page_says_so(
    handler: LambdaEntry,
) -> None:
    labels: list[str] = []
    pages: list[dict[str, Any]] = []
    query: dict[str, str] = {"limit": "20"}
    while True:
        status, body = _list(handler, **query)
        assert status == 200
        labels.extend(body["data"])
        pages.append(body["pagination"])
        if not body["pagination"]["hasMore"]:
            break
        query = {"limit": "20", "next": body["pagination"]["next"]}

    assert labels == [f"expense {number}" for number in range(45)]
    assert [page["hasMore"] for page in pages] == [True, True, False]
    assert pages[-1] == {"limit": 20, "next": None, "hasMore": False}


def test_a_list_that_fits_exactly_has_no_next_page(handler: LambdaEntry) -> None:
    _, body = _list(handler, limit="45")
    assert len(body["data"]) == 45
    assert body["pagination"]["hasMore"] is False


def test_the_default_page_is_20(handler: LambdaEntry) -> None:
    _, body = _list(handler)
    assert len(body["data"]) == 20
    assert body["pagination"]["limit"] == 20


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limits_outside_1_to_100_are_refused(handler: LambdaEntry, limit: str) -> None:
    status, body = _list(handler, limit=limit)
    assert status == 422
    assert body["error"]["code"] == "VALIDATION_FAILED"


def _b64(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        _b64("just a string"),
        _b64({"v": 2, "k": {"pk": {"S": "USER#amina"}}}),
        _b64({"v": 1, "k": {"pk": "USER#amina"}}),
        _b64({"v": 1, "k": {"pk": {"S": "USER#baraka"}, "sk": {"S": "EXPENSE#000"}}}),
    ],
    ids=["garbage", "not-an-object", "unknown-version", "not-attribute-values", "another-users-list"],
)
def test_a_tampered_cursor_is_a_400_invalid_cursor(handler: LambdaEntry, cursor: str) -> None:
    status, body = _list(handler, next=cursor)
    assert status == 400
    assert body["error"]["code"] == "INVALID_CURSOR"


def test_cursor_round_trip_keeps_the_key_and_stays_url_safe() -> None:
    key = {"pk": {"S": "USER#amina/ü?&="}, "sk": {"S": "EXPENSE#007"}, "amount": {"N": "12"}}
    cursor = encode_cursor(key)
    assert decode_cursor(cursor) == key
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert PageRequest(next=cursor).start_key == key
    with pytest.raises(InvalidCursor):
        PageRequest(next=cursor[:-3]).start_key_bound_to(pk="USER#amina")
