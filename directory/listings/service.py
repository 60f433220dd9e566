"""Listing commands: create, update, verify, archive and idempotent upsert by provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.errors import Conflict, InvalidInput, PreconditionFailed
from directory.listings import queries
from directory.listings.children import replace_lists
from directory.listings.models import Organization, Provenance, SearchOutbox, Service
from directory.listings.schemas import LIST_FIELDS, ProvenanceIn, ServiceCreate, ServiceUpdate

# Ids derived from provenance are stable: re-seeding or re-importing finds the same rows.
ID_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-4f0e-9a57-0d3b1f6c2e41")
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
)
Outcome = Literal["created", "updated", "unchanged"]
Verification = tuple[dt.datetime, str]


def stable_id(*parts: str) -> uuid.UUID:
    """A UUID derived from its parts (same parts, same id)."""
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


def create_service(
    session: Session,
    doc: ServiceCreate,
    *,
    content_hash: str | None = None,
    verified: Verification | None = None,
) -> Service:
    """Create a whole listing from one nested document."""
    service_id = uuid.uuid4()
    if doc.provenance:
        source, external_id = doc.provenance.source, doc.provenance.external_id
        if _provenance_of(session, doc.provenance) is not None:
            raise Conflict(
                f"a listing from {source} with id {external_id} exists", field="provenance"
            )
        service_id = stable_id("service", source, external_id)
    service = Service(id=service_id, version=1)
    with session.no_autoflush:  # build the whole listing, then write it at once
        service.organization = _organization(session, doc)
        _set_scalars(service, doc.model_dump(include=set(SCALAR_FIELDS)))
        if verified:
            service.last_verified_at, service.verified_by = verified
        replace_lists(session, service, doc, fields=LIST_FIELDS)
        if doc.provenance:
            service.provenance = [_provenance(doc.provenance, content_hash)]
    session.add(service)
    session.flush()
    _record_change(session, service.id)
    return service


def update_service(
    session: Session, service_id: uuid.UUID, patch: ServiceUpdate, *, expected_version: int | None
) -> Service:
    """Apply a partial update when the caller has seen the current version (None: any)."""
    service = _claim(session, service_id, expected_version)
    given = patch.model_fields_set
    lists = tuple(f for f in LIST_FIELDS if f in given)
    replace_lists(session, service, patch, fields=lists)
    # Scalars last: the service row is written once, by _touch, so the version moves by one.
    _set_scalars(service, patch.model_dump(include=given & set(SCALAR_FIELDS)))
    return _touch(session, service)


def verify_service(
    session: Session, service_id: uuid.UUID, *, by: str, expected_version: int | None
) -> Service:
    """Record that someone checked this version of the listing just now."""
    service = _claim(session, service_id, expected_version)
    service.last_verified_at = dt.datetime.now(dt.UTC)
    service.verified_by = by
    return _touch(session, service)


def archive_service(
    session: Session, service_id: uuid.UUID, *, expected_version: int | None
) -> Service:
    """Take a listing out of search and listings for mentors; nothing is deleted."""
    service = _claim(session, service_id, expected_version)
    service.curation_status = "archived"
    return _touch(session, service)


def upsert_listing(
    session: Session, doc: ServiceCreate, *, verified: Verification | None = None
) -> tuple[Outcome, uuid.UUID]:
    """Create or update the listing keyed by the document's provenance; unchanged when equal.

    A curator's curation status stays unless the document sets one itself.
    """
    if doc.provenance is None:
        raise InvalidInput("an upserted listing needs provenance", field="provenance")
    digest = hashlib.sha256(doc.model_dump_json().encode()).hexdigest()
    found = _provenance_of(session, doc.provenance)
    if found is None:
        service = create_service(session, doc, content_hash=digest, verified=verified)
        return "created", service.id
    if found.content_hash == digest:
        return "unchanged", found.service_id
    service = _claim(session, found.service_id, None)
    replace_lists(session, service, doc, fields=LIST_FIELDS)
    service.organization = _organization(session, doc)
    kept = {"curation_status"} - doc.model_fields_set
    _set_scalars(service, doc.model_dump(include=set(SCALAR_FIELDS) - kept))
    if verified:
        service.last_verified_at, service.verified_by = verified
    found.content_hash = digest
    found.source_url = str(doc.provenance.source_url) if doc.provenance.source_url else None
    _touch(session, service)
    return "updated", service.id


# ---- helpers ---------------------------------------------------------------------------------


def _claim(session: Session, service_id: uuid.UUID, expected_version: int | None) -> Service:
    """Load and lock the listing, then check the caller's version: a racing writer waits here."""
    service = queries.load_service(session, service_id, for_update=True)
    if expected_version is not None and service.version != expected_version:
        raise PreconditionFailed(
            f"listing is at version {service.version}, not {expected_version}: reload and retry"
        )
    return service


def _touch(session: Session, service: Service) -> Service:
    service.updated_at = func.now()  # also bumps the version
    session.flush()
    _record_change(session, service.id)
    session.refresh(service, ["updated_at", "version"])
    return service


def _record_change(session: Session, service_id: uuid.UUID) -> None:
    session.add(SearchOutbox(entity="service", entity_id=service_id, operation="upsert"))


def _set_scalars(service: Service, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(service, name, str(value) if name == "url" and value is not None else value)


def _provenance_of(session: Session, doc: ProvenanceIn) -> Provenance | None:
    query = select(Provenance).where(
        Provenance.source == doc.source, Provenance.external_id == doc.external_id
    )
    return session.scalars(query).one_or_none()


def _organization(session: Session, doc: ServiceCreate) -> Organization:
    """The linked organization, or the document's own.

    Imported listings share the organization of the same name within their source (and update
    it); a listing created through the API gets a new one unless it links an existing id.
    """
    given = doc.organization
    if given.id is not None:
        linked = session.get(Organization, given.id)
        if linked is None:
            raise InvalidInput(f"no organization {given.id}", field="organization.id")
        return linked
    assert given.name is not None  # OrganizationIn requires a name or an id
    fields = given.model_dump(exclude={"id", "url"})
    fields["website"] = str(given.url) if given.url else None
    if doc.provenance is None:
        organization = Organization(id=uuid.uuid4(), **fields)
        session.add(organization)
        return organization
    org_id = stable_id("organization", doc.provenance.source, given.name.casefold())
    organization = session.get(Organization, org_id) or Organization(id=org_id)
    for name, value in fields.items():
        setattr(organization, name, value)
    session.add(organization)
    return organization


def _provenance(doc: ProvenanceIn, content_hash: str | None) -> Provenance:
    return Provenance(
        source=doc.source,
        external_id=doc.external_id,
        content_hash=content_hash,
        source_url=str(doc.source_url) if doc.source_url else None,
        retrieved_at=dt.datetime.now(dt.UTC),
    )
