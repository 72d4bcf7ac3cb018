"""The caller's identity, as the API Gateway authorizer put it in requestContext.authorizer.

Public routes (Authorizer NONE: anonymous pledges, payment initiation, public campaign reads) skip
the authorizer, yet a signed-in caller must still be recognised there. `optional_bearer` verifies
the Authorization header itself when one is sent: a bad token is a 401, never "anonymous".
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from harambee.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from harambee.jwt import AccessTokenVerifier


class Role(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


class Caller(BaseModel):
    """Who is calling: the verified claims the authorizer passed on (all values arrive as strings)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    email: str | None = None
    role: Role = Role.USER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can_access(self, owner_id: str) -> bool:
        """Ownership check used on every resource: the owner, or an admin."""
        return self.is_admin or self.user_id == owner_id


def caller_from_event(event: dict[str, Any]) -> Caller | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    user_id = authorizer.get("userId")
    if not user_id:
        return None
    return Caller(user_id=user_id, email=authorizer.get("email") or None, role=authorizer.get("role", "USER"))


def _event(request: Request) -> dict[str, Any]:
    return request.scope.get("aws.event") or {}


def optional_caller(request: Request) -> Caller | None:
    return caller_from_event(_event(request))


@functools.cache
def _verifier() -> AccessTokenVerifier:
    # Imported here: PyJWT and the JWKS read load only when a public route sees a bearer token.
    from harambee.jwt import AccessTokenVerifier

    return AccessTokenVerifier.from_environ()


def optional_bearer(request: Request) -> Caller | None:
    """The authorizer's caller, else the bearer token verified here, else None (anonymous)."""
    from_authorizer = optional_caller(request)
    if from_authorizer is not None:
        return from_authorizer
    if hasattr(request.state, "bearer_caller"):
        cached: Caller | None = request.state.bearer_caller
        return cached
    header = request.headers.get("authorization", "")
    caller: Caller | None = None
    if header:
        scheme, _, token = header.partition(" ")
        claims = _verifier().verify(token.strip() if scheme.lower() == "bearer" else header)
        role = Role.ADMIN if claims.role == Role.ADMIN else Role.USER
        caller = Caller(user_id=claims.sub, email=claims.email, role=role)
    request.state.bearer_caller = caller
    return caller


def require_caller(request: Request) -> Caller:
    caller = optional_caller(request)
    if caller is None:
        raise Unauthorized("Authentication required")
    return caller


def require_admin(request: Request) -> Caller:
    caller = require_caller(request)
    if not caller.is_admin:
        raise Forbidden("Administrator role required")
    return caller


CurrentCaller = Annotated[Caller, Depends(require_caller)]
AdminCaller = Annotated[Caller, Depends(require_admin)]
# On a public route: the signed-in caller (token verified here when the authorizer did not run) or None.
MaybeCaller = Annotated[Caller | None, Depends(optional_bearer)]
