"""SSM parameters, public settings and SecureString secrets alike, read through Powertools Parameters.

Every context reads through this one provider, which runs on the shared cached SSM client. It is
registered as Powertools' default, so `parameters.clear_caches()` clears it too. Values are cached
per name for `max_age`, so a rotated secret is picked up within five minutes and no deploy is needed.
"""

from __future__ import annotations

from typing import Any, Literal

from harambee import aws

DEFAULT_MAX_AGE_SECONDS = 300


def ssm_parameter(
    name: str,
    *,
    decrypt: bool = False,
    transform: Literal["json"] | None = None,
    max_age: int = DEFAULT_MAX_AGE_SECONDS,
    force: bool = False,
) -> Any:
    """The parameter's value (decrypted, or parsed as JSON, when asked); `force` skips the cache."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    providers: dict[str, Any] = base.DEFAULT_PROVIDERS  # type: ignore[attr-defined]
    if "ssm" not in providers:
        providers["ssm"] = parameters.SSMProvider(boto3_client=aws.client("ssm"))
    return parameters.get_parameter(
        name, decrypt=decrypt, transform=transform, max_age=max_age, force_fetch=force
    )
