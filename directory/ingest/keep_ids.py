"""Keep an HSDS 3.0 record's own UUIDs as the ids of the listing it creates, where they are free.

A new listing's ids are otherwise ours (derived from its source and external id, or random), so
an HSDS export imported elsewhere and exported again would name everything anew. Here, once a
listing's rows are queued, the ids of its service, organization, locations and
services-at-location are swapped for the record's own: each only when it is a UUID that no row
of the database or of this import has yet, and that the record names once. Locations are matched
to the record's ``service_at_locations`` in order, and only when the listing kept every one of
them. An organization id that is already the organization of one of the source's listings is
joined rather than refused (a later service of the same organization).

A rewrite of a changed listing (``rewrite_services``) goes through the same rule, for which the
listing's own rows count as free: it keeps its organization, and its sites are re-created with the
ids they had, as long as the record still names them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Table, any_, bindparam, literal_column, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY, UUID, distinct_on
from sqlalchemy.orm import Session

from directory.listings.models import (
    Location,
    Organization,
    Provenance,
    Service,
    ServiceAtLocation,
)
from directory.listings.rows import Rows

# The columns of queued rows that may hold an id being replaced.
LINKS = ("id", "service_id", "location_id", "organization_id", "link_id", "entity_id")
LINKS_TOO = ("resource_id",)
_MODELS: tuple[Any, ...] = (Service, Organization, Location, ServiceAtLocation)
Wanted = dict[uuid.UUID, tuple[str, uuid.UUID]]  # our id -> (kind, the record's id)
AHEAD = 1_000  # records whose ids one query checks before they are loaded
T = TypeVar("T")


@dataclass(frozen=True)
class Current:
    """A listing about to be rewritten: the record it is composed from first, and its rows' ids
    (id -> kind), which are free for it since the rewrite deletes and re-creates them."""

    raw: dict[str, Any]
    organization_id: uuid.UUID
    own: dict[uuid.UUID, str]


@dataclass
class KeptIds:
    """The ids one import of a source has taken; where the next listing's rows start."""

    source: str | None  # None: of every source (a remap), and no organization is joined
    taken: set[uuid.UUID] = field(default_factory=set)  # since the last ``written``
    # taken and written since the last read-ahead: rows that its query did not see yet
    stored: set[uuid.UUID] = field(default_factory=set)
    last: set[uuid.UUID] = field(default_factory=set)  # of the last round: maybe not written yet
    # an organization id of ours (from source and name) -> the one this import gave it instead
    organizations: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    itself: set[uuid.UUID] = field(default_factory=set)  # ids of ours a listing kept as they are
    marks: dict[Table, int] = field(default_factory=dict)
    current: dict[uuid.UUID, Current] = field(default_factory=dict)
    joinable: set[uuid.UUID] | None = None  # organizations of the source's listings, once read
    checked: set[uuid.UUID] = field(default_factory=set)  # ids asked about (the current chunk's)
    used: set[uuid.UUID] = field(default_factory=set)  # of those, the ones a row had

    def ahead(self, session: Session, items: Iterable[T], raw: Any) -> Iterator[T]:
        """The items as they come, after checking in one query, ``AHEAD`` records at a time,
        which of the ids they name some row already has (``raw``: an item's record, or None).
        One query per listing instead was planned as sequential scans inside the import's own
        transaction, and made a 10,000-service import five times slower."""
        iterator = iter(items)
        asking = _Existing(session)
        while chunk := list(islice(iterator, AHEAD)):
            named = {i for item in chunk for i in _named(raw(item))}
            self.checked, self.used = named, asking(named)
            # in the database, so in ``used`` when named again; but for the last round, which
            # the writer's thread (``writer``) may not have written when the query ran
            self.stored = set(self.last)
            yield from chunk

    def written(self) -> None:
        """The rows queued so far are written, or being written in a round of their own (one at
        a time): the ids they took are the database's to answer for from the first read-ahead
        after the next round on (this one has ended then), so that what an import remembers
        stays bounded."""
        self.stored |= self.taken
        self.last, self.taken = self.taken, set()

    def mark(self, rows: Rows) -> None:
        """Remember where the next listing's rows will start in each queue."""
        self.marks = {table: len(queued) for table, queued in rows.tables.items()}

    def keep(self, session: Session, rows: Rows, raw: Any, service_id: uuid.UUID) -> uuid.UUID:
        """Swap the just-queued new listing's ids for the record's own; the listing's id."""
        services = self._new(rows).get(_table(Service), [])
        if not isinstance(raw, dict) or not services:
            return service_id
        swap = self._swap(session, rows, raw, service_id, services[0]["organization_id"], None)
        return swap.get(service_id, service_id)

    def rewriting(self, session: Session, service_ids: Iterable[uuid.UUID]) -> KeptIds:
        """Read what the listings about to be rewritten have now (those first composed from an
        HSDS record); itself, to pass to ``rewrite_services``."""
        self.current, ids = {}, list(service_ids)
        if not ids:
            return self
        first = (
            select(Provenance.service_id, Provenance.format, Provenance.raw)
            .where(Provenance.service_id.in_(ids))
            .ext(distinct_on(Provenance.service_id))
            .order_by(  # as composed_documents orders them
                Provenance.service_id,
                Provenance.created_at,
                Provenance.source,
                Provenance.external_id,
            )
            .subquery()
        )
        query = select(first.c.service_id, first.c.raw).where(first.c.format == "hsds")
        raws = {sid: raw for sid, raw in session.execute(query) if isinstance(raw, dict)}
        if not raws:
            return self
        named = {i for raw in raws.values() for i in _named(raw)} - self.checked
        self.checked, self.used = self.checked | named, self.used | self._existing(session, named)
        own: dict[uuid.UUID, dict[uuid.UUID, str]] = {sid: {} for sid in raws}
        sites = select(
            ServiceAtLocation.service_id, ServiceAtLocation.id, ServiceAtLocation.location_id
        ).where(ServiceAtLocation.service_id.in_(raws))
        for sid, site_id, location_id in session.execute(sites):
            own[sid] |= {site_id: "service_at_location", location_id: "location"}
        orgs = select(Service.id, Service.organization_id).where(Service.id.in_(raws))
        for sid, org_id in session.execute(orgs):
            mine = own[sid] | {sid: "service", org_id: "organization"}
            self.current[sid] = Current(raws[sid], org_id, mine)
        return self

    def rewritten(
        self, session: Session, rows: Rows, service_id: uuid.UUID, organization_id: uuid.UUID
    ) -> uuid.UUID:
        """Swap the just-queued rewritten listing's ids for the ones it keeps; its
        organization's id (the listing's own id never changes)."""
        current = self.current.get(service_id)
        if current is None:
            self.itself.add(organization_id)
            return organization_id
        swap = self._swap(session, rows, current.raw, service_id, organization_id, current)
        return swap.get(organization_id, organization_id)

    def _new(self, rows: Rows) -> dict[Table, list[dict[str, Any]]]:
        return {table: queued[self.marks.get(table, 0) :] for table, queued in rows.tables.items()}

    def _swap(
        self,
        session: Session,
        rows: Rows,
        raw: dict[str, Any],
        service_id: uuid.UUID,
        organization_id: uuid.UUID,
        current: Current | None,
    ) -> dict[uuid.UUID, uuid.UUID]:
        """Our id -> the record's, for the listing queued last; swapped in its rows."""
        new = self._new(rows)
        wanted = _wanted(raw, new, service_id)
        if (their_org := _organization_id(raw)) is not None:
            wanted[organization_id] = ("organization", their_org)
        free = self._free(session, wanted, current.own if current else {})
        swap = {
            ours: theirs
            for ours, (kind, theirs) in wanted.items()
            if theirs in free and kind != "organization"
        }
        if current is not None:
            swap.pop(service_id, None)  # a rewritten listing keeps its id
        org = self._organization(session, organization_id, their_org, free, current)
        if org != organization_id:
            swap[organization_id] = org
            _move_organization(rows, organization_id, org, keep_old=organization_id in self.itself)
        self.taken |= set(swap.values())
        for queued in new.values():
            for row in queued:
                for key in (*LINKS, *LINKS_TOO):
                    if row.get(key) in swap:
                        row[key] = swap[row[key]]
        return swap

    def _organization(
        self,
        session: Session,
        ours: uuid.UUID,
        theirs: uuid.UUID | None,
        free: set[uuid.UUID],
        current: Current | None,
    ) -> uuid.UUID:
        """The listing's organization: the record's when free or already the source's (or the
        listing's own); else, for a new listing, the one this import gave its name."""
        if theirs is not None and (theirs in free or theirs in self._joinable(session)):
            chosen = theirs
            self._joinable(session).add(theirs)
        elif current is None:
            chosen = self.organizations.get(ours, ours)
        else:
            chosen = ours
        if current is None:
            self.organizations.setdefault(ours, chosen)
        if chosen == ours:
            self.itself.add(ours)
        return chosen

    def _joinable(self, session: Session) -> set[uuid.UUID]:
        """The organizations of the source's listings (read once per import)."""
        if self.joinable is None:
            linked = select(Provenance.service_id).where(Provenance.source == self.source)
            query = select(Service.organization_id).where(Service.id.in_(linked)).distinct()
            self.joinable = set(session.scalars(query)) if self.source is not None else set()
        return self.joinable

    def _free(self, session: Session, wanted: Wanted, own: dict[uuid.UUID, str]) -> set[uuid.UUID]:
        """The wanted ids that no other row has yet and the record names once (read ahead, or
        asked here when they were not)."""
        counts = Counter(theirs for _, theirs in wanted.values())
        kinds = {theirs: kind for kind, theirs in wanted.values()}
        candidates = {theirs for theirs, count in counts.items() if count == 1}
        if not candidates:
            return set()
        if unknown := candidates - self.checked:
            self.checked |= unknown
            self.used |= self._existing(session, unknown)
        return {
            c
            for c in candidates
            if (c not in self.taken and c not in self.stored and c not in self.used)
            or own.get(c) == kinds[c]
        }

    @staticmethod
    def _existing(session: Session, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Those of the ids that a service, organization, location or site has (one query)."""
        if not ids:
            return set()
        return set(session.scalars(_EXISTING, {"ids": list(ids)}))


_WANTED = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
_FOUND = union_all(*(select(model.id).where(model.id == any_(_WANTED)) for model in _MODELS))
_EXISTING: Any = select(literal_column("id")).select_from(_FOUND.subquery())


class _Existing:
    """``KeptIds._existing`` for the read-ahead, sent on the session's own connection (so in
    the import's transaction) without the session: the session may be writing a round in the
    writer's thread meanwhile (the connection takes one statement at a time), and a read-ahead
    that waited for each round had the loader waiting on PostgreSQL nearly half of the time."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.driver: Any = connection.connection.driver_connection
        self.sql = str(_EXISTING.compile(dialect=connection.dialect))

    def __call__(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        with self.driver.cursor() as cursor:
            cursor.execute(self.sql, {"ids": list(ids)})
            return {row[0] for row in cursor}


def _wanted(
    raw: dict[str, Any], new: dict[Table, list[dict[str, Any]]], service_id: uuid.UUID
) -> Wanted:
    """Our id -> (kind, the record's id) for the service and its sites."""
    wanted: Wanted = {}
    if (theirs := _uuid(raw.get("id"))) is not None:
        wanted[service_id] = ("service", theirs)
    places = [p for p in raw.get("service_at_locations") or [] if isinstance(p, dict)]
    places = [p for p in places if isinstance(p.get("location"), dict)]
    sites = new.get(_table(ServiceAtLocation), [])
    if len(sites) == len(places):
        for site, place in zip(sites, places, strict=True):
            if (theirs := _uuid(place.get("id"))) is not None:
                wanted[site["id"]] = ("service_at_location", theirs)
            if (theirs := _uuid(place["location"].get("id"))) is not None:
                wanted[site["location_id"]] = ("location", theirs)
    return wanted


def _named(raw: Any) -> set[uuid.UUID]:
    """The UUIDs an HSDS record names for its service, organization, locations and sites."""
    if not isinstance(raw, dict):
        return set()
    places = [p for p in raw.get("service_at_locations") or [] if isinstance(p, dict)]
    locations = [p["location"] for p in places if isinstance(p.get("location"), dict)]
    values = [raw.get("id"), *(p.get("id") for p in places), *(p.get("id") for p in locations)]
    named = {_uuid(value) for value in values} | {_organization_id(raw)}
    return {value for value in named if value is not None}


def _organization_id(raw: dict[str, Any]) -> uuid.UUID | None:
    org = raw.get("organization")
    return _uuid((org if isinstance(org, dict) else {}).get("id") or raw.get("organization_id"))


def _move_organization(rows: Rows, ours: uuid.UUID, theirs: uuid.UUID, *, keep_old: bool) -> None:
    """Queue the organization's row under the id it keeps; its old id's row only when another
    listing of the import kept that id (else it would be an empty duplicate)."""
    row = rows.organizations.get(ours) if keep_old else rows.organizations.pop(ours, None)
    if row is not None:
        rows.organizations[theirs] = row | {"id": theirs}


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip()) if value else None
    except ValueError:
        return None
