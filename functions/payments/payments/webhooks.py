"""Provider webhooks: public, verified by signature, stored raw, deduplicated, acknowledged fast."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from harambee.http import ok
from payments import service

router = APIRouter(tags=["webhooks"])


@router.post("/api/payments/webhooks/{provider}", summary="A payment provider's signed notification")
async def receive(
    request: Request, provider: Annotated[str, Path(min_length=1, max_length=32)]
) -> JSONResponse:
    return await _receive(request, provider)


@router.post("/api/payments/webhook/ipn", summary="SSLCommerz IPN (the seed's path)")
async def sslcommerz_ipn(request: Request) -> JSONResponse:
    return await _receive(request, "sslcommerz")


@router.post("/api/payments/webhook", summary="Wave webhook (the seed's path)")
async def wave_webhook(request: Request) -> JSONResponse:
    return await _receive(request, "wave")


async def _receive(request: Request, provider: str) -> JSONResponse:
    # The signature covers the bytes as sent: read them before anything parses the body.
    raw_body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    outcome = await run_in_threadpool(service.receive_webhook, provider, headers, raw_body)
    return ok(request, outcome)
