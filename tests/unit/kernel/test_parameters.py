"""SSM parameters through the one shared provider: cached, refreshable, decrypted or parsed on request."""

from __future__ import annotations

import boto3

from harambee.parameters import ssm_parameter


def _put(name: str, value: str, kind: str = "String") -> None:
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)


def test_a_value_is_cached_until_forced_or_cleared(cloud: None) -> None:
    from aws_lambda_powertools.utilities import parameters

    _put("/harambee/test/google/client-secret", "first", "SecureString")
    assert ssm_parameter("/harambee/test/google/client-secret", decrypt=True) == "first"
    _put("/harambee/test/google/client-secret", "rotated", "SecureString")
    # Within max_age the cached value answers: no SSM call per request.
    assert ssm_parameter("/harambee/test/google/client-secret", decrypt=True) == "first"
    assert ssm_parameter("/harambee/test/google/client-secret", decrypt=True, force=True) == "rotated"
    _put("/harambee/test/google/client-secret", "again", "SecureString")
    parameters.clear_caches()
    assert ssm_parameter("/harambee/test/google/client-secret", decrypt=True) == "again"


def test_json_parameters_are_parsed(cloud: None) -> None:
    _put("/harambee/test/jwt/jwks", '{"keys": []}')
    assert ssm_parameter("/harambee/test/jwt/jwks", transform="json") == {"keys": []}
