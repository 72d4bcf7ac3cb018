"""The query routes: totals, donation histories, top campaigns, user and platform statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse

from harambee.auth import Caller, CurrentCaller, MaybeCaller
from harambee.errors import Forbidden, NotFound
from harambee.http import create_app, ok
from harambee.pagination import Page, Pagination
from query import repository
from query.domain.campaign import may_read
from query.models import DonationView, RankedCampaignView, TotalsView, platform_view, statistics_view
from query.settings import query_settings

app = create_app("query")

CampaignId = Annotated[str, Path(alias="campaignId", min_length=1, max_length=128)]
UserId = Annotated[str, Path(alias="userId", min_length=1, max_length=128)]


class CampaignNotFound(NotFound):
    code = "CAMPAIGN_NOT_FOUND"


def _visible(campaign_id: str, campaign: dict[str, Any] | None, caller: Caller | None) -> None:
    """The donor list and totals of a campaign that is not public are its owner's and admins'; to
    anyone else it does not exist (404), as on the campaign's own page."""
    shown = campaign or {}
    allowed = may_read(
        visibility=(shown.get("visibility") or {}).get("S"),
        status=(shown.get("status") or {}).get("S"),
        deleted=repository.is_deleted(shown),
        owner_id=(shown.get("ownerId") or {}).get("S"),
        viewer_id=caller.user_id if caller else None,
        is_admin=caller.is_admin if caller else False,
    )
    if not allowed:
        raise CampaignNotFound(f"No campaign {campaign_id!r}")


@app.get(
    "/api/query/campaigns/top",
    tags=["query"],
    summary="Public campaigns by amount raised, highest first (one currency)",
)
def top_campaigns(
    request: Request,
    page: Pagination,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code")] = None,
) -> JSONResponse:
    chosen = (currency or query_settings().default_currency).upper()
    items, cursor = repository.top_campaigns(chosen, page)
    listed = Page[dict[str, Any]](
        items=[RankedCampaignView.of(item) for item in items], next=cursor, limit=page.limit
    )
    return ok(request, listed.items, pagination=listed.pagination())


@app.get(
    "/api/query/campaigns/{campaignId}/totals",
    tags=["query"],
    summary="A campaign's raised amount, donation and donor counts, progress (one read at any size)",
)
def campaign_totals(request: Request, campaign_id: CampaignId, caller: MaybeCaller) -> JSONResponse:
    totals = repository.campaign_totals(campaign_id)
    if not totals.exists:
        raise CampaignNotFound(f"No campaign {campaign_id!r}")
    _visible(campaign_id, totals.campaign, caller)
    return ok(request, TotalsView.of(totals))


@app.get(
    "/api/query/campaigns/{campaignId}/donations",
    tags=["query"],
    summary="A campaign's donations, newest first; hidden donor names stay hidden",
)
def campaign_donations(
    request: Request, campaign_id: CampaignId, page: Pagination, caller: MaybeCaller
) -> JSONResponse:
    _visible(campaign_id, repository.find_campaign(campaign_id), caller)
    donations, cursor = repository.campaign_donations(campaign_id, page)
    listed = Page[dict[str, Any]](
        items=[DonationView.of(d) for d in donations], next=cursor, limit=page.limit
    )
    return ok(request, listed.items, pagination=listed.pagination())


@app.get(
    "/api/query/users/{userId}/donations",
    tags=["query"],
    summary="A user's donations, newest first, with their statistics (that user or an admin)",
)
def user_donations(
    request: Request, user_id: UserId, caller: CurrentCaller, page: Pagination
) -> JSONResponse:
    if not caller.can_access(user_id):
        # As /api/pledges/user/{userId}: another user's history is a role matter (403), not a secret id.
        raise Forbidden("Only that user or an admin may read a user's donations")
    donations, cursor = repository.user_donations(user_id, page)
    listed = Page[dict[str, Any]](
        items=[DonationView.of(d) for d in donations], next=cursor, limit=page.limit
    )
    body = {
        "userId": user_id,
        "statistics": statistics_view(repository.user_statistics(user_id)),
        "donations": listed.items,
    }
    return ok(request, body, pagination=listed.pagination())


@app.get(
    "/api/query/statistics/platform",
    tags=["query"],
    summary="Raised per currency, campaigns, active campaigns, donors and donations, platform-wide",
)
def platform_statistics(request: Request) -> JSONResponse:
    return ok(request, platform_view(repository.platform_totals()))
