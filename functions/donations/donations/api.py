"""The donations routes: create and read pledges, and WOLO's donate (pledge and payment in one call)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Request
from fastapi.responses import JSONResponse

from donations import service
from donations.models import DonateRequest, PledgeRequest, PledgeView, public_view
from harambee.auth import CurrentCaller, MaybeCaller
from harambee.http import create_app, ok
from harambee.idempotency import IdempotencyKey
from harambee.pagination import Pagination

app = create_app("donations")

PledgeId = Annotated[str, Path(alias="pledgeId", min_length=1, max_length=64)]
PLEDGE_TOKEN_HEADER = "X-Pledge-Token"  # noqa: S105 - a header name, not a secret


def _created(pledge_view: dict[str, Any], access_token: str | None) -> dict[str, Any]:
    # Returned once: only its hash is stored. An anonymous donor needs it to read the pledge later.
    return {**pledge_view, "accessToken": access_token}


@app.post(
    "/api/pledges", tags=["donations"], status_code=201, summary="Pledge a donation (signed in or anonymous)"
)
def create_pledge(
    request: Request, body: PledgeRequest, idempotency: IdempotencyKey, donor: MaybeCaller
) -> JSONResponse:
    def create() -> JSONResponse:
        created = service.create(body, donor, service.pledge_id_for(idempotency.scoped_key))
        response = ok(request, _created(PledgeView.of(created.pledge), created.access_token), status=201)
        response.headers["Location"] = f"/api/pledges/{created.pledge.pledge_id}"
        return response

    return idempotency.run(create)


@app.post(
    "/api/payments/donate",
    tags=["donations"],
    status_code=201,
    summary="Pledge and start paying in one call (WOLO)",
)
def donate(
    request: Request, body: DonateRequest, idempotency: IdempotencyKey, donor: MaybeCaller
) -> JSONResponse:
    from donations.checkout import initiate_payment

    def create() -> JSONResponse:
        pledge_request = PledgeRequest.model_validate(body.model_dump(exclude={"provider", "method"}))
        created = service.create(pledge_request, donor, service.pledge_id_for(idempotency.scoped_key))
        payment = initiate_payment(created.pledge, body.provider, body.method)
        donation = {
            "pledge": _created(PledgeView.of(created.pledge), created.access_token),
            "payment": payment,
        }
        response = ok(request, donation, status=201)
        response.headers["Location"] = f"/api/pledges/{created.pledge.pledge_id}"
        return response

    return idempotency.run(create)


@app.get("/api/pledges/user/{userId}", tags=["donations"], summary="A user's pledges (that user or admin)")
def user_pledges(
    request: Request,
    caller: CurrentCaller,
    page: Pagination,
    user_id: Annotated[str, Path(alias="userId", min_length=1, max_length=128)],
) -> JSONResponse:
    listed = service.pledges_of_user(user_id, caller, page)
    return ok(request, [PledgeView.of(pledge) for pledge in listed.items], pagination=listed.pagination())


@app.get(
    "/api/pledges/campaign/{campaignId}",
    tags=["donations"],
    summary="A campaign's completed pledges (public; hidden names stay hidden)",
)
def campaign_pledges(
    request: Request,
    page: Pagination,
    campaign_id: Annotated[str, Path(alias="campaignId", min_length=1, max_length=128)],
) -> JSONResponse:
    listed = service.completed_of_campaign(campaign_id, page)
    return ok(request, [public_view(pledge) for pledge in listed.items], pagination=listed.pagination())


@app.get(
    "/api/pledges/{pledgeId}",
    tags=["donations"],
    summary="A pledge: its donor, an admin, or the holder of its access token",
)
def get_pledge(
    request: Request,
    pledge_id: PledgeId,
    reader: MaybeCaller,
    token: Annotated[
        str | None, Header(alias=PLEDGE_TOKEN_HEADER, description="accessToken returned at creation")
    ] = None,
) -> JSONResponse:
    return ok(request, PledgeView.of(service.get_for(pledge_id, reader, token)))
