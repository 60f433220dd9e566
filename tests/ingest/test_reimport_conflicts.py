"""A re-import never silently overwrites a field a coordinator edited by hand: the hand's value
stays, and the import's waits in the review queue as a suggestion."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts.service import create_user
from directory.curation import queue
from directory.curation.models import ChangeSuggestion
from directory.ingest.formats import resolve
from directory.ingest.load import run_import
from directory.listings.models import Provenance
from directory.listings.queries import read_service
from directory.listings.schemas import ServiceUpdate
from directory.listings.service import update_service
from tests.ingest.test_hsds import write

HEADER = "id,organization_id,name,description,email\n"


def package(folder: Path, description: str, email: str) -> Path:
    return write(
        folder,
        {
            "organizations.csv": "id,name\no1,Harbor Peers\n",
            "services.csv": HEADER + f"s1,o1,Warmline,{description},{email}\n",
        },
    )


def test_a_hand_edit_survives_a_reimport_and_the_import_becomes_a_suggestion(
    session: Session, tmp_path: Path
) -> None:
    folder = package(tmp_path / "p", "Talk to a peer.", "old@example.org")
    fmt = resolve("hsds", folder)
    run_import(session, fmt, folder, source="test:conflict")
    service_id = session.scalar(
        select(Provenance.service_id).where(Provenance.source == "test:conflict")
    )
    assert service_id is not None
    update_service(
        session, service_id, ServiceUpdate(description="Talk to a peer in the evenings too."),
        expected_version=None, by="coordinator@example.org",
    )  # fmt: skip

    package(folder, "Talk to a peer on weekdays.", "new@example.org")
    report = run_import(session, fmt, folder, source="test:conflict")
    assert report.counts["updated"] == 1
    session.expire_all()  # the import wrote in bulk, past the ORM
    listing = read_service(session, service_id, published_only=False)
    assert listing.description == "Talk to a peer in the evenings too."  # the hand's value stays
    assert listing.email == "new@example.org"  # a field nobody edited follows the file
    [suggestion] = session.scalars(select(ChangeSuggestion)).all()
    assert (suggestion.source, suggestion.status) == ("import", "open")
    assert suggestion.changes == {"description": "Talk to a peer on weekdays."}

    again = run_import(session, fmt, folder, source="test:conflict")  # the same file again
    assert again.counts["unchanged"] == 1
    assert len(session.scalars(select(ChangeSuggestion)).all()) == 1  # not queued twice

    coordinator, _ = create_user(session, email="c-conflict@example.org", role="coordinator")
    queue.decide_suggestion(session, coordinator, suggestion.id, approve=True)
    assert read_service(session, service_id, published_only=False).description == (
        "Talk to a peer on weekdays."
    )
