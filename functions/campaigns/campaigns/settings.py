"""Campaigns' own environment (template.yaml), validated once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field


class CampaignsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # Currency of scheduled birthday pots (WOLO collects through Wave, in XOF).
    pot_currency: str = Field("XOF", min_length=3, max_length=3, alias="POT_CURRENCY")
    # Where share links point: the web app that shows a pot.
    web_app_url: str = Field("http://127.0.0.1:5173", alias="WEB_APP_URL")
    pot_lead_days: int = Field(30, ge=1, le=90, alias="POT_LEAD_DAYS")
    closing_soon_days: int = Field(3, ge=1, le=14, alias="POT_CLOSING_SOON_DAYS")

    def share_url(self, pot_id: str, token: str) -> str:
        return f"{self.web_app_url.rstrip('/')}/pots/{pot_id}?token={token}"


@functools.cache
def campaigns_settings() -> CampaignsSettings:
    return CampaignsSettings.model_validate(dict(os.environ))
