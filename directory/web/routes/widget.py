"""The embeddable search widget's script, ``/embed/v1.js``: one dependency-free custom element."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
