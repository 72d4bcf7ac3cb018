"""Notifications' own environment (template.yaml), validated once per execution environment."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field


class NotificationsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    sender_email: str = Field("no-reply@harambee.app", alias="SENDER_EMAIL")
    public_base_url: str = Field("http://127.0.0.1:3000", alias="PUBLIC_BASE_URL")
    secrets_prefix: str = Field("/harambee/local", alias="SECRETS_PREFIX")
    whatsapp_api_url: str = Field("https://graph.facebook.com", alias="WHATSAPP_API_URL")
    whatsapp_api_version: str = Field("v21.0", alias="WHATSAPP_API_VERSION")
    whatsapp_phone_number_id: str = Field("", alias="WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_timeout_seconds: float = Field(5.0, gt=0, alias="WHATSAPP_TIMEOUT_SECONDS")
    # Must equal the inbox queue's RedrivePolicy maxReceiveCount (a test reads both from the template).
    max_receive_count: int = Field(5, ge=1, alias="INBOX_MAX_RECEIVE_COUNT")
    retry_base_seconds: int = Field(30, ge=0, alias="RETRY_BASE_SECONDS")
    unsubscribe_days: int = Field(60, ge=1, alias="UNSUBSCRIBE_TOKEN_DAYS")
    # SNS platform applications (FCM, APNs), created with their credentials outside the template.
    push_android_application_arn: str = Field("", alias="PUSH_ANDROID_APPLICATION_ARN")
    push_ios_application_arn: str = Field("", alias="PUSH_IOS_APPLICATION_ARN")

    @property
    def unsubscribe_key_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/notifications/unsubscribe-key"

    @property
    def whatsapp_token_parameter(self) -> str:
        return f"{self.secrets_prefix.rstrip('/')}/notifications/whatsapp-token"


@functools.cache
def notifications_settings() -> NotificationsSettings:
    return NotificationsSettings.model_validate(dict(os.environ))
