"""The HTTP side every context shares: envelope, the one error mapping, caller identity."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import Request
from pydantic import BaseModel, Field

from harambee.auth import AdminCaller, CurrentCaller, MaybeCaller
from harambee.errors import InvalidTransition, NotFound, RateLimited
from harambee.http import create_app, ok
from harambee.runtime import LambdaEntry
from tests.support.events import FakeLambdaContext, api_event


class Pledge(BaseModel):
    amount: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)


app = create_app("probe")


@app.post("/api/probe/pledges")
def create_pledge(request: Request, pledge: Pledge) -> Any:
    return ok(request, pledge.model_dump(), status=201)


@app.get("/api/probe/missing")
def missing() -> Any:
    raise NotFound("Campaign not found", details={"campaignId": "c-1"})


@app.post("/api/probe/transition")
def transition() -> Any:
    raise InvalidTransition("A completed pledge cannot go back to pending")


@app.get("/api/probe/boom")
def boom() -> Any:
    raise RuntimeError("secret internals: password=hunter2")


@app.get("/api/probe/limited")
def limited() -> Any:
    raise RateLimited("Slow down", details={"retryAfter": 7})


@app.get("/api/probe/me")
def me(request: Request, caller: CurrentCaller) -> Any:
    return ok(request, caller.model_dump(mode="json"))


@app.get("/api/probe/maybe")
def maybe(request: Request, caller: MaybeCaller) -> Any:
    return ok(request, {"anonymous": caller is None})


@app.get("/api/probe/admin")
def admin_only(request: Request, caller: AdminCaller) -> Any:
    return ok(request, {"admin": caller.user_id})


handler = LambdaEntry(app)
USER = {"principalId": "u-1", "userId": "u-1", "email": "amina@example.org", "role": "USER"}
ADMIN = {"principalId": "a-1", "userId": "a-1", "email": "root@example.org", "role": "ADMIN"}


def call(method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = handler(api_event(method, path, **kwargs), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_valid_body_is_answered_in_the_success_envelope() -> None:
    status, body = call("POST", "/api/probe/pledges", body='{"amount": 500, "currency": "BDT"}')
    assert status == 201
    assert body["success"] is True
    assert body["data"] == {"amount": 500, "currency": "BDT"}
    assert body["meta"]["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert body["meta"]["timestamp"].endswith("+00:00")


@pytest.mark.parametrize("raw", ['{"amount": 5', "not json", '{"amount": 500,}'])
def test_malformed_json_is_a_400_not_a_validation_error(raw: str) -> None:
    status, body = call("POST", "/api/probe/pledges", body=raw, headers={"Content-Type": "application/json"})
    assert status == 400
    assert body["success"] is False
    assert body["error"]["code"] == "MALFORMED_JSON"


def test_a_body_that_breaks_the_schema_is_a_422_naming_the_fields() -> None:
    status, body = call("POST", "/api/probe/pledges", body='{"amount": -1, "currency": "TAKA"}')
    assert status == 422
    assert body["error"]["code"] == "VALIDATION_FAILED"
    assert {problem["field"] for problem in body["error"]["details"]} == {"body.amount", "body.currency"}


def test_domain_errors_map_to_their_status_code_and_details() -> None:
    status, body = call("GET", "/api/probe/missing")
    assert (status, body["error"]["code"], body["error"]["details"]) == (
        404,
        "NOT_FOUND",
        {"campaignId": "c-1"},
    )
    status, body = call("POST", "/api/probe/transition")
    assert (status, body["error"]["code"]) == (422, "INVALID_TRANSITION")


def test_an_unexpected_exception_is_a_500_with_the_request_id_and_no_internals() -> None:
    status, body = call("GET", "/api/probe/boom")
    assert status == 500
    assert body["error"] == {"code": "INTERNAL_ERROR", "message": "Internal server error", "details": None}
    assert body["meta"]["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert "hunter2" not in json.dumps(body)


def test_a_body_not_sent_as_json_is_415() -> None:
    status, body = call("POST", "/api/probe/pledges", body="amount=5", headers={"Content-Type": "text/plain"})
    assert (status, body["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_route_and_wrong_method_answer_in_the_envelope() -> None:
    status, body = call("GET", "/api/probe/nothing-here")
    assert (status, body["success"], body["error"]["code"]) == (404, False, "NOT_FOUND")
    status, body = call("DELETE", "/api/probe/pledges")
    assert (status, body["error"]["code"]) == (405, "METHOD_NOT_ALLOWED")


def test_the_caller_comes_from_the_authorizer_context() -> None:
    status, body = call("GET", "/api/probe/me", authorizer=USER)
    assert status == 200
    assert body["data"] == {"user_id": "u-1", "email": "amina@example.org", "role": "USER"}


def test_a_protected_route_without_an_authorizer_context_is_401() -> None:
    status, body = call("GET", "/api/probe/me")
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")


def test_optional_auth_routes_accept_anonymous_callers() -> None:
    assert call("GET", "/api/probe/maybe")[1]["data"] == {"anonymous": True}
    assert call("GET", "/api/probe/maybe", authorizer=USER)[1]["data"] == {"anonymous": False}


def test_admin_routes_refuse_a_user_token_and_accept_an_admin() -> None:
    status, body = call("GET", "/api/probe/admin", authorizer=USER)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    assert call("GET", "/api/probe/admin", authorizer=ADMIN)[0] == 200


def test_an_oversized_body_is_refused_before_it_is_parsed() -> None:
    status, body = call("POST", "/api/probe/pledges", body='{"amount": 1, "pad": "' + "x" * 300_000 + '"}')
    assert (status, body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert body["meta"]["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


def test_a_rate_limit_answer_says_when_to_retry() -> None:
    response = handler(api_event("GET", "/api/probe/limited"), FakeLambdaContext())
    assert (response["statusCode"], response["headers"]["retry-after"]) == (429, "7")
