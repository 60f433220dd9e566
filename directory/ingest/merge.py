"""Merging: the same facility twice becomes one listing with a provenance link per record.

Two rules:

- Within one source, any format: a record with the same name, organization name, street (both
  lines: another suite or unit is another site) and ZIP as a record met earlier in the same
  import, or as a listing this source already has, is the same facility (real files repeat a
  facility on rows with other phones or service codes). Names compare without case, punctuation
  or legal suffixes, streets without case or punctuation; a record without a street or a ZIP is
  never matched this way.
- Across sources of one family (the SAMHSA files): two records are the same facility when their
  names are near-identical (token-sorted similarity >= 90, case, punctuation and "Inc"/"LLC"
  aside) AND they share a ZIP code AND one more fact: the street address, or else a phone number
  when neither street contradicts the other. Two different names at one address are never
  merged; an ambiguous match (two listings fit equally) is not merged; a listing takes at most
  one record of each import this way (the records repeating that one then follow it by the
  first rule).

A merged listing's content is composed from every record's document (``compose``): scalars from
the first record that has them, lists united, one site per ZIP keeping exact coordinates over
approximate ones.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.listings.models import (
    Address,
    Location,
    Organization,
    Phone,
    Provenance,
    Service,
    ServiceAtLocation,
)
from directory.listings.schemas import ServiceCreate

FAMILIES = {"samhsa-locator": "samhsa", "samhsa-directory": "samhsa"}
NAME_THRESHOLD = 90
NOISE = re.compile(r"\b(inc|llc|ltd|corp|corporation|the|of|and)\b|[^a-z0-9 ]")
PUNCTUATION = re.compile(r"[^a-z0-9 ]")
SAME_FILE = "same name and address in one file"
SAME_SOURCE = "same name and address as a listing of this source"
# A digest of the comparable name, organization name, streets 1 and 2 and ZIP: an import remembers
# one per record, and the five strings would cost ten times as much.
Key = bytes


def comparable(name: str) -> str:
    """A name for comparison: lower case, no punctuation or legal suffixes."""
    return " ".join(NOISE.sub(" ", name.casefold()).split())


def street(text: str | None) -> str:
    return " ".join(PUNCTUATION.sub(" ", text.casefold()).split()) if text else ""


def repeat_id(external_id: str, seen: Counter[str]) -> str:
    """The id of a record whose derived id repeats an earlier record's of the same file (SAMHSA
    rows carry no id: theirs derives from name and address): the id with ``#2``, ``#3``... in the
    order met, so that re-reading the file finds each again; a first record keeps its id."""
    seen[external_id] += 1
    return external_id if seen[external_id] == 1 else f"{external_id}#{seen[external_id]}"


def place_key(
    name: str,
    organization: str | None,
    address_1: str | None,
    address_2: str | None,
    zip_code: str,
) -> Key:
    parts = (comparable(name), comparable(organization or ""), street(address_1), street(address_2))
    text = "\x1f".join((*parts, zip_code))  # the unit separator: in none of them
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def keys(doc: ServiceCreate) -> list[Key]:
    """The (name, organization, street, suite, ZIP) of each of the document's sites that has a
    street and a ZIP: what the same-source rule compares."""
    found = []
    for location in doc.locations:
        address = location.address
        if address is None or not address.postal_code or not street(address.address_1):
            continue
        found.append(
            place_key(
                doc.name,
                doc.organization.name,
                address.address_1,
                address.address_2,
                address.postal_code,
            )
        )
    return found


@dataclass
class Candidate:
    service_id: uuid.UUID
    name: str
    phones: set[str]
    streets: set[str]


@dataclass(frozen=True, slots=True)
class Known:
    """A listing the same-source rule can merge into, and how it became known."""

    service_id: uuid.UUID
    rule: str
    row: int | None = None  # the record of this import that made it known
    raw: bytes | None = None  # a digest of that record's raw form: a copy of it adds nothing


@dataclass
class Merger:
    """Finds the listing a new record is the same facility as, and keeps merged listings whole."""

    source: str
    family: str | None
    by_zip: dict[str, list[Candidate]] = field(default_factory=dict)
    claimed: set[uuid.UUID] = field(default_factory=set)
    by_place: dict[Key, Known] = field(default_factory=dict)

    @classmethod
    def for_import(cls, session: Session, source: str, format_name: str) -> Merger:
        """A merger knowing this source's listings, and every listing of the format's family
        from other sources."""
        merger = cls(source, FAMILIES.get(format_name))
        merger._index_source(session)
        if merger.family is not None:
            merger._index(session)
        return merger

    def _index_source(self, session: Session) -> None:
        """This source's listings by place (an earlier import's; the first listing of a place
        wins, by id, so that the choice is the same on every run)."""
        mine = select(Provenance.service_id).where(Provenance.source == self.source)
        rows = session.execute(
            select(
                Service.id,
                Service.name,
                Organization.name,
                Address.address_1,
                Address.address_2,
                Address.postal_code,
            )
            .join(Organization, Organization.id == Service.organization_id)
            .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .join(Address, Address.location_id == Location.id)
            .where(Service.id.in_(mine), Address.postal_code.is_not(None))
            .order_by(Service.id)
        )
        for service_id, name, organization, address_1, address_2, postal_code in rows:
            if street(address_1):
                key = place_key(name, organization, address_1, address_2, str(postal_code))
                self.by_place.setdefault(key, Known(service_id, SAME_SOURCE))

    def remember(
        self, places: list[Key], service_id: uuid.UUID, row: int, raw: bytes | None = None
    ) -> None:
        """A record of this import (at these ``keys``) is now, or already was, this listing:
        records repeating its name and address merge into it."""
        for key in places:
            known = self.by_place.get(key)
            if known is None or known.row is None:  # what the file says now wins
                self.by_place[key] = Known(service_id, SAME_FILE, row, raw)

    def same_place(self, places: list[Key]) -> Known | None:
        """The listing of this source (or of this import) at a record's ``keys``."""
        for key in places:
            if key in self.by_place:
                return self.by_place[key]
        return None

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
