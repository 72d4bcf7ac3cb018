"""The payments routes: initiate, read, verify, refund, the admin list; webhooks and sandbox routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query, Request
from fastapi.responses import JSONResponse

from harambee.auth import AdminCaller, CurrentCaller, MaybeCaller
from harambee.http import create_app, ok, request_id, source_ip, user_agent
from harambee.idempotency import IdempotencyKey
from harambee.pagination import Page, Pagination
from payments import repository, service, webhooks
from payments import sandbox as sandbox_routes
from payments.domain.payment import PayableKind, Payment, PaymentStatus
from payments.models import InitiatePayment, PaymentView, RefundRequest, started_view, status_view

app = create_app("payments")
app.include_router(webhooks.router)
app.include_router(sandbox_routes.router)

PaymentId = Annotated[str, Path(alias="paymentId", min_length=1, max_length=64)]


@app.post(
    "/api/payments/initiate",
    tags=["payments"],
    status_code=201,
    summary="Start paying a pledge, order or invoice",
)
def initiate(
    request: Request, body: InitiatePayment, idempotency: IdempotencyKey, payer: MaybeCaller
) -> JSONResponse:
    def create() -> JSONResponse:
        kind, payable_id = body.payable
        initiated = service.initiate(kind, payable_id, body.provider, body.method, payer)
        response = ok(request, started_view(initiated), status=201)
        response.headers["Location"] = f"/api/payments/{initiated.payment.payment_id}"
        return response

    return idempotency.run(create)


@app.get(
    "/api/payments/status/{paymentId}", tags=["payments"], summary="A payment's status, with its access token"
)
def payment_status(
    request: Request,
    payment_id: PaymentId,
    token: Annotated[
        str | None, Header(alias="X-Payment-Token", description="accessToken from initiate")
    ] = None,
) -> JSONResponse:
    return ok(request, status_view(service.get_with_token(payment_id, token)))


@app.get(
    "/api/payments/pledge/{pledgeId}", tags=["payments"], summary="Payments of a pledge (owner or admin)"
)
def pledge_payments(
    request: Request,
    caller: CurrentCaller,
    page: Pagination,
    pledge_id: Annotated[str, Path(alias="pledgeId", min_length=1, max_length=128)],
) -> JSONResponse:
    found = repository.find_payable(PayableKind.PLEDGE, pledge_id)
    owner = found[0].owner_id if found else None
    if found is None or not (caller.is_admin or (owner is not None and owner == caller.user_id)):
        raise service.PayableNotFound(f"No pledge {pledge_id!r} of yours")
    payments, cursor = repository.payments_of_payable(PayableKind.PLEDGE, pledge_id, page)
    return _page(request, payments, cursor, page.limit)


@app.get("/api/payments/{paymentId}", tags=["payments"], summary="A payment and its history (owner or admin)")
def get_payment(request: Request, caller: CurrentCaller, payment_id: PaymentId) -> JSONResponse:
    payment = service.get_for(payment_id, caller)
    return ok(request, {**PaymentView.of(payment), "history": repository.history(payment)})


@app.post(
    "/api/payments/{paymentId}/verify", tags=["payments"], summary="Re-check a payment with its provider"
)
def verify(request: Request, caller: CurrentCaller, payment_id: PaymentId) -> JSONResponse:
    return ok(request, PaymentView.of(service.verify(payment_id, caller)))


@app.post(
    "/api/payments/{paymentId}/refund",
    tags=["payments"],
    status_code=201,
    summary="Refund a payment, fully or in part (admin)",
)
@app.post(
    "/api/admin/payments/{paymentId}/refund",
    tags=["admin"],
    status_code=201,
    summary="Refund a payment (admin path)",
)
def refund(
    request: Request,
    caller: AdminCaller,
    payment_id: PaymentId,
    body: RefundRequest,
    idempotency: IdempotencyKey,
) -> JSONResponse:
    def perform() -> JSONResponse:
        before = service.get(payment_id)
        audit = {
            "actorId": caller.user_id,
            "action": "refund_payment",
            "entityType": "payment",
            "entityId": payment_id,
            "before": {"status": str(before.status), "refundedAmount": before.refunded_amount},
            "requestId": request_id(request),
            "ip": source_ip(request),
            "userAgent": user_agent(request),
        }
        payment, refund = service.refund(payment_id, body.amount, body.reason, caller.user_id, audit=audit)
        return ok(request, {"payment": PaymentView.of(payment), "refund": refund}, status=201)

    result: JSONResponse = idempotency.run(perform)
    return result


@app.get("/api/admin/payments", tags=["admin"], summary="Payments, newest first, by status or payable")
def admin_list(
    request: Request,
    *,
    caller: AdminCaller,
    page: Pagination,
    status: Annotated[PaymentStatus | None, Query()] = None,
    pledge_id: Annotated[str | None, Query(alias="pledgeId")] = None,
    order_id: Annotated[str | None, Query(alias="orderId")] = None,
    invoice_id: Annotated[str | None, Query(alias="invoiceId")] = None,
) -> JSONResponse:
    payable = (
        (PayableKind.PLEDGE, pledge_id)
        if pledge_id
        else (PayableKind.ORDER, order_id)
        if order_id
        else (PayableKind.INVOICE, invoice_id)
        if invoice_id
        else None
    )
    if payable is not None:
        payments, cursor = repository.payments_of_payable(payable[0], payable[1], page)
        if status is not None:
            payments = [payment for payment in payments if payment.status is status]
    elif status is not None:
        payments, cursor = repository.payments_by_status(status, page)
    else:
        payments, cursor = repository.all_payments(page)
    return _page(request, payments, cursor, page.limit)


def _page(request: Request, payments: list[Payment], cursor: str | None, limit: int) -> JSONResponse:
    listed = Page[dict[str, Any]](items=[PaymentView.of(p) for p in payments], next=cursor, limit=limit)
    return ok(request, listed.items, pagination=listed.pagination())
