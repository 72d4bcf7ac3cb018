"""The query context's own environment (template.yaml), validated once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field


class QuerySettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # The function `query.check-totals` asks for the sum of completed pledges (donations' task).
    donations_function_name: str = Field("", alias="DONATIONS_FUNCTION_NAME")
    # The ranking is per currency; CareForAll raises in taka.
    default_currency: str = Field("BDT", min_length=3, max_length=3, alias="DEFAULT_CURRENCY")


@functools.cache
def query_settings() -> QuerySettings:
    return QuerySettings.model_validate(dict(os.environ))
