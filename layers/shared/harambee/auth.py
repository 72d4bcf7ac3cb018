"""The caller's identity, as the API Gateway authorizer put it in requestContext.authorizer."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from harambee.errors import Forbidden, Unauthorized


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
MaybeCaller = Annotated[Caller | None, Depends(optional_caller)]
