"""Provider credentials: the environment's value where one is set (local runs, tests), else the SSM
SecureString, read through Powertools Parameters and cached five minutes so a rotation is picked up."""

from __future__ import annotations

from pydantic import SecretStr

PARAMETER_MAX_AGE_SECONDS = 300


def provider_secret(configured: SecretStr | str | None, parameter: str) -> str:
    value = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
    if value:
        return value
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_parameter(parameter, decrypt=True, max_age=PARAMETER_MAX_AGE_SECONDS))
