"""The payment providers this deployment has configured, by name."""

from __future__ import annotations

from payments.providers.base import PaymentProvider, ProviderNotConfigured
from payments.settings import payments_settings

KNOWN_PROVIDERS = ("sandbox", "sslcommerz", "wave", "stripe")


def provider(name: str) -> PaymentProvider:
    """The configured provider called `name`; the sandbox exists only where the stage enables it."""
    if name == "sandbox" and payments_settings().sandbox_enabled:
        from payments.providers.sandbox import SandboxProvider

        return SandboxProvider()
    raise ProviderNotConfigured(
        f"The payment provider {name!r} is not configured", details={"provider": name}
    )
