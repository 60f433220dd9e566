"""``/embed``: the page for partners (the snippet for their key, a live preview, how to theme)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
