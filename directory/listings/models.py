"""The HSDS 3.0 tables, with our additions (provenance, curation, crisis channels, versions)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.db import Base, IdMixin, TimestampMixin

SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
CURATION_STATUSES = ("draft", "published", "archived")
# FHIR SDOH / HSDS 3.1 service capacity, as a coordinator last heard it
CAPACITY_STATUSES = ("accepting", "waitlist", "full", "unknown")
VERIFICATION_METHODS = ("phone", "website", "email", "visit", "import")
LOCATION_TYPES = ("physical", "postal", "virtual")
PHONE_TYPES = ("voice", "text", "fax", "cell", "video", "pager", "textphone")
CHANNELS = ("call", "text", "chat")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _parent(table: str, *, nullable: bool = True) -> Mapped[Any]:
    return mapped_column(
        ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


class Organization(IdMixin, TimestampMixin, Base):
    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)

    services: Mapped[list[Service]] = relationship(back_populates="organization", lazy="raise")


class Service(IdMixin, TimestampMixin, Base):
    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint(_in("status", SERVICE_STATUSES), name="status"),
        CheckConstraint(_in("curation_status", CURATION_STATUSES), name="curation_status"),
        CheckConstraint(_in("capacity_status", CAPACITY_STATUSES), name="capacity_status"),
        CheckConstraint(
            _in("verification_method", VERIFICATION_METHODS), name="verification_method"
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="active")
    interpretation_services: Mapped[str | None] = mapped_column(Text)
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    alert: Mapped[str | None] = mapped_column(Text)
    # Curation (ours): draft | published | archived, and who last checked the listing and when.
    curation_status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[str | None] = mapped_column(Text)
    verification_method: Mapped[str | None] = mapped_column(String(16))
    verification_note: Mapped[str | None] = mapped_column(Text)
    capacity_status: Mapped[str | None] = mapped_column(String(16))
    capacity_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    organization: Mapped[Organization] = relationship(back_populates="services", lazy="raise")
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="service", lazy="raise", cascade="all, delete-orphan"
    )
    phones: Mapped[list[Phone]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Phone.position"
    )
    schedules: Mapped[list[Schedule]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Schedule.position"
    )
    languages: Mapped[list[Language]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Language.position"
    )
    service_areas: Mapped[list[ServiceArea]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ServiceArea.position"
    )
    cost_options: Mapped[list[CostOption]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="CostOption.position"
    )
    crisis_channels: Mapped[list[CrisisChannel]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="CrisisChannel.position"
    )
    contacts: Mapped[list[Contact]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Contact.position"
    )
    provenance: Mapped[list[Provenance]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="[Provenance.created_at, Provenance.id]",  # the id: a stable order of equals
    )


class Location(IdMixin, TimestampMixin, Base):
    __tablename__ = "location"
    __table_args__ = (
        CheckConstraint(_in("location_type", LOCATION_TYPES), name="location_type"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="both_coordinates"),
        Index("ix_location_point", "point", postgresql_using="gist"),
    )

    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    location_type: Mapped[str] = mapped_column(String(16), default="physical")
    name: Mapped[str | None] = mapped_column(Text)
    alternate_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    # Derived from latitude/longitude by the database, so the two can never disagree.
    point: Mapped[Any] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False),
        Computed(
            "CASE WHEN latitude IS NOT NULL THEN "
            "ST_SetSRID(ST_MakePoint(longitude::float8, latitude::float8), 4326)::geography END",
            persisted=True,
        ),
        nullable=True,
    )
    coordinates_approximate: Mapped[bool] = mapped_column(default=False)

    organization: Mapped[Organization | None] = relationship(lazy="raise")
    addresses: Mapped[list[Address]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="[Address.address_type, Address.id]",  # the id: a stable order of equals
    )
    accessibility: Mapped[list[Accessibility]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Accessibility.position"
    )
    phones: Mapped[list[Phone]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Phone.position"
    )
    schedules: Mapped[list[Schedule]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Schedule.position"
    )


class ServiceAtLocation(IdMixin, TimestampMixin, Base):
    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    service_id: Mapped[uuid.UUID] = _parent("service", nullable=False)
    location_id: Mapped[uuid.UUID] = _parent("location", nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    service: Mapped[Service] = relationship(back_populates="service_at_locations", lazy="raise")
    location: Mapped[Location] = relationship(lazy="raise")


class Address(IdMixin, Base):
    __tablename__ = "address"
    __table_args__ = (CheckConstraint(_in("address_type", LOCATION_TYPES), name="address_type"),)

    location_id: Mapped[uuid.UUID] = _parent("location", nullable=False)
    attention: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str | None] = mapped_column(Text)
    address_2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    state_province: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(Text, index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    address_type: Mapped[str] = mapped_column(String(16), default="physical")


class Phone(IdMixin, Base):
    __tablename__ = "phone"
    __table_args__ = (CheckConstraint(_in("type", PHONE_TYPES), name="type"),)

    service_id: Mapped[uuid.UUID | None] = _parent("service")
    location_id: Mapped[uuid.UUID | None] = _parent("location")
    number: Mapped[str] = mapped_column(Text)  # as the source printed it
    extension: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="voice")
    description: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    e164: Mapped[str | None] = mapped_column(Text)  # None for short codes such as 988
    display: Mapped[str] = mapped_column(Text)
    tel_uri: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Contact(IdMixin, Base):
    """HSDS contact: a named person or desk at a service, with their phones (kept as parsed
    JSON: ``number``, ``extension``, ``type``, ``display``, ``tel_uri``, ``e164``)."""

    __tablename__ = "contact"

    service_id: Mapped[uuid.UUID] = _parent("service", nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ListingChange(IdMixin, Base):
    """One change of one field of a listing, in the shape of HSDS 3.0's ``metadata`` table
    (resource, field, previous and replacement value, who, when, what action); ``service_id``
    is the listing it belongs to, whichever of its parts the resource is."""

    __tablename__ = "listing_change"
    __table_args__ = (Index("ix_listing_change_service_date", "service_id", "last_action_date"),)

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), nullable=False
    )
    resource_id: Mapped[uuid.UUID] = mapped_column()
    resource_type: Mapped[str] = mapped_column(String(32))
    last_action_date: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_action_type: Mapped[str] = mapped_column(String(32))
    field_name: Mapped[str] = mapped_column(Text)
    previous_value: Mapped[str | None] = mapped_column(Text)
    replacement_value: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(Text)


class Schedule(IdMixin, Base):
    """HSDS 3.0 schedule (RRULE fields), with an IANA time zone and the free text kept always."""

    __tablename__ = "schedule"

    service_id: Mapped[uuid.UUID | None] = _parent("service")
    location_id: Mapped[uuid.UUID | None] = _parent("location")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    dtstart: Mapped[dt.date | None] = mapped_column(Date)
    timezone: Mapped[str | None] = mapped_column(Text)
    until: Mapped[dt.date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    wkst: Mapped[str | None] = mapped_column(String(2))
    freq: Mapped[str | None] = mapped_column(String(8))
    interval: Mapped[int | None] = mapped_column(Integer)
    byday: Mapped[str | None] = mapped_column(Text)
    byweekno: Mapped[str | None] = mapped_column(Text)
    bymonthday: Mapped[str | None] = mapped_column(Text)
    byyearday: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[dt.time | None] = mapped_column(Time)
    closes_at: Mapped[dt.time | None] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(Text)
    schedule_link: Mapped[str | None] = mapped_column(Text)
    attending_type: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Language(IdMixin, Base):
    __tablename__ = "language"

    service_id: Mapped[uuid.UUID | None] = _parent("service")
    location_id: Mapped[uuid.UUID | None] = _parent("location")
    code: Mapped[str] = mapped_column(String(3), index=True)  # ISO 639-1, else 639-3
    name: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Accessibility(IdMixin, Base):
    __tablename__ = "accessibility"

    location_id: Mapped[uuid.UUID] = _parent("location", nullable=False)
    code: Mapped[str] = mapped_column(String(32), index=True)  # from seed_data/accessibility.yaml
    details: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ServiceArea(IdMixin, Base):
    __tablename__ = "service_area"
    __table_args__ = (
        Index("ix_service_area_regions", "regions", postgresql_using="gin"),
        Index("ix_service_area_extent", "extent", postgresql_using="gist"),
    )

    service_id: Mapped[uuid.UUID] = _parent("service", nullable=False)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    regions: Mapped[list[str]] = mapped_column(ARRAY(String(8)), default=list)  # ISO 3166
    extent: Mapped[Any] = mapped_column(
        Geography("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class CostOption(IdMixin, Base):
    __tablename__ = "cost_option"

    service_id: Mapped[uuid.UUID] = _parent("service", nullable=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    option: Mapped[str] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    amount_description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Taxonomy(IdMixin, Base):
    __tablename__ = "taxonomy"

    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)


class TaxonomyTerm(IdMixin, Base):
    __tablename__ = "taxonomy_term"
    __table_args__ = (UniqueConstraint("taxonomy_id", "code"),)

    taxonomy_id: Mapped[uuid.UUID] = _parent("taxonomy", nullable=False)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("taxonomy_term.id", ondelete="SET NULL"), index=True
    )
    term_uri: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Attribute(IdMixin, Base):
    """HSDS attribute: links a taxonomy term (a need) to a record; ``value`` keeps the raw value."""

    __tablename__ = "attribute"
    __table_args__ = (
        UniqueConstraint("link_entity", "link_id", "taxonomy_term_id"),
        Index("ix_attribute_link", "link_entity", "link_id"),
    )

    link_id: Mapped[uuid.UUID] = mapped_column()
    link_type: Mapped[str | None] = mapped_column(Text)
    link_entity: Mapped[str] = mapped_column(String(32))
    taxonomy_term_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("taxonomy_term.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)


class CrisisChannel(IdMixin, Base):
    """How to reach a crisis line: call or text a number (with a keyword), or chat at a URL."""

    __tablename__ = "crisis_channel"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint("channel = 'chat' OR tel_uri IS NOT NULL", name="number_for_call_text"),
        CheckConstraint("channel <> 'chat' OR url IS NOT NULL", name="url_for_chat"),
    )

    service_id: Mapped[uuid.UUID] = _parent("service", nullable=False)
    channel: Mapped[str] = mapped_column(String(8))
    number: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    e164: Mapped[str | None] = mapped_column(Text)
    display: Mapped[str | None] = mapped_column(Text)
    tel_uri: Mapped[str | None] = mapped_column(Text)
    keyword: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[str | None] = mapped_column(Text)
    open_24_7: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Provenance(IdMixin, Base):
    """Where a listing came from; ``(source, external_id)`` is unique; a merge keeps several."""

    __tablename__ = "provenance"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    service_id: Mapped[uuid.UUID] = _parent("service", nullable=False)
    source: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(32), index=True)  # ingest format of ``raw``
    retrieved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class SearchOutbox(Base):
    """What changed for the search index, written in the same transaction as the change."""

    __tablename__ = "search_outbox"
    __table_args__ = (
        Index("ix_search_outbox_pending", "id", postgresql_where=text("processed_at IS NULL")),
        Index(
            "ix_search_outbox_meili_pending", "id", postgresql_where=text("meili_synced_at IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID] = mapped_column()
    operation: Mapped[str] = mapped_column(String(16))  # upsert | delete
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # postgres
    meili_synced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
