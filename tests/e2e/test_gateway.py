"""The gateway answers like API Gateway: routes to handlers, gateway responses, the authorizer first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.template import Template
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e

HEALTH_PATHS = sorted(route.path for route in Template().routes if route.path.endswith("/health"))


def test_given_every_context_when_its_health_route_is_called_then_it_answers_200_in_the_envelope(stack):
    assert len(HEALTH_PATHS) == 18

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = dict(
            zip(
                HEALTH_PATHS, pool.map(lambda path: http("GET", stack.url + path), HEALTH_PATHS), strict=False
            )
        )

    for path, (status, body) in answers.items():
        assert status == 200, (path, body)
        assert body["success"] is True
        assert body["data"]["status"] == "ok"
        assert set(body["meta"]) >= {"timestamp", "requestId"}


def test_given_no_such_route_when_called_then_404_in_the_envelope(stack):
    status, body = http("GET", f"{stack.url}/api/nowhere/at-all")

    assert status == 404
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["requestId"]


def test_given_no_token_when_me_is_called_then_401_without_calling_the_authorizer(stack):
    status, body = http("GET", f"{stack.url}/api/auth/me")

    assert status == 401
    assert body["error"]["code"] == "UNAUTHORIZED"


def test_given_a_garbage_token_when_me_is_called_then_401(stack):
    status, body = http("GET", f"{stack.url}/api/auth/me", {"Authorization": "Bearer not.a.jwt"})

    assert status == 401
    assert body["success"] is False


def test_given_a_valid_token_of_an_unknown_user_when_me_is_called_then_identity_answers_404(stack):
    from identity.signing import issue_access_token

    assert stack.dev_key is not None, "the stack published no signing key"
    token = issue_access_token(
        stack.dev_key.signing_key(),
        user_id="user-42",
        email="amina@example.org",
        role="USER",
        issuer=stack.parameters["JwtIssuer"],
        audience=stack.parameters["JwtAudience"],
    )

    status, body = http("GET", f"{stack.url}/api/auth/me", {"Authorization": f"Bearer {token}"})

    # The authorizer let the token through; identity itself knows no account user-42.
    assert status == 404, body
    assert body["error"]["code"] == "NOT_FOUND"


def test_given_a_handler_route_when_the_request_is_too_large_then_413_in_the_envelope(stack):
    status, body = http("POST", f"{stack.url}/api/catalog/health", body=b"x" * (10 * 1024 * 1024 + 1))

    assert status == 413
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
