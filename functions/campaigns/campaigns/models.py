"""Campaigns' request and response schemas (camelCase; requests refuse unknown fields: no mass assignment)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from campaigns.domain.campaign import CREATABLE_TYPES, CampaignStatus, CampaignType, Visibility

_request = ConfigDict(
    alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
)

Title = Annotated[str, Field(min_length=3, max_length=140)]
Description = Annotated[str, Field(max_length=10_000)]
Url = Annotated[AnyHttpUrl, Field(max_length=2048)]
Documents = Annotated[list[Url], Field(max_length=20)]
Amount = Annotated[int, Field(gt=0, strict=True, description="Minor units of the currency")]


def _https(url: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if url is not None and url.scheme != "https":
        raise ValueError("links must use https")
    return url


class NewCampaign(BaseModel):
    """POST /api/campaigns: a draft that waits for an administrator's approval."""

    model_config = _request

    title: Title
    description: Description = ""
    type: CampaignType
    goal_amount: Amount
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code")
    start_date: date
    end_date: date
    beneficiary_name: str = Field(min_length=2, max_length=140)
    beneficiary_details: str | None = Field(None, max_length=2000)
    image_url: Url | None = None
    documents: Documents = Field(default_factory=list)

    @field_validator("type")
    @classmethod
    def _creatable(cls, value: CampaignType) -> CampaignType:
        if value not in CREATABLE_TYPES:
            raise ValueError("birthday campaigns are created as pots (POST /api/pots)")
        return value

    @field_validator("image_url")
    @classmethod
    def _image_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _https(value)

    @field_validator("documents")
    @classmethod
    def _documents_https(cls, value: list[AnyHttpUrl]) -> list[AnyHttpUrl]:
        for url in value:
            _https(url)
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date <= self.start_date:
            raise ValueError("endDate must be after startDate")
        return self


class CampaignChanges(BaseModel):
    """PUT /api/campaigns/{id}: only the fields given change; which may change depends on the status."""

    model_config = _request

    title: Title | None = None
    description: Description | None = None
    goal_amount: Amount | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    start_date: date | None = None
    end_date: date | None = None
    beneficiary_name: str | None = Field(None, min_length=2, max_length=140)
    beneficiary_details: str | None = Field(None, max_length=2000)
    image_url: Url | None = None
    documents: Documents | None = None

    @field_validator("image_url")
    @classmethod
    def _image_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _https(value)

    @field_validator("documents")
    @classmethod
    def _documents_https(cls, value: list[AnyHttpUrl] | None) -> list[AnyHttpUrl] | None:
        for url in value or []:
            _https(url)
        return value

    _nullable: ClassVar[frozenset[str]] = frozenset({"beneficiary_details", "image_url"})

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        return _refuse_nulls(self, self._nullable)

    def given(self) -> dict[str, Any]:
        """The fields the client sent, as domain values (URLs as strings)."""
        return _plain(self.model_dump(exclude_unset=True))


class NewPot(BaseModel):
    """POST /api/pots: the caller's own birthday pot, active at once; it ends on the birthday."""

    model_config = _request

    title: Title | None = None
    description: Description = ""
    birthday: date = Field(description="The birthday being celebrated; the pot closes at its end")
    goal_amount: Amount | None = None
    currency: str | None = Field(None, min_length=3, max_length=3, description="Defaults to the pot currency")
    visibility: Visibility = Visibility.UNLISTED
    image_url: Url | None = None

    @field_validator("image_url")
    @classmethod
    def _image_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _https(value)


class PotChanges(BaseModel):
    """PUT /api/pots/{id}: the celebrant's edits; `rotateShareToken` invalidates the old share link."""

    model_config = _request

    title: Title | None = None
    description: Description | None = None
    goal_amount: Amount | None = None
    visibility: Visibility | None = None
    image_url: Url | None = None
    rotate_share_token: bool = False

    @field_validator("image_url")
    @classmethod
    def _image_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return _https(value)

    _nullable: ClassVar[frozenset[str]] = frozenset({"goal_amount", "image_url"})

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        return _refuse_nulls(self, self._nullable)

    def given(self) -> dict[str, Any]:
        return _plain(self.model_dump(exclude_unset=True, exclude={"rotate_share_token"}))


class StatusChange(BaseModel):
    model_config = _request

    status: CampaignStatus
    reason: str | None = Field(None, max_length=500)


def _refuse_nulls[Changes: BaseModel](changes: Changes, nullable: frozenset[str]) -> Changes:
    """An explicit null clears only optional fields; for the others it is a 422, not a broken campaign."""
    nulled = sorted(
        name for name in changes.model_fields_set if getattr(changes, name) is None and name not in nullable
    )
    if nulled:
        raise ValueError(f"these fields cannot be null: {', '.join(to_camel(name) for name in nulled)}")
    return changes


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """URLs as the strings the campaign document stores."""

    def plain(value: Any) -> Any:
        if isinstance(value, AnyHttpUrl):
            return str(value)
        if isinstance(value, list):
            return [str(item) for item in value]
        return value

    return {name: plain(value) for name, value in values.items()}
