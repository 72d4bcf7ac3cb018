"""Opaque cursor pagination (`limit`, `next`); never offsets, which DynamoDB can only do by scanning.

The cursor is the urlsafe base64 of `{"v": 1, "k": <LastEvaluatedKey>}`. It is opaque, not secret:
DynamoDB refuses a start key outside the queried partition, and `bound_to` lets a route refuse a
cursor minted for another partition before DynamoDB sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from harambee import aws
from harambee.errors import BadRequest

CURSOR_VERSION = 1
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_ATTRIBUTE_TYPES = frozenset({"S", "N", "B"})

Key = dict[str, dict[str, Any]]


class InvalidCursor(BadRequest):
    code = "INVALID_CURSOR"


def encode_cursor(last_evaluated_key: Mapping[str, Mapping[str, Any]]) -> str:
    payload = json.dumps(
        {"v": CURSOR_VERSION, "k": last_evaluated_key}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> Key:
    """The LastEvaluatedKey inside a cursor; anything we did not mint raises InvalidCursor (400)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("The `next` cursor is not valid") from error
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION or not _is_key(payload.get("k")):
        raise InvalidCursor("The `next` cursor is not valid")
    key: Key = payload["k"]
    return key


def _is_key(candidate: Any) -> bool:
    if not isinstance(candidate, dict) or not 1 <= len(candidate) <= 4:
        return False
    for name, value in candidate.items():
        if not isinstance(name, str) or not isinstance(value, dict) or len(value) != 1:
            return False
        ((kind, scalar),) = value.items()
        if kind not in _ATTRIBUTE_TYPES or not isinstance(scalar, str):
            return False
    return True


class PageRequest(BaseModel):
    """The `limit` and `next` query parameters of a list route."""

    model_config = ConfigDict(frozen=True)

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next: str | None = None

    @property
    def start_key(self) -> Key | None:
        return decode_cursor(self.next) if self.next else None

    def start_key_bound_to(self, **partition: str) -> Key | None:
        """The start key, refused unless its string key attributes equal `partition` (e.g. pk=...)."""
        key = self.start_key
        if key is not None and any(key.get(name) != {"S": value} for name, value in partition.items()):
            raise InvalidCursor("The `next` cursor belongs to another list")
        return key

    def query_options(self, *, bound_to: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Keyword arguments for a pynamodb `query`: one item more than the page, to know if more exist."""
        start = self.start_key_bound_to(**bound_to) if bound_to else self.start_key
        return {"limit": self.limit + 1, "page_size": self.limit + 1, "last_evaluated_key": start}


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100)")] = DEFAULT_LIMIT,
    next: Annotated[str | None, Query(description="Opaque cursor from the previous page")] = None,
) -> PageRequest:
    """FastAPI dependency; a malformed cursor is a 400 INVALID_CURSOR before the route runs."""
    page = PageRequest(limit=limit, next=next or None)
    _ = page.start_key
    return page


Pagination = Annotated[PageRequest, Depends(page_request)]


class Page[Item](BaseModel):
    """One page of a list: the items and the cursor of the next page (None on the last)."""

    items: list[Item]
    next: str | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def has_more(self) -> bool:
        return self.next is not None

    def pagination(self) -> dict[str, Any]:
        """The envelope's `pagination` member."""
        return {"limit": self.limit, "next": self.next, "hasMore": self.has_more}


def paginate[Row, Item](
    results: Iterator[Row], page: PageRequest, convert: Callable[[Row], Item]
) -> Page[Item]:
    """A page from a pynamodb query run with `page.query_options()`; the cursor is the last item kept."""
    items: list[Item] = []
    last_key: Key | None = None
    try:
        for row in results:
            if len(items) == page.limit:
                # The extra row proves there is more; resume after the last row kept, not after the extra.
                return Page[Item](
                    items=items, next=encode_cursor(last_key) if last_key else None, limit=page.limit
                )
            items.append(convert(row))
            last_key = getattr(results, "last_evaluated_key", None)
    except Exception as error:
        # DynamoDB refuses a start key outside the queried partition: that is the client's cursor.
        if page.next and getattr(error, "cause_response_code", None) == "ValidationException":
            raise InvalidCursor("The `next` cursor does not belong to this list") from error
        raise
    return Page[Item](items=items, next=None, limit=page.limit)


def query_page(
    request: dict[str, Any], page: PageRequest, key_names: Sequence[str], *, partition: Mapping[str, str]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a boto3 Query (`request`, which gets Limit and ExclusiveStartKey set here).

    Reads until one item more than the page (proof that more exist) or the end of the partition.
    The start key is the cursor's, refused unless it is of `partition` (e.g. {"gsi1pk": ...}); the
    next cursor is the `key_names` attributes (the table's and the index's keys) of the last item kept.
    """
    request["Limit"] = page.limit + 1
    start = page.start_key_bound_to(**partition)
    if start is not None:
        request["ExclusiveStartKey"] = start
    items: list[dict[str, Any]] = []
    while len(items) <= page.limit:
        response = aws.dynamodb().query(**request)
        items.extend(response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        request["ExclusiveStartKey"] = last
    kept = items[: page.limit]
    cursor = None
    if len(items) > page.limit:
        cursor = encode_cursor({name: kept[-1][name] for name in key_names})
    return kept, cursor
