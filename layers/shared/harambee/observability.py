"""One place that creates Logger, Metrics and (only where tracing is on) Tracer.

Tracer is created lazily: instantiating it loads the X-Ray SDK (125-225 ms of cold start) even with
tracing disabled, so local runs and tests never pay for it. HARAMBEE_TRACING=true in template.yaml.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
# Most invocations publish no application metric; Powertools would warn about it on every one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
CORRELATION_HEADER = "x-correlation-id"


@functools.cache
def tracer() -> Any | None:
    """The Powertools Tracer, or None where tracing is off (no X-Ray SDK import then)."""
    from harambee.settings import platform_settings

    if not platform_settings().tracing_enabled:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer()


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)
    logger.set_correlation_id(value)


def correlation_id() -> str | None:
    return _correlation_id.get()


def correlation_id_from_http(event: dict[str, Any]) -> str | None:
    """A client's X-Correlation-Id wins; otherwise API Gateway's request id starts the chain."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return headers.get(CORRELATION_HEADER) or (event.get("requestContext") or {}).get("requestId")


def instrument[Handler: Callable[..., Any]](handler: Handler) -> Handler:
    """Decorate a Lambda entry the same way everywhere: tracer, logger context, metrics flush."""
    wrapped: Callable[..., Any] = metrics.log_metrics(handler, capture_cold_start_metric=True)
    active_tracer = tracer()
    if active_tracer is not None:
        wrapped = active_tracer.capture_lambda_handler(wrapped)
    wrapped = logger.inject_lambda_context(wrapped, clear_state=True)
    return functools.wraps(handler)(wrapped)  # type: ignore[return-value]
