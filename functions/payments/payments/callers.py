"""Who is paying on a route API Gateway leaves public (initiate): the bearer token, verified here.

Public routes skip the authorizer, so requestContext carries no caller; an anonymous pledge must be
payable without a token, yet a signed-in donor paying their own pledge must be recognised. So the
route verifies an Authorization header itself when one is sent (a bad token is a 401, not anonymous).
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Request

from harambee.auth import Caller, Role, optional_caller
from harambee.jwt import AccessTokenVerifier


@functools.cache
def _verifier() -> AccessTokenVerifier:
    return AccessTokenVerifier.from_environ()


def bearer_or_anonymous(request: Request) -> Caller | None:
    from_authorizer = optional_caller(request)
    if from_authorizer is not None:
        return from_authorizer
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    claims = _verifier().verify(token.strip() if scheme.lower() == "bearer" else header)
    role = Role.ADMIN if claims.role == Role.ADMIN else Role.USER
    return Caller(user_id=claims.sub, email=claims.email, role=role)


OptionalPayer = Annotated[Caller | None, Depends(bearer_or_anonymous)]
