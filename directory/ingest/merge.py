"""Merging: the same facility from two sources becomes one listing with both provenance links.

The rule: two records from different sources of one family (the SAMHSA files) are the same
facility when their names are near-identical (token-sorted similarity >= 90, case, punctuation
and "Inc"/"LLC" aside) AND they share a ZIP code AND one more fact: the street address, or else a
phone number when neither street contradicts the other. Two different names at one address are
never merged; an ambiguous match (two listings fit equally) is not merged; a listing takes at
most one record of each import. A merged listing's content is
composed from every source's document: scalars from the first source that has them, lists
united, one site per ZIP keeping exact coordinates over approximate ones.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.listings.models import (
    Address,
    Location,
    Phone,
    Provenance,
    Service,
    ServiceAtLocation,
)
from directory.listings.schemas import ServiceCreate

FAMILIES = {"samhsa-locator": "samhsa", "samhsa-directory": "samhsa"}
NAME_THRESHOLD = 90
NOISE = re.compile(r"\b(inc|llc|ltd|corp|corporation|the|of|and)\b|[^a-z0-9 ]")


def comparable(name: str) -> str:
    """A name for comparison: lower case, no punctuation or legal suffixes."""
    return " ".join(NOISE.sub(" ", name.casefold()).split())


def street(text: str | None) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", (text or "").casefold()).split())


@dataclass
class Candidate:
    service_id: uuid.UUID
    name: str
    phones: set[str]
    streets: set[str]


@dataclass
class Merger:
    """Finds the listing a new record is the same facility as, and keeps merged listings whole."""

    source: str
    family: str | None
    by_zip: dict[str, list[Candidate]] = field(default_factory=dict)
    claimed: set[uuid.UUID] = field(default_factory=set)

    @classmethod
    def for_import(cls, session: Session, source: str, format_name: str) -> Merger:
        """A merger knowing every listing of the format's family from other sources."""
        merger = cls(source, FAMILIES.get(format_name))
        if merger.family is not None:
            merger._index(session)
        return merger

    def _index(self, session: Session) -> None:
        formats = [f for f, family in FAMILIES.items() if family == self.family]
        others = select(Provenance.service_id).where(
            Provenance.format.in_(formats), Provenance.source != self.source
        )
        rows = session.execute(
            select(Service.id, Service.name, Address.postal_code, Address.address_1)
            .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .join(Address, Address.location_id == Location.id)
            .where(Service.id.in_(others), Address.postal_code.is_not(None))
        )
        found: dict[tuple[uuid.UUID, str], Candidate] = {}
        for service_id, name, postal_code, address_1 in rows:
            key = (service_id, str(postal_code))
            candidate = found.setdefault(key, Candidate(service_id, comparable(name), set(), set()))
            candidate.streets.add(street(address_1))
        phones = session.execute(
            select(Phone.service_id, Phone.e164).where(Phone.service_id.in_(others))
        )
        by_service: dict[uuid.UUID, set[str]] = {}
        for owner, e164 in phones:
            if e164 and owner:
                by_service.setdefault(owner, set()).add(e164)
        for (_, postal_code), candidate in found.items():
            candidate.phones = by_service.get(candidate.service_id, set())
            self.by_zip.setdefault(postal_code, []).append(candidate)

    def find(self, doc: ServiceCreate) -> tuple[uuid.UUID, str] | None:
        """The listing this document is the same facility as, with the rule that matched.

        Streets that both sides give must agree; a street match outranks a shared phone (sister
        sites share intake lines); a tie between listings is ambiguous and merges nothing; a
        listing is claimed at most once per import.
        """
        if not self.by_zip:
            return None
        name = comparable(doc.name)
        phones = {p for p in (x.dialable.e164 for x in doc.phones) if p}
        found: dict[uuid.UUID, tuple[tuple[bool, float], str]] = {}
        for location in doc.locations:
            address = location.address
            if address is None or not address.postal_code:
                continue
            for candidate in self.by_zip.get(address.postal_code, []):
                match = self._match(name, street(address.address_1), phones, candidate)
                if match is not None and candidate.service_id not in self.claimed:
                    found[candidate.service_id] = max(found.get(candidate.service_id, match), match)
        if not found:
            return None
        ranked = sorted(found.items(), key=lambda entry: entry[1][0], reverse=True)
        if len(ranked) > 1 and ranked[0][1][0] == ranked[1][1][0]:
            return None  # two listings fit equally well: merging either could be wrong
        service_id, (_, rule) = ranked[0]
        self.claimed.add(service_id)
        return service_id, rule

    @staticmethod
    def _match(
        name: str, place: str, phones: set[str], candidate: Candidate
    ) -> tuple[tuple[bool, float], str] | None:
        score = fuzz.token_sort_ratio(name, candidate.name)
        known_streets = candidate.streets - {""}
        if score < NAME_THRESHOLD or (place and known_streets and place not in known_streets):
            return None
        if place and place in known_streets:
            return (True, score), f"name {score:.0f} + ZIP + street"
        if phones & candidate.phones:
            return (False, score), f"name {score:.0f} + ZIP + phone"
        return None
