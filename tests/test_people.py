"""The people of a program: listing accounts, deactivating (access gone at once), roles,
programs, token revocation and a fresh sign-in, each audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts import people, sessions
from directory.accounts.invites import pending
from directory.accounts.models import AuditEntry, User
from directory.accounts.service import create_user, issue_token
from directory.errors import InvalidInput, NotFound


def account(session: Session, email: str, role: str = "mentor") -> tuple[User, str]:
    user, token = create_user(session, email=email, role=role, program="Harbor Peers")
    session.flush()
    return user, token


def actions(session: Session, user: User) -> list[str]:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    return [r.action for r in rows if r.detail.get("user_id") == str(user.id)]


def test_people_lists_accounts_with_their_state(session: Session) -> None:
    account(session, "b@example.org")
    user, _ = account(session, "a@example.org", "coordinator")
    user.password_hash = "set"
    create_user(session, email="other@example.org", role="mentor", program="Elsewhere")
    found = people.people(session, program="Harbor  Peers")
    assert [(p.email, p.role, p.signed_up, p.live_tokens) for p in found] == [
        ("a@example.org", "coordinator", True, 1),
        ("b@example.org", "mentor", False, 1),
    ]


def test_deactivating_takes_access_away_at_once(session: Session, client: TestClient) -> None:
    user, token = account(session, "gone@example.org")
    second = issue_token(session, user)
    browser = sessions.start(session, user)
    _, link = people.reset_sign_in(session, "gone@example.org")
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/needs", headers=headers).status_code == 200

    people.deactivate(session, "Gone@Example.org")
    session.commit()
    assert client.get("/v1/needs", headers=headers).status_code == 401
    assert client.get("/v1/needs", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert sessions.resume(session, browser, idle=sessions.MAX_AGE) is None
    assert pending(session, link) is None  # the sign-in link is spent too
    assert people.people(session, program="Harbor Peers")[0].live_tokens == 0
    with pytest.raises(InvalidInput, match="reactivate them first"):
        people.reset_sign_in(session, "gone@example.org")

    people.reactivate(session, "gone@example.org")
    assert actions(session, user) == [
        "user.reset_sign_in", "user.deactivate", "user.reactivate",
    ]  # fmt: skip


def test_role_program_and_tokens(session: Session) -> None:
    user, _ = account(session, "ana@example.org")
    browser = sessions.start(session, user)
    people.set_role(session, "ana@example.org", "coordinator")
    assert user.role == "coordinator"
    assert sessions.resume(session, browser, idle=sessions.MAX_AGE) is None  # signs in again
    with pytest.raises(InvalidInput, match="role must be one of"):
        people.set_role(session, "ana@example.org", "boss")
    people.set_program(session, "ana@example.org", "Bay Peers")
    assert [p.email for p in people.people(session, program="Bay Peers")] == ["ana@example.org"]
    people.set_program(session, "ana@example.org", None)
    assert user.program_id is None
    assert people.revoke_tokens(session, "ana@example.org") == 1
    assert people.revoke_tokens(session, "ana@example.org") == 0
    with pytest.raises(NotFound):
        people.deactivate(session, "nobody@example.org")
    assert actions(session, user) == [
        "user.set_role", "user.set_program", "user.set_program", "user.revoke_tokens",
        "user.revoke_tokens",
    ]  # fmt: skip


def test_a_reset_sign_in_clears_the_password_and_gives_a_link(session: Session) -> None:
    user, _ = account(session, "forgot@example.org")
    user.password_hash = "old"
    browser = sessions.start(session, user)
    _, token = people.reset_sign_in(session, "forgot@example.org")
    assert user.password_hash is None
    assert sessions.resume(session, browser, idle=sessions.MAX_AGE) is None
    assert pending(session, token) == user
