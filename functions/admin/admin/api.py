"""Admin's HTTP routes under /api/admin: dashboard figures, the audit log, system notifications."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse

from harambee.auth import AdminCaller
from harambee.errors import Unprocessable
from harambee.http import create_app, ok
from harambee.pagination import Page, Pagination

app = create_app("admin")

Severity = Annotated[
    str | None, Query(pattern="^(low|medium|high|critical)$", description="low, medium, high or critical")
]
Moment = Annotated[
    str | None,
    Query(max_length=40, description="ISO 8601 date (a whole UTC day) or date-time (UTC when no offset)"),
]
Identifier = Annotated[str | None, Query(min_length=1, max_length=128)]


def _page(request: Request, items: list[dict[str, Any]], cursor: str | None, limit: int) -> JSONResponse:
    listed = Page[dict[str, Any]](items=items, next=cursor, limit=limit)
    return ok(request, listed.items, pagination=listed.pagination())


def _moment(name: str, value: str | None, *, end_of_day: bool) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise Unprocessable(
            f"`{name}` is not an ISO 8601 date or date-time",
            code="VALIDATION_FAILED",
            details={"field": name},
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.get("/api/admin/dashboard/stats", tags=["admin"], summary="Platform figures for the admin dashboard")
def dashboard_stats(request: Request, admin: AdminCaller) -> JSONResponse:
    from admin import service

    return ok(request, service.dashboard().model_dump(mode="json", by_alias=True))


@app.get("/api/admin/audit-logs", tags=["admin"], summary="The append-only audit log, newest first")
def audit_logs(
    request: Request,
    admin: AdminCaller,
    page: Pagination,
    *,
    actor_id: Annotated[Identifier, Query(alias="actorId")] = None,
    entity_type: Annotated[Identifier, Query(alias="entityType")] = None,
    entity_id: Annotated[Identifier, Query(alias="entityId")] = None,
    since: Annotated[Moment, Query(alias="from")] = None,
    until: Annotated[Moment, Query(alias="to")] = None,
) -> JSONResponse:
    from admin import service
    from admin.repository import AuditFilter

    if (entity_type is None) != (entity_id is None):
        raise Unprocessable("Filter by entity with both entityType and entityId", code="VALIDATION_FAILED")
    wanted = AuditFilter(
        actor_id=actor_id,
        entity_type=entity_type,
        entity_id=entity_id,
        since=_moment("from", since, end_of_day=False),
        until=_moment("to", until, end_of_day=True),
    )
    if wanted.since and wanted.until and wanted.since > wanted.until:
        raise Unprocessable("`from` is after `to`", code="VALIDATION_FAILED")
    records, cursor = service.audit_log(page, wanted)
    return _page(request, [r.model_dump(mode="json", by_alias=True) for r in records], cursor, page.limit)


@app.get("/api/admin/notifications", tags=["admin"], summary="System notifications for administrators")
def system_notifications(
    request: Request,
    admin: AdminCaller,
    page: Pagination,
    unread: Annotated[bool | None, Query(description="true: unread only; false: read only")] = None,
    severity: Severity = None,
) -> JSONResponse:
    from admin import service
    from admin.domain.notices import Severity as Level

    notices, cursor = service.system_notifications(
        page, unread=unread, severity=Level(severity) if severity else None
    )
    return _page(request, [notice.view() for notice in notices], cursor, page.limit)


@app.patch(
    "/api/admin/notifications/{notificationId}/read",
    tags=["admin"],
    summary="Mark a system notification read (idempotent)",
)
def mark_notification_read(
    request: Request,
    admin: AdminCaller,
    notification_id: Annotated[str, Path(alias="notificationId", min_length=1, max_length=64)],
) -> JSONResponse:
    from admin import service

    return ok(request, service.mark_read(notification_id, admin.user_id).view())
