"""Merging: the same facility from two sources becomes one listing with both provenance links.

The rule: two records from different sources of one family (the SAMHSA files) are the same
facility when their names are near-identical (token-sorted similarity >= 90, case, punctuation
and "Inc"/"LLC" aside) AND they share a ZIP code AND one more fact: a phone number or the street
address. Two different names at one address are never merged. A merged listing's content is
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
from directory.listings.phones import parse_phone
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
        """The listing this document is the same facility as, with the rule that matched."""
        if not self.by_zip:
            return None
        name = comparable(doc.name)
        phones = {p for p in (_e164(x.number, x.country) for x in doc.phones) if p}
        best: tuple[float, uuid.UUID, str] | None = None
        for location in doc.locations:
            address = location.address
            if address is None or not address.postal_code:
                continue
            for candidate in self.by_zip.get(address.postal_code, []):
                score = fuzz.token_sort_ratio(name, candidate.name)
                if score < NAME_THRESHOLD:
                    continue
                rule = (
                    "phone"
                    if phones & candidate.phones
                    else "address"
                    if street(address.address_1) in candidate.streets
                    else None
                )
                if rule and (best is None or score > best[0]):
                    best = (score, candidate.service_id, f"name {score:.0f} + ZIP + {rule}")
        return (best[1], best[2]) if best else None


def _e164(number: str, country: str) -> str | None:
    try:
        return parse_phone(number, country).e164
    except ValueError:
        return None
