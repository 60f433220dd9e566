"""Listing commands: create, update, and idempotent upsert by provenance (verifying and the
curation moves are in ``curating``).

Each records what it changed in the listing's history (``history``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from directory.errors import Conflict, InvalidInput, PreconditionFailed
from directory.listings import history, queries
from directory.listings.models import (
    ListingChange,
    Organization,
    Provenance,
    SearchOutbox,
    Service,
)
from directory.listings.rows import JsonText, Rows, delete_lists, service_lists
from directory.listings.schemas import (
    LIST_FIELDS,
    SCALAR_FIELDS,
    ProvenanceIn,
    ServiceCreate,
    ServiceUpdate,
)
from directory.listings.taxonomy import resolve_needs

# Ids derived from provenance are stable: re-seeding or re-importing finds the same rows.
ID_NAMESPACE = uuid.UUID("6f1c8a52-3c1e-4f0e-9a57-0d3b1f6c2e41")
Outcome = Literal["created", "updated", "unchanged"]
Verification = tuple[dt.datetime, str]
# Columns of a listing that its read form does not carry (yet), kept in its history all the same.
UNREAD = ("capacity_status", "capacity_updated_at", "verification_method", "verification_note")
# Who made a change made without saying (a caller that passes no ``by``).
UNKNOWN = "unknown"


@dataclass
class Origin:
    """Where a document came from, for its provenance link: the raw record, the format that read
    it, its digest, and when a curator last checked it."""

    raw: dict[str, Any] | None = None
    raw_json: str | None = None  # ``raw`` already serialised, when the caller has it
    format: str | None = None
    content_hash: str | None = None
    verified: Verification | None = None


class IdKeeper(Protocol):
    """Chooses the ids a rewritten listing keeps (an import's: ``ingest.keep_ids``)."""

    def mark(self, rows: Rows) -> None:
        """Called before a listing's rows are queued."""

    def rewritten(
        self, session: Session, rows: Rows, service_id: uuid.UUID, organization_id: uuid.UUID
    ) -> uuid.UUID:
        """Called once they are: may swap ids in them; returns the listing's organization."""
        ...


def stable_id(*parts: str) -> uuid.UUID:
    """A UUID derived from its parts (same parts, same id)."""
    return uuid.uuid5(ID_NAMESPACE, "\x1f".join(parts))


def create_service(
    session: Session,
    doc: ServiceCreate,
    *,
    origin: Origin | None = None,
    rows: Rows | None = None,
    by: str = UNKNOWN,
) -> uuid.UUID:
    """Create a whole listing from one nested document; returns its id.

    Given ``rows``, the listing is only queued there, for a bulk import to write in batches (and
    its creation is not recorded in its history: ``Rows`` does not write ``listing_change``).
    """
    service_id = uuid.uuid4()
    if doc.provenance:
        source, external_id = doc.provenance.source, doc.provenance.external_id
        if rows is None and _provenance_of(session, doc.provenance) is not None:
            raise Conflict(
                f"a listing from {source} with id {external_id} exists", field="provenance"
            )
        service_id = stable_id("service", source, external_id)
    origin = origin or Origin()
    queue = rows if rows is not None else Rows()
    need_ids = resolve_needs(session, doc.needs)
    organization_id = _organization(session, doc, queue)
    queue.add(Service, **_service_row(service_id, organization_id, doc, origin))
    service_lists(queue, service_id, organization_id, doc, LIST_FIELDS, need_ids)
    if doc.provenance:
        queue.add(Provenance, **provenance_row(service_id, doc, origin))
    queue.add(SearchOutbox, entity="service", entity_id=service_id, operation="upsert")
    queue.add(ListingChange, **history.created_row(service_id, doc.name, by=by))
    if rows is None:
        queue.write(session)
    return service_id


def update_service(
    session: Session,
    service_id: uuid.UUID,
    patch: ServiceUpdate,
    *,
    expected_version: int | None,
    by: str = UNKNOWN,
) -> Service:
    """Apply a partial update when the caller has seen the current version (None: any)."""
    service = claim(session, service_id, expected_version)
    before = _state(session, service)
    given = patch.model_fields_set
    _replace_lists(session, service, patch, tuple(f for f in LIST_FIELDS if f in given))
    _set_scalars(service, patch.model_dump(include=given & set(SCALAR_FIELDS)))
    if "capacity_status" in given:
        service.capacity_updated_at = dt.datetime.now(dt.UTC)
    touch(session, service)
    after = _state(session, service)
    history.record_changes(session, service_id, before, after, by=by, action="update")
    return service


def upsert_listing(
    session: Session, doc: ServiceCreate, *, origin: Origin | None = None
) -> tuple[Outcome, uuid.UUID]:
    """Create or update the listing keyed by the document's provenance; unchanged when equal."""
    if doc.provenance is None:
        raise InvalidInput("an upserted listing needs provenance", field="provenance")
    origin = origin or Origin()
    origin.content_hash = origin.content_hash or content_hash(doc)
    found = _provenance_of(session, doc.provenance)
    if found is None:
        return "created", create_service(session, doc, origin=origin)
    if found.content_hash == origin.content_hash:
        return "unchanged", found.service_id
    record_origin(found, doc, origin)
    apply_document(session, found.service_id, doc, verified=origin.verified)
    return "updated", found.service_id


def apply_document(
    session: Session,
    service_id: uuid.UUID,
    doc: ServiceCreate,
    *,
    verified: Verification | None = None,
    by: str | None = None,
) -> None:
    """Rewrite one listing from a whole document (a re-import); see ``rewrite_services``."""
    rewrite_services(session, {service_id: doc}, verified=verified, by=by)


def rewrite_services(
    session: Session,
    docs: dict[uuid.UUID, ServiceCreate],
    *,
    verified: Verification | None = None,
    by: str | None = None,
    keep: IdKeeper | None = None,
) -> None:
    """Rewrite listings from whole documents in bulk; provenance links are left as they are.

    Each listing's version moves by one. The curation status stays as curators set it. The
    columns that changed (not the lists: see ``history.SNAPSHOT_COLUMNS``) are recorded in each
    listing's history as an import by ``by``, else by the source of its document. A column that
    someone edited by hand since the listing's last import keeps their value: what the import
    says instead waits in the review queue as a suggestion. Organization, locations and
    services-at-location are ours anew unless ``keep`` chooses their ids.
    """
    if not docs:
        return
    ids = list(docs)
    session.flush()
    session.execute(select(Service.id).where(Service.id.in_(ids)).with_for_update())
    need_ids = resolve_needs(session, {code for doc in docs.values() for code in doc.needs})
    rows = Rows()
    updates = []
    for service_id, doc in docs.items():
        if keep is not None:
            keep.mark(rows)
        organization_id = _organization(session, doc, rows)
        service_lists(rows, service_id, organization_id, doc, LIST_FIELDS, need_ids)
        if keep is not None:
            organization_id = keep.rewritten(session, rows, service_id, organization_id)
        rows.add(SearchOutbox, entity="service", entity_id=service_id, operation="upsert")
        row = _service_row(service_id, organization_id, doc, Origin(verified=verified))
        row.pop("curation_status")  # curators' own: a re-import keeps it
        row.pop("version")
        updates.append({"_" + k: v for k, v in row.items()})
    delete_lists(session, ids, LIST_FIELDS)
    rows.write(session)
    if verified is None:
        for update_row in updates:
            update_row.pop("_last_verified_at"), update_row.pop("_verified_by")
    table: Any = Service.__table__
    columns: dict[str, Any] = {k[1:]: bindparam(k) for k in updates[0] if k != "_id"}
    before = history.stored_columns(session, ids, list(columns))
    for values in updates:  # a file that says nothing of capacity keeps what is known
        if values["_capacity_status"] is None:
            values["_capacity_status"] = before[values["_id"]]["capacity_status"]
    # its date moves only when the capacity does
    columns["capacity_updated_at"] = case(
        (
            table.c.capacity_status.is_distinct_from(bindparam("_capacity_status")),
            func.coalesce(bindparam("_capacity_updated_at"), func.now()),
        ),
        else_=table.c.capacity_updated_at,
    )
    history.keep_hand_edits(session, updates, before, by)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values(**columns, version=table.c.version + 1, updated_at=func.now()),
        updates,
    )
    changes = []
    for values in updates:
        service_id, old = values["_id"], before[values["_id"]]
        new = {name: values["_" + name] for name in old}
        changes.append((service_id, old, new, by or _source(docs[service_id])))
    history.record_many(session, changes, action="import")


def _source(doc: ServiceCreate) -> str:
    return doc.provenance.source if doc.provenance else "import"


def record_origin(link: Provenance, doc: ServiceCreate, origin: Origin) -> None:
    """Keep what a provenance link now says: digest, raw record, format, URL, time."""
    values = provenance_row(link.service_id, doc, origin) if doc.provenance else {}
    for name in ("content_hash", "raw", "format", "source_url", "retrieved_at"):
        setattr(link, name, values.get(name))


def content_hash(doc: ServiceCreate) -> str:
    """A digest of a whole document: equal digests, nothing to update.

    Fields added since digests were first kept (inferred needs, capacity) are left out when
    empty, as before they existed: an unchanged file stays unchanged.
    """
    exclude = {k for k in ("inferred_needs", "capacity_status") if not getattr(doc, k)}
    return hashlib.sha256(doc.model_dump_json(exclude=exclude or None).encode()).hexdigest()


# ---- helpers ---------------------------------------------------------------------------------


def claim(session: Session, service_id: uuid.UUID, expected_version: int | None) -> Service:
    """Load and lock the listing, then check the caller's version: a racing writer waits here."""
    service = queries.load_service(session, service_id, for_update=True)
    if expected_version is not None and service.version != expected_version:
        raise PreconditionFailed(
            f"listing is at version {service.version}, not {expected_version}: reload and retry"
        )
    return service


def _replace_lists(
    session: Session, service: Service, doc: ServiceCreate | ServiceUpdate, fields: tuple[str, ...]
) -> None:
    if not fields:
        return
    need_ids = resolve_needs(session, doc.needs or []) if "needs" in fields else {}
    delete_lists(session, [service.id], fields)
    rows = Rows()
    service_lists(rows, service.id, service.organization_id, doc, fields, need_ids)
    rows.write(session)


def _state(session: Session, service: Service) -> dict[str, Any]:
    """The listing as its history compares it: its read form and the columns that lacks."""
    read = queries.read_services(session, [service.id])[0].model_dump(mode="json")
    return {**read, **{name: getattr(service, name) for name in UNREAD}}


def touch(session: Session, service: Service) -> Service:
    service.updated_at = func.now()  # the row is written once here, which bumps the version
    session.flush()
    session.add(SearchOutbox(entity="service", entity_id=service.id, operation="upsert"))
    session.refresh(service, ["updated_at", "version"])
    return service


def _set_scalars(service: Service, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(service, name, str(value) if name == "url" and value is not None else value)


def _service_row(
    service_id: uuid.UUID, organization_id: uuid.UUID, doc: ServiceCreate, origin: Origin
) -> dict[str, Any]:
    row = doc.model_dump(include=set(SCALAR_FIELDS))
    row["url"] = str(doc.url) if doc.url else None
    verified_at, verified_by = origin.verified or (None, None)
    return {
        **row,
        "capacity_updated_at": dt.datetime.now(dt.UTC) if doc.capacity_status else None,
        "id": service_id,
        "organization_id": organization_id,
        "version": 1,
        "last_verified_at": verified_at,
        "verified_by": verified_by,
    }


def provenance_row(service_id: uuid.UUID, doc: ServiceCreate, origin: Origin) -> dict[str, Any]:
    """The provenance row linking a document's source record to a listing."""
    assert doc.provenance is not None
    return _provenance_fields(service_id, doc.provenance, origin)


def _provenance_fields(service_id: uuid.UUID, doc: ProvenanceIn, origin: Origin) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "service_id": service_id,
        "source": doc.source,
        "external_id": doc.external_id,
        "source_url": str(doc.source_url) if doc.source_url else None,
        "retrieved_at": dt.datetime.now(dt.UTC),
        "content_hash": origin.content_hash,
        "raw": JsonText(origin.raw_json) if origin.raw_json else origin.raw,
        "format": origin.format,
    }


def _provenance_of(session: Session, doc: ProvenanceIn) -> Provenance | None:
    query = select(Provenance).where(
        Provenance.source == doc.source, Provenance.external_id == doc.external_id
    )
    return session.scalars(query).one_or_none()


def _organization(session: Session, doc: ServiceCreate, rows: Rows) -> uuid.UUID:
    """The id of the linked organization, or of the document's own (queued for upsert).

    Imported listings share the organization of the same name within their source (and update
    it); a listing created through the API gets a new one unless it links an existing id.
    """
    given = doc.organization
    if given.id is not None:
        if session.get(Organization, given.id) is None:
            raise InvalidInput(f"no organization {given.id}", field="organization.id")
        return given.id
    assert given.name is not None  # OrganizationIn requires a name or an id
    org_id = (
        stable_id("organization", doc.provenance.source, given.name.casefold())
        if doc.provenance
        else uuid.uuid4()
    )
    fields = given.model_dump(exclude={"id", "url"})
    rows.organizations[org_id] = {
        **fields,
        "id": org_id,
        "website": str(given.url) if given.url else None,
    }
    return org_id
