"""What the API shows of a listing: ``ServiceRead`` and its parts, ``ServicePage``, ``NeedRead``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, computed_field

from directory.listings.demo import is_demo

# A schedule's hours are local times of its timezone, without an offset (08:00:00): JSON
# Schema's "time" format requires one.
LocalTime = Annotated[
    dt.time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?$",
            "description": "A local time of the schedule's timezone",
        }
    ),
]


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganizationRead(Read):
    id: uuid.UUID
    name: str
    alternate_name: str | None
    description: str | None
    email: str | None
    website: str | None


class PhoneRead(Read):
    id: uuid.UUID
    number: str
    display: str
    tel_uri: str
    e164: str | None
    country: str
    extension: str | None
    type: str
    description: str | None


class ContactPhoneRead(BaseModel):
    number: str
    display: str
    tel_uri: str
    e164: str | None = None
    extension: str | None = None
    type: str = "voice"
    description: str | None = None


class ContactRead(Read):
    name: str | None
    title: str | None
    department: str | None
    email: str | None
    phones: list[ContactPhoneRead]


class LanguageRead(Read):
    code: str
    name: str
    note: str | None


class AccessibilityRead(Read):
    code: str
    details: str | None
    url: str | None


class ScheduleRead(Read):
    id: uuid.UUID
    freq: str | None
    interval: int | None
    byday: str | None
    bymonthday: str | None
    byweekno: str | None
    byyearday: str | None
    wkst: str | None
    dtstart: dt.date | None
    until: dt.date | None
    count: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    opens_at: LocalTime | None
    closes_at: LocalTime | None
    timezone: str | None
    description: str | None
    schedule_link: str | None
    attending_type: str | None
    notes: str | None


class AddressRead(Read):
    attention: str | None
    address_1: str | None
    address_2: str | None
    city: str | None
    region: str | None
    state_province: str | None
    postal_code: str | None
    country: str | None
    address_type: str


class LocationRead(Read):
    id: uuid.UUID
    service_at_location_id: uuid.UUID
    name: str | None
    location_type: str
    description: str | None
    transportation: str | None
    latitude: float | None
    longitude: float | None
    coordinates_approximate: bool
    addresses: list[AddressRead]
    accessibility: list[AccessibilityRead]
    phones: list[PhoneRead]
    schedules: list[ScheduleRead]


class ServiceAreaRead(Read):
    name: str
    description: str | None
    regions: list[str]


class CostOptionRead(Read):
    option: str
    amount: Decimal | None
    currency: str | None
    amount_description: str | None


class CrisisChannelRead(Read):
    channel: str
    number: str | None
    display: str | None
    tel_uri: str | None
    e164: str | None
    country: str | None
    keyword: str | None
    url: str | None
    hours: str | None
    open_24_7: bool
    description: str | None


class NeedRef(BaseModel):
    code: str
    name: str
    inferred: bool = Field(
        default=False,
        description="Inferred by an import from the listing's name and description (its source "
        "gave no needs), not stated by the source or a curator",
    )


class ProvenanceRead(Read):
    source: str
    external_id: str
    source_url: str | None
    retrieved_at: dt.datetime | None


class VerificationRead(BaseModel):
    last_verified_at: dt.datetime | None
    verified_by: str | None = Field(
        description="Who verified it (a staff email): shown to coordinators and admins only"
    )


class ServiceRead(Read):
    id: uuid.UUID
    name: str
    alternate_name: str | None
    description: str | None
    url: str | None
    email: str | None
    status: str
    curation_status: str
    interpretation_services: str | None
    application_process: str | None
    fees_description: str | None
    eligibility_description: str | None
    minimum_age: int | None
    maximum_age: int | None
    alert: str | None
    capacity_status: str | None = None
    capacity_updated_at: dt.datetime | None = None
    verification_method: str | None = None  # how it was last checked: phone, website, ...
    verification_note: str | None = None
    organization: OrganizationRead
    needs: list[NeedRef]
    languages: list[LanguageRead]
    phones: list[PhoneRead]
    schedules: list[ScheduleRead]
    locations: list[LocationRead]
    service_areas: list[ServiceAreaRead]
    cost_options: list[CostOptionRead]
    crisis_channels: list[CrisisChannelRead]
    contacts: list[ContactRead] = Field(default_factory=list)
    provenance: list[ProvenanceRead]
    verification: VerificationRead
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def demo(self) -> bool:
        """Fictional demo data (from the demo seed): shown with a "Demo" badge."""
        return is_demo(link.source for link in self.provenance)


class ServicePage(BaseModel):
    items: list[ServiceRead]
    page: int
    per_page: int
    total: int


class NeedRead(BaseModel):
    code: str
    name: str
    description: str | None
    children: list[NeedRead] = Field(default_factory=list)
