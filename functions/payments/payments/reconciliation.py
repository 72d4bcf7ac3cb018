"""The `reconcile-payments` schedule: re-check with its provider every payment left unsettled for too
long: still pending, or stopped at authorized or captured (a lost webhook, or a risky transaction a
provider holds for review).

A provider that knows more advances the payment (source "reconciliation"); one that says nothing new,
or cannot be reached, leaves it, and after the flag threshold it is flagged once for an admin
(payment.flagged).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from harambee.observability import logger
from harambee.pagination import PageRequest
from payments import repository, service
from payments.domain.payment import Payment, PaymentStatus
from payments.providers import provider
from payments.providers.base import ProviderNotConfigured, ProviderUnavailable
from payments.settings import payments_settings

PAGE = 50
UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)


def run(event: dict[str, Any], *, now: datetime | None = None) -> dict[str, int]:
    """One pass over the unsettled payments older than RECONCILE_AFTER_MINUTES, oldest first."""
    settings = payments_settings()
    now = now or service.utcnow()
    cutoff = now - timedelta(minutes=settings.reconcile_after_minutes)
    flag_before = now - timedelta(minutes=settings.flag_after_minutes)
    summary = {"checked": 0, "advanced": 0, "unchanged": 0, "flagged": 0, "unreachable": 0}
    for status in UNSETTLED:
        cursor: str | None = None
        while summary["checked"] < settings.reconcile_batch_limit:
            page = PageRequest(limit=PAGE, next=cursor)
            payments, cursor = repository.unsettled_created_before(status, cutoff, page)
            for payment in payments:
                summary["checked"] += 1
                summary[_reconcile(payment, flag_before)] += 1
            if cursor is None:
                break
    logger.info("Reconciliation pass", extra=summary)
    return summary


def _reconcile(payment: Payment, flag_before: datetime) -> str:
    try:
        signal = provider(payment.provider).fetch_status(payment)
    except (ProviderUnavailable, ProviderNotConfigured) as error:
        logger.warning("Provider unreachable during reconciliation", extra={"paymentId": payment.payment_id})
        return _maybe_flag(payment, flag_before, f"provider_unreachable: {error.code}") or "unreachable"
    if signal is not None:
        decision, _ = service.apply_signal(payment.payment_id, signal, "reconciliation")
        return "advanced" if decision.applied else "unchanged"
    return _maybe_flag(payment, flag_before, f"still_{payment.status}_at_provider") or "unchanged"


def _maybe_flag(payment: Payment, flag_before: datetime, reason: str) -> str | None:
    if payment.flagged or payment.created_at > flag_before:
        return None
    service.flag(payment, reason, "reconciliation")
    return "flagged"
