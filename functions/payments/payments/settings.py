"""Payments' own environment (template.yaml), validated once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field


class PaymentsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    public_base_url: str = Field("http://127.0.0.1:3000", alias="PUBLIC_BASE_URL")
    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    sandbox_enabled: bool = Field(False, alias="SANDBOX_PAYMENTS_ENABLED")
    sandbox_webhook_url: str | None = Field(None, alias="SANDBOX_WEBHOOK_URL")
    sandbox_webhook_secret: str | None = Field(None, alias="SANDBOX_WEBHOOK_SECRET")
    reconcile_after_minutes: int = Field(15, ge=1, alias="RECONCILE_AFTER_MINUTES")
    flag_after_minutes: int = Field(60, ge=1, alias="RECONCILE_FLAG_AFTER_MINUTES")
    reconcile_batch_limit: int = Field(200, ge=1, alias="RECONCILE_BATCH_LIMIT")
    # Real providers this stage has credentials for, comma-separated (template parameter PaymentProviders).
    payment_providers: str = Field("", alias="PAYMENT_PROVIDERS")

    @property
    def enabled_providers(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.payment_providers.split(",") if name.strip())

    @property
    def webhook_url(self) -> str:
        return self.sandbox_webhook_url or f"{self.public_base_url.rstrip('/')}/api/payments/webhooks/sandbox"

    @property
    def sandbox_secret_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/payments/sandbox-webhook-secret"


@functools.cache
def payments_settings() -> PaymentsSettings:
    return PaymentsSettings.model_validate(dict(os.environ))
