"""Test-wide settings: no network, fake credentials, a region, and moto-friendly endpoints."""

from __future__ import annotations

import os

# Set before any boto3 or Powertools import so module-level clients and settings see them.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # botocore 1.44 sends DynamoDB Streams to an account endpoint moto does not serve.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "STAGE": "test",
        "HARAMBEE_TRACING": "false",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Harambee",
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_DEV": "false",
        "SECRETS_PREFIX": "/harambee/test",
        "JWT_ISSUER": "https://auth.harambee.app",
        "JWT_AUDIENCE": "harambee-api",
    }
)
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
