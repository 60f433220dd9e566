"""Documents that write a listing: ``ServiceCreate``, ``ServiceUpdate`` (also the seed format)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from directory.listings import vocabularies
from directory.listings.phones import DialableNumber, parse_phone
from directory.types import CAPACITY_STATUSES as CAPACITY_STATUSES
from directory.types import CapacityStatus as CapacityStatus
from directory.types import CurationStatus as CurationStatus
from directory.types import NeedCode as NeedCode
from directory.types import ServiceStatus as ServiceStatus

# PostgreSQL text cannot hold NUL: text fields refuse it here rather than fail at the write.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000, pattern=NO_NUL)
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL)
]
CountryCode = Annotated[
    str,
    AfterValidator(vocabularies.country),
    WithJsonSchema({"type": "string", "enum": vocabularies.COUNTRY_CODES}),
]
RegionCode = Annotated[str, AfterValidator(vocabularies.region)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
# A schedule's hours are local times of its timezone: an offset given (09:00:00Z) is dropped, as
# PostgreSQL's time column always dropped it; past +-15:59 it made the write fail (a 500).
LocalTime = Annotated[
    dt.time,
    AfterValidator(lambda value: value.replace(tzinfo=None)),
    Field(description="A local time of the schedule's timezone (09:00); an offset is ignored"),
]
Longitude = Annotated[float, Field(ge=-180, le=180)]
PhoneType = Literal["voice", "text", "fax", "cell", "video", "pager", "textphone"]

# The most items of each list a listing may hold: far above any real listing, so that one
# document cannot make every read of it megabytes long (200 sites of 50 phones each made a
# read of 2.3 MB). The largest real listings, over 21,012 records of ../shared/datasets and
# the seed files: 3 sites, 5 phones, 23 languages, 23 needs, 10 costs, 5 crisis channels,
# 2 schedules (5 at a site), 4 accessibility codes at a site, 2 service areas, 1 contact.
MAX_ITEMS = {
    "needs": 50,  # the taxonomy has 36 codes
    "languages": 100,
    "phones": 20,
    "schedules": 30,  # a row a weekday and holidays
    "locations": 50,
    "service_areas": 20,
    "cost_options": 30,
    "crisis_channels": 10,
    "contacts": 20,
    "locations.phones": 20,
    "locations.schedules": 30,
    "locations.accessibility": 20,  # the vocabulary has 13 codes
    "contacts.phones": 5,
    "service_areas.regions": 100,  # every US state and territory is 56
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def one_of_given(*names: str, **shapes: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema rule that one of ``names`` is given (not null): what its validator
    checks, said in the schema so that a client (and a fuzzer) can know it."""
    choices = [{"required": [n], "properties": {n: {"type": "string"}}} for n in names]
    choices += [{"required": [n], "properties": {n: shape}} for n, shape in shapes.items()]
    return {"anyOf": choices}


class OrganizationIn(Strict):
    """A new organization, or ``{"id": ...}`` to link an existing one."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["id"], "maxProperties": 1, "properties": {"id": {"type": "string"}}},
                {
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}, "id": {"type": "null"}},
                },
            ]
        }
    )

    id: uuid.UUID | None = None
    name: ShortText | None = None
    alternate_name: ShortText | None = None
    description: Text | None = None
    email: ShortText | None = None
    url: HttpUrl | None = Field(default=None, description="The organization's website")

    @model_validator(mode="after")
    def _new_or_existing(self) -> Self:
        if self.id is None and self.name is None:
            raise ValueError("give the organization's name, or the id of an existing one")
        if self.id is not None and self.model_fields_set - {"id"}:
            raise ValueError("to link an existing organization give its id alone")
        return self


class PhoneIn(Strict):
    number: ShortText
    country: CountryCode = "US"
    extension: ShortText | None = None
    type: PhoneType = "voice"
    description: ShortText | None = None

    # The parsed number travels with the document (an import validates in a worker process).
    _dialable: DialableNumber | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _parse(self) -> Self:
        self._dialable = parse_phone(self.number, self.country)
        return self

    @property
    def dialable(self) -> DialableNumber:
        """The number's E.164, display and ``tel:`` forms."""
        return self._dialable or parse_phone(self.number, self.country)


class ContactIn(Strict):
    """A named person or desk to ask for (HSDS contact), with their own phones."""

    model_config = ConfigDict(
        json_schema_extra=one_of_given(
            "name", "title", "department", "email", phones={"type": "array", "minItems": 1}
        )
    )

    name: ShortText | None = None
    title: ShortText | None = None
    department: ShortText | None = None
    email: ShortText | None = None
    phones: list[PhoneIn] = Field(default_factory=list, max_length=MAX_ITEMS["contacts.phones"])

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.name or self.title or self.department or self.email or self.phones):
            raise ValueError("a contact needs a name, title, department, email or phone")
        return self


class LanguageIn(Strict):
    code: str = Field(description="ISO 639 code: 639-1 where one exists (es), else 639-3 (ase)")
    note: ShortText | None = None

    @field_validator("code")
    @classmethod
    def _iso639(cls, value: str) -> str:
        return vocabularies.language(value)[0]


def _accessibility_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = list(vocabularies.accessibility_codes())  # read when the schema is made


class AccessibilityIn(Strict):
    code: str = Field(json_schema_extra=_accessibility_enum)
    details: ShortText | None = None
    url: HttpUrl | None = None

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in vocabularies.accessibility_codes():
            known = ", ".join(vocabularies.accessibility_codes())
            raise ValueError(f"unknown accessibility code {value!r}; known: {known}")
        return value


class ScheduleIn(Strict):
    model_config = ConfigDict(json_schema_extra=one_of_given("freq", "description"))

    freq: Literal["WEEKLY", "MONTHLY", "DAILY", "YEARLY"] | None = None
    interval: int | None = Field(default=None, ge=1, le=366)
    byday: str | None = None
    bymonthday: ShortText | None = None
    byweekno: ShortText | None = None
    byyearday: ShortText | None = None
    wkst: Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"] | None = None
    dtstart: dt.date | None = None
    until: dt.date | None = None
    count: int | None = Field(default=None, ge=1, le=100_000)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    opens_at: LocalTime | None = None
    closes_at: LocalTime | None = None
    timezone: str | None = Field(default=None, description="IANA time zone, e.g. America/New_York")
    description: Text | None = Field(default=None, description="The hours as text; always kept")
    schedule_link: HttpUrl | None = None
    attending_type: ShortText | None = None
    notes: Text | None = None

    _byday = field_validator("byday")(lambda v: v if v is None else vocabularies.byday(v))
    _tz = field_validator("timezone")(lambda v: v if v is None else vocabularies.timezone(v))

    @model_validator(mode="after")
    def _something_to_say(self) -> Self:
        if self.freq is None and self.description is None:
            raise ValueError("a schedule needs structured fields (freq, ...) or a description")
        return self


class AddressIn(Strict):
    attention: ShortText | None = None
    address_1: ShortText | None = None
    address_2: ShortText | None = None
    city: ShortText | None = None
    region: ShortText | None = None
    state_province: ShortText | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = (
        None
    )
    country: CountryCode = "US"
    address_type: Literal["physical", "postal"] = "physical"


class LocationIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [  # both coordinates, or neither
                {
                    "required": ["latitude", "longitude"],
                    "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
                },
                {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
            ]
        }
    )

    name: ShortText | None = None
    location_type: Literal["physical", "postal", "virtual"] = "physical"
    description: Text | None = None
    transportation: Text | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    coordinates_approximate: bool = Field(
        default=False, description="True when the point is a ZIP centroid, not the address"
    )
    address: AddressIn | None = None
    accessibility: list[AccessibilityIn] = Field(
        default_factory=list, max_length=MAX_ITEMS["locations.accessibility"]
    )
    phones: list[PhoneIn] = Field(default_factory=list, max_length=MAX_ITEMS["locations.phones"])
    schedules: list[ScheduleIn] = Field(
        default_factory=list, max_length=MAX_ITEMS["locations.schedules"]
    )

    @model_validator(mode="after")
    def _both_coordinates(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


class ServiceAreaIn(Strict):
    name: ShortText
    description: Text | None = None
    regions: list[RegionCode] = Field(
        default_factory=list, max_length=MAX_ITEMS["service_areas.regions"]
    )


class CostOptionIn(Strict):
    option: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    amount_description: ShortText | None = None
    description: ShortText | None = Field(default=None, description="Stored as amount_description")


class CrisisChannelIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [  # a chat has its url; a call or a text, its number and country
                {
                    "required": ["url"],
                    "properties": {"channel": {"const": "chat"}, "url": {"type": "string"}},
                },
                {
                    "required": ["number", "country"],
                    "properties": {
                        "channel": {"enum": ["call", "text"]},
                        "number": {"type": "string"},
                        "country": {"type": "string"},
                    },
                },
            ]
        }
    )

    channel: Literal["call", "text", "chat"]
    number: ShortText | None = None
    country: CountryCode | None = None
    keyword: ShortText | None = None
    url: HttpUrl | None = None
    hours: ShortText | None = None
    open_24_7: bool = False
    description: ShortText | None = None
    _dialable: DialableNumber | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.channel == "chat" and self.url is None:
            raise ValueError("a chat channel needs a url")
        if self.channel != "chat" and (self.number is None or self.country is None):
            raise ValueError(f"a {self.channel} channel needs a number and its country")
        if self.number is not None and self.country is not None:  # a chat's number is dialled too
            self._dialable = parse_phone(self.number, self.country)
        return self

    @property
    def dialable(self) -> DialableNumber | None:
        """The call or text number's forms (None for chat)."""
        if self.number is None or self.country is None:
            return None
        return self._dialable or parse_phone(self.number, self.country)


class ProvenanceIn(Strict):
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    source_url: HttpUrl | None = None


class ServiceFields(Strict):
    """Fields shared by create and update: everything of a listing but its identity."""

    alternate_name: ShortText | None = None
    description: Text | None = None
    url: HttpUrl | None = None
    email: ShortText | None = None
    interpretation_services: Text | None = None
    application_process: Text | None = None
    fees_description: Text | None = None
    eligibility_description: Text | None = None
    minimum_age: int | None = Field(default=None, ge=0, le=130)
    maximum_age: int | None = Field(default=None, ge=0, le=130)
    alert: Text | None = None
    capacity_status: CapacityStatus | None = Field(
        default=None,
        description="Whether the service takes new clients (accepting, waitlist, full, unknown);"
        " a change is dated in capacity_updated_at",
    )


# The child lists of a listing: given in a document, each replaces the stored list whole.
LIST_FIELDS = (
    "needs",
    "languages",
    "phones",
    "schedules",
    "locations",
    "service_areas",
    "cost_options",
    "crisis_channels",
    "contacts",
)
# A listing's own columns that documents set (the service row, beside its lists).
SCALAR_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "curation_status",
    "interpretation_services",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "alert",
    "capacity_status",
)
NOT_NULL_ON_UPDATE = ("name", "status", "curation_status", *LIST_FIELDS)


class ServiceCreate(ServiceFields):
    """A whole listing in one nested document (also the seed file format)."""

    name: ShortText
    status: ServiceStatus = "active"
    curation_status: CurationStatus = "published"
    organization: OrganizationIn
    needs: list[NeedCode] = Field(default_factory=list, max_length=MAX_ITEMS["needs"])
    inferred_needs: list[NeedCode] = Field(
        default_factory=list,
        max_length=MAX_ITEMS["needs"],
        description="The needs (of `needs`) that an import inferred from the name and "
        "description, the source giving none",
    )
    languages: list[LanguageIn] = Field(default_factory=list, max_length=MAX_ITEMS["languages"])
    phones: list[PhoneIn] = Field(default_factory=list, max_length=MAX_ITEMS["phones"])
    schedules: list[ScheduleIn] = Field(default_factory=list, max_length=MAX_ITEMS["schedules"])
    locations: list[LocationIn] = Field(default_factory=list, max_length=MAX_ITEMS["locations"])
    service_areas: list[ServiceAreaIn] = Field(
        default_factory=list, max_length=MAX_ITEMS["service_areas"]
    )
    cost_options: list[CostOptionIn] = Field(
        default_factory=list, max_length=MAX_ITEMS["cost_options"]
    )
    crisis_channels: list[CrisisChannelIn] = Field(
        default_factory=list, max_length=MAX_ITEMS["crisis_channels"]
    )
    contacts: list[ContactIn] = Field(default_factory=list, max_length=MAX_ITEMS["contacts"])
    provenance: ProvenanceIn | None = None

    @model_validator(mode="after")
    def _inferred_are_needs(self) -> Self:
        stray = [code for code in self.inferred_needs if code not in self.needs]
        if stray:
            raise ValueError(f"inferred_needs not in needs: {', '.join(stray)}")
        return self


def _not_nullable(schema: dict[str, Any]) -> None:
    """Fields an update may leave out but not set to null (the validator below refuses it)."""
    for name in NOT_NULL_ON_UPDATE:
        field = schema["properties"][name]
        choices = [c for c in field.pop("anyOf") if c != {"type": "null"}]
        field.pop("default", None)
        field.update(choices[0])


class ServiceUpdate(ServiceFields):
    """A partial update: fields left out stay; a list given replaces the whole list."""

    model_config = ConfigDict(json_schema_extra=_not_nullable)

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        nulled = [
            f for f in NOT_NULL_ON_UPDATE if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulled:
            raise ValueError(f"cannot be null (send [] to empty a list): {', '.join(nulled)}")
        return self

    name: ShortText | None = None
    status: ServiceStatus | None = None
    curation_status: CurationStatus | None = None
    needs: list[NeedCode] | None = Field(default=None, max_length=MAX_ITEMS["needs"])
    languages: list[LanguageIn] | None = Field(default=None, max_length=MAX_ITEMS["languages"])
    phones: list[PhoneIn] | None = Field(default=None, max_length=MAX_ITEMS["phones"])
    schedules: list[ScheduleIn] | None = Field(default=None, max_length=MAX_ITEMS["schedules"])
    locations: list[LocationIn] | None = Field(default=None, max_length=MAX_ITEMS["locations"])
    service_areas: list[ServiceAreaIn] | None = Field(
        default=None, max_length=MAX_ITEMS["service_areas"]
    )
    cost_options: list[CostOptionIn] | None = Field(
        default=None, max_length=MAX_ITEMS["cost_options"]
    )
    crisis_channels: list[CrisisChannelIn] | None = Field(
        default=None, max_length=MAX_ITEMS["crisis_channels"]
    )
    contacts: list[ContactIn] | None = Field(default=None, max_length=MAX_ITEMS["contacts"])
