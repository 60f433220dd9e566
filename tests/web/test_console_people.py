"""The program in the console: people (invite, role, program, access, a fresh sign-in), the
program's name and code pattern, and partner keys. Page tests (TestClient) check the database
and the audit log; browser journeys (Playwright) invite a mentor who signs in, and make and
revoke a key whose embed snippet searches from a partner page; axe on every page."""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts import invites, keys
from directory.accounts.models import AuditEntry, PartnerKey, Program, User
from directory.accounts.service import create_user
from directory.web.templating import environment
from tests.web.browserutil import axe_problems, sign_in_staff
from tests.web.conftest import PASSWORD, PROGRAM, ContextFactory, LiveServer
from tests.web.webutil import post_form, sign_up

LINK = re.compile(r'<pre class="copy-box"[^>]*>(http[^<]+/welcome/([^<]+))</pre>')
KEY = re.compile(r'<pre class="copy-box"[^>]*>(pk_[^<]+)</pre>')


def user(session: Session, email: str) -> User:
    session.expire_all()
    return session.scalars(select(User).where(User.email == email)).one()


def audited(session: Session, action: str, actor: User) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor_id == actor.id)
    )
    return [row.detail for row in rows]


def member(session: Session, program: str = "Page tests", role: str = "mentor") -> User:
    email = f"{role}-{os.urandom(4).hex()}@example.org"
    made, _ = create_user(session, email=email, role=role, program=program)
    session.commit()
    return made


# -- People (page tests) -------------------------------------------------------------------


def test_a_coordinator_invites_a_mentor_and_sees_the_link_once(
    client: TestClient, session: Session
) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    theirs = member(session, program="Elsewhere")
    page = client.get("/console/people")
    assert page.status_code == 200 and "<h1>People</h1>" in page.text
    assert me.email in page.text and theirs.email not in page.text  # their program's only

    answer = post_form(
        client, "/console/people", {"email": "New.One@Example.org", "role": "mentor"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/people"
    shown = client.get("/console/people")
    found = LINK.search(shown.text)
    assert found, shown.text
    assert "Send this link to new.one@example.org yourself" in shown.text
    invited = user(session, "new.one@example.org")
    assert (invited.role, invited.program_id, invited.active) == ("mentor", me.program_id, True)
    assert invites.pending(session, found.group(2)) == invited
    assert "Invited, not signed in yet" in shown.text
    assert not LINK.search(client.get("/console/people").text)  # once
    assert audited(session, "user.invite", me) == [{"user_id": str(invited.id), "role": "mentor"}]


def test_an_invitation_refused_is_said_on_its_field(client: TestClient, session: Session) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    bad = post_form(client, "/console/people", {"email": "not an address", "role": "mentor"})
    assert bad.status_code == 422
    assert 'aria-invalid="true" aria-describedby="email-error"' in bad.text
    assert "Enter an email address" in bad.text and 'value="not an address"' in bad.text
    twice = post_form(client, "/console/people", {"email": me.email, "role": "mentor"})
    assert twice.status_code == 422 and "already has an account" in twice.text
    admin = post_form(client, "/console/people", {"email": "boss@example.org", "role": "admin"})
    assert admin.status_code == 403  # a crafted form: coordinators make no admins
    assert session.scalar(select(User).where(User.email == "boss@example.org")) is None


def test_each_action_on_a_person_is_done_and_audited(client: TestClient, session: Session) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    them = member(session)
    here = f"/console/people/{them.id}"
    assert client.get(here).status_code == 200

    assert (
        post_form(client, f"{here}/role", {"role": "coordinator"}, form_page=here).headers[
            "location"
        ]
        == f"{here}?done=role"
    )
    assert user(session, them.email).role == "coordinator"
    assert "Role changed" in client.get(f"{here}?done=role").text
    post_form(client, f"{here}/revoke-tokens", {}, form_page=here)
    assert "<dd>0</dd>" in client.get(here).text  # no live token left
    reset = post_form(client, f"{here}/reset", {}, form_page=here)
    assert reset.headers["location"] == here
    found = LINK.search(client.get(here).text)
    assert found and invites.pending(session, found.group(2)) == user(session, them.email)
    post_form(client, f"{here}/deactivate", {}, form_page=here)
    assert user(session, them.email).active is False
    assert "Deactivated" in client.get(here).text
    refused = post_form(client, f"{here}/reset", {}, form_page=here)
    assert refused.status_code == 422 and "reactivate them first" in refused.text
    post_form(client, f"{here}/reactivate", {}, form_page=here)
    assert user(session, them.email).active is True

    acts = [a for a in ("set_role", "revoke_tokens", "reset_sign_in", "deactivate", "reactivate")]
    for act in acts:
        assert audited(session, f"user.{act}", me), act
    assert audited(session, "user.set_role", me)[0]["after"] == "coordinator"


def test_a_coordinator_keeps_to_their_program_and_off_their_own_account(
    client: TestClient, session: Session
) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    theirs = member(session, program="Elsewhere")
    assert client.get(f"/console/people/{theirs.id}").status_code == 403
    mine = member(session)
    here = f"/console/people/{mine.id}"
    assert 'action="/console/people/' + str(mine.id) + '/program"' not in client.get(here).text
    moved = post_form(client, f"{here}/program", {"program": "Elsewhere"}, form_page=here)
    assert moved.status_code == 403 and user(session, mine.email).program_id == me.program_id
    promoted = post_form(client, f"{here}/role", {"role": "admin"}, form_page=here)
    assert promoted.status_code == 403 and user(session, mine.email).role == "mentor"
    own = f"/console/people/{me.id}"
    assert "This is you" in client.get(own).text
    assert (
        post_form(client, f"{own}/deactivate", {}, form_page="/console/people").status_code == 403
    )
    assert user(session, me.email).active
    assert client.get(f"/console/people/{uuid.uuid4()}").status_code == 404


def test_an_admin_sees_every_program_and_moves_people(client: TestClient, session: Session) -> None:
    me = user(session, sign_up(client, session, role="admin"))
    there = member(session, program="Admin page elsewhere")
    everyone = client.get("/console/people")
    assert there.email in everyone.text and "Every program" in everyone.text
    mine = member(session, program="Admin page here")
    program_id = user(session, mine.email).program_id
    only = client.get(f"/console/people?program={program_id}")
    assert mine.email in only.text and there.email not in only.text
    here = f"/console/people/{there.id}"
    post_form(client, f"{here}/program", {"program": "Admin page here"}, form_page=here)
    assert user(session, there.email).program_id == program_id
    invited = post_form(
        client, "/console/people", {"email": "second.admin@example.org", "role": "admin"}
    )
    assert invited.status_code == 303
    assert user(session, "second.admin@example.org").role == "admin"
    assert audited(session, "user.set_program", me)


def test_mentors_have_no_console_people_pages(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="mentor")
    for path in ("/console/people", "/console/program", "/console/keys"):
        assert client.get(path).status_code == 403


# -- The program ---------------------------------------------------------------------------


def test_the_program_name_and_code_pattern(client: TestClient, session: Session) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    program = session.get(Program, me.program_id)
    assert program is not None
    page = client.get("/console/program")
    assert page.status_code == 200 and f'value="{program.name}"' in page.text
    form = {"name": program.name, "pattern": "HP-[0-9]{4}", "intent": "check"}
    accepted = post_form(client, "/console/program", {**form, "sample": "hp-1042"})
    assert accepted.status_code == 200 and "Accepted: hp-1042 matches" in accepted.text
    refused = post_form(client, "/console/program", {**form, "sample": "HP-12"})
    assert "Refused: HP-12. It does not match the pattern." in refused.text
    session.expire_all()
    assert session.get(Program, me.program_id).mentee_ref_pattern is None  # type: ignore[union-attr]

    saved = post_form(client, "/console/program", {**form, "intent": "save"})
    assert saved.status_code == 303
    assert "Saved." in client.get(saved.headers["location"]).text
    session.expire_all()
    assert session.get(Program, me.program_id).mentee_ref_pattern == "HP-[0-9]{4}"  # type: ignore[union-attr]
    assert len(audited(session, "program.code-pattern", me)) == 1

    bad = {**form, "name": "Renamed", "pattern": "HP-[0-9", "intent": "save"}
    refused = post_form(client, "/console/program", bad)
    assert refused.status_code == 422 and "This is not a valid pattern" in refused.text
    assert 'aria-describedby="pattern-hint pattern-error"' in refused.text
    session.expire_all()
    assert session.get(Program, me.program_id).name == program.name  # type: ignore[union-attr]


def test_a_coordinator_opens_only_their_own_program(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    other = member(session, program="Not theirs")
    assert client.get(f"/console/program?id={other.program_id}").status_code == 403


# -- Partner keys --------------------------------------------------------------------------


def test_a_key_is_made_shown_once_with_its_snippet_and_revoked(
    client: TestClient, session: Session
) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    form = {"name": "Harbor site", "origins": "https://Harbor.example\r\n", "rate": "30/min"}
    made = post_form(client, "/console/keys", form)
    assert made.status_code == 303
    page = client.get("/console/keys")
    found = KEY.search(page.text)
    assert found, page.text
    raw = found.group(1)
    key = session.scalars(select(PartnerKey).where(PartnerKey.prefix == raw[:10])).one()
    assert (key.name, key.origins, key.rate) == (
        "Harbor site",
        ["https://harbor.example"],
        "30/minute",
    )
    assert "/embed/v1.js" in page.text and f"&lt;directory-search key=&#34;{raw}&#34;" in page.text
    assert raw not in client.get("/console/keys").text  # once

    revoked = post_form(client, f"/console/keys/{key.id}/revoke", {}, form_page="/console/keys")
    assert revoked.status_code == 303
    session.expire_all()
    assert session.get(PartnerKey, key.id).revoked_at is not None  # type: ignore[union-attr]
    assert "Revoked on" in client.get("/console/keys").text
    assert audited(session, "key.create", me) == [{"key_id": str(key.id), "prefix": key.prefix}]
    assert len(audited(session, "key.revoke", me)) == 1


def test_a_bad_key_form_is_said_on_its_fields(client: TestClient, session: Session) -> None:
    sign_up(client, session, role="coordinator")
    form = {"name": "Site", "origins": "https://site.example/path", "rate": "120/minute"}
    bad = post_form(client, "/console/keys", form)
    assert bad.status_code == 422 and 'aria-describedby="origins-hint origin-error"' in bad.text
    rate = post_form(client, "/console/keys", {**form, "origins": "https://a.example", "rate": "9"})
    assert rate.status_code == 422 and "A rate is a number per second" in rate.text


def other_programs_key(session: Session, program: str = "Elsewhere") -> PartnerKey:
    """A live key of another program, made by its coordinator, committed."""
    key, _ = keys.create_key(
        session,
        name="Their site",
        origins=["https://their.example"],
        by=member(session, program, "coordinator"),
    )
    session.commit()
    return key


def test_a_coordinator_neither_sees_nor_revokes_another_programs_key(
    client: TestClient, session: Session
) -> None:
    me = user(session, sign_up(client, session, role="coordinator"))
    theirs = other_programs_key(session)
    page = client.get("/console/keys")
    assert theirs.prefix not in page.text and "Their site" not in page.text
    assert 'id="program"' not in page.text  # a coordinator's key is their program's
    gone = post_form(client, f"/console/keys/{theirs.id}/revoke", {}, form_page="/console/keys")
    assert gone.status_code == 404
    session.expire_all()
    assert session.get(PartnerKey, theirs.id).revoked_at is None  # type: ignore[union-attr]
    assert audited(session, "key.revoke", me) == []
    made = post_form(client, "/console/keys", {"name": "Mine", "origins": "https://mine.example"})
    assert made.status_code == 303
    mine = session.scalars(select(PartnerKey).where(PartnerKey.name == "Mine")).one()
    assert mine.program_id == me.program_id


def test_an_admin_sees_every_key_with_its_program_and_picks_one(
    client: TestClient, session: Session
) -> None:
    me = user(session, sign_up(client, session, role="admin"))
    theirs = other_programs_key(session, "Admin keys elsewhere")
    page = client.get("/console/keys")
    row = re.search(r"<tr>\s*<th scope=\"row\">Their site</th>\s*<td>([^<]*)</td>", page.text)
    assert row and row.group(1) == "Admin keys elsewhere", page.text
    form = {
        "name": "Placed",
        "origins": "https://placed.example",
        "program": str(theirs.program_id),
    }
    assert post_form(client, "/console/keys", form).status_code == 303
    loose = {"name": "Loose", "origins": "https://loose.example", "program": ""}
    assert post_form(client, "/console/keys", loose).status_code == 303
    made = {k.name: k.program_id for k in session.scalars(select(PartnerKey))}
    assert made["Placed"] == theirs.program_id and made["Loose"] is None
    revoked = post_form(client, f"/console/keys/{theirs.id}/revoke", {}, form_page="/console/keys")
    assert revoked.status_code == 303
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "key.revoke", AuditEntry.actor_id == me.id)
    )
    assert [row.program_id for row in rows] == [theirs.program_id]


@pytest.mark.parametrize(
    "origins",
    ["https://a.example:99999", "https://[x", "https://x--><img src=x onerror=alert(1)>"],
)
def test_a_bad_origin_is_said_on_its_field_and_makes_no_key(
    client: TestClient, session: Session, origins: str
) -> None:
    sign_up(client, session, role="coordinator")
    bad = post_form(client, "/console/keys", {"name": "Bad", "origins": origins})
    assert bad.status_code == 422 and 'aria-describedby="origins-hint origin-error"' in bad.text
    assert "<img" not in bad.text and "--><" not in bad.text
    assert ("An origin&#39;s host is a domain name" in bad.text) == ("img" in origins)
    assert session.scalars(select(PartnerKey).where(PartnerKey.name == "Bad")).first() is None


def test_the_snippet_keeps_every_value_where_it_stands() -> None:
    """Were a hostile origin or address stored, what the partner pastes still holds it inside
    the comment and each value inside its attribute's quotes."""
    template = environment("en").get_template("_embed_snippet.html")
    hostile = 'https://x--><img src=x onerror=alert(1)>"</script>'
    made = template.module.embed_snippet  # type: ignore[attr-defined]
    snippet = str(made('https://d.example"><script>', 'pk_"x', [hostile], {"lang": '"es'}))
    comment, _, rest = snippet.partition("-->")
    assert comment.startswith("<!--") and "<img" not in snippet and "-->" not in rest
    assert rest.count("<script") == 1 and rest.count('"') == 6  # three attributes, each quoted
    assert 'src="https://d.example&#34;&gt;&lt;script&gt;/embed/v1.js"' in rest


# -- In a browser --------------------------------------------------------------------------


def test_a_coordinator_invites_a_mentor_who_signs_in(
    new_context: ContextFactory, live_server: LiveServer
) -> None:
    page = new_context().new_page()
    sign_in_staff(page, live_server)
    page.goto("/console/people")
    email = f"invited-{uuid.uuid4().hex[:8]}@example.org"
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Role").select_option("mentor")
    page.get_by_role("button", name="Invite").click()
    box = page.locator("pre.copy-box")
    expect(box).to_be_visible()
    link = box.inner_text().strip()
    assert link.startswith(live_server.base_url + "/welcome/")

    invitee = new_context().new_page()
    invitee.goto(link)
    expect(invitee.locator("main")).to_contain_text(email)
    invitee.locator("#password").fill(PASSWORD)
    invitee.locator("#confirm").fill(PASSWORD)
    invitee.locator("main form button[type=submit]").click()
    expect(invitee).to_have_url(re.compile(r"/search$"))

    with live_server.sessions() as session:
        row = session.scalars(select(User).where(User.email == email)).one()
        program = session.get(Program, row.program_id)
        assert (row.role, row.active, program and program.name) == ("mentor", True, PROGRAM)
        assert row.password_hash is not None
    page.reload()
    expect(page.locator("pre.copy-box")).to_have_count(0)  # shown once
    expect(page.get_by_role("row", name=re.compile(re.escape(email)))).to_contain_text("Active")


def test_a_key_is_made_seen_once_searches_from_its_origin_and_is_revoked(
    new_context: ContextFactory, live_server: LiveServer, partner_site: PartnerSite
) -> None:
    page = new_context().new_page()
    sign_in_staff(page, live_server)
    partner = partner_site.origin
    name = f"Partner {uuid.uuid4().hex[:6]}"
    page.goto("/console/keys")
    page.get_by_label("Partner site").fill(name)
    page.get_by_label("Origins, one per line").fill(partner)
    page.get_by_label("Rate", exact=True).fill("60/minute")
    page.get_by_role("button", name="Create key").click()
    raw = page.locator("pre.copy-box").first.inner_text().strip()
    snippet = page.locator("pre.copy-box").nth(1).inner_text()
    assert raw.startswith("pk_") and f'<directory-search key="{raw}"' in snippet

    site = new_context().new_page()
    partner_site.search(site, snippet)
    expect(site.locator("directory-search ul.results li").first).to_be_visible()

    page.reload()
    expect(page.locator("pre.copy-box")).to_have_count(0)
    page.get_by_role("button", name=re.compile(f"Revoke the key of {name}")).click()
    expect(page.get_by_role("row", name=re.compile(name))).to_contain_text("Revoked on")
    with live_server.sessions() as session:
        key = session.scalars(select(PartnerKey).where(PartnerKey.name == name)).one()
        assert key.revoked_at is not None and key.origins == [partner]
    later = new_context().new_page()  # the first's cache keeps its answer its 30 seconds
    expect(partner_site.search(later, snippet)).to_contain_text("key is not valid")


class PartnerSite:
    """A partner's web site on another origin (another port of this machine: the same address
    space, so the browser allows the request): one page holding only the snippet."""

    def __init__(self) -> None:
        self.html = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def search(self, page: Page, snippet: str) -> Any:
        """Open the page with the snippet (the widget), search, and return its status line."""
        self.html = f"<!doctype html><html lang='en'><title>Partner</title>{snippet}".encode()
        page.goto(f"{self.origin}/partner")
        page.get_by_role("combobox", name="What are you looking for?").fill("counseling")
        page.get_by_role("button", name="Search").click()
        status = page.locator("directory-search p.status")
        expect(status).not_to_be_empty()
        return status


@pytest.fixture
def partner_site() -> Iterator[PartnerSite]:
    site = PartnerSite()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_program_pages_pass_axe(
    new_context: ContextFactory, live_server: LiveServer, lang: str
) -> None:
    """Each page, in each state worth seeing, on a desktop and on a phone."""
    problems: list[str] = []
    for viewport in ("desktop", "phone"):
        page = new_context(viewport, lang=lang).new_page()
        sign_in_staff(page, live_server)
        for name in each_state(page, live_server):
            problems += axe_problems(page, f"{name} ({lang}, {viewport})")
            shoot(page, f"console-{name}-{lang}-{viewport}")
    assert problems == []


def each_state(page: Page, live: LiveServer) -> Iterator[str]:
    """Open each page in each state worth checking; the state's name once it shows."""
    email, _ = live.invite()
    with live.sessions() as session:
        person = (
            f"/console/people/{session.scalars(select(User.id).where(User.email == email)).one()}"
        )
    page.goto("/console/people")
    yield "people"
    page.locator("#email").fill(email)  # already has an account
    page.locator("form[action='/console/people'] button[type=submit]").click()
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    yield "people-refused"
    page.goto(person)
    yield "person"
    page.locator(f"form[action='{person}/reset'] button").click()
    expect(page.locator("pre.copy-box")).to_be_visible()
    yield "person-new-link"
    page.goto("/console/program")
    yield "program"
    page.locator("#sample").fill("HP-12")
    page.locator("button[value=check]").click()
    expect(page.locator("#sample-result")).to_be_visible()
    yield "program-code-tried"
    page.goto("/console/keys")
    page.locator("#name").fill(f"Axe {uuid.uuid4().hex[:6]}")
    page.locator("#origins").fill("https://axe.example")
    page.locator("form[action='/console/keys'] button[type=submit]").click()
    expect(page.locator("pre.copy-box")).to_have_count(2)
    yield "keys-new-key"


def shoot(page: Page, name: str) -> None:
    """With DIRECTORY_SCREENSHOTS set, a full-page PNG of the page there."""
    folder = os.environ.get("DIRECTORY_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
