"""Deep health check: a context is healthy when it can read its own table."""

from __future__ import annotations

from typing import Any

from harambee import aws
from harambee.observability import logger
from harambee.settings import platform_settings


def check_table(context: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    settings = platform_settings()
    report: dict[str, Any] = {"context": context, "stage": settings.stage, "status": "ok"}
    try:
        aws.dynamodb().get_item(
            TableName=settings.table_name, Key={"pk": {"S": "HEALTH"}, "sk": {"S": "HEALTH"}}
        )
    except (BotoCoreError, ClientError):
        logger.exception("Health check could not read the table")
        report.update(status="degraded", table="unreachable")
    else:
        report["table"] = "reachable"
    return report
