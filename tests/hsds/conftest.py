"""Fixtures of the HSDS tests: the spec's folder (schemas and examples)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def hsds_spec(datasets_dir: Path) -> Path:
    """The HSDS 3.0 spec examples: ``schema/tables/*.json``, ``csv/``, ``json/``."""
    return datasets_dir / "hsds3-spec-examples"
