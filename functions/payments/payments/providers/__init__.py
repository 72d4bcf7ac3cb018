"""The payment providers this deployment has configured, by name."""

from __future__ import annotations

import importlib

from payments.providers.base import PaymentProvider, ProviderNotConfigured
from payments.settings import payments_settings

KNOWN_PROVIDERS = ("sandbox", "sslcommerz", "wave", "stripe")
# Imported only when a payment uses them: each brings its own HTTP client and settings.
_IMPLEMENTATIONS = {
    "sandbox": "payments.providers.sandbox:SandboxProvider",
    "sslcommerz": "payments.providers.sslcommerz:SslcommerzProvider",
    "wave": "payments.providers.wave:WaveProvider",
    "stripe": "payments.providers.stripe:StripeProvider",
}


def provider(name: str) -> PaymentProvider:
    """The configured provider called `name`: the sandbox where the stage enables it (never prod),
    a real provider where PAYMENT_PROVIDERS names it (its credentials are in SSM)."""
    settings = payments_settings()
    configured = settings.sandbox_enabled if name == "sandbox" else name in settings.enabled_providers
    if not configured or name not in _IMPLEMENTATIONS:
        raise ProviderNotConfigured(
            f"The payment provider {name!r} is not configured", details={"provider": name}
        )
    module, _, attribute = _IMPLEMENTATIONS[name].partition(":")
    implementation: type[PaymentProvider] = getattr(importlib.import_module(module), attribute)
    return implementation()
