"""Donations' own environment (template.yaml), validated once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field


class DonationsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # Built with !Sub from the saga's fixed name, so the function needs no reference to the machine.
    donation_saga_arn: str = Field("", alias="DONATION_SAGA_ARN")
    payment_timeout_seconds: int = Field(1800, ge=1, alias="PAYMENT_TIMEOUT_SECONDS")
    payments_function_name: str = Field("", alias="PAYMENTS_FUNCTION_NAME")


@functools.cache
def donations_settings() -> DonationsSettings:
    return DonationsSettings.model_validate(dict(os.environ))
