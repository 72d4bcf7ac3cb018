"""The sandbox simulator's pages: a checkout with Pay and Fail buttons, and the completion that sends
its signed webhooks. Both answer 404 unless SANDBOX_PAYMENTS_ENABLED is true (never in prod)."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse

from harambee.errors import Conflict, NotFound
from harambee.http import ok
from payments import repository, service
from payments.domain.payment import Payment, PaymentStatus
from payments.models import SandboxCompletion
from payments.settings import payments_settings

router = APIRouter(tags=["sandbox"])
PaymentId = Annotated[str, Path(alias="paymentId", min_length=1, max_length=64)]


def _sandbox_payment(payment_id: str) -> Payment:
    if not payments_settings().sandbox_enabled:
        raise NotFound("The payment sandbox is not enabled here")
    payment = repository.find_payment(payment_id)
    if payment is None or payment.provider != "sandbox":
        raise service.PaymentNotFound(f"No sandbox payment {payment_id!r}")
    return payment


@router.get("/api/payments/sandbox/checkout/{paymentId}", summary="The sandbox's checkout page")
def checkout(request: Request, payment_id: PaymentId) -> HTMLResponse:
    payment = _sandbox_payment(payment_id)
    safe_id = html.escape(payment.payment_id)
    amount = html.escape(f"{payment.amount} {payment.currency} (minor units)")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Harambee sandbox checkout</title></head>
<body>
<h1>Sandbox checkout</h1>
<p>Payment <code>{safe_id}</code>: {amount}, status <strong>{html.escape(str(payment.status))}</strong>.</p>
<button onclick="finish('success')">Pay</button> <button onclick="finish('failure')">Fail</button>
<pre id="result"></pre>
<script>
async function finish(outcome) {{
  const response = await fetch("/api/payments/sandbox/{safe_id}/complete", {{
    method: "POST", headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{outcome}})
  }});
  document.getElementById("result").textContent = JSON.stringify(await response.json(), null, 2);
}}
</script>
</body></html>"""
    return HTMLResponse(page)


@router.post(
    "/api/payments/sandbox/{paymentId}/complete", summary="Make the sandbox pay or fail, sending its webhooks"
)
def complete(request: Request, payment_id: PaymentId, body: SandboxCompletion) -> JSONResponse:
    from payments.providers import sandbox

    payment = _sandbox_payment(payment_id)
    if payment.status is not PaymentStatus.PENDING and repository.sandbox_outcome(payment_id) is None:
        raise Conflict("Only a pending payment can be completed", details={"status": str(payment.status)})
    if not repository.record_sandbox_outcome(payment_id, body.outcome):
        raise Conflict("The sandbox payer already chose the other outcome")
    delivery = sandbox.send_webhooks(payment, body.outcome, duplicates=body.duplicates, shuffle=body.shuffle)
    return ok(request, {"paymentId": payment_id, "outcome": body.outcome, **delivery})
