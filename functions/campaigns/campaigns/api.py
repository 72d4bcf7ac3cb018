"""The campaigns and pots routes: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import JSONResponse

from campaigns import service
from campaigns.domain.campaign import Campaign, CampaignStatus, CampaignType
from campaigns.models import CampaignChanges, NewCampaign, NewPot, PotChanges, StatusChange
from campaigns.repository import Totals
from campaigns.settings import campaigns_settings
from harambee.auth import AdminCaller, Caller, CurrentCaller, MaybeCaller
from harambee.http import create_app, ok, request_id, source_ip, user_agent
from harambee.pagination import Page, Pagination

app = create_app("campaigns")

CampaignId = Annotated[str, Path(alias="campaignId", min_length=1, max_length=64)]
PotId = Annotated[str, Path(alias="potId", min_length=1, max_length=64)]
ShareToken = Annotated[
    str | None, Query(alias="token", max_length=128, description="An unlisted pot's share token")
]


def _audit(request: Request, caller: Caller) -> service.Audit:
    return service.Audit(caller, request_id(request), source_ip(request), user_agent(request))


def view(campaign: Campaign, viewer: Caller | None = None, totals: Totals | None = None) -> dict[str, Any]:
    """The campaign as clients see it; the share link only for the pot's owner."""
    shown = campaign.model_dump(
        mode="json", by_alias=True, exclude={"share_token", "version", "closing_soon_at", "deleted"}
    )
    if viewer is not None and viewer.is_admin:
        shown["deleted"] = campaign.deleted
    if totals is not None:
        shown.update(totals.as_view())
        shown["goalReached"] = totals.goal_reached_at is not None
    if (
        campaign.is_pot
        and campaign.share_token
        and viewer is not None
        and viewer.user_id == campaign.owner_id
    ):
        shown["shareToken"] = campaign.share_token
        shown["shareUrl"] = campaigns_settings().share_url(campaign.campaign_id, campaign.share_token)
    return shown


def _listed(request: Request, page: Page[Campaign], viewer: Caller | None = None) -> JSONResponse:
    totals = service.totals_of(page.items)
    shown = [view(campaign, viewer, totals.get(campaign.campaign_id, Totals())) for campaign in page.items]
    return ok(request, shown, pagination=page.pagination())


# ------------------------------------------------------------------ campaigns


@app.post(
    "/api/campaigns",
    tags=["campaigns"],
    status_code=201,
    summary="Start a campaign (a draft awaiting approval)",
)
def create(request: Request, caller: CurrentCaller, body: NewCampaign) -> JSONResponse:
    campaign = service.create_campaign(caller, body)
    response = ok(request, view(campaign, caller), status=201)
    response.headers["Location"] = f"/api/campaigns/{campaign.campaign_id}"
    return response


@app.get(
    "/api/campaigns", tags=["campaigns"], summary="Public campaigns: filter by status and type, search words"
)
def public_list(
    request: Request,
    *,
    viewer: MaybeCaller,
    page: Pagination,
    status: Annotated[CampaignStatus, Query()] = CampaignStatus.ACTIVE,
    campaign_type: Annotated[CampaignType | None, Query(alias="type")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words of the title or description")] = None,
) -> JSONResponse:
    return _listed(request, service.public_list(status, campaign_type, q, page), viewer)


@app.get("/api/campaigns/user/{userId}", tags=["campaigns"], summary="A user's campaigns and pots")
def user_list(
    request: Request,
    caller: CurrentCaller,
    page: Pagination,
    user_id: Annotated[str, Path(alias="userId", min_length=1, max_length=64)],
) -> JSONResponse:
    return _listed(request, service.owner_list(user_id, caller, page), caller)


@app.get("/api/campaigns/{campaignId}", tags=["campaigns"], summary="One campaign with its totals")
def read(
    request: Request, campaign_id: CampaignId, viewer: MaybeCaller, token: ShareToken = None
) -> JSONResponse:
    campaign, totals = service.read(campaign_id, viewer, token)
    return ok(request, view(campaign, viewer, totals))


@app.put("/api/campaigns/{campaignId}", tags=["campaigns"], summary="Edit a campaign (owner or admin)")
def update(
    request: Request, campaign_id: CampaignId, caller: CurrentCaller, body: CampaignChanges
) -> JSONResponse:
    campaign = service.update_campaign(campaign_id, caller, body, _audit(request, caller))
    return ok(request, view(campaign, caller))


@app.delete("/api/campaigns/{campaignId}", tags=["admin"], summary="Cancel and hide a campaign (admin)")
def delete(request: Request, campaign_id: CampaignId, caller: AdminCaller) -> JSONResponse:
    return ok(request, view(service.delete(campaign_id, _audit(request, caller)), caller))


@app.patch(
    "/api/campaigns/{campaignId}/status", tags=["admin"], summary="Move a campaign to another status (admin)"
)
def change_status(
    request: Request, campaign_id: CampaignId, caller: AdminCaller, body: StatusChange
) -> JSONResponse:
    campaign = service.change_status(campaign_id, body.status, _audit(request, caller))
    return ok(request, view(campaign, caller))


@app.get(
    "/api/admin/campaigns", tags=["admin"], summary="Campaigns by status, newest first (drafts by default)"
)
def admin_list(
    request: Request,
    caller: AdminCaller,
    page: Pagination,
    status: Annotated[CampaignStatus, Query()] = CampaignStatus.DRAFT,
) -> JSONResponse:
    return _listed(request, service.admin_list(status, page), caller)


@app.patch(
    "/api/admin/campaigns/{campaignId}/approve", tags=["admin"], summary="Approve a draft: it goes live"
)
def approve(request: Request, campaign_id: CampaignId, caller: AdminCaller) -> JSONResponse:
    return ok(request, view(service.approve(campaign_id, _audit(request, caller)), caller))


# ------------------------------------------------------------------ pots


@app.get("/api/pots", tags=["pots"], summary="The caller's birthday pots")
def my_pots(request: Request, caller: CurrentCaller, page: Pagination) -> JSONResponse:
    return _listed(request, service.owner_list(caller.user_id, caller, page, pots_only=True), caller)


@app.post(
    "/api/pots", tags=["pots"], status_code=201, summary="Open the caller's birthday pot (one per year)"
)
def open_pot(request: Request, caller: CurrentCaller, body: NewPot) -> JSONResponse:
    pot = service.create_pot(caller, body)
    response = ok(request, view(pot, caller), status=201)
    response.headers["Location"] = f"/api/pots/{pot.campaign_id}"
    return response


@app.get("/api/pots/{potId}", tags=["pots"], summary="A pot (unlisted ones with their share token)")
def read_pot(request: Request, pot_id: PotId, viewer: MaybeCaller, token: ShareToken = None) -> JSONResponse:
    pot, totals = service.read(pot_id, viewer, token, pot=True)
    return ok(request, view(pot, viewer, totals))


@app.put("/api/pots/{potId}", tags=["pots"], summary="Edit a pot or rotate its share link (celebrant)")
def update_pot(request: Request, pot_id: PotId, caller: CurrentCaller, body: PotChanges) -> JSONResponse:
    pot = service.update_pot(pot_id, caller, body, _audit(request, caller))
    return ok(request, view(pot, caller))
