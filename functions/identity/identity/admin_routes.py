"""Admin routes identity serves: list accounts, change status and role (each change audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from harambee.auth import AdminCaller, Role
from harambee.http import ok, request_id, source_ip, user_agent
from harambee.pagination import Page, Pagination, encode_cursor
from identity import repository, service
from identity.domain.accounts import AccountStatus
from identity.models import RoleChange, StatusChange, UserView

router = APIRouter(tags=["admin"])
UserId = Annotated[str, Path(alias="userId", min_length=1, max_length=64)]


def _audit(request: Request, caller: AdminCaller) -> service.AuditContext:
    return service.AuditContext(caller, request_id(request), source_ip(request), user_agent(request))


@router.get("/api/admin/users", summary="Accounts, newest first, by status and role")
def list_users(
    request: Request,
    caller: AdminCaller,
    page: Pagination,
    status: Annotated[AccountStatus | None, Query()] = None,
    role: Annotated[Role | None, Query()] = None,
) -> JSONResponse:
    accounts, resume = repository.list_accounts(
        status=status, role=role, limit=page.limit, start_key=page.start_key
    )
    listed = Page[UserView](
        items=[UserView.of(account) for account in accounts],
        next=encode_cursor(resume) if resume else None,
        limit=page.limit,
    )
    items = [user.model_dump(by_alias=True, mode="json") for user in listed.items]
    return ok(request, items, pagination=listed.pagination())


@router.patch("/api/admin/users/{userId}/status", summary="Suspend or reactivate an account")
def change_status(
    request: Request, caller: AdminCaller, user_id: UserId, change: StatusChange
) -> JSONResponse:
    account = service.change_status(user_id, change.status, _audit(request, caller))
    return ok(request, UserView.of(account).model_dump(by_alias=True, mode="json"))


@router.patch("/api/admin/users/{userId}/role", summary="Make an account USER or ADMIN")
def change_role(request: Request, caller: AdminCaller, user_id: UserId, change: RoleChange) -> JSONResponse:
    account = service.change_role(user_id, change.role, _audit(request, caller))
    return ok(request, UserView.of(account).model_dump(by_alias=True, mode="json"))
