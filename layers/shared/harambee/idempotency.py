"""Idempotency-Key for HTTP writes that move money or create orders, pledges, subscriptions, payments.

Same key and same body gives the first response again (status and body, with header
`Idempotent-Replayed: true`); same key and another body gives 422; a duplicate while the first is
still running gives 409. Records live 24 hours in the IdempotencyTable (Powertools Idempotency).

Keys are scoped as `<caller>#<METHOD route>#<key>` (caller = user id, or "anonymous"), and only a
hash of that is stored: two users, or two routes, never share a record. A route that raises a
domain error stores nothing, so the client may retry the same key after fixing the request.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from harambee import aws
from harambee.auth import optional_bearer
from harambee.errors import IdempotencyInFlight, IdempotencyKeyMissing, IdempotencyKeyReused
from harambee.settings import platform_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RECORD_LIFETIME_SECONDS = 24 * 3600
# A UUID fits; so does any client token of 8 to 128 URL-safe characters.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_KEPT_HEADERS = ("location",)


class StoredResponse(BaseModel):
    """What a replay gives back: the first response's status, body and Location."""

    status: int
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    replayed: bool = False

    def to_response(self) -> JSONResponse:
        headers = dict(self.headers)
        if self.replayed:
            headers[REPLAYED_HEADER] = "true"
        return JSONResponse(self.body, status_code=self.status, headers=headers)

    @classmethod
    def of(cls, response: JSONResponse) -> StoredResponse:
        kept = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
        return cls(status=response.status_code, body=json.loads(bytes(response.body)), headers=kept)


class IdempotentRequest(BaseModel):
    """One client request under an Idempotency-Key; `run` performs its operation at most once."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    key: str
    caller: str
    route: str
    body: Any = None
    lambda_context: Any = Field(default=None, exclude=True, repr=False)

    @property
    def scoped_key(self) -> str:
        return f"{self.caller}#{self.route}#{self.key}"

    def run(self, operation: Callable[[], JSONResponse]) -> JSONResponse:
        """The operation's response, or the stored first response when this key was seen with this body."""
        return run_idempotently(self, operation)


def _parsed_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        # Not JSON: the route's own validation will reject it; compare the text as sent.
        return raw.decode("utf-8", errors="replace")


async def require_idempotency_key(request: Request) -> IdempotentRequest:
    """FastAPI dependency: the request's Idempotency-Key (missing or malformed is a 400)."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise IdempotencyKeyMissing(f"The {IDEMPOTENCY_HEADER} header is required for this request")
    if not _KEY.match(key):
        raise IdempotencyKeyMissing(
            f"The {IDEMPOTENCY_HEADER} header must be 8 to 128 letters, digits, '.', '_', ':' or '-'",
            details={"header": IDEMPOTENCY_HEADER},
        )
    # A verified bearer on a public route scopes the key to that caller, not to everyone anonymous.
    caller = optional_bearer(request)
    # The concrete path, not the route template: a key reused on /orders/B must not replay /orders/A.
    route = request.url.path
    return IdempotentRequest(
        key=key,
        caller=caller.user_id if caller else "anonymous",
        route=f"{request.method} {route}",
        body=_parsed_body(await request.body()),
        lambda_context=request.scope.get("aws.context"),
    )


IdempotencyKey = Annotated[IdempotentRequest, Depends(require_idempotency_key)]


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    if isinstance(response, dict):
        return {**response, "replayed": True}
    return response


@functools.cache
def _persistence() -> DynamoDBPersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=platform_settings().idempotency_table_name, boto3_client=aws.dynamodb()
    )


@functools.cache
def _config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="scopedKey",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_LIFETIME_SECONDS,
        hash_function="sha256",
        response_hook=_mark_replayed,
    )


def run_idempotently(request: IdempotentRequest, operation: Callable[[], JSONResponse]) -> JSONResponse:
    """Run `operation` once per scoped key; map Powertools' outcomes to the API's errors."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyKeyError,
        IdempotencyValidationError,
    )

    config = _config()
    if request.lambda_context is not None:
        # Lets a record left INPROGRESS by a timed-out invocation expire with that invocation.
        config.register_lambda_context(request.lambda_context)

    def perform(*, attempt: dict[str, Any]) -> dict[str, Any]:
        return StoredResponse.of(operation()).model_dump(mode="json")

    guarded = idempotent_function(
        perform,
        data_keyword_argument="attempt",
        persistence_store=_persistence(),
        config=config,
        key_prefix=f"http#{platform_settings().service}",
    )
    try:
        outcome = guarded(attempt={"scopedKey": request.scoped_key, "body": request.body})
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReused(
            f"This {IDEMPOTENCY_HEADER} was already used with a different request body",
            details={"header": IDEMPOTENCY_HEADER},
        ) from error
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as error:
        raise IdempotencyInFlight(
            f"A request with this {IDEMPOTENCY_HEADER} is still in progress; retry shortly",
            details={"header": IDEMPOTENCY_HEADER},
        ) from error
    except IdempotencyKeyError as error:
        raise IdempotencyKeyMissing(
            f"The {IDEMPOTENCY_HEADER} header is required for this request"
        ) from error
    return StoredResponse.model_validate(outcome).to_response()
