"""Public listing pages, ``/l/{id}``: published listings, for anyone, with no sign-in."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
