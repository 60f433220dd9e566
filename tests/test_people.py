"""The people of a program: listing accounts, deactivating (access gone at once), roles,
programs, token revocation and a fresh sign-in, each audited."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.accounts import people, sessions
from directory.accounts.invites import pending
from directory.accounts.keys import (
    all_keys,
    create_key,
    origin,
    program_named,
    revoke_key,
    revoke_key_id,
)
from directory.accounts.models import AuditEntry, Program, User
from directory.accounts.service import (
    code_refusal,
    create_user,
    issue_token,
    program_of,
    update_program,
)
from directory.errors import Conflict, Forbidden, InvalidInput, NotFound


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


# -- Who may do what: the rules the console and the CLI share ------------------------------


def staff(session: Session, role: str, program: str | None = "Harbor Peers") -> User:
    user, _ = create_user(
        session, email=f"{role}-{uuid.uuid4().hex[:6]}@example.org", role=role, program=program
    )
    return user


def test_a_coordinator_acts_on_their_own_programs_mentors_and_coordinators(
    session: Session,
) -> None:
    me = staff(session, "coordinator")
    mine, _ = account(session, "mine@example.org")
    theirs, _ = create_user(session, email="theirs@example.org", role="mentor", program="Other")
    admin = staff(session, "admin", program=None)
    people.set_role(session, mine.email, "coordinator", by=me)
    people.deactivate(session, mine.email, by=me)
    people.reactivate(session, mine.email, by=me)
    assert people.reset_sign_in(session, mine.email, by=me)[0] == mine
    for target in (theirs, admin):
        with pytest.raises(Forbidden, match="their own program"):
            people.deactivate(session, target.email, by=me)
        with pytest.raises(Forbidden):
            people.person(session, target.id, by=me)
    with pytest.raises(Forbidden, match="only admins"):
        people.set_role(session, mine.email, "admin", by=me)
    with pytest.raises(Forbidden, match="only admins"):
        people.set_program(session, mine.email, "Other", by=me)
    assert (mine.role, mine.active, mine.program_id) == ("coordinator", True, me.program_id)
    assert [p.email for p in people.people(session, by=me)] == sorted([me.email, mine.email])
    mine_now = AuditEntry.at >= func.now()  # this test's rows (others may be committed)
    assert {r.actor_id for r in session.scalars(select(AuditEntry).where(mine_now))} == {me.id}


def test_nobody_locks_themselves_out(session: Session) -> None:
    """Nobody changes their own role, program or access: someone else does, so whoever acts
    stays able to act, and no program (nor the deployment) loses its last coordinator or
    admin through the console."""
    for role in ("coordinator", "admin"):
        me = staff(session, role)
        with pytest.raises(Forbidden, match="your own"):
            people.deactivate(session, me.email, by=me)
        with pytest.raises(Forbidden, match="your own"):
            people.set_role(session, me.email, "mentor", by=me)
        with pytest.raises(Forbidden, match="your own"):
            people.reset_sign_in(session, me.email, by=me)
        assert (me.role, me.active) == (role, True)
        assert people.person(session, me.id, by=me).email == me.email  # seeing is fine
        assert people.revoke_tokens(session, me.email, by=me) == 1  # so is dropping a token
    admin = staff(session, "admin", program=None)
    with pytest.raises(Forbidden, match="your own"):
        people.set_program(session, admin.email, "Harbor Peers", by=admin)


def test_an_admin_acts_on_everyone_and_the_command_on_anyone(session: Session) -> None:
    admin = staff(session, "admin", program=None)
    other = staff(session, "admin", program=None)
    theirs, _ = create_user(session, email="far@example.org", role="mentor", program="Far")
    people.set_role(session, theirs.email, "admin", by=admin)
    people.set_program(session, theirs.email, "Harbor Peers", by=admin)
    people.deactivate(session, other.email, by=admin)
    assert {p.email for p in people.people(session, by=admin)} >= {theirs.email, other.email}
    people.deactivate(session, admin.email)  # the `directory` command: whoever holds the database
    assert not admin.active


def test_an_invitation_goes_to_the_inviters_program(session: Session) -> None:
    me = staff(session, "coordinator")
    user, token = people.invite_person(
        session, email="New@Example.org", role="mentor", program="Other", by=me
    )
    assert (user.email, user.program_id) == ("new@example.org", me.program_id)
    assert pending(session, token) == user
    with pytest.raises(Conflict, match="already has an account"):
        people.invite_person(session, email="new@example.org", role="mentor", by=me)
    with pytest.raises(Forbidden, match="only admins"):
        people.invite_person(session, email="boss@example.org", role="admin", by=me)
    mentor = staff(session, "mentor")
    with pytest.raises(Forbidden, match="coordinators and admins"):
        people.invite_person(session, email="x@example.org", role="mentor", by=mentor)
    admin = staff(session, "admin", program=None)
    made, _ = people.invite_person(
        session, email="boss@example.org", role="admin", program="", by=admin
    )
    assert (made.role, made.program_id) == ("admin", None)
    assert actions(session, user) == ["user.invite"]
    # the command line (no one signed in) sends a fresh link, audited like the console's
    again, fresh = people.invite_person(
        session, email="new@example.org", role="mentor", by=None, again=True
    )
    assert again == user and pending(session, fresh) == user and pending(session, token) is None
    assert actions(session, user) == ["user.invite", "user.invite"]


def test_a_program_is_renamed_and_its_codes_checked(session: Session) -> None:
    me = staff(session, "coordinator")
    program = program_of(session, me)
    assert code_refusal(session, "HP-[0-9]{4}", "hp-1042") is None
    assert "the pattern" in (code_refusal(session, "HP-[0-9]{4}", "HP-12") or "")
    assert "a digit" in (code_refusal(session, None, "Maria") or "")
    with pytest.raises(InvalidInput, match="not a valid regular expression"):
        code_refusal(session, "HP-[0-9", "HP-1042")
    update_program(session, program, name="Harbor  Peers North", pattern="HP-[0-9]{4}", by=me)
    assert (program.name, program.mentee_ref_pattern) == ("Harbor Peers North", "HP-[0-9]{4}")
    with pytest.raises(InvalidInput):  # nothing changes when a part is refused
        update_program(session, program, name="Renamed", pattern="HP-[", by=me)
    assert (program.name, program.mentee_ref_pattern) == ("Harbor Peers North", "HP-[0-9]{4}")
    create_user(session, email="o@example.org", role="mentor", program="Other")
    with pytest.raises(Conflict):
        update_program(session, program, name="Other", pattern=None, by=me)
    other = session.scalars(select(Program).where(Program.name == "Other")).one()
    with pytest.raises(Forbidden):
        program_of(session, me, other.id)
    with pytest.raises(Forbidden):
        update_program(session, other, name="Mine now", pattern=None, by=me)
    admin = staff(session, "admin", program=None)
    assert program_of(session, admin, other.id) == other
    rows = session.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == me.id))
    assert sorted(rows) == ["program.code-pattern", "program.rename"]


def test_keys_are_managed_by_staff_and_audited(session: Session) -> None:
    me = staff(session, "coordinator")
    key, raw = create_key(session, name="Site", origins=["https://site.example", " "], by=me)
    assert all_keys(session, by=me)[0] == key
    assert revoke_key_id(session, key.id, by=me).revoked_at is not None
    revoke_key_id(session, key.id, by=me)  # twice: nothing more
    mentor = staff(session, "mentor")
    with pytest.raises(Forbidden, match="partner keys"):
        create_key(session, name="Site", origins=["https://site.example"], by=mentor)
    rows = session.scalars(select(AuditEntry).where(AuditEntry.actor_id == me.id))
    assert [(r.action, r.detail["prefix"], r.program_id) for r in rows] == [
        ("key.create", raw[:10], me.program_id), ("key.revoke", raw[:10], me.program_id),
    ]  # fmt: skip
    assert key.program_id == me.program_id


def test_a_coordinator_sees_and_revokes_only_their_programs_keys(session: Session) -> None:
    me = staff(session, "coordinator")
    them = staff(session, "coordinator", program="Elsewhere")
    mine, _ = create_key(session, name="Mine", origins=["https://mine.example"], by=me)
    theirs, raw = create_key(session, name="Theirs", origins=["https://their.example"], by=them)
    assert all_keys(session, by=me) == [mine] and all_keys(session, by=them) == [theirs]
    with pytest.raises(NotFound):
        revoke_key_id(session, theirs.id, by=me)
    with pytest.raises(NotFound):
        revoke_key(session, raw, by=me)
    assert theirs.revoked_at is None
    with pytest.raises(Forbidden, match="their own program"):
        create_key(
            session, name="X", origins=["https://x.example"], program_id=them.program_id, by=me
        )
    homeless = staff(session, "coordinator", program=None)
    assert all_keys(session, by=homeless) == []
    with pytest.raises(Forbidden, match="not a member of a program"):
        create_key(session, name="X", origins=["https://x.example"], by=homeless)


def test_an_admin_manages_every_key_audited_under_the_keys_program(session: Session) -> None:
    admin = staff(session, "admin", program="Admin home")
    coordinator = staff(session, "coordinator")
    theirs, _ = create_key(session, name="T", origins=["https://t.example"], by=coordinator)
    loose, _ = create_key(session, name="L", origins=["https://l.example"], by=admin)
    placed, _ = create_key(
        session,
        name="P",
        origins=["https://p.example"],
        program_id=coordinator.program_id,
        by=admin,
    )
    assert (loose.program_id, placed.program_id) == (None, coordinator.program_id)
    shown = {k.name: k.program.name if k.program else None for k in all_keys(session, by=admin)}
    assert {"T": "Harbor Peers", "L": None, "P": "Harbor Peers"}.items() <= shown.items()
    assert {k.name for k in all_keys(session, by=coordinator)} == {"T", "P"}
    revoke_key_id(session, theirs.id, by=admin)
    revoke_key_id(session, loose.id, by=admin)
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.actor_id == admin.id).order_by(AuditEntry.id)
    )
    assert [(r.action, r.detail["key_id"], r.program_id) for r in rows] == [
        ("key.create", str(loose.id), None),  # not the admin's program
        ("key.create", str(placed.id), coordinator.program_id),
        ("key.revoke", str(theirs.id), coordinator.program_id),
        ("key.revoke", str(loose.id), None),
    ]


def test_the_command_makes_keys_of_a_named_program_or_none(session: Session) -> None:
    coordinator = staff(session, "coordinator")
    program = program_named(session, " Harbor  Peers ")
    placed, _ = create_key(session, name="P", origins=["https://p.example"], program_id=program)
    loose, raw = create_key(session, name="L", origins=["https://l.example"])
    assert (placed.program_id, loose.program_id) == (coordinator.program_id, None)
    assert all_keys(session, by=coordinator) == [placed]
    assert set(all_keys(session, by=None)) >= {placed, loose}  # the command line sees all
    with pytest.raises(NotFound, match="no program named"):
        program_named(session, "Nowhere")
    assert revoke_key(session, raw[:10]).revoked_at is not None


@pytest.mark.parametrize(
    "value",
    [
        "https://a.example:99999",
        "https://a.example:0",
        "https://a.example:port",
        "https://[x",
        "https://[::1]",
        "https://x--><img src=x onerror=alert(1)>",
        "https://a..example",
        "https://-a.example",
        "https://a_b.example",
        "https://" + "a" * 64 + ".example",
        "ftp://a.example",
        "https://a.example/path",
        "https://user@a.example",
        "https://a.example?q=1",
    ],
)
def test_an_origin_is_refused_as_invalid_input(value: str) -> None:
    with pytest.raises(InvalidInput, match="an origin") as refused:
        origin(value)
    assert refused.value.field == "origin"


def test_an_origin_is_written_as_browsers_send_it() -> None:
    assert [
        origin(v)
        for v in (
            " HTTPS://Partner.Example/ ",
            "https://bücher.example",
            "https://a.example:443",
            "http://localhost:8000",
            "http://127.0.0.1:5173",
        )
    ] == [
        "https://partner.example",
        "https://xn--bcher-kva.example",
        "https://a.example",
        "http://localhost:8000",
        "http://127.0.0.1:5173",
    ]
