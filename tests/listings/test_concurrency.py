"""Two writers with the same version: one wins, the other gets a 412, never a 409 or a 500.

This needs real, committed transactions on two connections, so it does not use the rolled-back
test transaction; it deletes what it made.
"""

from __future__ import annotations

import threading

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from directory.errors import PreconditionFailed
from directory.listings.models import Attribute, Organization, SearchOutbox, Service
from directory.listings.schemas import ServiceCreate, ServiceUpdate
from directory.listings.service import create_service, update_service


def test_racing_updates_with_one_version_give_one_412(engine: Engine) -> None:
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        doc = ServiceCreate.model_validate(
            {
                "name": "Race (test)",
                "organization": {"name": "Race org"},
                "phones": [{"number": "(813) 555-0190"}],
            }
        )
        service_id = create_service(session, doc)
        org_id = session.get(Service, service_id).organization_id  # type: ignore[union-attr]
    patch = ServiceUpdate.model_validate(
        {"needs": ["crisis"], "phones": [{"number": "(813) 555-0191"}]}
    )
    first_locked, outcome = threading.Event(), {}

    def second_writer() -> None:
        first_locked.wait(10)
        try:
            with factory() as other, other.begin():
                update_service(other, service_id, patch, expected_version=1)
            outcome["second"] = "ok"
        except PreconditionFailed:
            outcome["second"] = "412"
        except Exception as error:  # anything else is the bug this test is about
            outcome["second"] = repr(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        with factory() as session, session.begin():
            update_service(session, service_id, patch, expected_version=1)
            first_locked.set()
            thread.join(0.5)  # the second writer must be waiting on our lock
            assert thread.is_alive()
        thread.join(10)
        assert outcome == {"second": "412"}
        with factory() as session:
            assert session.get(Service, service_id).version == 2  # type: ignore[union-attr]
    finally:
        thread.join(10)
        with factory() as session, session.begin():
            session.execute(delete(Attribute).where(Attribute.link_id == service_id))
            session.execute(delete(SearchOutbox).where(SearchOutbox.entity_id == service_id))
            session.execute(delete(Service).where(Service.id == service_id))
            session.execute(delete(Organization).where(Organization.id == org_id))
