"""The caller's program: its name, and what its mentee codes look like (coordinators set it)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from directory.accounts.audit import record
from directory.accounts.models import Program
from directory.accounts.roles import require
from directory.accounts.service import set_code_pattern
from directory.api.deps import CurrentUser, SessionDep
from directory.api.openapi import errors
from directory.errors import NotFound

router = APIRouter(tags=["programs"])


class ProgramRead(BaseModel):
    id: uuid.UUID
    name: str
    mentee_ref_pattern: str | None = Field(
        description="what the program's mentee codes look like (a PostgreSQL regular"
        " expression matched whole, case aside); null: the general rules only"
    )


class CodePattern(BaseModel):
    pattern: str | None = Field(
        min_length=1,
        max_length=200,
        examples=["HP-[0-9]{4}"],
        json_schema_extra={"pattern": r"\S"},  # not blank: checked where it is compiled
    )


@router.get("/v1/program", response_model=ProgramRead, responses=errors(404))
def read_program(session: SessionDep, user: CurrentUser) -> Program:
    """The caller's program."""
    return _program(session, user.program_id)


@router.put(
    "/v1/program/mentee-code-pattern", response_model=ProgramRead, responses=errors(403, 404)
)
def put_code_pattern(session: SessionDep, user: CurrentUser, body: CodePattern) -> Program:
    """Set (``null``: clear) what the program's mentee codes look like (coordinators and
    admins); a referral whose code does not match gets a 422 naming the pattern."""
    require(user, "set-code-pattern")
    program = set_code_pattern(session, _program(session, user.program_id), body.pattern)
    record(session, user, "program.code-pattern")
    return program


def _program(session: Session, program_id: uuid.UUID | None) -> Program:
    found = session.get(Program, program_id) if program_id is not None else None
    if found is None:
        raise NotFound("you are not a member of a program: ask an admin to add you")
    return found
