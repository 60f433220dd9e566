"""The demo region: fictional listings that are marked as such, and ``directory demo remove``.

A listing is demo when the demo seed holds it (a provenance link from ``DEMO_SOURCE``). Demo
listings may show in ordinary search, with a badge, but never as a crisis line: a person in
crisis must never be handed a 555 number.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.orm import Session

from directory.accounts.audit import record_many
from directory.accounts.models import Program
from directory.errors import Conflict
from directory.listings.models import (
    Attribute,
    Location,
    Organization,
    Provenance,
    SearchOutbox,
    Service,
    ServiceAtLocation,
)
from directory.referrals.models import Referral

DEMO_SOURCE = "seed:demo"  # the ``source`` of seed_data/demo_region.yaml
DEMO_PROGRAM = "Demo program"  # its referrals to demo listings go with them


def is_demo(sources: Iterable[str]) -> bool:
    """Whether a listing with provenance links from these sources is demo data."""
    return DEMO_SOURCE in sources


def demo_services() -> Select[uuid.UUID]:
    """The ids of the demo listings (any link from the demo seed)."""
    return select(Provenance.service_id).where(Provenance.source == DEMO_SOURCE)


def demo_only_services() -> Select[uuid.UUID]:
    """The ids of the listings that only the demo seed holds (no other source links them)."""
    return (
        select(Provenance.service_id)
        .group_by(Provenance.service_id)
        .having(func.bool_and(Provenance.source == DEMO_SOURCE))
    )


def remove_demo(session: Session) -> int:
    """Delete every listing only the demo seed holds; how many (0 when none is left)."""
    ids = list(session.scalars(demo_only_services()))
    if not ids:
        return 0
    _remove_demo_referrals(session, ids)
    owners = select(Service.organization_id).where(Service.id.in_(ids))
    organizations = list(session.scalars(owners))
    session.execute(
        delete(Attribute).where(Attribute.link_entity == "service", Attribute.link_id.in_(ids))
    )
    sites = select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id.in_(ids))
    shared = select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id.not_in(ids))
    session.execute(delete(Location).where(Location.id.in_(sites), Location.id.not_in(shared)))
    # The rest of a listing, its search documents included, goes with it (ON DELETE CASCADE).
    session.execute(delete(Service).where(Service.id.in_(ids)))
    in_use = exists().where(Service.organization_id == Organization.id)
    session.execute(delete(Organization).where(Organization.id.in_(organizations), ~in_use))
    # Meilisearch forgets them when the outbox is drained (it finds no documents for them).
    session.add_all(SearchOutbox(entity="service", entity_id=i, operation="delete") for i in ids)
    session.flush()
    return len(ids)


def _remove_demo_referrals(session: Session, service_ids: list[uuid.UUID]) -> None:
    """Delete the demo program's referrals to these listings (audited); refuse when a real
    program referred a mentee to one of them, since its records would lose their service."""
    found = session.execute(
        select(Referral.id, Referral.program_id, Program.name)
        .join(Program, Program.id == Referral.program_id)
        .where(Referral.service_id.in_(service_ids))
    ).all()
    others = sorted({row.name for row in found if row.name != DEMO_PROGRAM})
    if others:
        count = sum(row.name != DEMO_PROGRAM for row in found)
        raise Conflict(
            f"{count} referral(s) of {', '.join(others)} point to demo listings; nothing was"
            f" removed (only referrals of the program named {DEMO_PROGRAM!r} go with them)"
        )
    if found:
        record_many(session, None, "demo.remove", found)
        session.execute(delete(Referral).where(Referral.id.in_([row.id for row in found])))
