"""Admin's own environment (template.yaml), validated once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field


class AdminSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    audit_table_name: str = Field("", alias="AUDIT_TABLE_NAME")
    # Every dead-letter queue of the template, comma-separated URLs (an !Join of their Refs).
    dead_letter_queue_urls: str = Field("", alias="DEAD_LETTER_QUEUE_URLS")

    @property
    def dead_letter_queues(self) -> tuple[str, ...]:
        return tuple(url.strip() for url in self.dead_letter_queue_urls.split(",") if url.strip())


@functools.cache
def admin_settings() -> AdminSettings:
    return AdminSettings.model_validate(dict(os.environ))
