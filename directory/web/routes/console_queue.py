"""(being built)"""

from __future__ import annotations

from fastapi import APIRouter

from directory.web.deps import PageContext

router = APIRouter(dependencies=[PageContext], include_in_schema=False)
