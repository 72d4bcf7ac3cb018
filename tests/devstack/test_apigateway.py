"""The events and responses of the gateway have API Gateway's shape."""

from __future__ import annotations

import json

from devstack.apigateway import (
    GatewayResponses,
    HttpRequest,
    Stage,
    authorizer_event,
    lambda_response,
    policy_allows,
    proxy_event,
)
from devstack.template import Template

STAGE = Stage(api_id="harambeelocal", name="local", host="127.0.0.1:3000")


def _request(**overrides) -> HttpRequest:
    values = {
        "method": "GET",
        "path": "/api/campaigns/c-1",
        "headers": [("User-Agent", "curl/8"), ("Accept", "a"), ("Accept", "b")],
        "query": [("limit", "5"), ("tag", "x"), ("tag", "y")],
        "body": b"",
        "source_ip": "127.0.0.1",
        "request_id": "req-1",
    }
    values.update(overrides)
    return HttpRequest(**values)


def test_proxy_event_has_the_rest_api_v1_shape():
    event = proxy_event(
        _request(), STAGE, "/api/campaigns/{id}", {"id": "c-1"}, {"userId": "u-1", "principalId": "u-1"}
    )

    assert event["resource"] == "/api/campaigns/{id}"
    assert event["path"] == "/api/campaigns/c-1"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    assert event["queryStringParameters"] == {"limit": "5", "tag": "y"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["x", "y"]
    assert event["pathParameters"] == {"id": "c-1"}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["path"] == "/local/api/campaigns/c-1"
    assert context["resourcePath"] == "/api/campaigns/{id}"
    assert context["stage"] == "local"
    assert context["requestId"] == "req-1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "curl/8"
    assert context["authorizer"]["userId"] == "u-1"
    assert isinstance(context["requestTimeEpoch"], int)


def test_a_request_without_query_or_params_has_nulls_and_binary_bodies_are_base64():
    event = proxy_event(_request(query=[], body=b"\xff\xfe"), STAGE, "/api/x", {}, None)

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["isBase64Encoded"] is True
    assert "authorizer" not in event["requestContext"]


def test_authorizer_event_is_a_request_authorizer_event_with_the_method_arn():
    event = authorizer_event(_request(), STAGE, "/api/campaigns/{id}", {"id": "c-1"})

    assert event["type"] == "REQUEST"
    assert (
        event["methodArn"]
        == "arn:aws:execute-api:us-east-1:123456789012:harambeelocal/local/GET/api/campaigns/c-1"
    )
    assert event["headers"]["User-Agent"] == "curl/8"


def _policy(effect: str, resource: str) -> dict:
    return {
        "principalId": "u-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def test_policies_allow_only_matching_resources_and_deny_wins():
    arn = STAGE.method_arn("GET", "/api/auth/me")
    api_wide = "arn:aws:execute-api:us-east-1:123456789012:harambeelocal/local/*"

    assert policy_allows(_policy("Allow", api_wide), arn)
    assert not policy_allows(_policy("Allow", api_wide.replace("/local/", "/prod/")), arn)
    assert not policy_allows(_policy("Deny", api_wide), arn)
    both = _policy("Allow", api_wide)
    both["policyDocument"]["Statement"].append({"Action": "execute-api:*", "Effect": "Deny", "Resource": arn})
    assert not policy_allows(both, arn)


def test_gateway_responses_render_the_templates_declared_in_template_yaml():
    api = Template().resources["HarambeeApi"]["Properties"]
    responses = GatewayResponses(api["GatewayResponses"])
    request = _request(request_id="req-9")

    missing = responses.render("MISSING_AUTHENTICATION_TOKEN", request, STAGE)
    failed = responses.render("DEFAULT_5XX", request, STAGE, 502)

    assert missing.status == 404
    body = json.loads(missing.body)
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["requestId"] == "req-9"
    assert ("Content-Type", "application/json") in missing.headers
    assert failed.status == 502
    assert json.loads(failed.body)["error"]["code"] == "INTERNAL_ERROR"


def test_lambda_proxy_results_are_unpacked_and_malformed_ones_refused():
    assert lambda_response({"statusCode": 201, "headers": {"A": "1"}, "body": "ok"}) == (
        201,
        [("A", "1")],
        b"ok",
    )
    assert lambda_response({"body": "no status"}) is None
    assert lambda_response("just a string") is None


def test_given_a_login_override_when_requests_arrive_then_it_limits_only_that_method():
    from devstack.apigateway import Throttles

    throttles = Throttles.from_method_settings(
        [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": 1000,
                "ThrottlingBurstLimit": 1000,
            },
            {
                "ResourcePath": "/~1api~1auth~1login",
                "HttpMethod": "POST",
                "ThrottlingRateLimit": 1,
                "ThrottlingBurstLimit": 2,
            },
        ]
    )
    login = [throttles.take("/api/auth/login", "POST") for _ in range(3)]
    others = [throttles.take("/api/auth/me", "GET") for _ in range(50)]
    assert login == [True, True, False]
    assert all(others)
    assert throttles.take(None, "GET")  # an unknown route still counts against the stage
