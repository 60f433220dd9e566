"""The search contract: what a searcher may ask, and what every backend answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from directory.listings import vocabularies
from directory.types import CostCode, NeedCode

NO_NUL = r"^[^\x00]*$"
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
MAX_PAGE = 500  # deep pages cost; nobody pages past 10,000 results during a session
# The capacities ``accepting=true`` leaves out. Everything else stays, unknown and unset too: a
# mentor must not lose the listings nobody has asked about.
NOT_TAKING_CLIENTS = ("waitlist", "full")


def _accessibility_codes(schema: dict[str, Any]) -> None:
    schema["items"]["enum"] = list(vocabularies.accessibility_codes())  # when the schema is made


class SearchQuery(BaseModel):
    """A search, from a query string or a JSON body (the same fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] | None = Field(
        default=None,
        description="Free text, a question as people ask it, in English or Spanish (at most 500"
        " characters); a risk phrase brings the crisis block",
        examples=["counseling for anxiety"],
    )
    near: tuple[Latitude, Longitude] | None = Field(
        default=None,
        description='The searcher\'s place, latitude and longitude ("27.95,-82.46" in a URL)',
        examples=[(27.9506, -82.4572)],
    )
    postcode: Annotated[str, StringConstraints(pattern=r"^\d{5}(-\d{4})?$")] | None = Field(
        default=None,
        description="The searcher's US ZIP code, instead of near (resolved offline)",
        examples=["33602"],
    )
    country: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[A-Za-z]{2}$"),
            WithJsonSchema({"type": "string", "enum": vocabularies.COUNTRY_CODES}),
        ]
        | None
    ) = Field(
        default=None,
        description="ISO 3166 country whose crisis lines apply when no place is given",
        examples=["US"],
    )
    radius_km: float = Field(
        default=25.0, gt=0, le=500, description="How far from the place, in km", examples=[10]
    )
    need: list[NeedCode] = Field(
        default_factory=list,
        max_length=20,
        description="Need codes (GET /v1/needs), any of them; a need includes its children."
        " Repeat it or separate with commas",
        examples=[["anxiety", "depression"]],
    )
    language: list[Code] = Field(
        default_factory=list,
        max_length=10,
        description="ISO 639 codes or English names; every one must be offered",
        examples=[["es"]],
    )
    accessibility: list[Code] = Field(
        default_factory=list,
        max_length=10,
        json_schema_extra=_accessibility_codes,
        description="Accessibility codes; every one must hold",
        examples=[["wheelchair"]],
    )
    mode: Literal["in_person", "virtual", "any"] = Field(
        default="any",
        description="in_person: sites only; virtual: remote services only",
        examples=["in_person"],
    )
    open_now: bool | None = Field(
        default=None,
        description="Open (true) or closed (false) now, in each listing's own time zone",
        examples=[True],
    )
    accepting: bool = Field(
        default=False,
        description="true: leave out listings known to have a waitlist or to be full",
        examples=[True],
    )
    cost: list[CostCode] = Field(
        default_factory=list,
        max_length=10,
        description="Cost options, any of them: free, sliding-scale, medicaid...",
        examples=[["free", "sliding-scale"]],
    )
    age: int | None = Field(
        default=None, ge=0, le=130, description="The mentee's age", examples=[17]
    )
    sort: Literal["relevance", "distance"] = Field(
        default="relevance",
        description="relevance (a closer service wins a near-tie), or distance",
        examples=["distance"],
    )
    page: int = Field(
        default=1,
        ge=1,
        le=MAX_PAGE,
        description=f"Which page of results, from 1 (at most {MAX_PAGE})",
        examples=[1],
    )
    per_page: int = Field(
        default=20, ge=1, le=100, description="Results a page, at most 100", examples=[20]
    )

    @field_validator("near", mode="before")
    @classmethod
    def _near(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.split(",")
            if len(parts) != 2:
                raise ValueError("near must be 'latitude,longitude'")
            try:
                value = (float(parts[0]), float(parts[1]))
            except ValueError:
                raise ValueError("near must be 'latitude,longitude' in decimal degrees") from None
        numbers = isinstance(value, list | tuple) and len(value) == 2
        if numbers and all(isinstance(v, int | float) for v in value):  # else pydantic says why
            lat, lng = value
            if not (-90 <= float(lat) <= 90 and -180 <= float(lng) <= 180):
                raise ValueError("near: latitude must be -90..90 and longitude -180..180")
        return value

    @field_validator("language")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return [vocabularies.language_code(code) for code in value]

    @field_validator("accessibility")
    @classmethod
    def _accessibility(cls, value: list[str]) -> list[str]:
        known = vocabularies.accessibility_codes()
        unknown = [code for code in value if code not in known]
        if unknown:
            raise ValueError(f"unknown accessibility code(s): {', '.join(unknown)}")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else vocabularies.country(value)


class Facets(BaseModel):
    needs: dict[str, int]
    languages: dict[str, int]
    accessibility: dict[str, int]


class PhoneOut(BaseModel):
    display: str
    tel_uri: str
    type: str
    extension: str | None = None
    description: str | None = None


class SearchResult(BaseModel):
    service_id: uuid.UUID
    location_id: uuid.UUID | None
    name: str
    organization: str
    demo: bool = False  # fictional demo data: show a "Demo" badge (never a crisis line)
    snippet: str
    needs: list[dict[str, str]]
    languages: list[str]
    accessibility: list[str]
    costs: list[str] = Field(default_factory=list)  # cost option codes (free, medicaid...)
    address: dict[str, Any] | None
    distance_km: float | None = None  # absent for remote services
    # the site's point is its ZIP code's centre, not its address: the distance is approximate
    distance_approximate: bool = False
    match: Literal["near", "serves_area"] | None = None  # None when no place was given
    phones: list[PhoneOut]
    website: str | None
    open_now: bool | None  # None: hours unknown
    hours: str | None
    last_verified_at: dt.datetime | None
    capacity_status: str | None = None  # accepting, waitlist, full, unknown; None: never asked
    capacity_updated_at: dt.datetime | None = None


class CrisisLine(BaseModel):
    service_id: uuid.UUID
    name: str
    organization: str
    phones: list[PhoneOut]
    channels: list[dict[str, Any]]
    languages: list[str]
    website: str | None
    hours: str | None
    serves: list[str]


class CrisisBlock(BaseModel):
    reason: Literal["query", "need", "requested"]
    country: str | None
    region: str | None
    language: str | None
    lines: list[CrisisLine]
    as_of: dt.datetime | None = Field(
        default=None,
        description="Set only when the database could not answer and these are the lines last"
        " read from it, kept for that (they may have changed since): when they were read.",
    )


class SearchResponse(BaseModel):
    items: list[SearchResult]
    total: int
    page: int
    per_page: int
    facets: Facets
    crisis: CrisisBlock | None
    backend: str
    degraded: bool = False
    took_ms: float
