"""Helpers for the page tests (TestClient): invitations, signing in, reading form tokens."""

from __future__ import annotations

import os
import re

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from directory.accounts import invites

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


def csrf(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has no form token"
    return found.group(1)


def invite(
    session: Session, role: str = "mentor", program: str | None = "Page tests"
) -> tuple[str, str]:
    """(email, token) of a fresh invitation."""
    email = f"{role}-{os.urandom(4).hex()}@example.org"
    _, token = invites.invite(
        session, email=email, role=role, program=program if role != "admin" else None
    )
    session.commit()
    return email, token


def sign_up(client: TestClient, session: Session, role: str = "mentor") -> str:
    """A new person who accepted their invitation (signed in now); their email."""
    email, token = invite(session, role)
    page = client.get(f"/welcome/{token}")
    answer = client.post(
        "/welcome",
        data={"csrf": csrf(page), "password": PASSWORD, "confirm": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return email


def post_form(
    client: TestClient, path: str, data: dict[str, object], *, form_page: str | None = None
) -> Response:
    """Post a form with the token of the page it is on."""
    token = csrf(client.get(form_page or path))
    return client.post(path, data={"csrf": token, **data}, follow_redirects=False)
