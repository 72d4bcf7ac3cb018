"""Provider credentials: the environment's value where one is set (local runs, tests), else the SSM
SecureString (harambee.parameters: cached five minutes, so a rotation is picked up)."""

from __future__ import annotations

from pydantic import SecretStr

from harambee.parameters import ssm_parameter


def provider_secret(configured: SecretStr | str | None, parameter: str) -> str:
    value = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
    if value:
        return value
    return str(ssm_parameter(parameter, decrypt=True))
