"""The HSDS 3.0 API under ``/hsds/``, as the specification's ``openapi.json`` defines it."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/hsds", tags=["HSDS 3.0"])
