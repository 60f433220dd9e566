"""Keep an HSDS 3.0 record's own UUIDs as the ids of the listing it creates, where they are free.

A new listing's ids are otherwise ours (derived from its source and external id, or random), so
an HSDS export imported elsewhere and exported again would name everything anew. Here, once a
listing's rows are queued, the ids of its service, organization, locations and
services-at-location are swapped for the record's own: each only when it is a UUID that no row
of the database or of this import has yet. Locations are matched to the record's
``service_at_locations`` in order, and only when the listing kept every one of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, literal_column, select, union_all
from sqlalchemy.orm import Session

from directory.listings.models import Location, Organization, Service, ServiceAtLocation
from directory.listings.rows import Rows

# The columns of queued rows that may hold an id being replaced.
LINKS = ("id", "service_id", "location_id", "organization_id", "link_id", "entity_id")
LINKS_TOO = ("resource_id",)
_MODELS: tuple[Any, ...] = (Service, Organization, Location, ServiceAtLocation)


@dataclass
class KeptIds:
    """The ids this import has taken; the sizes of the queues before a listing was queued."""

    taken: set[uuid.UUID] = field(default_factory=set)
    organizations: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # ours -> theirs
    marks: dict[Table, int] = field(default_factory=dict)

    def mark(self, rows: Rows) -> None:
        """Remember where the next listing's rows will start in each queue."""
        self.marks = {table: len(queued) for table, queued in rows.tables.items()}

    def keep(self, session: Session, rows: Rows, raw: Any, service_id: uuid.UUID) -> uuid.UUID:
        """Swap the just-queued listing's ids for the record's own; the listing's id."""
        if not isinstance(raw, dict):
            return service_id
        new = {table: queued[self.marks.get(table, 0) :] for table, queued in rows.tables.items()}
        wanted = self._wanted(raw, new, service_id)
        free = self._free(session, wanted)
        swap = {ours: theirs for ours, (kind, theirs) in wanted.items() if theirs in free}
        swap |= self._organization(session, rows, new, raw)
        if not swap:
            return service_id
        self.taken |= set(swap.values())
        for queued in new.values():
            for row in queued:
                for key in (*LINKS, *LINKS_TOO):
                    if row.get(key) in swap:
                        row[key] = swap[row[key]]
        return swap.get(service_id, service_id)

    def _wanted(
        self, raw: dict[str, Any], new: dict[Table, list[dict[str, Any]]], service_id: uuid.UUID
    ) -> dict[uuid.UUID, tuple[str, uuid.UUID]]:
        """Our id -> (kind, the record's id) for the service and its sites."""
        wanted: dict[uuid.UUID, tuple[str, uuid.UUID]] = {}
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

    def _free(
        self, session: Session, wanted: dict[uuid.UUID, tuple[str, uuid.UUID]]
    ) -> set[uuid.UUID]:
        """The wanted ids that no row has yet (one query for them all)."""
        candidates = {theirs for _, theirs in wanted.values()} - self.taken
        if not candidates:
            return set()
        found = union_all(*(select(model.id).where(model.id.in_(candidates)) for model in _MODELS))
        query: Any = select(literal_column("id")).select_from(found.subquery())
        used: set[uuid.UUID] = set(session.scalars(query))
        counts: dict[uuid.UUID, int] = {}
        for _, theirs in wanted.values():
            counts[theirs] = counts.get(theirs, 0) + 1
        return {c for c in candidates - used if counts[c] == 1}

    def _organization(
        self,
        session: Session,
        rows: Rows,
        new: dict[Table, list[dict[str, Any]]],
        raw: dict[str, Any],
    ) -> dict[uuid.UUID, uuid.UUID]:
        """The record's organization id for ours, when the import has not given it already."""
        services = new.get(_table(Service), [])
        if not services:
            return {}
        ours = services[0]["organization_id"]
        theirs = self.organizations.get(ours)
        if theirs is None:
            org = raw.get("organization")
            given = (org if isinstance(org, dict) else {}).get("id") or raw.get("organization_id")
            theirs = _uuid(given)
            if theirs is None or theirs in self.taken:
                return {}
            if session.get(Organization, theirs) is not None:
                return {}
            self.organizations[ours] = theirs
            self.taken.add(theirs)
        if ours in rows.organizations:
            rows.organizations[theirs] = rows.organizations.pop(ours) | {"id": theirs}
        return {ours: theirs}


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip()) if value else None
    except ValueError:
        return None
