"""API Gateway REQUEST authorizer: a valid Bearer access token allows the caller into the whole API.

API Gateway caches the policy for 300 s per Authorization header, and reuses it for every route,
so the Allow covers `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/*`, never one method.
Every invalid token raises Exception("Unauthorized"): that exact message is API Gateway's 401.
Imports stay lean (no FastAPI, no pynamodb): this runs before every protected request.
"""

from __future__ import annotations

import functools
from typing import Any

from harambee.jwt import AccessClaims, AccessTokenVerifier, InvalidToken
from harambee.observability import instrument, logger

BEARER = "bearer "


@functools.cache
def verifier() -> AccessTokenVerifier:
    return AccessTokenVerifier.from_environ()


def api_wide_resource(method_arn: str) -> str:
    """`arn:...:<apiId>/<stage>/GET/api/auth/me` becomes `arn:...:<apiId>/<stage>/*`."""
    prefix, _, path = method_arn.partition(":execute-api:")
    region, account, resource = [*path.split(":", 2), "", "", ""][:3]
    api_id, stage = [*resource.split("/"), "", ""][:2]
    if prefix != "arn:aws" or not all((region, account, api_id, stage)):
        raise ValueError(f"Unexpected methodArn {method_arn!r}")
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/*"


def bearer_token(event: dict[str, Any]) -> str | None:
    headers = event.get("headers") or {}
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if not isinstance(value, str) or value[: len(BEARER)].lower() != BEARER:
        return None
    token = value[len(BEARER) :].strip()
    return token or None


def allow_policy(claims: AccessClaims, resource: str) -> dict[str, Any]:
    return {
        "principalId": claims.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
        },
        # Authorizer context values must be strings, numbers or booleans: never null.
        "context": {"userId": claims.sub, "email": claims.email or "", "role": claims.role},
    }


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    token = bearer_token(event)
    if token is None:
        logger.info("No bearer token")
        raise Exception("Unauthorized")
    try:
        claims = verifier().verify(token)
        resource = api_wide_resource(str(event.get("methodArn", "")))
    except (InvalidToken, ValueError) as error:
        logger.info("Access token rejected", extra={"reason": str(error)})
        raise Exception("Unauthorized") from None
    return allow_policy(claims, resource)


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event)
