"""Fixtures of the HSDS tests: the spec's folder (schemas and examples)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from directory.search.sync import sync_batch
from tests.ingest.test_datasets import _subset_locator, load


@pytest.fixture(scope="session")
def hsds_spec(datasets_dir: Path) -> Path:
    """The HSDS 3.0 spec examples: ``schema/tables/*.json``, ``csv/``, ``json/``."""
    return datasets_dir / "hsds3-spec-examples"


@pytest.fixture
def real_listings(session: Session, datasets_dir: Path, tmp_path: Path) -> Session:
    """The spec's example service and Vermont's rows of the SAMHSA locator, imported (published)
    and indexed, beside the seed's listings."""
    load(session, datasets_dir / "hsds3-spec-examples/json/service_full.json", "test:hsds-spec")
    load(session, _subset_locator(datasets_dir, tmp_path, "VT"), "test:locator")
    while sync_batch(session):
        pass
    session.commit()
    return session
