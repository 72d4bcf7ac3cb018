"""The `admin.ensure` task: create the first admin, or promote an account, on any stage.

It is invoked directly (IAM `lambda:InvokeFunction`, never routed through the API) by
`harambee-local create-admin` and by the local stack at start-up.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from identity import service


class EnsureAdmin(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str = Field(min_length=3, max_length=254)
    password: str | None = Field(None, max_length=1024)


def ensure_admin_task(event: dict[str, Any]) -> dict[str, Any]:
    request = EnsureAdmin.model_validate(event)
    account, created = service.ensure_admin(request.email, request.password)
    return {
        "userId": account.user_id,
        "email": str(account.email),
        "role": str(account.role),
        "created": created,
    }
